"""The finding-code catalogue: every code the source emits is declared, with a meaning and a valid effect."""

from __future__ import annotations

import re

import pytest
from helpers import ROOT

from leaklens.codes import CATALOGUE
from leaklens.model import SEVERITIES, VERDICTS, Finding
from leaklens.verify.verdict import EFFECTS, is_heuristic

# A code literal where a finding is made: Finding("x.y", ...), ctx.finding("x.y", ...), _finding("x.y", ...),
# or a (code, severity, message) tuple.
_EMITTED = re.compile(
    r"""(?:[Ff]inding|declare|register_effect)\(\s*["']([a-z]+\.[a-z0-9_]+)["']"""
    r"""|\(\s*\n?\s*["']([a-z]+\.[a-z0-9_]+)["'],\s*\n?\s*["'](?:info|warning|critical)["']"""
)


def emitted_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "src" / "leaklens").rglob("*.py"):
        for m in _EMITTED.finditer(path.read_text("utf-8")):
            codes.add(m.group(1) or m.group(2))
    return codes


def test_every_emitted_code_is_declared() -> None:
    found = emitted_codes()
    assert len(found) > 80, "the scan found too few codes: its pattern is broken"
    assert sorted(found - set(CATALOGUE)) == []


def test_every_declaration_is_complete() -> None:
    for code, entry in CATALOGUE.items():
        assert entry.code == code and re.fullmatch(r"[a-z]+\.[a-z0-9_]+", code)
        assert entry.severity in SEVERITIES, code
        assert entry.effect is None or entry.effect in VERDICTS, code
        assert entry.meaning.strip().endswith("."), code
        assert EFFECTS.get(code) == entry.effect, code
        assert is_heuristic(code) == entry.heuristic, code


def test_an_undeclared_code_is_refused_under_test() -> None:
    with pytest.raises(ValueError, match="not declared"):
        Finding("made.up_code", "info", "x")
