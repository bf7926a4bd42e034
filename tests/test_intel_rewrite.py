"""The intel step writes its sightings only when they changed (intel/steps.py, `_replace_if_changed`):
a second analysis of an unchanged case keeps the rows as they are, a changed case gets the new rows,
in the order gathered, on each backend."""

from __future__ import annotations

import pytest
from helpers import build_case

from leaklens.case import Case
from leaklens.intel.steps import _replace_if_changed, analyse
from leaklens.intel.tables import SIGHTINGS
from leaklens.store.base import transaction


def _eml(folder, name: str, sender: str, link: str) -> None:
    (folder / name).write_text(
        f"From: {sender}\nTo: paul@horizon.example\nSubject: {name}\nDate: Mon, 03 Apr 2017 10:00:00 +0000\n"
        f"MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n"
        f'<p>See <a href="{link}">{link}</a></p>\n'
    )


@pytest.fixture
def case(tmp_path, backend) -> Case:
    src = tmp_path / "in"
    src.mkdir()
    _eml(src, "a.eml", "zoe@a.example", "https://files.b.example/x")
    _eml(src, "b.eml", "anne@c.example", "https://d.example/login")
    c = build_case(tmp_path, src, db=backend)
    yield c
    c.close()


def _rows(case: Case) -> list[dict]:
    return case.db.table_rows(SIGHTINGS)


def test_an_unchanged_case_keeps_its_sightings_as_written(case):
    db = case.db
    with transaction(db):
        analyse(case)
    first = _rows(case)
    assert {r["value"] for r in first} >= {"a.example", "c.example", "https://d.example/login"}
    rows = [dict(r) for r in first]
    with transaction(db):
        assert _replace_if_changed(db, SIGHTINGS, rows) is False
        analyse(case)
    assert _rows(case) == first


def test_a_change_rewrites_them_in_the_order_given(case):
    db = case.db
    with transaction(db):
        analyse(case)
    rows = [dict(r) for r in _rows(case)]
    changed = [*rows[1:], rows[0]]  # the same rows, another order: readers list them in it
    with transaction(db):
        assert _replace_if_changed(db, SIGHTINGS, changed) is True
    assert _rows(case) == changed
    fewer = changed[:-1]
    with transaction(db):
        assert _replace_if_changed(db, SIGHTINGS, fewer) is True
    assert _rows(case) == fewer
    with transaction(db):  # the case's own sightings again
        analyse(case)
    assert _rows(case) == rows
