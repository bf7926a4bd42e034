"""The audit log: every CLI command and web action on a case recorded (who, when, version, options),
append-only on both backends (no store method changes an entry; the database refuses it), shown on the
workbench's Audit page and by `leaklens audit`."""

from __future__ import annotations

import getpass
import sqlite3

import pytest
from fastapi.testclient import TestClient
from helpers import build_case
from typer.testing import CliRunner

from leaklens import __version__
from leaklens.audit import _plain, entry
from leaklens.case import Case
from leaklens.cli import app
from leaklens.store.base import CaseStore
from leaklens.web.app import create_app


@pytest.fixture
def case_dir(tmp_path):
    src = tmp_path / "dump"
    src.mkdir()
    (src / "a.txt").write_text("alpha\n")
    (src / "b.txt").write_text("beta\n")
    build_case(tmp_path, src).close()
    return tmp_path / "case"


def test_a_cli_command_is_recorded_with_who_version_and_options(case_dir):
    r = CliRunner().invoke(app, ["fsck", "--case", str(case_dir), "-q"])
    assert r.exit_code == 0, r.output
    with Case.open(case_dir) as c:
        (e,) = [x for x in c.db.audit_entries() if x["command"] == "fsck"]
    assert e["who"] == getpass.getuser() and e["via"] == "cli" and e["version"] == __version__
    assert e["options"]["case"] == str(case_dir) and e["options"]["quiet"] is True
    assert e["at"].endswith("+00:00")
    r = CliRunner().invoke(app, ["audit", "--case", str(case_dir)])
    assert r.exit_code == 0 and "fsck" in r.output


def test_an_ingest_that_makes_the_case_is_recorded_at_its_end(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "x.txt").write_text("x\n")
    case = tmp_path / "new"
    r = CliRunner().invoke(app, ["ingest", "-q", "--case", str(case), str(tmp_path / "src")])
    assert r.exit_code == 0, r.output
    with Case.open(case) as c:
        assert [e["command"] for e in c.db.audit_entries()] == ["ingest"]


def test_secrets_are_never_logged():
    assert _plain("db", "postgresql://u:s3cret@h/db") == "postgresql://u:***@h/db"
    assert _plain("auth", "tok") == "***"


def test_the_store_has_no_way_to_change_an_entry():
    names = [n for n in dir(CaseStore) if "audit" in n]
    assert sorted(names) == ["append_audit", "audit_entries"]


def test_append_only_on_both_backends(backend, tmp_path):
    with Case.open(tmp_path / "case", create=True, db=backend) as c:
        c.db.append_audit(entry("anne", "cli", "verify", {"argv": ["--workers", "2"]}))
        c.db.append_audit(entry("paul", "web", "POST /api/items/{item_id}/tags", {"params": {"item_id": "x"}}))
        got = c.db.audit_entries()
        assert [e["who"] for e in got] == ["paul", "anne"]  # newest first
        assert got[1]["options"] == {"argv": ["--workers", "2"]}
        assert len(c.db.audit_entries(1)) == 1
        if backend is None:
            conn = sqlite3.connect(tmp_path / "case" / "case.db")
            for sql in ("UPDATE audit_log SET who='mallory'", "DELETE FROM audit_log"):
                with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                    conn.execute(sql)
            conn.close()
        else:
            import psycopg

            with psycopg.connect(backend, autocommit=True) as conn:
                for sql in ("UPDATE audit_log SET who='mallory'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
                    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                        conn.execute(sql)
        assert [e["who"] for e in c.db.audit_entries()] == ["paul", "anne"]


def test_web_actions_are_recorded_and_shown(case_dir):
    client = TestClient(create_app(case_dir))
    csrf = client.get("/api/session").json()["csrf_token"]
    with Case.open(case_dir) as c:
        item = next(iter(c.db.item_values(("id",))))[0]
    r = client.post(f"/api/items/{item}/tags", json={"tag": "lead"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code in (200, 201), r.text
    r = client.post(f"/api/items/{item}/notes", json={"body": "call back"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code in (200, 201), r.text
    assert client.get("/export", params={"tag": "lead"}).status_code < 400
    # a refused action (no CSRF token) did nothing: it is not recorded
    assert client.post(f"/api/items/{item}/tags", json={"tag": "x"}).status_code == 403
    with Case.open(case_dir) as c:
        web = [e for e in c.db.audit_entries() if e["via"] == "web"]
    commands = [e["command"] for e in web]
    assert "POST /api/items/{item_id}/tags" in commands and "POST /api/items/{item_id}/notes" in commands
    assert any(cmd.startswith("GET /export") for cmd in commands)
    assert len([c for c in commands if c.endswith("/tags")]) == 1
    tag = next(e for e in web if e["command"].endswith("/tags"))
    assert tag["options"]["params"] == {"item_id": item} and tag["who"].startswith("web")
    assert "call back" not in str(web)  # a note's text is the journalist's, not the log's
    page = client.get("/audit")
    assert page.status_code == 200
    assert "POST /api/items/{item_id}/tags" in page.text and 'href="/audit"' in page.text
    assert client.get("/api/audit").json()[0]["via"] == "web"
