"""The fields of the search index and the document it holds for one item, read from the declarations.

The words of a query are matched in the text fields (`TEXT_FIELDS`, those of the FTS5 index this
one replaced, with its weights). Every filter declared in `leaklens.query` with `values` gets one
field, its kind of field chosen by the filter's `value_kind`; every facet is counted over a field
(its filter's, or a field of its own when it counts `facet_values`). Filters with `live` values
have no field: the store answers them when searched. So a new filter is a row of FILTERS and
nothing here; `SCHEMA_KEY` changes with the declaration, and an index built for another one is
rebuilt (store/index/engine.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import tantivy

from ...addresses import parse_address_list
from ...entities.tables import TEXT_SCANS
from ...model import Finding
from ...query import FACETS, FILTERS, Filter, ItemFacts
from ..base import TEXT_SOURCES, TextRecord

# The analyzer of words: split where a character is neither a letter nor a digit, lower case,
# accents folded: what FTS5's `unicode61 remove_diacritics 2` did, so "tresorier" finds "trésorier".
WORDS = "leaklens_words"


def words_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


# Stemmed words, one field per language (two stemmers in a row conflate what neither would:
# "transfer" -> French "transf"): a plain word matches its stem in any of them, so "virement" finds
# "Virements" and "payment" finds "payments". Only the terms are kept (no positions: phrases ask
# the exact words), over the subject and the text, the fields a reader searches for what was said.
STEM_LANGUAGES = ("french", "english")
STEM_FIELDS: tuple[tuple[str, str, float], ...] = tuple((f"stem_{lang[:2]}", lang, 0.6) for lang in STEM_LANGUAGES)
TEXT_SCANS_TABLE = TEXT_SCANS.name  # where each text's detected language is (read for the lang: filter too)


# A text's detected language (ISO 639-1, the texts steps' `text_scans.lang`) -> its stem field.
STEM_FIELD_OF_LANG = {lang[:2]: name for name, lang, _weight in STEM_FIELDS}
_ALL_STEM_FIELDS = tuple(name for name, _lang, _weight in STEM_FIELDS)


def stem_fields_of(tables: Mapping[str, Sequence[Mapping[str, Any]]] | None) -> tuple[str, ...]:
    """The stem fields an item's words go in: those of the languages detected in its texts, else
    (no text detected as one of them: too short, another language, not scanned yet) every one.
    Stemming is most of an index update's cost (two Snowball stemmers over every word cost 5x the
    rest of a document), and stems of a language the text is not in only conflate unrelated words;
    queries ask every stem field, so a word still finds its stems in the text's own language."""
    scans = tables.get(TEXT_SCANS_TABLE) if tables else None
    if not scans:
        return _ALL_STEM_FIELDS
    if len(scans) == 1:  # most items: one text
        own_field = STEM_FIELD_OF_LANG.get(scans[0].get("lang"))  # type: ignore[arg-type]
        return (own_field,) if own_field else _ALL_STEM_FIELDS
    langs = {r.get("lang") for r in scans}
    own = tuple(dict.fromkeys(STEM_FIELD_OF_LANG[lang] for lang in langs if lang in STEM_FIELD_OF_LANG))
    return tuple(n for n in _ALL_STEM_FIELDS if n in own) if own else _ALL_STEM_FIELDS


