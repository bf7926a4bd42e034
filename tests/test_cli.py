"""The command line: contracts, help, and one clear line for bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from email.message import EmailMessage

import pytest
from helpers import ROOT

VERBS = ["ingest", "search", "report", "demo"]


# case folder -> the environment its commands run with (a case on PostgreSQL: its URL, with the password)
CASE_ENV: dict[str, dict[str, str]] = {}


def run(*args, cwd=None, check_rc=None):
    env = next((CASE_ENV[str(a)] for a in args if str(a) in CASE_ENV), {})
    proc = subprocess.run(
        [sys.executable, "-m", "leaklens", *map(str, args)],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", **env},  # wide tables: names are not wrapped
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def _email(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = "Claire Dubois <claire@horizon.example>"
    m["To"] = "press@horizon.example"
    m["Subject"] = f"Communiqué {i}"
    m["Date"] = "Tue, 02 May 2017 09:00:00 +0200"
    m["Message-ID"] = f"<c{i}@horizon.example>"
    m.set_content("Le communiqué sur le financement est prêt.\n")
    m.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf", filename="draft.pdf")
    return bytes(m)


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory, module_backend):
    """A case made by `leaklens ingest`, on SQLite and (--db) on PostgreSQL; the later commands name
    only the folder, which remembers its database (the password comes from LEAKLENS_DB)."""
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "in").mkdir()
    for i in range(3):
        (tmp / "in" / f"m{i}.eml").write_bytes(_email(i))
    db = ("--db", module_backend) if module_backend else ()
    run("ingest", "--quiet", "--case", tmp / "case", *db, tmp / "in", check_rc=0)
    if module_backend:
        CASE_ENV[str(tmp / "case")] = {"LEAKLENS_DB": module_backend}
    return tmp / "case"


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb):
    out = run(verb, "--help", check_rc=0).stdout
    assert "Usage" in out and "--case" in out or verb == "demo"


def test_missing_source_is_one_line_exit_2(tmp_path):
    p = run("ingest", "--case", tmp_path / "c", tmp_path / "nope.mbox")
    assert p.returncode == 2
    assert "no such file or folder" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_folder_that_is_not_a_case(tmp_path):
    (tmp_path / "notacase").mkdir()
    (tmp_path / "notacase" / "x.txt").write_text("x")
    for args in (("search", "x"), ("report",)):
        p = run(*args, "--case", tmp_path / "notacase")
        assert p.returncode == 2 and "not a leaklens case" in p.stderr and "Traceback" not in p.stderr
    p = run("ingest", "--case", tmp_path / "notacase", tmp_path / "notacase" / "x.txt")
    assert p.returncode == 2 and "not a leaklens case" in p.stderr


def test_corrupt_case_db(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "case.db").write_bytes(b"this is not sqlite" * 100)
    p = run("report", "--case", tmp_path / "bad")
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_usage_errors_exit_1(case_dir):
    assert run("report", "--case", case_dir, "--format", "xml").returncode == 1
    assert run("search", "--case", case_dir, "after:yesterday").returncode == 1


def test_report_json_contract(case_dir):
    doc = json.loads(run("report", "--case", case_dir, "--format", "json", check_rc=0).stdout)
    assert set(doc) >= {"leaklens", "case", "summary", "items"}
    s = doc["summary"]
    assert s["items"] == len(doc["items"]) == 6
    assert s["by_verdict"] == {"unverified": 6}
    assert s["by_kind"] == {"email": 3, "attachment": 3}
    acc = s["accounting"]["items"]
    assert acc["found"] == acc["stored"] + acc["skipped"] + acc["failed"]
    for item in doc["items"]:
        assert set(item) >= {"id", "path", "sha256", "kind", "parent", "size", "verdict", "findings", "email"}
        if item["kind"] == "email":
            assert set(item["email"]) == {"from", "to", "cc", "subject", "date", "message_id"}
        else:
            assert item["email"] is None and item["parent"]


def test_report_jsonl_and_csv_to_file(case_dir, tmp_path):
    lines = run("report", "--case", case_dir, "--format", "jsonl", check_rc=0).stdout.splitlines()
    assert len(lines) == 6 and all(json.loads(ln)["id"] for ln in lines)
    out = tmp_path / "r.csv"
    run("report", "--case", case_dir, "--format", "csv", "-o", out, check_rc=0)
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(table) == 6 and {r["kind"] for r in table} == {"email", "attachment"}


def test_search_table_highlights(case_dir):
    out = run("search", "--case", case_dir, "financement kind:email", check_rc=0).stdout
    assert "3 results" in out and "Communiqué" in out
    assert "0 results" in run("search", "--case", case_dir, "financement kind:document", check_rc=0).stdout


def test_check_one_message_exit_codes(tmp_path):
    from helpers import GMAIL

    original = GMAIL / "meeting-for-coffee.eml"
    out = run("check", original, check_rc=0).stdout
    assert out.startswith("VERIFIED") and "dkim.pass" in out
    altered = tmp_path / "altered.eml"
    raw = original.read_bytes()
    split = raw.index(b"\n\n") + 2
    altered.write_bytes(raw[:split] + raw[split:].replace(b"e", b"E", 1))  # one byte of the body
    assert "dkim.body_hash_mismatch" in run("check", altered, check_rc=3).stdout
    unsigned = tmp_path / "unsigned.eml"
    unsigned.write_bytes(b"From: a@x.example\r\nSubject: hi\r\n\r\nhello\r\n")
    run("check", unsigned, check_rc=4)
    doc = json.loads(run("check", "--json", original, check_rc=0).stdout)
    assert doc["verdict"] == "verified" and doc["signatures"][0]["d"] == "gmail.com"
    missing = run("check", tmp_path / "nope.eml")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_keys_import_list_and_verify(tmp_path):
    from helpers import dkim_signed, key_record_file, make_rsa_key

    pem, pub = make_rsa_key()
    m = EmailMessage()
    m["From"] = "claire@horizon.example"
    m["To"] = "press@horizon.example"
    m["Subject"] = "Signed"
    m["Date"] = "Tue, 02 May 2017 09:00:00 +0200"
    m["Message-ID"] = "<s1@horizon.example>"
    m.set_content("Signed text.\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "s.eml").write_bytes(dkim_signed(m, pem, "sel", "horizon.example"))
    case = tmp_path / "case"
    run("ingest", "-q", "--case", case, tmp_path / "in", check_rc=0)
    run("verify", "-q", "--case", case, check_rc=0)
    keys = key_record_file(tmp_path / "zone.txt", pub, "sel", "horizon.example")
    out = run("keys", "import", "--case", case, keys, check_rc=0).stdout
    assert "sel._domainkey.horizon.example" in out
    listed = run("keys", "list", "--case", case, check_rc=0).stdout
    assert "sel._domainkey.horizon.example" in listed and "20120113._domainkey.gmail.com" in listed
    out = run("verify", "-q", "--case", case, check_rc=0).stdout
    assert "1 of 1 emails checked" in out
    doc = json.loads(run("report", "--case", case, check_rc=0).stdout)
    assert doc["summary"]["by_verdict"] == {"verified": 1}
    bad = tmp_path / "garbage.txt"
    bad.write_text("this is not a key file")
    p = run("keys", "import", "--case", case, bad)
    assert p.returncode == 2 and "Traceback" not in p.stderr
