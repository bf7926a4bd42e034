"""An item's verdict, derived from its findings through one table.

Part of the data model (ingest gives an item its first verdict, verification refreshes it), so it
lives beside `model.py` and depends on nothing but the code catalogue; `verify/verdict.py`
re-exports it for the checks.

Every finding code is declared once, with its effect, in `leaklens.codes.CATALOGUE`
(a check may adjust its own code's effect with `register_effect`). Codes not declared
have no effect, and fail the tests. The verdict is the strongest effect present:

    error > altered > suspicious > verified > unverified (no effect at all)

so a valid signature never hides a proven change or a cryptographic anomaly, and "verified"
needs at least one finding that proves authenticity (in practice an aligned `dkim.pass`).

Heuristics never override proof: a code registered as heuristic (document metadata, the
case's population, clock-dependent dates, quotes) has its effect only on items that nothing
proves. On a verified item it is a note: the signature proves the bytes were sent as they
are, so a late internal date or an unusual editor is a discrepancy to show, not a verdict.

Context-dependent effects: a finding may carry `evidence["effect"]` (one of the effects,
or "none"), which overrides the table for that one finding. Checks use it when the same
observation means different things in different situations, e.g. `dkim.key_unavailable`
is neutral, but becomes "suspicious" when the body also fails to match the signature's
body hash; header-date anomalies are "suspicious" but neutral when a valid signature
covers the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from leaklens.codes import CATALOGUE
from leaklens.model import Finding

VERIFIED, ALTERED, SUSPICIOUS, ERROR = "verified", "altered", "suspicious", "error"
UNVERIFIED = "unverified"
NONE = "none"
EFFECT_VALUES = (VERIFIED, ALTERED, SUSPICIOUS, ERROR)
PRECEDENCE = (ERROR, ALTERED, SUSPICIOUS, VERIFIED)

# finding code -> effect on the verdict (None: informational only), from the one catalogue.
EFFECTS: dict[str, str | None] = {c.code: c.effect for c in CATALOGUE.values()}

# Codes whose effect is heuristic: dropped on a proven item.
HEURISTIC: set[str] = {c.code for c in CATALOGUE.values() if c.heuristic}


def register_effect(code: str, effect: str | None, *, heuristic: bool = False) -> None:
    """Declare the verdict effect of a finding code (one line per code, from the check that emits it).

    `heuristic=True`: the code is an anomaly, not proof; it never overrides a verification.
    """
    if effect is not None and effect not in EFFECT_VALUES:
        raise ValueError(f"unknown effect {effect!r} for {code}; expected one of {EFFECT_VALUES} or None")
    EFFECTS[code] = effect
    if heuristic:
        HEURISTIC.add(code)
    known = CATALOGUE.get(code)
    if known is not None and (known.effect, known.heuristic) != (effect, heuristic or known.heuristic):
        CATALOGUE[code] = replace(known, effect=effect, heuristic=heuristic or known.heuristic)


def is_heuristic(code: str) -> bool:
    return code in HEURISTIC


def effect_of(finding: Finding) -> str | None:
    """The finding's effect: its own `evidence["effect"]` if it carries a valid one, else the table's."""
    ev = finding.evidence if isinstance(finding.evidence, dict) else {}
    override = ev.get("effect")
    if override == NONE:
        return None
    if override in EFFECT_VALUES:
        return override
    return EFFECTS.get(finding.code)


def verdict_for(findings: Iterable[Finding]) -> str:
    findings = list(findings)
    effects = {effect_of(f) for f in findings if not is_heuristic(f.code)}
    if VERIFIED not in effects or effects & {ERROR, ALTERED, SUSPICIOUS}:
        # Nothing proves the item (or proof is already contradicted): heuristics count.
        effects |= {effect_of(f) for f in findings if is_heuristic(f.code)}
    for effect in PRECEDENCE:
        if effect in effects:
            return effect
    return UNVERIFIED


def inherits_verification(findings: Iterable[Finding]) -> bool:
    """Whether this email's attachments and inline parts are verified through it.

    They are when the email itself is verified, since its body hash covers their bytes,
    unless a signature stops short of the end of the body (`l=`): then a part may lie in
    the unsigned tail.
    """
    findings = list(findings)
    return verdict_for(findings) == VERIFIED and not any(f.code == "dkim.length_limited" for f in findings)
