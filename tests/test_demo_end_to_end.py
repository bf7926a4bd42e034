"""The demo leak, built as `leaklens demo` builds it: every planted item gets its expected verdict."""

from __future__ import annotations

import io
import json

import pytest
from helpers import assert_balanced, codes

from leaklens.case import Case
from leaklens.demo.build import build_demo_case
from leaklens.report.writers import write_json


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    manifest = build_demo_case(tmp / "case", tmp / "dump")
    case = Case.open(tmp / "case")
    yield case, manifest
    case.close()


def _item(case, sha256, path_hint=""):
    rows = case.db.conn.execute("SELECT * FROM items WHERE sha256=? AND path LIKE ? ORDER BY rowid",
                                (sha256, path_hint + "%")).fetchall()
    assert rows, (sha256, path_hint)
    return rows[0]


def test_every_file_accounted_for(demo):
    case, manifest = demo
    acc = assert_balanced(case)
    assert acc["items"]["failed"] == 0 and acc["items"]["skipped"] == 0
    emails = case.db.conn.execute("SELECT COUNT(*) FROM items WHERE kind='email'").fetchone()[0]
    assert emails == manifest.counts["emails"]


def test_every_email_gets_its_expected_verdict(demo):
    case, manifest = demo
    wrong = []
    for m in manifest.messages:
        row = _item(case, m["sha256"])
        if row["verdict"] != m["expected_verdict"] or not set(m["expected_findings"]) <= set(codes(case, row["id"])):
            wrong.append((m["subject"], m["expected_verdict"], row["verdict"], codes(case, row["id"])))
    assert not wrong, wrong[:5]


def test_planted_email_cases(demo):
    case, manifest = demo
    for e in (x for x in manifest.expect if x["kind"] == "email"):
        row = _item(case, e["sha256"])
        assert row["verdict"] == e["expected_verdict"], e["case"]
        assert set(e["expected_findings"]) <= set(codes(case, row["id"])), e["case"]


def test_report_summary_figures(demo):
    case, manifest = demo
    out = io.StringIO()
    write_json(case, out)
    doc = json.loads(out.getvalue())
    v = doc["summary"]["verification"]
    assert v["by_verdict"] == manifest.counts["emails_by_expected_verdict"]
    assert v["verified_by_key"]["mail2017._domainkey.horizon-campaign.example"] > 200
