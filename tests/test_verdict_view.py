"""The verdict inside the content (issue 16): the banner, the headers marked signed or not, the
title's warning, the body beyond l=, the parts' and copies' verdicts — on a case built by the real
ingest and verify steps (tests/banner_case.py), and as drawn on the item page."""

from __future__ import annotations

import pytest
from banner_case import APPENDED, RLO_FILE, RLO_SUBJECT, build, item_id
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from leaklens.investigate import verdict_view
from leaklens.web.app import create_app
from leaklens.web.data import item_detail
from leaklens.web.views.item_verdict import split_unsigned, verdict_context


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return build(tmp_path_factory.mktemp("banner"))


@pytest.fixture(scope="module")
def client(case):
    return TestClient(create_app(case.root))


def _view(case, name):
    return verdict_context(case, item_detail(case, item_id(case, name)))


def _page(client, case, name):
    return lxml_html.fromstring(client.get(f"/items/{item_id(case, name)}").text)


@pytest.mark.parametrize(
    "name,verdict,reason,signer",
    [
        ("01-verified.eml", "verified", "Signed by horizon-campaign.example with key k2017", "valid"),
        ("02-altered.eml", "altered", "The body was changed after horizon-campaign.example signed it", "broken"),
        ("04-limited.eml", "suspicious", "Signature #1 covers only the first", "valid"),
        ("05-unsigned.eml", "unverified", "The message carries no DKIM signature", "none"),
        ("09-unreadable.eml", "error", "This cannot be read as an email", "none"),
        (RLO_FILE, "verified", "Verified through its email", "through"),
    ],
)
def test_banner_says_verdict_reason_and_signer(case, name, verdict, reason, signer):
    b = _view(case, name)["banner"]
    assert b["verdict"] == verdict and b["reason"].startswith(reason) and b["signer"]["state"] == signer
    assert b["reason"].count(". ") == 0 or '"' in b["reason"]  # one sentence


def test_a_quoted_full_stop_does_not_end_the_reason(case):
    # The l= finding quotes the unsigned tail ("P.S. Wire ..."): the sentence runs past it.
    assert "are not signed" in _view(case, "04-limited.eml")["banner"]["reason"]


@pytest.mark.parametrize("name", ["01-verified.eml", "02-altered.eml", "04-limited.eml", "05-unsigned.eml",
                                  "09-unreadable.eml", RLO_FILE])
def test_every_content_panel_opens_with_the_banner(client, case, name):
    page = _page(client, case, name)
    verdict = _view(case, name)["banner"]["verdict"]
    panels = page.xpath("//section[contains(@class,'content-panel')]")
    assert panels or name == RLO_FILE  # an attachment without text shows no content panel
    for panel in panels:
        first = panel.xpath("./*[2]")[0]  # right under the panel's heading
        assert "verdict-banner" in first.get("class") and f"vb-{verdict}" in first.get("class")


def test_headers_marked_by_the_deciding_signature(case):
    marks = {h["name"]: h["signed"] for h in _view(case, "01-verified.eml")["headers"]}
    assert marks["Subject"] is True and marks["From"] is True and marks["Content-Type"] is False
    assert all(h["signed"] is None for h in _view(case, "05-unsigned.eml")["headers"])  # nothing checked


def test_a_signed_header_changed_after_signing_is_named_with_what_was_signed(client, case):
    v = _view(case, "03-forged.eml")
    (changed,) = [h for h in v["headers"] if h.get("changed")]
    assert changed["name"] == "Subject" and changed["changed"]["signed_value"] == "Q3 budget"
    assert changed["changed"]["copy"] == item_id(case, "03-original.eml")
    assert v["title_warning"] == "Forged Subject"
    page = _page(client, case, "03-forged.eml")
    assert page.findtext(".//title").startswith("⚠ Forged Subject: Q3 budget: resign now")
    row = page.xpath("//table[@class='headers']//tr[contains(@class,'changed')]")[0]
    assert "changed after signing" in row.text_content() and row.xpath("string(.//q)") == "Q3 budget"


def test_the_title_warns_before_an_unproven_subject_and_not_otherwise(client, case):
    assert _view(case, "02-altered.eml")["title_warning"] == "Altered"
    assert _view(case, "01-verified.eml")["title_warning"] is None
    assert _page(client, case, "01-verified.eml").findtext(".//title").startswith("Printer budget")


def test_the_unsigned_tail_is_marked_inside_the_body(client, case):
    v = _view(case, "04-limited.eml")
    assert v["unsigned_bytes"] == len(APPENDED) + 2
    [(signed, unsigned)] = v["texts"]
    assert signed.rstrip().endswith("unchanged.") and unsigned.strip() == APPENDED
    tail = _page(client, case, "04-limited.eml").xpath("//pre[@class='body-text']/span[@class='unsigned-tail']")
    assert [t.text_content().strip() for t in tail] == [APPENDED]
    assert _view(case, "01-verified.eml")["unsigned_bytes"] == 0


def test_a_tail_that_is_not_the_end_of_a_text_part_is_shown_apart():
    parts, apart = split_unsigned(["Hello.\r\n"], b"--BB\r\nContent-Type: text/html\r\n\r\n<p>added</p>")
    assert parts == [("Hello.\n", "")] and apart.startswith("--BB")
    parts, apart = split_unsigned(["Hello.\r\nAdded.\r\n"], b"Added.\r\n")
    assert parts == [("Hello.\n", "Added.\n")] and apart == ""


