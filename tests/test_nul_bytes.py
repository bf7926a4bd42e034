"""Nothing from the leak is cut at a NUL or any other control byte (issue 16): a Subject, a sender's
name, a file name and a body holding them are stored as they are, found by search, and shown with
markers, on SQLite and on PostgreSQL (whose text holds no NUL: store/postgres/nul.py escapes it, and
the escape's own characters U+FDD0/U+FDD1 are in the leak here too, so the escape must be reversible)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient
from helpers import build_case, sha
from lxml import html as lxml_html

from leaklens.web.app import create_app

SUBJECT = "Budget\x00hidden \x1b[31mpart\x7f \ufdd0\ufdd1\ufdd0"
NAME = "rep\x00ort\x01\ufdd0.pdf"
SENDER = "An\x00ne\x1b \ufdd0\ufdd1\x7f"  # the display name, with the store's escape characters too
BODY = "before\x00after the NUL, kingfisher \ufdd0\x00\ufdd0\ufdd0\ufdd1 \x1b\x7f end"
RAW = (
    b"From: " + SENDER.encode() + b" <anne@x.example>\r\nTo: paul@x.example\r\nSubject: " + SUBJECT.encode() + b"\r\n"
    b"Date: Wed, 03 May 2017 10:00:00 +0200\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    + BODY.encode() + b"\r\n--BB\r\nContent-Type: application/octet-stream\r\n"
    # RFC 2231 for the name: a raw 8-bit parameter is read by the email package as U+FFFD per byte.
    b"Content-Disposition: attachment; filename*=utf-8''" + quote(NAME).encode() + b"\r\n\r\n"
    b"%PDF-1.4 stub\r\n--BB--\r\n"
)


def _case(tmp_path, db=None):
    src = tmp_path / "in"
    src.mkdir(parents=True)
    (src / "nul.eml").write_bytes(RAW)
    return build_case(tmp_path, src, db=db)


def _stored_byte_for_byte(case):
    email = next(iter(case.db.items("kind='email'", ())))
    part = next(iter(case.db.items("kind='attachment'", ())))
    return email, part


def test_nul_and_controls_are_stored_found_and_shown(tmp_path, backend):
    case = _case(tmp_path, db=backend)
    email, part = _stored_byte_for_byte(case)
    assert email["subject"] == SUBJECT and part["name"] == NAME
    assert email["email_from"].startswith(SENDER)
    assert BODY in case.db.texts_for(email["id"])[0].text
    assert case.blobs.read(email["sha256"]) == RAW and email["sha256"] == sha(RAW)
    # Searchable on either side of the NUL.
    assert case.db.search("hidden")[0] == 1 and case.db.search("budget")[0] == 1
    assert case.db.search("kingfisher")[0] == 1 and case.db.search("after")[0] == 1
    # A condition's value holding a NUL matches the column holding it (on PostgreSQL: escaped alike).
    assert [r["id"] for r in case.db.items("subject = ?", (SUBJECT,))] == [email["id"]]
    assert [r["id"] for r in case.db.items("subject LIKE ?", ("%\x00hidden%",))] == [email["id"]]
    named = case.db.items("kind='attachment' AND name LIKE ?", ("%\x00ort\x01\ufdd0%",))
    assert [r["id"] for r in named] == [part["id"]]
    assert not list(case.db.items("subject LIKE ?", ("%\ufdd1\ufdd1%",)))  # an escape pair is not the text
    client = TestClient(create_app(case.root))
    page = lxml_html.fromstring(client.get(f"/items/{email['id']}").text)
    marked = ["NUL", "ESC", "DEL", "U+FDD0", "U+FDD1", "U+FDD0"]  # the store's escape characters too
    assert [m.text for m in page.xpath("//h1//span[@class='hidden-char']")] == marked
    assert page.findtext(".//title") == "Budget[NUL]hidden [ESC][31mpart[DEL] [U+FDD0][U+FDD1][U+FDD0] · case"
    assert page.xpath("string(//pre[@class='body-text']/bdi/span[@class='hidden-char'])") == "NUL"
    (link,) = page.xpath("//section[@aria-labelledby='h-children']//td/a")
    assert link.text_content() == "repNULortU+0001U+FDD0.pdf"
    # A search hit shows the Subject with its markers too (the index was fed the real string).
    hits = lxml_html.fromstring(client.get("/search", params={"q": "kingfisher"}).text)
    (title,) = hits.xpath("//a[@class='hit-title']")
    assert [m.text for m in title.xpath(".//span[@class='hidden-char']")] == marked
    # The download is the original bytes; its name loses the controls.
    r = client.get(f"/items/{part['id']}/raw")
    assert r.content == b"%PDF-1.4 stub" and "\x00" not in r.headers["content-disposition"]


def _everything(case) -> dict:
    """What the store gives back of a case: rows, findings and texts, keyed by path (row ids and the
    database's name differ between two cases)."""
    out = {}
    for row in case.db.items():
        item = {k: v for k, v in dict(row).items() if k != "rowid"}
        findings = [(f.code, f.severity, f.message, f.evidence) for f in case.db.findings_for(row["id"])]
        texts = [(t.source, t.text) for t in case.db.texts_for(row["id"])]
        out[row["path"]] = (item, sorted(findings, key=repr), texts)
    return out


def test_nul_is_kept_on_postgres(tmp_path, pg_url):
    on_sqlite = _case(tmp_path / "s")
    on_postgres = _case(tmp_path / "p", db=pg_url)
    email, part = _stored_byte_for_byte(on_postgres)
    assert email["subject"] == SUBJECT and part["name"] == NAME
    assert _everything(on_postgres) == _everything(on_sqlite)
    # The search index is fed from store reads: its hits show the real string on both.
    (hit,) = on_postgres.db.search("kingfisher")[1]
    assert hit["subject"] == SUBJECT == on_sqlite.db.search("kingfisher")[1][0]["subject"]


def test_the_search_table_in_a_terminal_shows_markers_not_control_bytes(tmp_path, backend):
    from typer.testing import CliRunner

    from leaklens.cli import app

    case = _case(tmp_path, db=backend)
    out = CliRunner().invoke(app, ["search", "hidden", "--case", str(case.root)], env={"COLUMNS": "250"}).output
    assert "Budget[NUL]hidden [ESC][31mpart[DEL]" in out
    assert "\x00" not in out and "\x1b[31m" not in out
