"""Every validation scenario of the ARC conformance suite (ValiMail arc_test_suite), through check_arc.

Keys come from each scenario's `txt-records`, loaded into a KeyArchive, so this also
exercises the archive-backed DNS function. Scenario messages are YAML block strings with
LF line endings; dkimpy splits lines on `\\r?\\n`, and the suite's own runners hand the
text over unchanged, so both LF and CRLF forms are run and must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leaklens.verify.arc_check import check_arc
from leaklens.verify.dkim_check import key_finder
from leaklens.verify.keys import KeyArchive, KeyRecord
from leaklens.verify.rawmail import parse_raw

SUITE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "corpus"
    / "conformance"
    / "arc"
    / "arc-draft-validation-tests.yml"
)
TOTAL_SCENARIOS = 175

# Scenarios dkimpy cannot pass, with the reason. Currently none: all 175 pass. The test
# below asserts that every listed scenario still fails, so this list cannot go stale.
KNOWN_LIBRARY_FAILURES: dict[str, str] = {}


class _KeepDuplicates(yaml.SafeLoader):
    """The suite reuses four scenario names (as_fields_b_*); plain PyYAML would silently keep only
    the last of each, dropping scenarios. Duplicates are kept under a `#2` suffix."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    out: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        n, base = 2, key
        while key in out:
            key = f"{base}#{n}"
            n += 1
        out[key] = value
    return out


_KeepDuplicates.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _scenarios() -> list[tuple[str, str, str, dict[str, str]]]:
    out = []
    with SUITE.open(encoding="utf-8") as fh:
        for doc in yaml.load_all(fh, Loader=_KeepDuplicates):
            txt = doc.get("txt-records") or {}
            for name, case in doc["tests"].items():
                out.append((name, case["message"], str(case.get("cv") or "").strip(), txt))
    return out


SCENARIOS = _scenarios()


def _archive(txt: dict[str, str]) -> KeyArchive:
    records = []
    for name, value in txt.items():
        selector, domain = name.split("._domainkey.", 1)
        records.append(KeyRecord(domain, selector, value, "ARC conformance suite txt-records"))
    return KeyArchive(records)


def _cv(message: str, txt: dict[str, str], crlf: bool) -> str:
    """The suite's notation: Pass / Fail / None, and "" when an earlier seal already recorded cv=fail."""
    raw = message.encode("utf-8")
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    outcome = check_arc(parse_raw(raw), key_finder(_archive(txt), None))
    if outcome.arc is None:
        return "None"
    if outcome.arc["terminated"]:
        assert outcome.arc["cv"] == "fail"
        return ""
    return outcome.arc["cv"].capitalize()


def test_suite_is_complete() -> None:
    assert len(SCENARIOS) == TOTAL_SCENARIOS
    assert len({name for name, *_ in SCENARIOS}) == TOTAL_SCENARIOS


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_every_validation_scenario(crlf: bool) -> None:
    passed, wrong = 0, []
    for name, message, expected, txt in SCENARIOS:
        got = _cv(message, txt, crlf)
        if name in KNOWN_LIBRARY_FAILURES:
            assert got != expected, f"{name} now passes: remove it from KNOWN_LIBRARY_FAILURES"
            continue
        if got == expected:
            passed += 1
        else:
            wrong.append((name, expected, got))
    assert wrong == []
    assert passed == TOTAL_SCENARIOS - len(KNOWN_LIBRARY_FAILURES)


def test_chain_details_for_a_passing_two_hop_scenario() -> None:
    by_name = {name: (message, txt) for name, message, _, txt in SCENARIOS}
    name = next(n for n in by_name if n.startswith("cv_pass_i2"))
    message, txt = by_name[name]
    outcome = check_arc(parse_raw(message.encode()), key_finder(_archive(txt), None))
    assert outcome.arc is not None and outcome.arc["cv"] == "pass"
    assert outcome.arc["hops"] == 2
    assert [s["instance"] for s in outcome.arc["sealers"]] == [1, 2]
    assert all(s["seal_valid"] for s in outcome.arc["sealers"])
    assert [f.code for f in outcome.findings] == ["arc.pass"]
    assert outcome.keys_used and not outcome.keys_missing


def test_missing_sealer_key_is_reported() -> None:
    by_name = {name: (message, txt) for name, message, _, txt in SCENARIOS}
    message, _ = by_name["cv_pass_i1_1"]
    outcome = check_arc(parse_raw(message.encode()), key_finder(KeyArchive(), None))
    assert outcome.arc["cv"] == "fail"
    assert {f.code for f in outcome.findings} == {"arc.fail", "arc.key_unavailable"}
    assert ("example.org", "dummy") in outcome.keys_missing
