"""The demo case (built as `leaklens demo` builds it): its phishing email is flagged, its lookalikes ranked,
and its STIX export passes stix2-validator with no error and no warning."""

from __future__ import annotations

import io

import pytest
from stix2validator import ValidationOptions, validate_string

from leaklens.case import Case
from leaklens.demo.build import build_demo_case
from leaklens.demo.people import DOMAIN, LOOKALIKE_LOGIN_DOMAIN, LOOKALIKE_MAIL_DOMAIN
from leaklens.intel.iocs import indicators, write_stix
from leaklens.intel.ranked import case_lookalikes
from leaklens.intel.tables import protected_of
from leaklens.store.base import ItemQuery


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo-intel")
    manifest = build_demo_case(tmp / "case", tmp / "dump")
    with Case.open(tmp / "case") as case:
        yield case, manifest


def test_demo_protects_its_organisation_and_flags_the_phishing_email(demo) -> None:
    case, manifest = demo
    assert protected_of(case.db) == [DOMAIN]
    (planted,) = [e for e in manifest.expect if e["case"] == "phishing"]
    (item,) = case.db.select_items(ItemQuery(sha256=planted["sha256"]))
    found = {f.code: f for f in case.db.findings_for(item["id"])}
    assert item["verdict"] == "suspicious"
    assert found["intel.lookalike_sender"].evidence["domain"] == LOOKALIKE_MAIL_DOMAIN
    assert found["intel.lookalike_link"].evidence["domain"] == LOOKALIKE_LOGIN_DOMAIN
    flagged = case.db.items_with_finding("intel.lookalike_sender") | case.db.items_with_finding("intel.lookalike_link")
    assert flagged == {item["id"]}  # nothing else of the demo uses a lookalike


def test_demo_lookalikes_ranked_with_sightings(demo) -> None:
    case, _ = demo
    rows = case_lookalikes(case)
    assert {r["domain"] for r in rows} == {LOOKALIKE_MAIL_DOMAIN, LOOKALIKE_LOGIN_DOMAIN}
    mail = next(r for r in rows if r["domain"] == LOOKALIKE_MAIL_DOMAIN)
    assert mail["techniques"] == ["combosquatting"] and mail["target"] == DOMAIN
    assert mail["seen"]["from"] == 1 and mail["first_seen"].startswith("2017-03-09")


def test_demo_stix_export_validates(demo) -> None:
    case, _ = demo
    buf = io.StringIO()
    n = write_stix(indicators(case), buf, case_name="demo case")
    assert n > 20
    result = validate_string(buf.getvalue(), ValidationOptions(version="2.1", strict=True))
    assert result.is_valid and not result.errors and not result.warnings, (result.errors, result.warnings)
