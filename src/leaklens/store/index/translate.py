"""A query of `leaklens.query` as a tantivy query, built from objects, never from text.

User text never reaches tantivy's query parser: each typed word or phrase is cut into words by
the index's own analyzer and asked as term or phrase queries, so ``AND``, ``*`` or ``title:x``
in a search box are just words, as they were with FTS5.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import tantivy

from ...query import Condition, Query
from .schema import FILTER_FIELDS, ID, LIVE_FILTERS, TEXT_FIELDS, day_number

Occur = tantivy.Occur
Q = tantivy.Query


@dataclass
class Plan:
    """A parsed query as the index asks it."""

    query: tantivy.Query
    units: list[list[str]] = field(default_factory=list)  # the words of each typed word or phrase
    ranked: bool = False  # it has words to match: relevance can order it, snippets can show them


def _words(analyzer: tantivy.TextAnalyzer, text: str) -> list[str]:
    return [w for w in analyzer.analyze(text) if w]


def unit_query(schema: tantivy.Schema, words: list[str], fields: Iterable[tuple[str, float]] = TEXT_FIELDS) -> Q:
    """One typed word (or phrase) in any text field, each field's match weighted as FTS5's bm25 was."""
    parts = []
    for name, weight in fields:
        q = Q.term_query(schema, name, words[0]) if len(words) == 1 else Q.phrase_query(schema, name, words)
        parts.append((Occur.Should, Q.boost_query(q, weight) if weight != 1.0 else q))
    return parts[0][1] if len(parts) == 1 else Q.boolean_query(parts)


def _escape(value: str) -> str:
    """`value` as a literal of tantivy's regular expressions (Rust's regex syntax)."""
    return "".join(c if c.isalnum() else f"\\x{{{ord(c):x}}}" for c in value)


_CONTAINS: dict[tuple[int, str, str], Q] = {}


def _contains(schema: tantivy.Schema, field: str, value: str) -> Q:
    """Terms of `field` holding `value`: a regular expression over the term dictionary, compiled to an
    automaton (~4 ms for from:@domain), so kept: a page of facet links asks the same ones again."""
    key = (id(schema), field, value)
    q = _CONTAINS.get(key)
    if q is None:
        if len(_CONTAINS) > 512:
            _CONTAINS.clear()
        q = _CONTAINS[key] = Q.regex_query(schema, field, f"(?s).*{_escape(value)}.*")
    return q


def condition_query(schema: tantivy.Schema, c: Condition, live: Callable[[str, str], list[str]]) -> Q:
    """The items matching one filter term (its negation is the caller's)."""
    name = c.filter.name
    if name in LIVE_FILTERS:
        # Tags change from the workbench at any moment: the store's answer of now, by item id.
        ids = live(LIVE_FILTERS[name], c.value)
        return Q.term_set_query(schema, ID, ids) if ids else Q.empty_query()
    ff = FILTER_FIELDS[name]
    if ff.how == "contains":
        return _contains(schema, ff.field, c.value)
    if ff.how == "day":
        day = day_number(c.value)
        assert day is not None  # a date filter's value is a normalised day
        if name == "before":
            return Q.range_query(schema, ff.field, tantivy.FieldType.Unsigned, None, day, include_upper=False)
        return Q.range_query(schema, ff.field, tantivy.FieldType.Unsigned, day, None)
    return Q.term_query(schema, ff.field, c.value)


def plan(
    schema: tantivy.Schema, analyzer: tantivy.TextAnalyzer, q: Query, live: Callable[[str, str], list[str]]
) -> Plan:
    """The tantivy query of `q`. `live(method, value)`: item ids from the store, for live filters."""
    clauses: list[tuple[tantivy.Occur, Q]] = []
    units = [w for w in (_words(analyzer, t) for t in q.terms) if w]
    for words in units:
        clauses.append((Occur.Must, unit_query(schema, words)))
    for words in (w for w in (_words(analyzer, t) for t in q.excluded) if w):
        clauses.append((Occur.MustNot, unit_query(schema, words)))
    for c in q.conditions():
        # An item without a value does not match; so its negation keeps it (as NULL did in SQL).
        clauses.append((Occur.MustNot if c.negated else Occur.Must, condition_query(schema, c, live)))
    if not any(occur == Occur.Must for occur, _ in clauses):
        clauses.append((Occur.Must, Q.all_query()))  # only exclusions: everything but them
    query = clauses[0][1] if len(clauses) == 1 else Q.boolean_query(clauses)
    return Plan(query, units, bool(units))
