"""The "Phishing and infrastructure" page: the case's lookalike domains ranked, when each was first and
last seen (a chart), where, and the emails the phishing step flagged. Every domain and URL shown is
the attacker's text: escaped by the templates, never made a live link; only the workbench's own
pages (items) are linked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...codes import CATALOGUE
from ...intel.ranked import case_lookalikes
from ...intel.tables import LOOKALIKES, SIGHTINGS, protected_of
from .. import charts

router = APIRouter(include_in_schema=False)
CODES = ("intel.lookalike_sender", "intel.lookalike_link", "intel.link_text_mismatch", "intel.credential_form")
MAX_ROWS = 200  # domains listed (the figures count them all)
MAX_CHART = 40  # domains drawn
MAX_EMAILS = 500


def phishing_view(case: Any) -> dict[str, Any]:
    """What the page shows, read over the store (also what the JSON of a future API would be)."""
    db = case.db
    have = bool(db.table_columns(LOOKALIKES))
    rows = case_lookalikes(case) if have else []
    chart_rows = []
    for r in rows[:MAX_CHART]:
        days = sorted(
            {s["date"][:10] for s in db.table_rows(SIGHTINGS, kind="domain", domain=r["domain"]) if s["date"]}
        )
        chart_rows.append({"label": r["shown"], "days": days, "score": r["score"]})
    flagged: dict[str, dict[str, Any]] = {}
    for code in CODES:
        for item_id in sorted(db.items_with_finding(code)) if have else ():
            entry = flagged.get(item_id)
            if entry is None:
                if len(flagged) >= MAX_EMAILS:
                    continue
                row = db.item(item_id)
                item = dict(row) if row is not None else {}
                subject = item.get("subject") or item.get("name") or item_id
                when = (item.get("date") or "")[:16].replace("T", " ")
                entry = flagged[item_id] = {"id": item_id, "subject": subject, "from": item.get("email_from") or "",
                                            "date": when, "verdict": item.get("verdict"),
                                            "codes": [], "messages": []}  # fmt: skip
                entry["messages"] = [f.message for f in db.findings_for(item_id, "intel")]
            entry["codes"].append(code)
    emails = sorted(flagged.values(), key=lambda e: e["date"])
    return {
        "protected": protected_of(db),
        "lookalikes": rows[:MAX_ROWS],
        "total": len(rows),
        "emails": emails,
        "meanings": {c: CATALOGUE[c].meaning for c in CODES if c in CATALOGUE},
        "chart": charts.sightings_timeline_svg(chart_rows),
        "ran": have,
    }


@router.get("/phishing", response_class=HTMLResponse)
def phishing_page(request: Request) -> HTMLResponse:
    case = request.app.state.pool.get()
    return HTMLResponse(request.app.state.render.page(request, "phishing.html", v=phishing_view(case)))