def stem_analyzer(language: str) -> tantivy.TextAnalyzer:
    """Lower case, stemmed (Snowball, which expects the accents), then accents folded."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer(language))
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def stem_tokenizer(language: str) -> str:
    return f"leaklens_stem_{language}"


# (field, weight in ranking): the columns and bm25 weights of the FTS5 index this replaces.
TEXT_FIELDS: tuple[tuple[str, float], ...] = (
    ("subject", 4.0),
    ("sender", 2.0),
    ("recipients", 1.0),
    ("body", 1.0),
    ("names", 2.0),
)

ID = "id"  # the item's id: stored (hits name their item by it), and a term (updates replace by it)
SORT_ASC = "sort_date_asc"  # date, then found order; undated last ("date")
SORT_DESC = "sort_date_desc"  # read descending: date, then latest found; undated last ("-date")
SORT_SIZE = "sort_size"  # bytes (u64)
SORT_SENDER = "sort_sender"  # the sender's address, lower case (text)
SORT_VERDICT = "sort_verdict"  # the verdict's rank, altered first (u64; model.VERDICT_ORDER)
# The orders of leaklens.query.SORTS that are a field: name -> (field, ascending?).
ORDER_FIELDS: dict[str, tuple[str, bool]] = {
    "date": (SORT_ASC, True),
    "-date": (SORT_DESC, False),
    "size": (SORT_SIZE, True),
    "-size": (SORT_SIZE, False),
    "sender": (SORT_SENDER, True),
    "-sender": (SORT_SENDER, False),
    "verdict": (SORT_VERDICT, True),
    "-verdict": (SORT_VERDICT, False),
}
# The worst first: what a reporter must look at before publishing.
VERDICT_RANK = {v: n for n, v in enumerate(("altered", "suspicious", "error", "unverified", "verified"))}
_UNDATED_ASC, _UNDATED_DESC = "~", "!"  # sort after, and before, every "YYYY-..." text


@dataclass(frozen=True)
class FilterField:
    """How one declared filter is held in the index."""

    filter: Filter
    field: str
    how: str  # "term" (equal to the normalised value), "contains", "day" (a u64 YYYYMMDD)


def _how(f: Filter) -> str:
    return {"text": "contains", "date": "day"}.get(f.value_kind, "term")


FILTER_FIELDS: dict[str, FilterField] = {
    f.name: FilterField(f, f"f_{f.name}", _how(f)) for f in FILTERS.values() if f.values is not None
}
# facet name -> the field its values are counted over
FACET_FIELDS: dict[str, str] = {
    f.name: (f"facet_{f.name}" if f.facet_values is not None else FILTER_FIELDS[f.name].field) for f in FACETS
}
LIVE_FILTERS: dict[str, str] = {f.name: f.live for f in FILTERS.values() if f.live}


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field(ID, stored=True, tokenizer_name="raw", index_option="basic")
    for name, _weight in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name=WORDS)
    for name, language, _weight in STEM_FIELDS:
        sb.add_text_field(name, tokenizer_name=stem_tokenizer(language), index_option="freq")
    counted = set(FACET_FIELDS.values())
    for ff in FILTER_FIELDS.values():
        if ff.how == "day":
            sb.add_unsigned_field(ff.field, indexed=True, fast=True)
        else:
            # Raw terms; fast (a column per document) when a facet counts them.
            sb.add_text_field(ff.field, tokenizer_name="raw", index_option="basic", fast=ff.field in counted)
    for fname in FACET_FIELDS.values():
        if fname.startswith("facet_"):
            sb.add_text_field(fname, tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_text_field(SORT_ASC, tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_text_field(SORT_DESC, tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_unsigned_field(SORT_SIZE, fast=True)
    sb.add_text_field(SORT_SENDER, tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_unsigned_field(SORT_VERDICT, fast=True)
    return sb.build()


def _schema_key() -> str:
    """Changes when the declared fields do (or how an item's values are written: bump VERSION)."""
    VERSION = 4  # 2: stems, sorts by size/sender/verdict; 3 (A1): from:/to: parsed addresses; 4: stems in own language
    shape = [
        VERSION,
        TEXT_FIELDS,
        STEM_FIELDS,
        sorted((k, v.field, v.how) for k, v in FILTER_FIELDS.items()),
        FACET_FIELDS,
    ]
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


SCHEMA_KEY = _schema_key()
SCHEMA = build_schema()  # what `document` checks its values' types against

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def day_number(value: str) -> int | None:
    """A day as the integer YYYYMMDD. The store's dates are ISO text compared as text, and a text
    starting with a day compares with a day as that day does: so after:/before: ask a range of these."""
    m = _DAY.match(value)
    return int(m[1] + m[2] + m[3]) if m else None


def _normaliser(ff: FilterField) -> Callable[[str], Any]:
    """How one of the item's values (as text) becomes this field's term, as a query's value is
    normalised (None: no term): the common kinds spelled out, one call a value instead of a dispatch."""
    if ff.how == "day":
        return day_number
    kind = ff.filter.value_kind
    if ff.how == "contains" or kind in ("text", "word"):
        return str.lower
    if kind in ("year", "name"):
        return str
    if kind == "extension":
        return lambda text: text.lower().lstrip(".")
    return ff.filter.normalise


def filter_terms(ff: FilterField, raw: Iterable[Any]) -> list[Any]:
    """The terms the index holds for these values of the item (normalised as a query's value is)."""
    norm = _normaliser(ff)
    out = [norm(str(v)) for v in raw if v is not None and v != ""]
    return list(dict.fromkeys(t for t in out if t is not None))  # once each


# (field, its values, how a value becomes a term), once: documents are made by the thousand.
# A filter whose values are one column of the item (`query.column`) names it: read without a call.
_WRITERS = [
    (ff.field, ff.filter.values, _normaliser(ff), getattr(ff.filter.values, "column", None))
    for ff in FILTER_FIELDS.values()
    if ff.filter.values
]
_FACET_WRITERS = [(FACET_FIELDS[f.name], f.facet_values) for f in FACETS if f.facet_values is not None]


_DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
# `Name <local@domain>` with no quote, comment, group or list, or a bare address: what the parser
# gives for these is the address as written, at a third of its cost (it runs for every email indexed).
_SIMPLE_FROM = re.compile(rf'\s*(?:[^"(),.:;<>@\[\]\\]*<({_DOT_ATOM}@{_DOT_ATOM})>|({_DOT_ATOM}@{_DOT_ATOM}))\s*')


def sender_key(value: str) -> str:
    """What "sort by sender" orders by: the first mailbox's address, lower case (a display name can
    say anything); no sender sorts last ("~" after every letter and digit)."""
    if not value.strip():
        return "~"
    simple = _SIMPLE_FROM.fullmatch(value)
    if simple:
        return (simple[1] or simple[2]).lower()
    try:
        found = parse_address_list(value)
        boxes = getattr(found, "mailboxes", None) or []
        address = getattr(boxes[0], "address", "") if boxes else ""
    except Exception:  # noqa: BLE001 - any text is a valid From for sorting: fall back to the text
        address = ""
    return (address or value).strip().lower() or "~"


def meta_of(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


_SOURCE_ORDER = {s: n for n, s in enumerate(TEXT_SOURCES)}


def _source_rank(t: TextRecord) -> int:
    return _SOURCE_ORDER.get(t.source, len(_SOURCE_ORDER))


def body_text(texts: Sequence[TextRecord]) -> str:
    """Every text read from the item (body, attachment, document, OCR), in that order."""
    if len(texts) == 1:  # most items: one text, nothing to order or join
        return texts[0].text or ""
    return "\n".join(t.text for t in sorted(texts, key=_source_rank) if t.text)


def names_text(item: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """Every name the item is known by: its own, and an email's attachments' (as ingest indexed them)."""
    names = [item.get("name") or ""]
    if item.get("kind") == "email":
        names += [str(n) for n in meta.get("attachment_names") or []]
    return " ".join(names)


def text_values(item: Mapping[str, Any], texts: Sequence[TextRecord], meta: Mapping[str, Any]) -> dict[str, str]:
    """The text fields of one item."""
    return {
        "subject": item.get("subject") or "",
        "sender": item.get("email_from") or "",
        "recipients": " ".join(filter(None, (item.get("email_to"), item.get("email_cc")))),
        "body": body_text(texts),
        "names": names_text(item, meta),
    }


def documents(
    rows: Iterable[Mapping[str, Any]],
    texts: Mapping[str, Sequence[TextRecord]],
    findings: Mapping[str, Sequence[Finding]],
    tables: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
) -> Iterator[tantivy.Document]:
    """The index's document of each stored item of `rows` (the store's rows), with its texts, findings
    and rows of the tables the filters read, each looked up by its id: a batch read from the store,
    each row copied once and its meta read once."""
    no_tables: dict[str, Sequence[Mapping[str, Any]]] = {}
    for row in rows:
        item = dict(row)
        if item["state"] != "stored":  # a stored item no more: only removed from the index
            continue
        item_id = item["id"]
        item["meta"] = meta_of(item["meta"])
        fields = _fields(item, texts.get(item_id, ()), findings.get(item_id, ()), tables.get(item_id, no_tables))
        yield tantivy.Document.from_dict(fields, SCHEMA)


def _fields(
    item: dict[str, Any],
    texts: Sequence[TextRecord],
    findings: Sequence[Finding],
    tables: Mapping[str, Sequence[Mapping[str, Any]]],
) -> dict[str, list[Any]]:
    """The document's field -> values of one item (`item`: its own copy, `meta` read), handed to
    tantivy in one call (a call per value cost more than the values' own work)."""
    meta = item["meta"]
    facts = ItemFacts(item, findings, tables)
    fields: dict[str, list[Any]] = {ID: [item["id"]]}
    values = text_values(item, texts, meta)
    for name, value in values.items():
        if value:
            fields[name] = [value]
    subject, body = values["subject"], values["body"]
    said = f"{subject}\n{body}" if subject and body else subject or body
    if said:
        for name in stem_fields_of(tables):
            fields[name] = [said]
    for name, values_of, norm, col in _WRITERS:
        if col is not None:  # one column's value: read here, without a call and a tuple around it
            v = item.get(col)
            if v is not None and v != "":
                term = norm(v if type(v) is str else str(v))
                if term is not None:  # a value that is no day: no term
                    fields[name] = [term]
            continue
        terms = [norm(v if type(v) is str else str(v)) for v in values_of(facts) if v is not None and v != ""]
        if len(terms) > 1:
            terms = list(dict.fromkeys(terms))  # once each
        if terms:
            if None in terms:  # a value that is no day: no term
                terms = [t for t in terms if t is not None]
                if not terms:
                    continue
            fields[name] = terms
    for name, values_of in _FACET_WRITERS:
        got = list(dict.fromkeys(str(v) for v in values_of(facts) if v not in (None, "")))
        if got:
            fields[name] = got
    date, rowid = item.get("date") or "", int(item.get("rowid") or 0)
    fields[SORT_ASC] = [f"{date or _UNDATED_ASC}\x01{rowid:012d}"]
    fields[SORT_DESC] = [f"{date or _UNDATED_DESC}\x01{rowid:012d}"]
    fields[SORT_SIZE] = [max(0, int(item.get("size") or 0))]
    fields[SORT_SENDER] = [sender_key(item.get("email_from") or "")]
    fields[SORT_VERDICT] = [VERDICT_RANK.get(item.get("verdict") or "", len(VERDICT_RANK))]
    return fields