def test_unsigned_offset_counts_canonical_bytes():
    raw = b"A: b\r\n\r\nline  one \r\nline two\r\nextra\r\n"
    relaxed = [{"result": "pass", "aligned": True, "l": len(b"line one\r\nline two\r\n"), "c": "relaxed/relaxed"}]
    assert raw[verdict_view.unsigned_body_from(raw, relaxed):] == b"extra\r\n"
    simple = [{"result": "pass", "aligned": True, "l": len(b"line  one \r\n"), "c": "simple/simple"}]
    assert raw[verdict_view.unsigned_body_from(raw, simple):] == b"line two\r\nextra\r\n"
    assert verdict_view.unsigned_body_from(raw, [{"result": "pass", "l": None}]) is None


def test_parent_summary_states_parts_and_copies_worst_first():
    children = [
        {"state": "stored", "kind": "attachment", "verdict": "verified"},
        {"state": "stored", "kind": "attachment", "verdict": "altered"},
        {"state": "stored", "kind": "email", "verdict": None},
        {"state": "pending", "kind": "attachment", "verdict": "altered"},
    ]
    texts = [s["text"] for s in verdict_view.parent_summary(children, {"verified": 14}, kind="email")]
    assert texts == ["carries 1 altered attachment", "carries 1 verified attachment",
                     "carries 1 unverified attached email", "identical to 14 verified copies"]
    (copy,) = verdict_view.parent_summary([], {"verified": 1}, kind="document")
    assert copy["text"] == "identical to 1 verified copy"


def test_the_container_lists_its_parts_verdicts(client, case):
    lines = _page(client, case, "01-verified.eml").xpath("//ul[@id='contains']/li")
    assert [" ".join(li.text_content().split()) for li in lines] == ["Verified Carries 1 verified attachment"]


def test_leak_text_on_the_item_page_is_isolated_with_markers(client, case):
    page = _page(client, case, "05-unsigned.eml")
    (h1,) = page.xpath("//h1")
    assert h1.xpath("string(bdi/span[@class='hidden-char'])") == "RLO" and "\u202e" not in h1.text_content()
    assert page.findtext(".//title") == RLO_SUBJECT.replace("\u202e", "[RLO]") + " · case"
    parent = _page(client, case, "01-verified.eml")
    (link,) = parent.xpath("//section[@aria-labelledby='h-children']//td/a")
    assert link.text_content() == "Rapport_RLOfdp.exe.docx" and link.xpath("bdi")


def test_a_subject_added_above_the_signed_one_is_marked_unsigned(client, case):
    v = _view(case, "03-doubled.eml")
    subjects = [(h["value"], h["signed"]) for h in v["headers"] if h["name"] == "Subject"]
    # DKIM signs from the bottom up: the upper one, the one mail programs show, is not signed.
    assert subjects == [("Board minutes: the CEO resigns", False), ("Board minutes", True)]
    assert v["title_warning"] == "Unsigned Subject"
    page = _page(client, case, "03-doubled.eml")
    assert page.findtext(".//title").startswith("⚠ Unsigned Subject: ")
    marks = [tr.xpath("string(td[@class='sig-cell'])").strip() for tr in page.xpath("//table[@class='headers']//tr")
             if tr.xpath("string(th)") == "Subject"]
    assert marks == ["not signed", "✓ signed"]


def test_the_preview_page_opens_with_the_banner_too(client, case):
    r = client.get(f"/items/{item_id(case, RLO_FILE)}/preview")
    assert r.status_code == 200
    (b,) = lxml_html.fromstring(r.text).xpath("//div[contains(@class,'verdict-banner')]")
    assert "vb-verified" in b.get("class") and "Verified through its email" in b.text_content()
    assert "Covered by the signature of its email" in b.text_content()


def test_a_blank_unsigned_tail_is_said_to_be_blank(tmp_path):
    import dkim
    from banner_case import DOMAIN, SELECTOR, _crlf, _message
    from helpers import SIGNED_HEADERS, build_case, key_record_file, make_rsa_key

    from leaklens.verify.case_verify import verify_case

    pem, pub = make_rsa_key()
    raw = _crlf(_message(f"a <a@{DOMAIN}>", "Blank tail", "t1", "Signed text.\n"))
    signed = dkim.sign(raw, SELECTOR.encode(), DOMAIN.encode(), pem, include_headers=SIGNED_HEADERS, length=True)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "t.eml").write_bytes(signed + raw + b"\r\n  \r\n\r\n")
    case = build_case(tmp_path, tmp_path / "in")
    verify_case(case, key_files=[key_record_file(tmp_path / "k.txt", pub, SELECTOR, DOMAIN)], workers=1)
    v = _view(case, "t.eml")
    assert v["unsigned_bytes"] == len(b"\r\n  \r\n\r\n") and v["unsigned_blank"] and v["texts"][0][1] == ""
    note = lxml_html.fromstring(TestClient(create_app(case.root)).get(f"/items/{item_id(case, 't.eml')}").text)
    assert "they are blank" in note.xpath("string(//p[@class='unsigned-note'])")
