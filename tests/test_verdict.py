"""The verdict table: precedence, evidence overrides, registration, attachment inheritance."""

from __future__ import annotations

import pytest

from leaklens.model import VERDICTS, Finding
from leaklens.verify import verdict as v
from leaklens.verify.verdict import EFFECTS, effect_of, inherits_verification, register_effect, verdict_for


@pytest.fixture(autouse=True)
def _undeclared_codes_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests feed the verdict table made-up codes on purpose (test_codes.py guards real ones).
    monkeypatch.setattr("leaklens.model._STRICT_CODES", False)


def f(code: str, **evidence: object) -> Finding:
    return Finding(code, "info", code, dict(evidence))


@pytest.mark.parametrize(
    "codes, expected",
    [
        ([], "unverified"),
        (["dkim.none", "dkim.signer_not_author", "arc.pass"], "unverified"),
        (["dkim.pass"], "verified"),
        (["dkim.pass", "dkim.unsigned_header"], "suspicious"),
        (["dkim.pass", "dkim.length_limited"], "suspicious"),
        (["dkim.pass", "dkim.body_hash_mismatch"], "altered"),
        (["dkim.header_mismatch", "headers.time_travel"], "altered"),
        (["dkim.body_hash_mismatch", "ingest.failed"], "error"),
        (["dkim.weak_key"], "unverified"),
        (["headers.date_skew"], "suspicious"),
        (["some.unknown_code"], "unverified"),
    ],
)
def test_precedence(codes: list[str], expected: str) -> None:
    assert verdict_for([f(c) for c in codes]) == expected


def test_every_table_effect_is_a_verdict() -> None:
    assert {e for e in EFFECTS.values() if e is not None} <= set(VERDICTS)
    assert EFFECTS["ingest.failed"] == "error"


def test_evidence_overrides_the_table() -> None:
    assert effect_of(f("dkim.key_unavailable", effect="suspicious")) == "suspicious"
    assert verdict_for([f("dkim.pass"), f("headers.date_skew", effect="none")]) == "verified"
    # An unknown override is ignored rather than trusted.
    assert effect_of(f("dkim.pass", effect="bogus")) == "verified"


def test_register_effect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v, "EFFECTS", dict(EFFECTS))
    register_effect("docs.near_copy_differs", "altered")
    assert verdict_for([f("docs.near_copy_differs")]) == "altered"
    with pytest.raises(ValueError):
        register_effect("x.y", "forged")


def test_attachments_inherit_only_a_full_verification() -> None:
    assert inherits_verification([f("dkim.pass")])
    assert not inherits_verification([f("dkim.pass"), f("dkim.length_limited")])
    assert not inherits_verification([f("dkim.key_unavailable")])
    assert not inherits_verification([f("dkim.pass"), f("dkim.body_hash_mismatch")])
