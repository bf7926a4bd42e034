"""Issue 16's "small things found", the last four: one signature numbering for message and evidence,
encoded words decoded where a finding quotes a header, a document metadata panel without empty
fields or a false "findings: none", and every date shown saying its zone (UTC).

Built by the real ingest and verify steps over real files: DKIM-signed mail (dkimpy), a .docx
written by python-docx, on SQLite and PostgreSQL; pages read through the web app, the HTML report
and the CLI.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from helpers import dkim_signed, key_record_file, make_rsa_key, thread_message
from lxml import html as lxml_html
from test_docmeta_formats import make_docx
from typer.testing import CliRunner

from leaklens.case import Case
from leaklens.cli import app as cli_app
from leaklens.display import document_fields, evidence_shown, quoted_header, when
from leaklens.ingest.walker import ingest
from leaklens.report.html_report import write_html
from leaklens.verify.case_verify import verify_case
from leaklens.verify.rawmail import parse_raw
from leaklens.verify.recover import list_hints
from leaklens.web.app import create_app

DOMAIN, SELECTOR = "small.example", "s2017"
# Added above the signed Subject after signing: what a mail program shows, RFC 2047 encoded.
ADDED_SUBJECT = "=?utf-8?q?Facture_r=C3=A9gl=C3=A9e?="
ADDED_DECODED = "Facture réglée"
# The item's subject: both Subject fields, as ingest joins them.
BOTH_SUBJECTS = f"{ADDED_DECODED}, Budget vote"
NO_ADDRESS_FROM = "=?utf-8?q?Z=C3=A9lie_Bureau?="


def _msg(subject: str, date: str, mid: str, reply_to: str | None = None) -> EmailMessage:
    return thread_message(f"Anne Roy <anne@{DOMAIN}>", f"board@{DOMAIN}", subject, date, mid, DOMAIN, reply_to)


@pytest.fixture(scope="module")
def built(tmp_path_factory, module_backend) -> tuple[Case, object]:
    root = tmp_path_factory.mktemp("small")
    pem, pub = make_rsa_key()
    first = _msg("Budget vote", "Tue, 02 May 2017 09:00:00 +0200", "v1")
    first.set_content("The budget vote is on Friday.\n")
    signed = dkim_signed(first, pem, SELECTOR, DOMAIN)
    reply = _msg("Re: Budget vote", "Tue, 02 May 2017 11:30:00 +0200", "v2", "v1")
    reply.set_content("Noted, budget approved.\n")
    # Written by hand: the email package would re-encode the From as it likes.
    noaddr = (f"From: {NO_ADDRESS_FROM}\r\nSubject: Budget memo\r\nDate: Wed, 03 May 2017 16:02:00 +0200\r\n"
              "Message-ID: <m1@small.example>\r\n\r\nA budget memo.\r\n").encode()
    mbox = b""
    for raw in (b"Subject: " + ADDED_SUBJECT.encode() + b"\r\n" + signed, dkim_signed(reply, pem, SELECTOR, DOMAIN)):
        mbox += b"From anne@small.example Mon May  1 09:00:00 2017\n" + raw.replace(b"\r\n", b"\n") + b"\n"
    dump = root / "dump"
    dump.mkdir()
    (dump / "board.mbox").write_bytes(mbox)
    (dump / "memo.eml").write_bytes(noaddr)
    # Saved before it was made: a finding on the document, with most metadata fields empty.
    make_docx(dump / "plan.docx", author="Paul Durand", last_by="Paul Durand",
              created=datetime(2017, 6, 1, tzinfo=UTC), modified=datetime(2017, 3, 1, tzinfo=UTC))  # fmt: skip
    keys = key_record_file(root / "keys.txt", pub, SELECTOR, DOMAIN)
    case = Case.open(root / "case", create=True, db=module_backend)
    ingest(case, [dump], workers=1)
    verify_case(case, key_files=[keys], workers=1)
    return case, TestClient(create_app(case.root))


def _item(case: Case, **where: str) -> str:
    (col, value), = where.items()
    row = next(iter(case.db.items(f"{col}=?", (value,))), None)
    assert row is not None, where
    return row["id"]


def _text(page: str) -> str:
    """What a reader sees: the page's text, without the raw "As JSON" blocks."""
    tree = lxml_html.fromstring(page)
    for pre in tree.xpath("//details[contains(@class,'f-json')]"):
        pre.drop_tree()
    return " ".join(tree.text_content().split())


