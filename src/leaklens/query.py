"""The search query language, declared once: its filters, their values, and which are facets.

``budget "press release" from:alice to:bob kind:email after:2017-03-01 before:2017-05-01 ext:pdf``

Free words and ``"phrases"`` match the full text (subject, sender, recipients, decoded body and
attachment text, file names); ``field:value`` terms filter, ``-`` before a word or a filter
excludes it; OR, AND, NOT, parentheses, ``"a b"~5``, ``budg*`` and ``virment~`` as Aleph and
Datashare read them (the grammar: leaklens.syntax). Each filter is a row of `FILTERS`; the CLI's
help, the web form, the parser here, the search index (store/index/: its fields, what it writes
for each item, how a condition is asked) and the web's facets all read those rows, so a new filter
is one row here: what it means, how its value is read, and which values an item has for it
(`values`, over the item's `ItemFacts`) or, for values that change at any moment (tags), the
store method that answers it (`live`).

Nothing here knows a database: values are checked and normalised here, once, and a backend
receives `Condition`s whose values are already in their stored form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .addresses import mailbox_addresses, mailbox_domains
from .entities.tables import ENTITIES, TEXT_SCANS
from .errors import UsageError
from .model import Finding
from .syntax import And, Field, Node, Not, Phrase, Word, parse_tree

# How a filter's value is read, before any backend sees it: kind -> what the help says.
VALUE_KINDS = {
    "text": "any text, found anywhere in the field, any case",
    "word": "one value, exactly, any case",
    "name": "one value, exactly as written",
    "extension": "a file extension, with or without the dot",
    "tag": "a tag, as shown on the Tags page",
    "date": "a day, YYYY-MM-DD",
    "year": "a year, YYYY",
    "entity": "kind:value, as `leaklens entities` lists it (iban:FR76..., phone:+33612345678)",
}


@dataclass(frozen=True)
class ItemFacts:
    """What a filter's values are read from: one stored item as the store gives it."""

    item: Mapping[str, Any]  # its columns (store.base.ITEM_FIELDS); `meta` as a dict
    findings: Sequence[Finding] = ()
    # The item's rows of the declared tables the filters read (`Filter.reads`), by table name.
    tables: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)


Values = Callable[[ItemFacts], Iterable[Any]]


@dataclass(frozen=True)
class Filter:
    """One ``name:value`` filter of the query language."""

    name: str
    meaning: str  # one line a journalist understands, for help texts
    example: str  # a value, as typed: the help shows ``name:example``
    value_kind: str = "word"  # how its value is read: one of VALUE_KINDS
    negatable: bool = True  # ``-name:value`` excludes
    facet: str | None = None  # the label of the web's count of matches by this field, if any
    facet_prefix: str = ""  # written before a facet's value to make it this filter's value
    # The values an item has for this filter, as stored (None and "" are none); the index
    # compares them as `value_kind` says (equal, contains, a day's range).
    values: Values | None = None
    facet_values: Values | None = None  # what the facet counts, when not `values` (from: the domain)
    # Or, for values that change from the workbench at any moment: the CaseStore method that
    # returns the ids of the items with a value (tag: `tagged_item_ids`), asked when searched.
    live: str | None = None
    # Declared tables (store.base.TableSpec, with an `item_id` column) whose rows of the item
    # `values` reads, as `ItemFacts.tables[name]`: the entities and languages the texts steps found.
    reads: tuple[Any, ...] = ()

    @property
    def term(self) -> str:
        """The example as one typed term, e.g. ``editor:"Jean Dupont"``."""
        return f"{self.name}:{quote(self.example)}"

    def normalise(self, value: str) -> str:
        """The value in the form every backend compares; UsageError for one that cannot be."""
        kind = self.value_kind
        if kind == "name":
            return value
        if kind in ("text", "word"):
            return value.lower()
        if kind == "extension":
            return value.lower().lstrip(".")
        if kind == "tag":
            return " ".join(value.lower().split())
        if kind == "date":
            try:
                return date.fromisoformat(value[:10]).isoformat()
            except ValueError:
                raise UsageError(f"{self.name}: expects a date like 2017-05-05, got {value!r}") from None
        if kind == "entity":
            from .entities.normal import normalise

            try:
                return normalise(value)
            except ValueError as exc:
                raise UsageError(f"{self.name}: {exc}") from None
        if kind == "year":
            if not re.fullmatch(r"\d{4}", value):
                raise UsageError(f"{self.name}: expects a year like 2017, got {value!r}")
            return value
        raise AssertionError(f"filter {self.name}: unknown value kind {kind!r}")

    def facet_value(self, value: str) -> str:
        """The filter value that selects the matches counted under one of this facet's values."""
        return self.facet_prefix + value


