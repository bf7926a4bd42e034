"""The offline HTML report opens each listed item with the banner its workbench page opens with
(issue 16): the verdict (word and icon), the one-sentence reason, the signer, from the same function
(investigate/verdict_view.banner), and inert. On paper: tests/browser/test_conversation_banner.py."""

from __future__ import annotations

import io

import banner_case as bc
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from leaklens.model import Finding
from leaklens.report.html_report import write_html
from leaklens.web.app import create_app

HOSTILE = '<img src="http://evil.test/p.gif" onerror="alert(1)">'

# name: (verdict, words of the reason, the signer as the banner says it)
UNSIGNED = "No valid signature of its own"
EXPECTED = {
    "02-altered.eml": (
        "altered",
        "The body was changed after horizon-campaign.example signed it (signature #1)",
        "Signature by horizon-campaign.example no longer matches",
    ),
    "04-limited.eml": (
        "suspicious",
        "covers only the first 33 bytes of the body (l= tag)",
        "Signed by horizon-campaign.example (key k2017)",
    ),
    "07-display-name.eml": ("suspicious", "the address it really carries is attacker@evil.example", UNSIGNED),
    "09-unreadable.eml": ("error", "This cannot be read as an email: it has no header fields.", UNSIGNED),
}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    c = bc.build(tmp_path_factory.mktemp("report-banner"))
    # A finding whose message carries markup from the leak, as the reason of a suspicious verdict.
    fake = bc.item_id(c, "06-fake-badge.eml")
    hostile = Finding("headers.date_after_publication", "warning", f"Date says {HOSTILE}.")
    c.db.replace_findings(fake, "test-hostile", [hostile])
    c.db.set_verdict(fake, "suspicious")
    yield c
    c.close()


@pytest.fixture(scope="module")
def doc(case):
    buf = io.StringIO()
    write_html(case, buf)
    return lxml_html.fromstring(buf.getvalue())


def _articles(doc) -> dict[str, object]:
    """The listed items by id (the id the report prints of each)."""
    out = {}
    for a in doc.xpath("//section[contains(@class,'listed')]/article"):
        (item,) = [c.text for c in a.xpath(".//p[contains(@class,'small')]/code[1]")]
        out[item] = a
    return out


def _said(el) -> str:
    return " ".join(el.text_content().split())


def test_each_listed_item_opens_with_its_banner(case, doc):
    articles = _articles(doc)
    assert len(articles) == 8  # 2 altered, 5 suspicious (the fake badge too), 1 error: every one
    for name, (verdict, reason, signer) in EXPECTED.items():
        a = articles[bc.item_id(case, name)]
        first = a.xpath("./*")[0]  # before the title: the subject is read with its verdict
        assert first.get("class") == f"verdict-banner vb-{verdict}", name
        assert first.xpath("ancestor::section/@id") == [verdict]
        (word,) = first.xpath(".//span[@class='vb-verdict']/span")
        assert f"v-{verdict}" in word.get("class") and word.text.lower() == verdict  # the icon is v-*::before
        assert reason in _said(first.xpath(".//span[@class='vb-reason']")[0]), name
        assert _said(first.xpath(".//span[@class='vb-signer']")[0]) == signer, name


def test_the_report_says_what_the_item_page_says(case, doc):
    client = TestClient(create_app(case.root))
    for item, a in _articles(doc).items():
        page = lxml_html.fromstring(client.get(f"/items/{item}").text)
        on_page = page.xpath("//section[contains(@class,'content-panel')]//div[contains(@class,'verdict-banner')]")[0]
        (in_report,) = a.xpath("./div[contains(@class,'verdict-banner')]")
        assert _said(in_report) == _said(on_page) and in_report.get("class") == on_page.get("class")


def test_a_reason_from_the_leak_stays_text(case, doc):
    a = _articles(doc)[bc.item_id(case, "06-fake-badge.eml")]
    (reason,) = a.xpath("./div[contains(@class,'verdict-banner')]//span[@class='vb-reason']")
    assert _said(reason) == f"Date says {HOSTILE}."
    assert not doc.xpath("//img") and not doc.xpath("//script") and not doc.xpath("//@onerror")