# A date with a time and no zone after it: neither "UTC" nor an offset nor Z.
BARE = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?!:?\d)(?! ?UTC)(?!Z)(?![+-]\d{2}:?\d{2})")


def _no_bare_time(text: str) -> None:
    assert not BARE.findall(text), BARE.findall(text)


# -- 1. one numbering -------------------------------------------------------------------------------
def test_evidence_shown_counts_signatures_from_one_and_leaves_the_stored_value() -> None:
    stored = {"signature": 0, "d": DOMAIN, "aligned": True}
    assert evidence_shown(stored) == {"signature": "#1", "d": DOMAIN, "aligned": True}
    assert stored["signature"] == 0  # the stored evidence (store queries, recover.py) keeps its index
    assert evidence_shown({"signature": True}) == {"signature": True}  # not a position


def test_item_page_evidence_says_the_signature_number_the_message_says(built) -> None:
    case, client = built
    item = _item(case, subject=BOTH_SUBJECTS)
    findings = case.db.findings_for(item)
    unsigned = next(f for f in findings if f.code == "dkim.unsigned_header")
    assert unsigned.evidence["signature"] == 0  # the report JSON contract, unchanged
    page = client.get(f"/items/{item}").text
    tree = lxml_html.fromstring(page)
    shown = [
        dd.text_content().strip()
        for dt in tree.xpath("//details[contains(@class,'f-evidence')]/dl[@class='evidence']/dt")
        if dt.text_content().strip() == "signature"
        for dd in [dt.getnext()]
    ]
    assert shown and set(shown) == {"#1"}, shown
    # The raw JSON keeps the stored 0 and says how it counts.
    notes = [p.text_content() for p in tree.xpath("//details[contains(@class,'f-json')]/p")]
    assert notes and all("0 is signature #1" in n for n in notes), notes
    # The HTML report draws evidence with the same macro: the same number there.
    buf = io.StringIO()
    write_html(case, buf)
    report = lxml_html.fromstring(buf.getvalue())
    in_report = {dt.getnext().text_content().strip() for dt in report.xpath("//dl[@class='evidence']/dt")
                 if dt.text_content().strip() == "signature"}  # fmt: skip
    assert in_report == {"#1"}, in_report


def test_cli_check_prints_the_evidence_signature_as_its_number(built, tmp_path) -> None:
    case, _ = built
    pem, pub = make_rsa_key()
    m = _msg("Check me", "Tue, 02 May 2017 09:00:00 +0200", "c1")
    m.set_content("Checked alone.\n")
    eml = tmp_path / "one.eml"
    eml.write_bytes(dkim_signed(m, pem, SELECTOR, DOMAIN))
    keys = key_record_file(tmp_path / "k.txt", pub, SELECTOR, DOMAIN)
    out = CliRunner().invoke(cli_app, ["check", str(eml), "--keys", str(keys)]).output
    assert "signature: #1" in out and "signature: 0" not in out, out


# -- 2. encoded words -------------------------------------------------------------------------------
def test_quoted_header_decodes_encoded_words() -> None:
    assert quoted_header(ADDED_SUBJECT) == repr(ADDED_DECODED)
    assert quoted_header("plain \x00 text") == repr("plain \x00 text")  # a NUL stays visible as \x00


def test_unsigned_header_message_quotes_the_decoded_subject_and_evidence_keeps_it_raw(built) -> None:
    case, client = built
    item = _item(case, subject=BOTH_SUBJECTS)
    f = next(f for f in case.db.findings_for(item) if f.code == "dkim.unsigned_header")
    assert ADDED_DECODED in f.message and "=?utf-8?" not in f.message, f.message
    assert ADDED_SUBJECT in f.evidence["unsigned_values"]
    page = client.get(f"/items/{item}").text
    msgs = " ".join(p.text_content() for p in lxml_html.fromstring(page).xpath("//p[@class='f-msg']"))
    assert ADDED_DECODED in msgs and "=?utf-8?" not in msgs


