"""Posts per minute, hour or day, by platform: the shape of the spread."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from .model import iso
from .table import PostSet

UNITS = (("minute", 60), ("hour", 3600), ("day", 86400))
MAX_BUCKETS = 600


def timeline(ps: PostSet, sel: Sequence[int]) -> dict[str, Any]:
    """{"unit", "seconds", "platforms", "buckets": [{"start", "counts": {platform: n}}], "peak", "undated"}.
    The unit is the finest that keeps the chart under MAX_BUCKETS bars; empty periods are kept."""
    times = [(ps.ts[i], ps.platform[i]) for i in sel if ps.ts[i] is not None]
    undated = len(sel) - len(times)
    if not times:
        return {"unit": "minute", "seconds": 60, "platforms": [], "buckets": [], "peak": None, "undated": undated}
    lo = min(t for t, _ in times)
    hi = max(t for t, _ in times)
    unit, size = next(((u, s) for u, s in UNITS if (hi - lo) / s < MAX_BUCKETS), UNITS[-1])
    first = int(lo // size)
    last = int(hi // size)
    if last - first >= MAX_BUCKETS * 30:  # years of stray dates: the busiest stretch is what a chart shows
        common = Counter(int(t // size) for t, _ in times).most_common(1)[0][0]
        first, last = common - MAX_BUCKETS // 2, common + MAX_BUCKETS // 2
    counts: dict[int, Counter] = {}
    for t, p in times:
        b = int(t // size)
        if first <= b <= last:
            counts.setdefault(b, Counter())[p] += 1
    platforms = sorted({p for _, p in times})
    buckets = [{"start": iso(b * size), "counts": dict(counts.get(b, {}))} for b in range(first, last + 1)]
    peak = max(buckets, key=lambda b: sum(b["counts"].values()))
    return {
        "unit": unit,
        "seconds": size,
        "platforms": platforms,
        "buckets": buckets,
        "peak": {"start": peak["start"], "posts": sum(peak["counts"].values())},
        "undated": undated,
    }
