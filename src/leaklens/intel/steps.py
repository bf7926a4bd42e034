"""intel's step of `leaklens verify` (and of `leaklens domains`): gather, score, find.

Where the protected domains come from: the case's setting `intel.protect` (a JSON list in the
case's meta), which `leaklens domains --protect DOMAIN...` stores (the next verify then uses it)
and the demo sets to its organisation's domain. Without any, the step still gathers the case's
indicators and finds link-text mismatches and credential forms; lookalikes need a protected domain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..case import Case
from ..model import Finding
from ..steps import Run, step
from ..store.base import TableSpec
from .gather import Gathered, gather, iter_hosts
from .lookalike import Match, Scorer
from .phishing import email_findings
from .tables import LOOKALIKES, LURES_KEY, PROTECT_KEY, SIGHTINGS, lure_words_of, protected_of

STAGE = "intel"


@dataclass
class IntelResult:
    protected: list[str]
    domains: int = 0
    lookalikes: list[dict[str, Any]] = field(default_factory=list)
    findings: int = 0
    emails_flagged: int = 0


def set_protected(case: Case, domains: Iterable[str], lure_words: Iterable[str] | None = None) -> list[str]:
    """Store the case's protected domains (registrable, checked) and extra lure words."""
    from .lookalike import protected_domain

    kept = list(dict.fromkeys(protected_domain(d).domain for d in domains))
    case.db.set_meta(PROTECT_KEY, json.dumps(kept))
    if lure_words is not None:
        case.db.set_meta(LURES_KEY, json.dumps([w.strip().lower() for w in lure_words if w.strip()]))
    return kept


def _verifications() -> Any:
    from ..verify.case_verify import VERIFICATIONS

    return VERIFICATIONS


def analyse(case: Case) -> tuple[IntelResult, set[str]]:
    """Gather, score, write the tables and the findings; returns the result and the items whose findings changed."""
    db = case.db
    protected = protected_of(db)
    verifications = _verifications()
    g = gather(case, verifications=verifications if db.table_columns(verifications) else None)
    db.ensure_table(SIGHTINGS)
    _replace_if_changed(db, SIGHTINGS, _unique(g))
    result = IntelResult(protected)
    lookalikes: dict[str, Match] = {}
    if protected:
        scorer = Scorer(protected, lure_words=lure_words_of(db))
        # Hosts, not only their registrable domains: office.com.account-verify.example names its target
        # in a label; each registrable domain keeps the best match of its hosts.
        hosts = list(iter_hosts(g))
        result.domains = len({s["domain"] for s in g.sightings if s["kind"] == "domain"})
        for h in hosts:
            m = scorer.score_ascii(h)
            if m is not None and (m.domain not in lookalikes or m.score > lookalikes[m.domain].score):
                lookalikes[m.domain] = m
    db.ensure_table(LOOKALIKES)
    db.delete_rows(LOOKALIKES)
    rows = _lookalike_rows(g, lookalikes)
    db.put_rows(LOOKALIKES, rows)
    result.lookalikes = sorted(rows, key=lambda r: (-r["score"], -r["items"], r["domain"]))
    changed = db.clear_findings([STAGE])
    pairs: list[tuple[str, Finding]] = []
    for em in g.emails.values():
        found = email_findings(em, lookalikes)
        if found:
            result.emails_flagged += 1
            pairs.extend((em.id, f) for f in found)
    db.add_findings_of(pairs, STAGE)
    result.findings = len(pairs)
    return result, changed | {i for i, _ in pairs}


def _replace_if_changed(db: Any, spec: TableSpec, rows: list[dict[str, Any]]) -> bool:
    """The table's rows replaced by `rows`, unless it holds these already, in this order (a verify
    run again on an unchanged case: 83,000 sightings at 20,000 emails, rewritten with their three
    indexes, were a third of the step). Order counts: readers list items and places in
    the order they were written. Returns whether it wrote."""
    names = spec.column_names
    held = list(zip(*db.table_values(spec, names), strict=True))
    if len(held) == len(rows) and held == [tuple(map(r.get, names)) for r in rows]:
        return False
    db.delete_rows(spec)
    db.put_rows(spec, rows)
    return True


def _unique(g: Gathered) -> list[dict[str, Any]]:
    return list({(s["kind"], s["value"], s["item_id"], s["place"]): s for s in g.sightings}.values())


def _lookalike_rows(g: Gathered, lookalikes: dict[str, Match]) -> list[dict[str, Any]]:
    agg: dict[str, dict[str, Any]] = {}
    for s in g.sightings:
        if s["kind"] != "domain" or s["domain"] not in lookalikes:
            continue
        a = agg.setdefault(s["domain"], {"n": 0, "items": set(), "dates": []})
        a["n"] += 1
        a["items"].add(s["item_id"])
        if s["date"]:
            a["dates"].append(s["date"])
    rows = []
    for d, m in lookalikes.items():
        a = agg.get(d, {"n": 0, "items": set(), "dates": []})
        rows.append({
            "domain": d, "shown": m.shown, "target": m.target, "techniques": m.techniques, "score": m.score,
            "evidence": m.evidence, "first_seen": min(a["dates"], default=None),
            "last_seen": max(a["dates"], default=None), "sightings": a["n"], "items": len(a["items"]),
        })  # fmt: skip
    return rows


@step("intel.phishing", needs=("verify.verdicts",), group="intel", stage=STAGE)
def _phishing_step(run: Run) -> set[str]:
    """Indicators gathered, domains scored against the protected ones, phishing findings on emails."""
    result, changed = analyse(run.case)
    run.results["intel.phishing"] = result
    return changed
