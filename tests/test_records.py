"""The records an item travels in: declared once, the store's columns, cheap to send to a worker."""

from __future__ import annotations

import pickle
from dataclasses import fields

from helpers import build_case

from leaklens.model import ITEM_FIELDS, Child, Finding, Item, Result, Task
from leaklens.store.base import ITEM_FIELDS as STORE_FIELDS


def test_the_item_record_declares_the_store_columns(tmp_path, backend):
    assert STORE_FIELDS is ITEM_FIELDS
    assert [f.name for f in fields(Item)] == [*ITEM_FIELDS, "rowid"]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a heron\n")
    case = build_case(tmp_path, tmp_path / "in", db=backend)
    (row,) = case.db.items()
    assert set(row.keys()) == {"rowid", *ITEM_FIELDS}  # what the store keeps is what the record declares


def test_records_cross_a_process_boundary_whole():
    child = Child("c1", "dump.mbox!/#1", name="#1", depth=1, hints={"content_type": "message/rfc822"})
    result = Result(
        "i1",
        "stored",
        sha256="ab" * 32,
        size=10,
        range=("cd" * 32, 0, 10),
        email={"from": "a@x.example", "subject": "Budget"},
        findings=[Finding("ingest.bomb", "warning", "big", {"max_ratio": 200})],
        children=[child],
        names="dump.mbox",
    )
    task = Task("i1", 7, "dump.mbox", "dump.mbox", hints={"a": 1}, budget=5)
    item = Item("i1", "dump.mbox", source="dump.mbox", hints={"a": 1}, rowid=7)
    for record in (child, result, task, item):
        assert pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)) == record
    assert not hasattr(result, "__dict__")  # slots: no per-object dict to send
    assert Task.of(item) == Task("i1", 7, "dump.mbox", "dump.mbox", hints={"a": 1})


def test_records_read_like_the_rows_they_replace():
    child = Child("c1", "dump.mbox!/#1", name="#1", depth=1, state="stored", sha256="ab" * 32)
    assert child["name"] == "#1" and child["sha256"] == "ab" * 32
    try:
        child["no_such_field"]
    except KeyError:
        pass
    else:
        raise AssertionError("an unknown field must be a KeyError, as in a mapping")
