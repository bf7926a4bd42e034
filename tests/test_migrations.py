"""Numbered migrations: a case made by an earlier release opens, is migrated, and reports the same;
a new case (SQLite or PostgreSQL) gets each once, and a failed one leaves the case as it was."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3

import pytest
from helpers import ROOT

from leaklens.case import Case
from leaklens.errors import LeaklensError
from leaklens.report.writers import write_json
from leaklens.store.base import Column, TableSpec
from leaklens.store.sqlite.migrations import LATEST, MIGRATIONS, schema_version

FIXTURE = ROOT / "tests" / "fixtures" / "case-21da9bf"
ITEM_FIELDS = ("id", "path", "sha256", "kind", "parent", "size", "verdict", "email")


def _core(item: dict) -> dict:
    return {**{k: item[k] for k in ITEM_FIELDS}, "findings": [(f["code"], f["severity"]) for f in item["findings"]]}


def test_a_21da9bf_case_is_migrated_and_reports_the_same(tmp_path) -> None:
    root = tmp_path / "case"
    shutil.copytree(FIXTURE, root)
    with sqlite3.connect(root / "case.db") as conn:
        assert schema_version(conn) == 1  # as that release left it
    with Case.open(root) as case:
        assert case.db.get_meta("schema_version") == str(LATEST)
        buf = io.StringIO()
        write_json(case, buf)
    new, old = json.loads(buf.getvalue()), json.loads((FIXTURE / "report.json").read_text())
    assert [_core(i) for i in new["items"]] == [_core(i) for i in old["items"]]
    for key in ("items", "by_verdict", "by_kind", "accounting"):
        assert new["summary"][key] == old["summary"][key], key
    # The store hands out the next row ids after the ones the old case holds, and the texts that
    # release kept only inside its search index are now a text store of their own.
    with Case.open(root) as case:
        parent = next(r for r in case.db.items("subject='Printer budget'"))
        [body] = case.db.texts_for(parent["id"])
        assert body.source == "body" and "12,000 euros" in body.text
        first = case.db.reserve_rowids(3)
        assert first == max(r["rowid"] for r in case.db.items()) + 1
        assert case.db.reserve_rowids(1) == first + 3


def test_a_new_case_gets_every_migration_once(tmp_path) -> None:
    with Case.open(tmp_path / "c", create=True) as case:
        assert case.db.get_meta("schema_version") == str(LATEST)
        assert case.db.migrate() == []  # nothing left to apply
    assert [n for n, _, _ in MIGRATIONS] == list(range(1, LATEST + 1))  # numbered, none skipped


def test_clearing_a_stage_reads_the_findings_of_that_stage_only(tmp_path) -> None:
    """Migration 6: clear_findings' DELETE goes through findings(stage), on a new case and a migrated one."""
    old = tmp_path / "old"
    shutil.copytree(FIXTURE, old)
    for root in (tmp_path / "new", old):
        Case.open(root, create=True).close()
        with sqlite3.connect(root / "case.db") as conn:
            plan = conn.execute("EXPLAIN QUERY PLAN DELETE FROM findings WHERE stage IN ('verify')").fetchall()
        assert any("findings_stage" in row[-1] for row in plan), plan


def test_a_failed_migration_leaves_the_case_as_it_was(tmp_path, monkeypatch) -> None:
    root = tmp_path / "case"
    shutil.copytree(FIXTURE, root)
    from leaklens.store.sqlite import migrations

    broken = [*migrations.MIGRATIONS, (LATEST + 1, "broken", "CREATE TABLE t(x); INSERT INTO nowhere VALUES(1);")]
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    with pytest.raises(LeaklensError, match="nowhere"):  # one clear line, not a traceback
        Case.open(root)
    with sqlite3.connect(root / "case.db") as conn:
        assert schema_version(conn) == LATEST
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name='t'").fetchone() is None


def test_a_new_postgres_case_gets_every_migration_once(tmp_path, pg_url) -> None:
    from leaklens.store.postgres import migrations as pg

    with Case.open(tmp_path / "c", create=True, db=pg_url) as case:
        assert case.db.get_meta("schema_version") == str(pg.LATEST)
        assert case.db.migrate() == []
    assert [n for n, _, _ in pg.MIGRATIONS] == list(range(1, pg.LATEST + 1))


def test_postgres_findings_are_indexed_by_stage(tmp_path, pg_url) -> None:
    """Migration 3 (PostgreSQL): clear_findings' DELETE can go through findings(stage)."""
    with Case.open(tmp_path / "c", create=True, db=pg_url) as case:
        conn = case.db.conn
        [(found,)] = conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'findings_stage'").fetchall()
        assert found == 1
        conn.execute("BEGIN")
        try:
            conn.execute("SET LOCAL enable_seqscan = off")  # an empty table: ask whether the index can serve
            plan = conn.execute("EXPLAIN DELETE FROM findings WHERE stage = ANY(ARRAY['verify'])").fetchall()
        finally:
            conn.execute("ROLLBACK")
        assert "findings_stage" in " ".join(r[0] for r in plan), plan


def test_a_failed_postgres_migration_leaves_the_case_as_it_was(tmp_path, pg_url, monkeypatch) -> None:
    from leaklens.store.postgres import migrations as pg

    Case.open(tmp_path / "c", create=True, db=pg_url).close()
    broken = [*pg.MIGRATIONS, (pg.LATEST + 1, "broken", ["CREATE TABLE t(x int)", "INSERT INTO nowhere VALUES(1)"])]
    monkeypatch.setattr(pg, "MIGRATIONS", broken)
    monkeypatch.setattr(pg, "LATEST", pg.LATEST + 1)
    with pytest.raises(LeaklensError, match="nowhere"):  # one clear line, not a traceback
        Case.open(tmp_path / "c", db=pg_url)
    monkeypatch.undo()
    with Case.open(tmp_path / "c", db=pg_url) as case:
        assert case.db.get_meta("schema_version") == str(pg.LATEST)
        assert case.db.table_columns(TableSpec("t", (), (Column("x", "int"),))) == set()  # rolled back whole


def test_one_items_findings_are_read_and_removed_by_the_item_index(tmp_path) -> None:
    """With findings(stage) there, the planner took it for `item_id=? AND stage=?`: every finding of
    the stage scanned once an item (a verify of 20,000 emails spent 62 s deleting its old findings)."""
    from leaklens.model import Finding

    with Case.open(tmp_path / "c", create=True) as case:
        db = case.db
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)
        db.delete_findings_of(["x"], "verify")
        db.findings_for("x", "verify")
        db.add_findings("x", "verify", [Finding("dkim.pass", "info", "ok", {})])
        db.conn.set_trace_callback(None)
        reads = [s for s in statements if "FROM findings WHERE item_id" in s]
        assert len(reads) >= 2, statements
        for sql in reads:
            plan = db.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            assert any("findings_item" in row[-1] for row in plan), (sql, plan)