@dataclass(frozen=True)
class ColumnValues:
    """The values of an item's column (one, or none); `column` names it, so that the search index,
    which makes documents by the thousand, reads the column itself instead of calling this."""

    column: str

    def __call__(self, facts: ItemFacts) -> Iterable[Any]:
        return (facts.item.get(self.column),)


def column(name: str) -> Values:
    """The values of an item's column `name` (one, or none)."""
    return ColumnValues(name)


def sender_addresses(facts: ItemFacts) -> Iterable[str]:
    """The address of every mailbox of From, as parsed (leaklens.addresses): never a display name,
    which can show any address (`"emilie@horizon-campaign.example" <attacker@evil.example>`)."""
    return mailbox_addresses(facts.item.get("email_from"))


def recipient_addresses(facts: ItemFacts) -> Iterable[str]:
    """The address of every mailbox of To and Cc, as parsed."""
    return mailbox_addresses(facts.item.get("email_to")) + mailbox_addresses(facts.item.get("email_cc"))


def sender_domain(facts: ItemFacts) -> Iterable[str]:
    """The domain of every mailbox of From, lower case, as parsed (never a display name's)."""
    return mailbox_domains(facts.item.get("email_from"))


def signers(facts: ItemFacts) -> Iterable[str]:
    """The domains (lower case) of the item's valid DKIM signatures."""
    return [str(f.evidence.get("d", "")).lower() for f in facts.findings if f.code == "dkim.pass"]


def editor(facts: ItemFacts) -> Iterable[Any]:
    """A document's last editor, else its author, as its metadata holds it."""
    doc = (facts.item.get("meta") or {}).get("document") or {}
    found = doc.get("last_modified_by")
    return (found if found is not None else doc.get("author"),)


def year(facts: ItemFacts) -> Iterable[str]:
    return ((facts.item.get("date") or "")[:4],)


def finding_codes(facts: ItemFacts) -> Iterable[str]:
    return [f.code for f in facts.findings]


def languages(facts: ItemFacts) -> Iterable[str]:
    return [r["lang"] for r in facts.tables.get(TEXT_SCANS.name, ()) if r.get("lang")]


def entities(facts: ItemFacts) -> Iterable[str]:
    return [f"{r['kind']}:{r['value']}" for r in facts.tables.get(ENTITIES.name, ())]


# Dates and web addresses are named everywhere; the facet counts what a reporter follows.
_FACETED_KINDS = ("iban", "bic", "card", "phone", "money", "person", "org", "email")


def faceted_entities(facts: ItemFacts) -> Iterable[str]:
    return [f"{r['kind']}:{r['value']}" for r in facts.tables.get(ENTITIES.name, ()) if r["kind"] in _FACETED_KINDS]


# In the order the help lists them; the facets appear in this order too.
FILTERS: dict[str, Filter] = {
    f.name: f
    for f in (
        Filter("verdict", "the item's verdict", "altered", facet="Verdict", values=column("verdict")),
        Filter("kind", "email, attachment, document, image, archive or other", "email", facet="Kind",
               values=column("kind")),
        Filter("from", "a sender's address (never a display name) contains this", "alice", "text",
               facet="Sender domain", facet_prefix="@", values=sender_addresses, facet_values=sender_domain),
        Filter("to", "a recipient's address (To or Cc, never a display name) contains this", "bob", "text",
               values=recipient_addresses),
        Filter("signer", "a DKIM signature of this domain validates", "horizon.example",
               facet="Signing domain (DKIM)", values=signers),
        Filter("editor", "a document's last editor (else its author) is this", "Jean Dupont", "name",
               facet="Document editor", values=editor),
        Filter("year", "dated in this year", "2017", "year", facet="Year", values=year),
        Filter("after", "dated on or after this day", "2017-03-01", "date", values=column("date")),
        Filter("before", "dated before this day", "2017-05-01", "date", values=column("date")),
        Filter("ext", "the file's extension", "pdf", "extension", facet="File type", values=column("ext")),
        Filter("source", "found in this source (the first part of its path)", "dump.zip", "name",
               values=column("source")),
        Filter("tag", "tagged so in the workbench", "offshore", "tag", live="tagged_item_ids"),
        Filter("finding", "has a finding with this code", "dkim.body_hash_mismatch", values=finding_codes),
        Filter("lang", "the language of a text of the item (ISO 639-1, detected offline)", "fr", facet="Language",
               values=languages, reads=(TEXT_SCANS,)),
        Filter("entity", "names this entity (accounts, phones, amounts, people, companies...)",
               "iban:FR7630006000011234567890189", "entity", facet="Entities", values=entities,
               facet_values=faceted_entities, reads=(ENTITIES,)),
    )
}  # fmt: skip

