"""`leaklens report --format html`: one self-contained, inert file with the figures and the evidence."""

from __future__ import annotations

import io

import pytest
import web_case
from lxml import html as lxml_html
from typer.testing import CliRunner
from web_case import item_id

from leaklens.cli import app
from leaklens.model import Finding
from leaklens.report.html_report import write_html
from leaklens.report.writers import WRITERS

HOSTILE = '<img src="http://evil.test/p.gif" onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture(scope="module")
def case(tmp_path_factory, module_backend):
    c = web_case.build(tmp_path_factory.mktemp("htmlreport"), module_backend)  # on SQLite and on PostgreSQL
    # A check reporting attacker-controlled text in its message and evidence (as a header check would).
    unsigned = item_id(c, name="05-unsigned.eml")
    c.db.replace_findings(
        unsigned,
        "test-hostile",
        [Finding("headers.date_after_publication", "warning", f"Date header says {HOSTILE}.", {"value": HOSTILE})],
    )
    c.db.set_verdict(unsigned, "suspicious")
    return c


@pytest.fixture(scope="module")
def report(case) -> str:
    buf = io.StringIO()
    write_html(case, buf)
    return buf.getvalue()


def test_registered_as_a_report_format():
    assert WRITERS["html"] is write_html


def test_figures_an_editor_quotes(report):
    doc = lxml_html.fromstring(report)
    text = " ".join(doc.text_content().split())
    assert "3 of 6 emails are verified by DKIM (50.0%)" in text
    assert "1 item proven altered" in text
    assert "mail2017._domainkey.horizon.example" in text
    assert report.count("<svg") >= 2  # verdict bars and timeline, inline


def test_altered_and_suspicious_items_with_evidence(report, case):
    doc = lxml_html.fromstring(report)
    altered = doc.xpath('//section[@id="altered"]')[0]
    assert "Offshore payment" in altered.text_content()
    assert "dkim.body_hash_mismatch" in altered.text_content()
    terms = [dt.text_content() for dt in altered.xpath('.//dl[@class="evidence"]/dt')]
    assert {"body_hash_signed", "body_hash_now"} <= set(terms)
    suspicious = doc.xpath('//section[@id="suspicious"]')[0]
    assert "Lunch next week?" in suspicious.text_content()
    verified_subject = "Printer budget"
    assert verified_subject not in altered.text_content() + suspicious.text_content()


def test_self_contained_and_inert(report):
    doc = lxml_html.fromstring(report)
    assert not doc.xpath("//script|//link|//iframe|//object|//embed|//img")
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.startswith("on"), (el.tag, name)
            if name in ("src", "href"):
                assert value.startswith("#"), (el.tag, name, value)
    csp = doc.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')[0]
    assert "default-src 'none'" in csp
    assert HOSTILE not in report
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in report


def test_cli_writes_the_file(case, tmp_path):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(app, ["report", "--case", str(case.root), "--format", "html", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").startswith("\n<!doctype html>") or "<!doctype html>" in out.read_text()