def test_unparseable_from_message_quotes_the_decoded_name(built) -> None:
    case, _ = built
    item = _item(case, subject="Budget memo")
    f = next(f for f in case.db.findings_for(item) if f.code == "headers.from_unparseable")
    assert "Zélie Bureau" in f.message and "=?utf-8?" not in f.message, f.message
    assert f.evidence["value"] == NO_ADDRESS_FROM


def test_mailing_list_label_decodes_an_encoded_list_name() -> None:
    raw = (b"List-Id: =?utf-8?q?Liste_Comit=C3=A9?= <comite.lists.example>\r\nFrom: a@lists.example\r\n"
           b"Subject: x\r\n\r\nbody\r\n")  # fmt: skip
    hints = list_hints(parse_raw(raw))
    assert hints.label() == "“Liste Comité” (comite.lists.example)", hints.label()


# -- 3. the document metadata panel -----------------------------------------------------------------
def test_document_fields_drop_empty_fields_and_the_records_own_findings() -> None:
    record = {"family": "ooxml", "author": "P", "company": None, "template": "", "findings": [],
              "raw": {"naive_dates": ["created"], "other": {}}, "created": "2017-06-01T10:00:00+00:00"}  # fmt: skip
    shown = document_fields(record)
    assert shown == {"family": "ooxml", "author": "P", "raw": {"naive_dates": ["created"]},
                     "created": "2017-06-01 10:00:00 UTC (no zone in the file, taken as UTC)"}  # fmt: skip


def test_metadata_panel_lists_no_empty_field_and_never_says_findings_none(built) -> None:
    case, client = built
    item = _item(case, name="plan.docx")
    codes = [f.code for f in case.db.findings_for(item)]
    assert "doc.created_after_modified" in codes
    tree = lxml_html.fromstring(client.get(f"/items/{item}").text)
    panel = tree.xpath("//section[h2[@id='h-docmeta']]")[0]
    terms = {dt.text_content().strip(): dt.getnext().text_content().strip() for dt in panel.xpath(".//dt")}
    assert "findings" not in terms
    assert terms.get("author") == "Paul Durand"
    assert "company" not in terms and "none" not in terms.values() and "—" not in terms.values(), terms
    assert terms["created"] == "2017-06-01 00:00:00 UTC", terms


# -- 4. dates say their zone ------------------------------------------------------------------------
def test_when_writes_utc_and_says_so() -> None:
    assert when("2017-05-02T09:00:00+02:00") == "2017-05-02 07:00 UTC"
    assert when("2017-05-02T23:30:00-02:00", "day") == "2017-05-03 UTC"  # the UTC day, not the sender's
    assert when("2017-05-02T07:00:09Z", "second") == "2017-05-02 07:00:09 UTC"
    assert when("2017-05-02T07:00") == "2017-05-02 07:00 UTC"  # no zone: taken as UTC, as ingest does
    assert when("2017-05-02") == "2017-05-02 UTC"
    assert when(None) == "" and when("not a date") == "not a date"


def test_item_page_and_thread_sidebar_say_utc(built) -> None:
    case, client = built
    item = _item(case, subject="Re: Budget vote")
    page = client.get(f"/items/{item}").text
    text = _text(page)
    assert "2017-05-02 09:30 UTC" in text  # the item's own date (11:30 +0200)
    side = lxml_html.fromstring(page).xpath("//aside[@class='item-side']")[0].text_content()
    assert "2017-05-02 07:00 UTC" in " ".join(side.split())  # the thread's first message, in the sidebar
    _no_bare_time(text)


def test_search_hits_members_and_thread_pages_say_utc(built) -> None:
    case, client = built
    assert "Emails over time (UTC)" in _text(client.get("/").text)
    search = _text(client.get("/search", params={"q": "budget"}).text)
    assert "2017-05-02 UTC" in search
    _no_bare_time(search)
    members = _text(client.get(f"/items/{_item(case, name='board.mbox')}/members").text)
    assert "2017-05-02 07:00 UTC" in members and "2017-05-02 09:30 UTC" in members
    _no_bare_time(members)
    thread = _text(client.get(f"/items/{_item(case, subject='Re: Budget vote')}/thread").text)
    assert "2017-05-02 07:00 UTC" in thread
    _no_bare_time(thread)


