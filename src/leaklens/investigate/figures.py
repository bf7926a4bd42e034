"""The case's figures: the summary every report carries, the dashboard's figures, the items of a
verdict as the HTML report lists them, and the near-duplicate groups."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

from ..case import Case
from ..store.base import ItemQuery
from ..verify.case_verify import verification_summary
from ..verify.recover import explanation
from .correspondents import address_of
from .items import as_findings, findings_with_stage, recovered
from .memo import remember
from .timeline import email_timeline

SETTLED = ItemQuery(settled=True)  # what a report counts: every item found, but those still pending
STORED = ItemQuery(state="stored")
EMAILS = ItemQuery(kind="email", state="stored")
TOP = 10


def _counts(case: Case, field: str, where: ItemQuery) -> dict[str, int]:
    return {str(value): n for value, n in case.db.count_items_by((field,), where)}


def summary(case: Case) -> dict[str, Any]:
    """The case's figures. `altered_*` split the altered items: a signed original recovered (in
    transit, or text added after signing by someone unnamed) apart from the unexplained ones."""
    db = case.db
    by_verdict = _counts(case, "verdict", SETTLED)
    verification = verification_summary(case)
    restored = verification.get("altered_recovered", 0)  # only emails have signatures to recover
    return {
        "items": db.count_items(SETTLED),
        "by_verdict": by_verdict,
        "altered_recovered": restored,
        "altered_in_transit": verification.get("altered_in_transit", 0),
        "altered_unexplained": by_verdict.get("altered", 0) - restored,
        "by_kind": _counts(case, "kind", STORED),
        "accounting": db.accounting(),
        "verification": verification,
    }


def dashboard(case: Case) -> dict[str, Any]:
    """The dashboard's figures (a copy: callers may change it)."""
    return copy.deepcopy(remember(case.db, ("dashboard",), lambda: _dashboard(case)))


def _dashboard(case: Case) -> dict[str, Any]:
    db = case.db
    s = summary(case)
    senders: Counter[str] = Counter()
    for value, n in db.count_items_by(("email_from",), EMAILS):
        if value:
            senders[address_of(value) or value] += n
    # The latest warning of each kind, with how many items carry it: a list of 40 identical
    # "key unavailable" lines would hide the one altered email.
    latest = db.latest_warnings(TOP)
    for entry in latest:
        if entry["verdict"] == "altered":
            entry["recovered"] = recovered(db, entry["item_id"])
    return {
        "summary": s,
        "emails": db.count_items(EMAILS),
        "verified_emails": db.count_items(ItemQuery(kind="email", state="stored", verdict="verified")),
        "dkim_checked": s.get("verification", {}).get("checked", 0),
        "timeline": email_timeline(db),
        "top_senders": [{"address": a, "emails": n} for a, n in senders.most_common(TOP)],
        "top_signing_domains": [{"domain": d, "emails": n} for d, n in db.signing_domains(TOP)],
        "duplicated_attachments": db.repeated_attachments(TOP),
        "latest_findings": latest,
    }


def listed(case: Case, verdict: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """(how many items have this verdict, the first `limit` of them by date with their findings):
    what made the verdict first, info findings after it for context; altered items whose signed
    original is recovered after the unexplained ones."""
    where = ItemQuery(verdict=verdict, settled=True)
    out = []
    for r in case.db.select_items(where, order="date", limit=limit):
        findings = findings_with_stage(case.db, r["id"])
        restored = explanation(as_findings(findings)) if verdict == "altered" else None
        if restored is not None:
            findings.sort(key=lambda f: f["code"] != "dkim.original_recovered")
        out.append(
            {
                "row": dict(r),
                "findings": findings,
                "recovered": restored,
                "document": (json.loads(r["meta"]) or {}).get("document") if r["meta"] else None,
            }
        )
    out.sort(key=lambda it: it["recovered"] is not None)
    return case.db.count_items(where), out


def duplicate_groups(case: Case) -> list[dict[str, Any]]:
    """Near-duplicate groups (documents by text, emails by Message-ID) with their members."""
    return case.db.duplicate_groups()
