"""The report's ITEM objects (DESIGN.md contract), built in one place for every output."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from .. import __version__
from ..case import Case
from ..model import Finding
from ..verify.case_docs import population
from ..verify.case_verify import verification_summary
from ..verify.recover import explanation


def item_dict(row: sqlite3.Row, findings: list[Finding]) -> dict[str, Any]:
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


def iter_items(case: Case) -> Iterator[dict[str, Any]]:
    findings = case.db.all_findings()
    for row in case.db.items():
        yield item_dict(row, findings.get(row["id"], []))


def summary(case: Case) -> dict[str, Any]:
    """The case's figures. `altered_*` split the altered items: a signed original recovered (in
    transit, or text added after signing by someone unnamed) apart from the unexplained ones."""
    db = case.db
    stored = "state != 'pending'"
    by_verdict = db.counts("verdict", stored)
    verification = verification_summary(case)
    recovered = verification.get("altered_recovered", 0)  # only emails have signatures to recover
    return {
        "items": db.conn.execute(f"SELECT COUNT(*) FROM items WHERE {stored}").fetchone()[0],
        "by_verdict": by_verdict,
        "altered_recovered": recovered,
        "altered_in_transit": verification.get("altered_in_transit", 0),
        "altered_unexplained": by_verdict.get("altered", 0) - recovered,
        "by_kind": db.counts("kind", "state = 'stored'"),
        "accounting": db.accounting(),
        "verification": verification,
    }


def duplicate_groups(case: Case) -> list[dict[str, Any]]:
    """Near-duplicate groups (documents by text, emails by Message-ID) with their members."""
    try:
        rows = case.db.conn.execute("SELECT grp, item_id, kind, similarity FROM dup_groups ORDER BY grp").fetchall()
    except sqlite3.OperationalError:  # verification (which groups them) has not run yet
        return []
    groups: dict[int, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(
            r["grp"], {"group": r["grp"], "kind": r["kind"], "similarity": r["similarity"], "members": []}
        )
        g["members"].append(r["item_id"])
    return list(groups.values())


def report_header(case: Case) -> dict[str, Any]:
    """Everything of the JSON report except its items, in contract order."""
    return {
        "leaklens": __version__,
        "case": case.info(),
        "summary": summary(case),
        "population": population(case),
        "duplicate_groups": duplicate_groups(case),
    }
