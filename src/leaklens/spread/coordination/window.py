"""The coordination window estimated from the data, as CooRnet's `estimate_coord_interval` does
(Giglietto, Righetti, Rossi; q = 0.1, p = 0.5): among the objects shared more than once, take the
q quickest by the time from their first share to their second; for each, the time from its first
share until more than p of its shares were made; the window is the median of those times."""

from __future__ import annotations

import statistics
from collections.abc import Hashable
from typing import Any

Q, P = 0.1, 0.5
MIN_OBJECTS = 10  # fewer objects shared twice say nothing about a typical interval
FLOOR, CEILING = 1.0, 3600.0


def estimate(groups: dict[Hashable, list[tuple[float, str, int]]], q: float = Q, p: float = P) -> dict[str, Any]:
    """{"seconds": the estimate or None, "objects": shared more than once, "quickest": how many were used,
    "q", "p"}."""
    second = []
    for key, g in groups.items():
        if len(g) > 1:
            times = sorted(t for t, _, _ in g)
            second.append((times[1] - times[0], key, times))
    if len(second) < MIN_OBJECTS:
        return {"seconds": None, "objects": len(second), "quickest": 0, "q": q, "p": p}
    cut = _quantile(sorted(s for s, _, _ in second), q)
    quick = [times for s, _, times in second if s <= cut]
    reach = []
    for times in quick:
        n = len(times)
        # the first share whose rank / n exceeds p (CooRnet's perc_of_shares > p), from the first share
        k = next(r for r in range(1, n + 1) if r / n > p)
        reach.append(times[k - 1] - times[0])
    secs = statistics.median(reach)
    return {
        "seconds": min(CEILING, max(FLOOR, secs)),
        "raw_seconds": secs,
        "objects": len(second),
        "quickest": len(quick),
        "q": q,
        "p": p,
    }


def _quantile(values: list[float], q: float) -> float:
    """R's default quantile (type 7), as CooRnet computes it."""
    if not values:
        return 0.0
    h = (len(values) - 1) * q
    lo = int(h)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (h - lo) * (values[hi] - values[lo])
