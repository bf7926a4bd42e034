"""Signals about accounts rather than pairs: bursts of newly created accounts among those posting, and
machine-like activity (sustained rates no person keeps up, or posts at regular intervals)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from ..model import iso
from ..table import PostSet, last_authors

DAY = 86400.0


def creation_bursts(
    ps: PostSet,
    sel: Sequence[int],
    *,
    bin_days: float = 1.0,
    min_accounts: int = 5,
    ratio: float = 10.0,
    recent_days: float = 90.0,
) -> list[dict[str, Any]]:
    """Days on which many of the posting accounts were created: at least `min_accounts` in one bin and
    `ratio` times the median of the non-empty bins, among accounts created within `recent_days` of the
    first post (older accounts are not "new")."""
    created: dict[str, float] = {}
    first = None
    for i in sel:
        a = ps.account[i]
        if a and ps.author_created[i] is not None:
            created.setdefault(a, ps.author_created[i])
        if ps.ts[i] is not None:
            first = ps.ts[i] if first is None else min(first, ps.ts[i])
    if not created or first is None:
        return []
    size = bin_days * DAY
    bins: dict[int, list[str]] = {}
    for a, t in created.items():
        bins.setdefault(int(t // size), []).append(a)
    baseline = statistics.median(len(v) for v in bins.values())
    out = []
    for b, accts in sorted(bins.items()):
        start = b * size
        # far above the baseline: `ratio` times it, or (for a busy baseline) 5 standard deviations of a Poisson count
        high = min(ratio * baseline, baseline + 5 * math.sqrt(baseline))
        if len(accts) >= min_accounts and len(accts) >= high and first - start <= recent_days * DAY:
            out.append(
                {
                    "created_from": iso(start),
                    "created_until": iso(start + size),
                    "accounts": sorted(accts),
                    "count": len(accts),
                    "baseline_per_bin": baseline,
                    "days_before_first_post": round((first - start) / DAY, 1),
                }
            )
    return out


def machine_like(
    ps: PostSet, sel: Sequence[int], *, max_per_hour: float = 30.0, min_posts: int = 20, max_cv: float = 0.1
) -> list[dict[str, Any]]:
    """Accounts posting faster than `max_per_hour` sustained over their busiest 12 hours (the MacronLeaks
    account: 486 posts in 12 hours), or at intervals whose coefficient of variation is below `max_cv` over
    at least `min_posts` posts (a scheduler, not a person)."""
    times: dict[str, list[float]] = {}
    for i in sel:
        if ps.account[i] and ps.ts[i] is not None:
            times.setdefault(ps.account[i], []).append(ps.ts[i])
    names = last_authors(ps, sel)
    out = []
    span = 12 * 3600.0
    for a, ts in times.items():
        if len(ts) < min_posts:
            continue
        ts.sort()
        best, lo = 0, 0
        for hi in range(len(ts)):
            while ts[hi] - ts[lo] > span:
                lo += 1
            best = max(best, hi - lo + 1)
        gaps = [b - x for x, b in zip(ts, ts[1:], strict=False)]
        mean = sum(gaps) / len(gaps)
        # the population standard deviation in floats: statistics.pstdev's exact fractions were a quarter of
        # the analysis's account signals at a million posts, for a figure shown to three decimals
        sd = math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps))
        cv = sd / mean if mean > 0 else 0.0
        reasons = []
        if best / 12 > max_per_hour:
            reasons.append(f"{best} posts in 12 hours ({best / 12:.0f} an hour)")
        if mean > 0 and cv < max_cv:
            reasons.append(f"posts every {mean:.0f} s on average, intervals varying by {cv:.0%} (regular)")
        if reasons:
            out.append(
                {
                    "account": a,
                    "author": names.get(a, ""),
                    "posts": len(ts),
                    "busiest_12h": best,
                    "mean_interval_s": round(mean, 1),
                    "interval_cv": round(cv, 3),
                    "reasons": reasons,
                }
            )
    out.sort(key=lambda r: -r["busiest_12h"])
    return out