FACETS: tuple[Filter, ...] = tuple(f for f in FILTERS.values() if f.facet)

# One term: an optional "-", an optional "name:", then a "quoted phrase" or a word.
TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')


def quote(value: str) -> str:
    """A value as typed in a query: in quotes when it holds a space."""
    return f'"{value}"' if re.search(r"\s", value) else value


@dataclass(frozen=True)
class Condition:
    """One filter term of a query, its value normalised (`Filter.normalise`)."""

    filter: Filter
    value: str
    negated: bool = False


@dataclass
class Query:
    """A parsed query: its tree (leaklens.syntax), and for a query that is only words, phrases and
    filters side by side (the common case, and what the facet links edit), the same split flat."""

    terms: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    # filter name -> values as typed; an excluding term is kept under "-name"
    filters: dict[str, list[str]] = field(default_factory=dict)
    tree: Node | None = None

    @property
    def empty(self) -> bool:
        return self.tree is None

    def conditions(self) -> Iterator[Condition]:
        """Each filter term, checked and normalised; UsageError for a value a filter cannot take."""
        for key, values in self.filters.items():
            negated = key.startswith("-")
            for value in values:
                yield condition(key.lstrip("-"), value, negated)


def condition(name: str, value: str, negated: bool = False) -> Condition:
    """One filter term, its value normalised; UsageError for a value the filter cannot take."""
    spec = FILTERS[name]
    if negated and not spec.negatable:
        raise UsageError(f"{spec.name}: cannot be excluded with - or NOT")
    return Condition(spec, spec.normalise(value), negated)


def parse(text: str) -> Query:
    """The query in `text` (the grammar: leaklens.syntax); UsageError, saying what and where, for
    what it cannot read. User text never reaches a backend's own syntax: the tree is asked as
    index query objects (store/index/translate.py)."""
    tree = parse_tree(text or "", FILTERS)
    q = Query(tree=tree)
    flat = tree.nodes if isinstance(tree, And) else (tree,) if tree is not None else ()
    for node in flat:
        neg = isinstance(node, Not)
        inner = node.node if neg else node
        if isinstance(inner, Field):
            q.filters.setdefault(("-" if neg else "") + inner.name, []).append(inner.value)
        elif isinstance(inner, Word | Phrase):
            (q.excluded if neg else q.terms).append(inner.text)
    return q


# The orders a search can return its hits in (a leading "-": the other way), with what they mean.
SORT_LABELS = {
    "relevance": "Most relevant",
    "-date": "Newest first",
    "date": "Oldest first",
    "-size": "Largest first",
    "size": "Smallest first",
    "sender": "Sender (A to Z)",
    "-sender": "Sender (Z to A)",
    "verdict": "Verdict (altered first)",
    "-verdict": "Verdict (verified first)",
}
SORTS = set(SORT_LABELS)


EXAMPLE = '"bank transfer" from:alice after:2017-04-01 ext:pdf -verdict:verified'


def help_text() -> str:
    """The filters, one a line, for `leaklens search --help` (read from the declaration)."""
    width = max(len(f.term) for f in FILTERS.values())
    lines = [f"  {f.term:<{width}}  {f.meaning}" for f in FILTERS.values()]
    return "\n".join(["Filters (a leading - excludes a word or a filter):", *lines])
