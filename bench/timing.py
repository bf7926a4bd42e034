"""The few timing helpers the benchmarks share: run a call N times, a percentile, a median with its range."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def times(rounds: int, fn: Callable[[], Any]) -> list[float]:
    """Seconds each of `rounds` calls of `fn` took."""
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank); NaN for no values."""
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")


def fmt_ms(xs: list[float]) -> str:
    """'median 4.2 ms (3.9-5.1)': the median and the range, in milliseconds."""
    xs = sorted(xs)
    return f"median {statistics.median(xs) * 1000:.1f} ms ({xs[0] * 1000:.1f}-{xs[-1] * 1000:.1f})"
