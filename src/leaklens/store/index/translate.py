"""A query of `leaklens.query` (its tree: leaklens.syntax) as a tantivy query, built from objects,
never from text.

User text never reaches tantivy's query parser: each typed word or phrase is cut into words by
the index's own analyzer and asked as term, phrase (with its slop), fuzzy or regular-expression
queries over the term dictionary; a plain word also matches its stem in each language's field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import tantivy

from ...errors import UsageError
from ...query import Condition, Query, condition
from ...syntax import And, Field, Node, Not, Or, Phrase, Word, positive_text
from .schema import FILTER_FIELDS, ID, LIVE_FILTERS, STEM_FIELDS, TEXT_FIELDS, day_number, stem_analyzer

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


_STEMMERS: dict[str, tantivy.TextAnalyzer] = {}


def stems_of(language: str, text: str) -> list[str]:
    """The stems of `text`'s words in one language, as that language's field holds them."""
    analyzer = _STEMMERS.get(language)
    if analyzer is None:
        analyzer = _STEMMERS[language] = stem_analyzer(language)
    return [w for w in analyzer.analyze(text) if w]


def _pattern(schema: tantivy.Schema, analyzer: tantivy.TextAnalyzer, text: str) -> Q:
    """``budg*``, ``b?dget``: the words of the term dictionary it describes, in any text field."""
    # Each literal run is folded as the index folds words ("Réu*" finds "reunion").
    pieces = re.split(r"([*?])", text)
    regex = ""
    for piece in pieces:
        if piece == "*":
            regex += "[^\\x00]*"
        elif piece == "?":
            regex += "[^\\x00]"
        elif piece:
            words = _words(analyzer, piece)
            if len(words) != 1 or not piece[-1].isalnum() and pieces[-1] != piece:
                raise UsageError(f"{text}: * and ? go inside or after one word (budg*, b?dget)")
            regex += _escape(words[0])
    return Q.boolean_query([(Occur.Should, Q.boost_query(Q.regex_query(schema, name, regex), w))
                            for name, w in TEXT_FIELDS])  # fmt: skip


def _fuzzy(schema: tantivy.Schema, analyzer: tantivy.TextAnalyzer, word: Word) -> Q:
    words = _words(analyzer, word.text)
    if not words:
        raise UsageError(f"{word.text}~: no letters or digits to look for")
    per_word = [
        Q.boolean_query(
            [
                (Occur.Should, Q.boost_query(Q.fuzzy_term_query(schema, name, w, word.edits, True, False), wt))
                for name, wt in TEXT_FIELDS
            ]
        )  # fmt: skip
        for w in words
    ]
    return per_word[0] if len(per_word) == 1 else Q.boolean_query([(Occur.Must, q) for q in per_word])


def _plain(schema: tantivy.Schema, words: list[str], text: str) -> Q:
    """A plain word in any text field, or its stem in any language's field (below the exact word)."""
    exact = unit_query(schema, words)
    if len(words) != 1:
        return exact  # "e-mail": its words in a row, as typed
    parts = [(Occur.Should, exact)]
    for name, language, weight in STEM_FIELDS:
        stems = stems_of(language, text)
        if len(stems) == 1:
            parts.append((Occur.Should, Q.boost_query(Q.term_query(schema, name, stems[0]), weight)))
    return Q.boolean_query(parts)


def _phrase(schema: tantivy.Schema, words: list[str], slop: int) -> Q:
    if len(words) == 1:
        return unit_query(schema, words)
    parts = []
    for name, weight in TEXT_FIELDS:
        q = Q.phrase_query(schema, name, words, slop)
        parts.append((Occur.Should, Q.boost_query(q, weight) if weight != 1.0 else q))
    return Q.boolean_query(parts)


class _Builder:
    def __init__(self, schema: tantivy.Schema, analyzer: tantivy.TextAnalyzer, live: Callable[[str, str], list[str]]):
        self.schema, self.analyzer, self.live = schema, analyzer, live
        self.units: list[list[str]] = []  # the words of each positive word or phrase, for snippets

    def node(self, n: Node, positive: bool = True) -> Q:
        if isinstance(n, Word):
            return self.word(n, positive)
        if isinstance(n, Phrase):
            words = _words(self.analyzer, n.text)
            if not words:
                raise UsageError(f'"{n.text}": no letters or digits to look for')
            if positive:
                self.units.append(words)
            return _phrase(self.schema, words, n.slop)
        if isinstance(n, Field):
            return condition_query(self.schema, condition(n.name, n.value), self.live)
        if isinstance(n, Not):
            return Q.boolean_query([(Occur.Must, Q.all_query()), (Occur.MustNot, self.node(n.node, not positive))])
        if isinstance(n, And):
            clauses = []
            for child in n.nodes:
                if isinstance(child, Not):  # an item without a value does not match, so NOT keeps it
                    clauses.append((Occur.MustNot, self.node(child.node, not positive)))
                else:
                    clauses.append((Occur.Must, self.node(child, positive)))
            if not any(occur == Occur.Must for occur, _ in clauses):
                clauses.append((Occur.Must, Q.all_query()))  # only exclusions: everything but them
            return Q.boolean_query(clauses)
        assert isinstance(n, Or)
        return Q.boolean_query([(Occur.Should, self.node(child, positive)) for child in n.nodes])

    def word(self, w: Word, positive: bool) -> Q:
        if w.pattern:
            return _pattern(self.schema, self.analyzer, w.text)
        if w.edits:
            return _fuzzy(self.schema, self.analyzer, w)
        words = _words(self.analyzer, w.text)
        if not words:
            raise UsageError(f"{w.text}: no letters or digits to look for (put it in quotes to search it as a phrase)")
        if positive:
            self.units.append(words)
        return _plain(self.schema, words, w.text)


def plan(
    schema: tantivy.Schema, analyzer: tantivy.TextAnalyzer, q: Query, live: Callable[[str, str], list[str]]
) -> Plan:
    """The tantivy query of `q`. `live(method, value)`: item ids from the store, for live filters.
    UsageError for a part that cannot be asked (a filter's bad value, a word with no letters)."""
    if q.tree is None:
        return Plan(Q.all_query(), [], False)
    b = _Builder(schema, analyzer, live)
    query = b.node(q.tree)
    return Plan(query, b.units, bool(positive_text(q.tree)))