def test_html_report_dates_say_utc(built) -> None:
    case, _ = built
    buf = io.StringIO()
    write_html(case, buf)
    text = _text(buf.getvalue())
    assert re.search(r"generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", text), text[:400]
    assert "Emails over time (UTC)" in text  # the timeline's days are UTC days
    assert "2017-05-03 14:02 UTC" in text  # the memo (16:02 +0200), listed as suspicious
    _no_bare_time(text)


def test_cli_tables_and_lines_say_utc(built) -> None:
    case, _ = built
    run = CliRunner(env={"COLUMNS": "220"})
    root = str(case.root)
    search = run.invoke(cli_app, ["search", "--case", root, "budget"])
    assert search.exit_code == 0, search.output
    assert "2017-05-02 UTC" in search.output and "2017-05-03 UTC" in search.output, search.output
    # `timestamp` has a local named `when`: its line must still go through the helper.
    stamp = run.invoke(cli_app, ["timestamp", "--case", root, _item(case, name="plan.docx"),
                                 "--at", "2017-07-01T12:00+02:00", "--source", "an archive copy"])  # fmt: skip
    assert stamp.exit_code == 0, stamp.output
    assert "existed by 2017-07-01 10:00:00 UTC" in stamp.output, stamp.output
    audit = run.invoke(cli_app, ["audit", "--case", root])
    assert audit.exit_code == 0, audit.output
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", audit.output), audit.output
    _no_bare_time(search.output + stamp.output + audit.output)


def test_spread_pages_say_utc(tmp_path) -> None:
    import spread_fixtures as fx

    from leaklens.spread.ingest import ingest_files

    files = fx.build(tmp_path / "exports")
    with Case.open(tmp_path / "case", create=True) as case:
        ingest_files(case, [files[k] for k in ("telegram", "v2")])
        case.db.commit()
    client = TestClient(create_app(tmp_path / "case"))
    page = client.get("/spread").text
    text = _text(page)
    assert re.search(r"Busiest \w+: \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", text), text[:600]
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", text)  # the first posts' times
    _no_bare_time(text)
    post = next(iter(lxml_html.fromstring(page).xpath("//a[starts-with(@href, '/spread/post?')]/@href")))
    shown = _text(client.get(post).text)
    assert re.search(r"When ?\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", shown), shown[:600]  # <dt>When</dt><dd>...
    _no_bare_time(shown)


def test_header_time_messages_compare_in_utc_and_keep_the_written_offset() -> None:
    from leaklens.verify.headers import check_headers

    raw = (b"Received: from a.example by mx.small.example; Wed, 03 May 2017 09:00:00 +0000\r\n"
           b"Date: Tue, 02 May 2017 09:00:00 +0200\r\nFrom: a@small.example\r\nSubject: x\r\n\r\nbody\r\n")  # fmt: skip
    _, findings = check_headers(parse_raw(raw), published=datetime(2017, 5, 1, 18, 0, tzinfo=UTC))
    by = {f.code: f for f in findings}
    skew = by["headers.date_skew"]
    assert "(2017-05-02 07:00:00 UTC, written 09:00:00 +02:00)" in skew.message, skew.message
    assert "(2017-05-03 09:00:00 UTC)" in skew.message, skew.message
    assert skew.evidence["date"] == "2017-05-02T09:00:00+02:00"  # the evidence keeps the header's own offset
    late = by["headers.date_after_publication"]
    assert "(2017-05-01 18:00:00 UTC)" in late.message, late.message
    _no_bare_time(skew.message + late.message)


def test_document_after_publication_message_says_utc(tmp_path) -> None:
    from datetime import timedelta, timezone

    from test_docmeta_formats import DOCX

    from leaklens.verify.doc_checks import check_document
    from leaklens.verify.docmeta import extract_metadata

    doc = make_docx(tmp_path / "late.docx", author="P", last_by="P",
                    created=datetime(2017, 5, 1, tzinfo=UTC), modified=datetime(2017, 5, 9, tzinfo=UTC))  # fmt: skip
    published = datetime(2017, 5, 5, 22, 0, tzinfo=timezone(timedelta(hours=2)))
    found = check_document(extract_metadata(doc, DOCX), email_date=None, email_verdict=None, published=published,
                           now=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    late = next(f for f in found if f.code == "doc.after_publication")
    assert "(2017-05-05 20:00:00 UTC, written 22:00:00 +02:00)" in late.message, late.message
