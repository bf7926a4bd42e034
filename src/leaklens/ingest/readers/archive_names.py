"""Member names from archives are attacker-chosen: judge them, never use them as paths."""

from __future__ import annotations

import re

from ...model import Finding

_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def unsafe_name_findings(name: str) -> list[Finding]:
    """A finding when a member name would escape an extraction folder (``..``, absolute)."""
    normalised = name.replace("\\", "/")
    parts = normalised.split("/")
    problems = []
    if normalised.startswith("/") or _DRIVE.match(name):
        problems.append("absolute path")
    if ".." in parts:
        problems.append("'..' component")
    if not problems:
        return []
    return [
        Finding(
            "ingest.unsafe_name",
            "warning",
            "The archive names this member with a path that points outside the archive "
            "(a path-traversal trick); it was stored by content only, never written to that path.",
            {"name": name, "problems": problems},
        )
    ]


def clean_member_name(name: str) -> str:
    """The label used in the item's path chain: no leading slashes, so chains stay readable."""
    return name.replace("\\", "/").lstrip("/") or "unnamed"
