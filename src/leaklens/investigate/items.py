"""One item as every view shows it: the report's ITEM (DESIGN.md contract), its findings with the
step that wrote them, the items its evidence names, its copies and its text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..model import Finding
from ..store.base import CaseStore, ItemQuery, text_source
from ..verify.recover import explanation

ITEM_ID = re.compile(r"^[0-9a-f]{20}$")
MAX_TEXT_CHARS = 400_000
MAX_COPIES = 50
_SEVERITY_RANK = {"critical": 0, "warning": 1}  # then info: what made the verdict comes first
BRIEF_FIELDS = ("id", "name", "kind", "verdict", "subject", "date", "email_from", "size", "mime", "sha256", "path")
RELATED_FIELDS = ("id", "name", "kind", "verdict", "subject", "date")

Row = Mapping[str, Any]


def item_dict(row: Row, findings: list[Finding]) -> dict[str, Any]:
    """The report's ITEM for an item and its findings."""
    email = None
    if row["kind"] == "email":
        email = {
            "from": row["email_from"],
            "to": row["email_to"],
            "cc": row["email_cc"],
            "subject": row["subject"],
            "date": row["date"],
            "message_id": row["message_id"],
        }
    out = {
        "id": row["id"],
        "path": row["path"],
        "sha256": row["sha256"],
        "kind": row["kind"],
        "parent": row["parent"],
        "size": row["size"],
        "verdict": row["verdict"],
        "findings": [f.to_dict() for f in findings],
        "email": email,
        "state": row["state"],
        "reason": row["reason"],
        "mime": row["mime"],
        "text_status": row["text_status"],
    }
    explained = explanation(findings) if row["verdict"] == "altered" else None
    if explained is not None:
        # Still `altered`, but every proven change has its signed original recovered: said apart.
        out["recovered"] = {k: explained[k] for k in ("in_transit", "label", "signatures")}
    meta = json.loads(row["meta"]) if row["meta"] else None
    if meta and "document" in meta:
        out["metadata"] = meta["document"]
    return out


def brief(row: Row) -> dict[str, Any]:
    """What a list of items shows of each."""
    return {k: row[k] for k in BRIEF_FIELDS}


def findings_with_stage(store: CaseStore, item_id: str) -> list[dict[str, Any]]:
    """The item's findings as dicts with their stage, critical first, then warnings, then info."""
    staged = store.staged_findings(item_id)
    staged.sort(key=lambda sf: _SEVERITY_RANK.get(sf[1].severity, 2))  # stable: as written within a rank
    return [
        {"stage": stage, "code": f.code, "severity": f.severity, "message": f.message, "evidence": f.evidence}
        for stage, f in staged
    ]


def as_findings(rows: list[dict[str, Any]]) -> list[Finding]:
    return [Finding(f["code"], f["severity"], f["message"], f["evidence"]) for f in rows]


def recovered(store: CaseStore, item_id: str) -> dict[str, Any] | None:
    """For an altered item whose every proven change has its signed original recovered: how (else None)."""
    return explanation(as_findings(findings_with_stage(store, item_id)))


def _ids_in(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        if ITEM_ID.match(value):
            found.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _ids_in(v, found)
    elif isinstance(value, list):
        for v in value:
            _ids_in(v, found)


def related_items(store: CaseStore, findings: list[dict[str, Any]], own_id: str) -> dict[str, dict[str, Any]]:
    """Items named in findings' evidence (near-duplicate groups, the verified email, the quoted parent)."""
    ids: set[str] = set()
    for f in findings:
        _ids_in(f["evidence"], ids)
    ids.discard(own_id)
    if not ids:
        return {}
    rows = store.select_items(ItemQuery(ids=tuple(sorted(ids))))
    return {r["id"]: {k: r[k] for k in RELATED_FIELDS} for r in rows}


def copies(store: CaseStore, row: Row) -> list[dict[str, Any]]:
    """Other stored items with the same bytes, as found (at most MAX_COPIES)."""
    if not row["sha256"]:
        return []
    same = store.select_items(ItemQuery(sha256=row["sha256"], state="stored"), limit=MAX_COPIES + 1)
    return [brief(r) for r in same if r["id"] != row["id"]][:MAX_COPIES]


def item_text(store: CaseStore, row: Row) -> str:
    """The text read from the item at ingest (the email's body, the document's text)."""
    records = store.texts_for(row["id"], text_source(row["kind"]))
    return records[0].text[:MAX_TEXT_CHARS] if records else ""
