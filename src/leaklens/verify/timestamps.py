"""Proofs that an item existed by a given time, recorded by the user with their source.

A signature made with a key whose private half is public proves only what provably existed
before that key was exposed. The dump's publication date is one such proof (`--published`);
a timestamp taken earlier is another: an OpenTimestamps attestation of the file, a copy
archived by a third party, an entry in a court record. leaklens cannot check those itself, so
each is kept with the source the user names, shown in every finding that relies on it.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from ..case import Case, now_iso
from ..errors import LeaklensError

META_KEY = "timestamps"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _entries(case: Case) -> list[dict[str, Any]]:
    raw = case.db.get_meta(META_KEY)
    return json.loads(raw) if raw else []


def recorded(case: Case) -> dict[str, list[tuple[datetime, str]]]:
    """sha256 -> [(existed by, source)], as verify_message takes them."""
    out: dict[str, list[tuple[datetime, str]]] = {}
    for e in _entries(case):
        out.setdefault(e["sha256"], []).append((datetime.fromisoformat(e["at"]), e["source"]))
    return out


def fingerprint(case: Case) -> str | None:
    """Changes whenever a timestamp is recorded, so verification knows to look again."""
    raw = case.db.get_meta(META_KEY)
    return hashlib.sha256(raw.encode()).hexdigest()[:16] if raw else None


def record(case: Case, sha256: str, at: datetime, source: str) -> dict[str, Any]:
    sha256 = sha256.strip().lower()
    if not _SHA256.fullmatch(sha256):
        raise LeaklensError(f"{sha256!r} is not a SHA-256 (64 hex digits)")
    if not source.strip():
        raise LeaklensError("a timestamp needs its source (--source): who or what attests it")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    entry = {"sha256": sha256, "at": at.isoformat(), "source": source.strip(), "recorded": now_iso()}
    same = (sha256, entry["at"], entry["source"])
    entries = [e for e in _entries(case) if (e["sha256"], e["at"], e["source"]) != same]
    case.db.set_meta(META_KEY, json.dumps([*entries, entry], sort_keys=True))
    return entry
