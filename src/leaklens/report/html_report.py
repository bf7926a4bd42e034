"""`leaklens report --format html`: one self-contained file an editor can read offline.

Inline CSS and inline SVG only; no script, no remote anything, and a CSP meta tag so
that even a viewer that ignores the escaping could not run or fetch what the dump
put in a subject line. Uses the workbench's templates and charts, so the report and
the app show verdicts the same way.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..case import Case
from ..model import VERDICTS
from ..verify.recover import explanation
from ..web import charts, data
from ..web.render import human_size, pretty_json

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
LISTED_VERDICTS = ("altered", "suspicious", "error")
MAX_LISTED = 5000  # per verdict; the JSON report carries every item


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(human_size=human_size, pretty_json=pretty_json)
    env.globals.update(VERDICTS=VERDICTS, VERDICT_LABELS=charts.VERDICT_LABELS, VERDICT_COLOURS=charts.VERDICT_COLOURS)
    return env


def _listed(case: Case, verdict: str) -> tuple[int, list[dict[str, Any]]]:
    conn = case.db.conn
    total = conn.execute("SELECT COUNT(*) FROM items WHERE verdict=? AND state != 'pending'", (verdict,)).fetchone()[0]
    rows = conn.execute(
        "SELECT * FROM items WHERE verdict=? AND state != 'pending' ORDER BY date IS NULL, date, rowid LIMIT ?",
        (verdict, MAX_LISTED),
    ).fetchall()
    out = []
    for r in rows:
        findings = data.findings_with_stage(conn, r["id"])
        recovered = explanation(data.as_findings(findings)) if verdict == "altered" else None
        if recovered is not None:
            findings.sort(key=lambda f: f["code"] != "dkim.original_recovered")
        # What made the verdict comes first; info findings stay, after it, for context.
        out.append(
            {
                "row": dict(r),
                "findings": findings,
                "recovered": recovered,
                "document": (json.loads(r["meta"]) or {}).get("document") if r["meta"] else None,
            }
        )
    # Altered items whose signed original is recovered come after the unexplained ones.
    out.sort(key=lambda it: it["recovered"] is not None)
    return total, out


def report_context(case: Case) -> dict[str, Any]:
    d = data.dashboard(case)
    s = d["summary"]
    by_verdict = {v: s["by_verdict"].get(v, 0) for v in VERDICTS}
    listed = {v: _listed(case, v) for v in LISTED_VERDICTS}
    return {
        "version": __version__,
        "generated": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "case": case.info(),
        "d": d,
        "s": s,
        "by_verdict": by_verdict,
        "verification": s.get("verification") or {},
        "timeline_svg": charts.timeline_svg(d["timeline"], link=None),
        "verdict_svg": charts.verdict_bars_svg(by_verdict),
        "listed": listed,
        "max_listed": MAX_LISTED,
        # The workbench's own stylesheet, inlined: the file must open with nothing beside it.
        "css": (TEMPLATES.parent / "static" / "app.css").read_text(encoding="utf-8"),
    }


def write_html(case: Case, out: IO[str]) -> None:
    """Write the offline HTML report of `case` to `out`."""
    ctx = report_context(case)
    out.write(_env().get_template("report.html").render(**ctx))
