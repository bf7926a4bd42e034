"""A job's throughput over time, as SVG text (presentation attributes only: the app's CSP forbids
inline styles). Drawn from the job's samples: [seconds since start, items done]."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, PAD = 640, 180, 36


def rates(samples: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """(seconds, items/s over the interval that ends there) between consecutive samples."""
    out = []
    for (t0, d0), (t1, d1) in zip(samples, samples[1:], strict=False):
        if t1 > t0:
            out.append((t1, max(0.0, (d1 - d0) / (t1 - t0))))
    return out


def throughput_svg(samples: Sequence[Sequence[float]]) -> str:
    points = rates(samples)
    if not points:
        return '<p class="muted">Too short to chart: fewer than two samples.</p>'
    t_max = max(t for t, _ in points) or 1.0
    r_max = max(r for _, r in points) or 1.0
    w, h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def xy(t: float, r: float) -> str:
        return f"{PAD + w * t / t_max:.1f},{PAD + h - h * r / r_max:.1f}"

    line = " ".join(xy(t, r) for t, r in points)
    label = f"Items per second over {t_max:,.0f} s; peak {r_max:,.1f} items/s"
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>"
        f'<line x1="{PAD}" y1="{PAD + h}" x2="{PAD + w}" y2="{PAD + h}" stroke="#9ca3af"/>'
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{PAD + h}" stroke="#9ca3af"/>'
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end" font-size="11" fill="#374151">{r_max:,.0f}/s</text>'
        f'<text x="{PAD - 4}" y="{PAD + h}" text-anchor="end" font-size="11" fill="#374151">0</text>'
        f'<text x="{PAD + w}" y="{HEIGHT - 8}" text-anchor="end" font-size="11" fill="#374151">{t_max:,.0f} s</text>'
        f'<polyline points="{line}" fill="none" stroke="#2563eb" stroke-width="2"/>'
        "</svg>"
    )
