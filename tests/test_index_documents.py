"""The search index's documents (store/index/) are what the declarations say an item holds, on a real
varied case: the demo leak (forgeries, list footers, attachments, documents with editors, entities,
languages), ingested, scanned and verified on each backend.

The reference below makes each document the plain way, one item at a time: the item's row, texts,
findings and table rows read by the store's general methods, each filter's values read through
`ItemFacts` as `leaklens.query` declares them, the text and sort fields written out. It is the code
the index used before its documents were made in batches (e66fb5b); the index's own, faster path
must give every item the same document, field by field and value by value (`to_dict`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import tantivy

from leaklens.addresses import parse_address_list
from leaklens.case import Case
from leaklens.demo.build import fill_demo_case
from leaklens.demo.generate import generate_demo
from leaklens.query import FACETS, FILTERS, ItemFacts
from leaklens.store.base import TEXT_SOURCES, ItemQuery
from leaklens.store.index.schema import (
    FACET_FIELDS,
    FILTER_FIELDS,
    ID,
    SCHEMA,
    SORT_ASC,
    SORT_DESC,
    SORT_SENDER,
    SORT_SIZE,
    SORT_VERDICT,
    STEM_FIELD_OF_LANG,
    STEM_FIELDS,
    TEXT_SCANS_TABLE,
    VERDICT_RANK,
    day_number,
)

READ_TABLES = tuple({spec.name: spec for f in FILTERS.values() for spec in f.reads}.values())


@pytest.fixture(scope="module")
def demo(tmp_path_factory, module_backend):
    tmp = tmp_path_factory.mktemp("documents")
    dump = tmp / "dump"
    case = Case.open(tmp / "case", create=True, db=module_backend)
    fill_demo_case(case, dump, generate_demo(dump), workers=1)
    yield case
    case.close()


# -- the reference: each document made one item at a time ------------------------------------------
def _meta(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _normaliser(ff):
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


def _sender_key(value: str) -> str:
    if not value.strip():
        return "~"
    try:
        boxes = getattr(parse_address_list(value), "mailboxes", None) or []
        address = getattr(boxes[0], "address", "") if boxes else ""
    except Exception:  # noqa: BLE001 - as the index: any text sorts, by itself
        address = ""
    return (address or value).strip().lower() or "~"


def _stem_fields(tables) -> tuple[str, ...]:
    every = tuple(name for name, _lang, _weight in STEM_FIELDS)
    langs = {r.get("lang") for r in tables.get(TEXT_SCANS_TABLE, ())}
    own = {STEM_FIELD_OF_LANG[lang] for lang in langs if lang in STEM_FIELD_OF_LANG}
    return tuple(n for n in every if n in own) if own else every


def reference_document(item, texts, findings, tables) -> dict[str, list[Any]]:
    meta = _meta(item.get("meta"))
    facts = ItemFacts({**item, "meta": meta}, findings, tables)
    order = {s: n for n, s in enumerate(TEXT_SOURCES)}
    body = "\n".join(t.text for t in sorted(texts, key=lambda t: order.get(t.source, len(order))) if t.text)
    names = [item.get("name") or ""]
    if item.get("kind") == "email":
        names += [str(n) for n in meta.get("attachment_names") or []]
    values = {
        "subject": item.get("subject") or "",
        "sender": item.get("email_from") or "",
        "recipients": " ".join(filter(None, (item.get("email_to"), item.get("email_cc")))),
        "body": body,
        "names": " ".join(names),
    }
    fields: dict[str, list[Any]] = {ID: [item["id"]]}
    fields.update({name: [value] for name, value in values.items() if value})
    said = "\n".join(filter(None, (values["subject"], values["body"])))
    if said:
        for name in _stem_fields(tables):
            fields[name] = [said]
    for ff in FILTER_FIELDS.values():
        norm = _normaliser(ff)
        terms = [norm(str(v)) for v in ff.filter.values(facts) if v is not None and v != ""]
        terms = list(dict.fromkeys(t for t in terms if t is not None))
        if terms:
            fields[ff.field] = terms
    for f in FACETS:
        if f.facet_values is not None:
            got = list(dict.fromkeys(str(v) for v in f.facet_values(facts) if v not in (None, "")))
            if got:
                fields[FACET_FIELDS[f.name]] = got
    date, rowid = item.get("date") or "", int(item.get("rowid") or 0)
    fields[SORT_ASC] = [f"{date or '~'}\x01{rowid:012d}"]
    fields[SORT_DESC] = [f"{date or '!'}\x01{rowid:012d}"]
    fields[SORT_SIZE] = [max(0, int(item.get("size") or 0))]
    fields[SORT_SENDER] = [_sender_key(item.get("email_from") or "")]
    fields[SORT_VERDICT] = [VERDICT_RANK.get(item.get("verdict") or "", len(VERDICT_RANK))]
    # Through tantivy, as the index's documents are: its own form of each value.
    return tantivy.Document.from_dict(fields, SCHEMA).to_dict()


def reference_documents(db, ids: list[str]) -> dict[str, dict[str, list[Any]]]:
    items = [dict(r) for r in db.select_items(ItemQuery(ids=tuple(ids))) if r["state"] == "stored"]
    stored = [r["id"] for r in items]
    texts, findings = db.texts_of(stored), db.findings_of(stored)
    read: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for spec in READ_TABLES:
        for row in db.table_rows_in(spec, "item_id", stored):
            read.setdefault(row["item_id"], {}).setdefault(spec.name, []).append(row)
    return {
        r["id"]: reference_document(r, texts.get(r["id"], []), findings.get(r["id"], []), read.get(r["id"], {}))
        for r in items
    }


# -- the tests --------------------------------------------------------------------------------------
def _stored_ids(db) -> list[str]:
    return [r[0] for r in db.item_values(["id"], ItemQuery(state="stored"))]


def test_every_document_is_the_reference_one(demo):
    db = demo.db
    ids = _stored_ids(db)
    assert len(ids) > 300
    made = {doc.to_dict()[ID][0]: doc.to_dict() for doc in db._documents(ids)}
    expected = reference_documents(db, ids)
    assert set(made) == set(expected) == set(ids)
    differ = [i for i in ids if made[i] != expected[i]]
    assert not differ, {i: (made[i], expected[i]) for i in differ[:3]}


def test_the_case_is_varied_enough_to_say_so(demo):
    """The comparison above is only worth what the case holds: every filter field, facet field and stem
    field has values in some document, and some item has several texts, findings, entities."""
    docs = reference_documents(demo.db, _stored_ids(demo.db)).values()
    filled = {name for d in docs for name in d}
    wanted = {ff.field for ff in FILTER_FIELDS.values()} | set(FACET_FIELDS.values())
    wanted |= {name for name, _lang, _weight in STEM_FIELDS} | {"subject", "sender", "recipients", "body", "names"}
    assert wanted <= filled, wanted - filled
    assert any(len(d.get(FILTER_FIELDS["finding"].field, [])) > 3 for d in docs)
    assert any(len(d.get(FILTER_FIELDS["entity"].field, [])) > 3 for d in docs)
    assert any(len(d.get(FILTER_FIELDS["to"].field, [])) > 1 for d in docs)
    assert any(d[SORT_ASC][0].startswith("~") for d in docs)  # undated items too


def test_documents_of_a_few_items_and_of_items_gone(demo):
    """A batch of some ids, one of them unknown: the documents of the known ones, nothing for the other."""
    db = demo.db
    ids = _stored_ids(db)[5:9] + ["no-such-item"]
    made = {doc.to_dict()[ID][0]: doc.to_dict() for doc in db._documents(ids)}
    assert made == reference_documents(db, ids)
    assert len(made) == 4
