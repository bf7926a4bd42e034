"""Mailbox members kept as byte ranges of their stored mailbox: same bytes, one copy, no file of their own.

The case is built by the real pipeline (ingest on two worker processes, verify with
dkimpy-signed messages); reads go through every path a user has to the bytes:
the library, the verifier's workers, the web's raw download and its zip export.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from helpers import assert_balanced, build_case, dkim_signed, key_record_file, make_rsa_key, rows

from leaklens.case import Case
from leaklens.verify.case_verify import verify_case
from leaklens.web.app import create_app

DOMAIN, SELECTOR = "horizon.example", "mail2017"
ENVELOPE = b"From anne@horizon.example Tue May  2 09:00:00 2017\n"


def _message(n: int, body: str, attachment: bytes | None = None) -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"anne@{DOMAIN}"
    m["To"] = f"paul@{DOMAIN}"
    m["Subject"] = f"Budget {n}"
    m["Date"] = f"Tue, 0{n} May 2017 09:00:00 +0200"
    m["Message-ID"] = f"<{n}@{DOMAIN}>"
    m.set_content(body)
    if attachment is not None:
        m.add_attachment(attachment, maintype="application", subtype="octet-stream", filename="ledger.bin")
    return m


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranges")
    pem, pub = make_rsa_key()
    signed = dkim_signed(_message(1, "The printer is paid.\n", b"\x00\x01ledger" * 300), pem, SELECTOR, DOMAIN)
    # A body line that starts with "From ": the mbox writer escapes it, so the stored member
    # (unescaped, as sent) is no longer a range of the mailbox and needs a file of its own.
    quoted = dkim_signed(_message(2, "See you.\nFrom the office, Anne.\n"), pem, SELECTOR, DOMAIN)
    plain = bytes(_message(3, "Unsigned note.\n"))
    assert b"\nFrom the office" in quoted
    mbox = root / "anne.mbox"
    mbox.write_bytes(
        b"".join(ENVELOPE + m.replace(b"\nFrom ", b"\n>From ") + b"\n" for m in (signed, quoted, plain))
    )
    keys = key_record_file(root / "keys.txt", pub, SELECTOR, DOMAIN)
    case = build_case(root, mbox, workers=2)
    verify_case(case, key_files=[keys], workers=2)
    by_subject = {r["subject"]: r for r in rows(case, "kind='email'")}
    return case, by_subject, {"signed": signed, "quoted": quoted, "plain": plain}


def test_members_that_are_ranges_have_no_file_and_read_back_byte_for_byte(built):
    case, emails, raw = built
    assert_balanced(case)
    for subject, original in (("Budget 1", raw["signed"]), ("Budget 3", raw["plain"])):
        sha = emails[subject]["sha256"]
        assert sha == hashlib.sha256(original).hexdigest()
        assert case.blobs.is_range(sha) and not case.blobs.path(sha).exists()
        assert case.blobs.read(sha) == original
        with case.blobs.open(sha) as fh:
            assert fh.read(7) + fh.read() == original
    # The unquoted member and the decoded attachment are files; so is the mailbox, untouched.
    quoted = emails["Budget 2"]["sha256"]
    assert case.blobs.path(quoted).read_bytes() == raw["quoted"] and not case.blobs.is_range(quoted)
    (attachment,) = rows(case, "kind='attachment'")
    assert case.blobs.read(attachment["sha256"]) == b"\x00\x01ledger" * 300
    (mailbox,) = rows(case, "depth=0")
    files = sorted(p.name for p in case.blobs.root.rglob("*") if p.is_file())
    assert files == sorted([mailbox["sha256"], quoted, attachment["sha256"]])


def test_the_verifier_reads_ranges_in_its_workers(built):
    case, emails, _ = built
    assert emails["Budget 1"]["verdict"] == "verified"
    assert emails["Budget 2"]["verdict"] == "verified"  # the unquoted copy validates again
    att = case.db.conn.execute("SELECT verdict FROM items WHERE kind='attachment'").fetchone()[0]
    assert att == "verified"  # covered by its verified parent's body hash


def test_web_download_and_zip_export_serve_range_bytes(built):
    case, emails, raw = built
    client = TestClient(create_app(case.root))
    item = emails["Budget 1"]["id"]
    r = client.get(f"/items/{item}/raw")
    assert r.status_code == 200 and r.content == raw["signed"]
    assert r.headers["content-length"] == str(len(raw["signed"]))
    csrf = client.get("/api/session").json()["csrf_token"]
    tagged = client.post(f"/api/items/{item}/tags", json={"tag": "keep"}, headers={"X-CSRF-Token": csrf})
    assert tagged.status_code == 201
    z = zipfile.ZipFile(io.BytesIO(client.get("/export", params={"tag": "keep", "format": "zip"}).content))
    (entry,) = json.loads(z.read("manifest.json"))["files"]
    assert z.read(entry["file"]) == raw["signed"]


def test_a_second_ingest_adds_no_range_and_no_file(built, tmp_path):
    case, _, _ = built
    before = case.db.conn.execute("SELECT COUNT(*) FROM blob_ranges").fetchone()[0]
    files = sum(1 for p in case.blobs.root.rglob("*") if p.is_file())
    from leaklens.ingest.walker import ingest

    source = case.db.sources()[0]["abspath"]
    ingest(case, [source], workers=1)
    assert case.db.conn.execute("SELECT COUNT(*) FROM blob_ranges").fetchone()[0] == before == 2
    assert sum(1 for p in case.blobs.root.rglob("*") if p.is_file()) == files
    reopened = Case.open(case.root)
    assert all(reopened.blobs.read(r["sha256"]) for r in rows(reopened, "kind='email'"))


def test_accounting_counts_range_bytes_once(built):
    case, emails, raw = built
    b = case.db.accounting()["bytes"]
    assert b["ranged_bytes"] == len(raw["signed"]) + len(raw["plain"])
    on_disk = sum(p.stat().st_size for p in case.blobs.root.rglob("*") if p.is_file())
    assert b["unique_bytes"] - b["ranged_bytes"] == on_disk
