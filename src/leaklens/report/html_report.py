"""`leaklens report --format html`: one self-contained file an editor can read offline.

Inline CSS and inline SVG only; no script, no remote anything, and a CSP meta tag so
that even a viewer that ignores the escaping could not run or fetch what the dump
put in a subject line. Uses the workbench's templates and charts, so the report and
the app show verdicts the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..case import Case
from ..display import document_fields, evidence_shown, when
from ..investigate.figures import dashboard, listed
from ..investigate.verdict_view import banner
from ..model import VERDICTS
from ..web import charts  # presentation only: the report draws verdicts as the workbench does
from ..web.leaktext import leak, leak_plain
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
    env.filters.update(
        human_size=human_size,
        pretty_json=pretty_json,
        leak=leak,
        leak_plain=leak_plain,
        when=when,
        evidence_shown=evidence_shown,
        document_fields=document_fields,
    )
    env.globals.update(VERDICTS=VERDICTS, VERDICT_LABELS=charts.VERDICT_LABELS, VERDICT_COLOURS=charts.VERDICT_COLOURS)
    return env


def report_context(case: Case) -> dict[str, Any]:
    d = dashboard(case)
    s = d["summary"]
    by_verdict = {v: s["by_verdict"].get(v, 0) for v in VERDICTS}
    by_listed = {v: listed(case, v, MAX_LISTED) for v in LISTED_VERDICTS}
    for _total, items in by_listed.values():
        for it in items:
            # The banner the workbench opens each content panel with (verdict, reason, signer), from
            # the findings just read: the report says of an item what its page says.
            it["banner"] = banner(it["row"], it["findings"], case.db.verification_of(it["row"]["id"]), it["recovered"])
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
        "listed": by_listed,
        "max_listed": MAX_LISTED,
        # The workbench's own stylesheets, inlined: the file must open with nothing beside it
        # (reading.css: its print and phone rules, so a printed report keeps its verdict colours).
        "css": "\n".join(
            (TEMPLATES.parent / "static" / name).read_text(encoding="utf-8") for name in ("app.css", "reading.css")
        ),
    }


def write_html(case: Case, out: IO[str]) -> None:
    """Write the offline HTML report of `case` to `out`."""
    ctx = report_context(case)
    out.write(_env().get_template("report.html").render(**ctx))
