"""The verdict table, for the checks: its home is `leaklens.verdicts` (data-model logic that ingest
uses too, without depending on verify/). The same objects, so `register_effect` here is the one
table everyone reads."""

from leaklens.verdicts import (
    ALTERED,
    EFFECT_VALUES,
    EFFECTS,
    ERROR,
    HEURISTIC,
    NONE,
    PRECEDENCE,
    SUSPICIOUS,
    UNVERIFIED,
    VERIFIED,
    effect_of,
    inherits_verification,
    is_heuristic,
    register_effect,
    verdict_for,
)

__all__ = [
    "ALTERED",
    "EFFECT_VALUES",
    "EFFECTS",
    "ERROR",
    "HEURISTIC",
    "NONE",
    "PRECEDENCE",
    "SUSPICIOUS",
    "UNVERIFIED",
    "VERIFIED",
    "effect_of",
    "inherits_verification",
    "is_heuristic",
    "register_effect",
    "verdict_for",
]
