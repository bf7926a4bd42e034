"""The data model, declared once: kinds, states, severities, verdicts, findings.

Everything else (store, report, web) reads these declarations rather than
repeating the lists.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("email", "attachment", "document", "image", "archive", "other")

# Accounting states: every item found ends in exactly one of the last three.
PENDING, STORED, SKIPPED, FAILED = "pending", "stored", "skipped", "failed"
FINAL_STATES = (STORED, SKIPPED, FAILED)

SEVERITIES = ("info", "warning", "critical")

VERDICTS = ("verified", "altered", "suspicious", "unverified", "error")

# Set by the test suite: a finding whose code is not in the catalogue (codes.py) is a bug, loudly.
_STRICT_CODES = os.environ.get("LEAKLENS_STRICT_CODES") == "1"


@dataclass(frozen=True)
class Finding:
    """One observation by one check, with the raw values that prove it."""

    code: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if _STRICT_CODES:
            from .codes import CATALOGUE

            if self.code not in CATALOGUE:
                raise ValueError(f"finding code {self.code!r} is not declared in leaklens/codes.py")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(d["code"], d["severity"], d["message"], d.get("evidence") or {})
