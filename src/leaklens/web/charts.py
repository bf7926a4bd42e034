"""Charts drawn in Python as SVG text: no chart library, nothing fetched, same output in the app
and in the offline HTML report.

Only presentation attributes (fill, stroke) are used, never ``style=""``: the app's CSP
forbids inline styles, and presentation attributes are not styles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from html import escape
from urllib.parse import quote

from .leaktext import leak_plain

VERDICT_ORDER = ("verified", "altered", "suspicious", "unverified", "error")
VERDICT_COLOURS = {
    "verified": "#1a7f37",
    "altered": "#c62828",
    "suspicious": "#a15c00",
    "unverified": "#6b7280",
    "error": "#6f42c1",
}
VERDICT_LABELS = {
    "verified": "Verified",
    "altered": "Altered",
    "suspicious": "Suspicious",
    "unverified": "Unverified",
    "error": "Error",
}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def _e(value: object) -> str:
    # Labels and tips are leak text (addresses, names, posts): a bidi override or zero-width character
    # is drawn as a marker ([RLO]) and a right-to-left label isolated, as everywhere else (leaktext).
    return escape(leak_plain(str(value)), quote=True)


def _bucket(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _next(day: date, unit: str) -> date:
    if unit == "week":
        return day + timedelta(days=7)
    if unit == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def timeline_buckets(rows: Iterable[tuple[str, str, int]]) -> tuple[str, list[tuple[date, dict[str, int]]]]:
    """Group (YYYY-MM-DD, verdict, count) rows by day, week or month, whichever keeps bars readable."""
    per_day: dict[date, dict[str, int]] = {}
    for day_text, verdict, n in rows:
        try:
            day = date.fromisoformat(str(day_text)[:10])
        except ValueError:
            continue
        per_day.setdefault(day, {}).setdefault(verdict, 0)
        per_day[day][verdict] += n
    if not per_day:
        return "day", []
    first, last = min(per_day), max(per_day)
    span = (last - first).days
    unit = "day" if span <= 120 else "week" if span <= 3 * 365 else "month"
    buckets: dict[date, dict[str, int]] = {}
    for day, counts in per_day.items():
        b = buckets.setdefault(_bucket(day, unit), {})
        for v, n in counts.items():
            b[v] = b.get(v, 0) + n
    out = []
    cur = _bucket(first, unit)
    end = _bucket(last, unit)
    # Empty periods are drawn too: a gap in the mail is itself a fact.
    guard = 0
    while cur <= end and guard < 5000:
        out.append((cur, buckets.get(cur, {})))
        cur = _next(cur, unit)
        guard += 1
    return unit, out


def timeline_svg(
    rows: Iterable[tuple[str, str, int]],
    *,
    width: int = 960,
    height: int = 240,
    link: str | None = "/search?q=",
) -> str:
    """Emails per day (or week/month) as stacked bars coloured by verdict, with a legend in words."""
    unit, buckets = timeline_buckets(rows)
    if not buckets:
        return '<p class="empty">No dated emails yet.</p>'
    left, right, top, bottom = 44, 12, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(sum(c.values()) for _, c in buckets) or 1
    bar_w = plot_w / len(buckets)
    parts = [
        f'<svg class="chart timeline" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Emails per {unit}, coloured by verdict; peak {peak}" '
        'xmlns="http://www.w3.org/2000/svg" '
        f'font-family="{_e(FONT)}" font-size="11">',
        f"<title>Emails per {unit}, by verdict</title>",
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h - frac * plot_h
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dde3" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">{round(peak * frac)}</text>'
        )
    for i, (start, counts) in enumerate(buckets):
        total = sum(counts.values())
        x = left + i * bar_w
        y = top + plot_h
        label = (
            start.isoformat()
            if unit == "day"
            else (f"week of {start.isoformat()}" if unit == "week" else start.strftime("%Y-%m"))
        )
        detail = ", ".join(f"{VERDICT_LABELS[v].lower()} {counts[v]}" for v in VERDICT_ORDER if counts.get(v))
        tip = f"{label}: {total} email{'s' if total != 1 else ''}" + (f" ({detail})" if detail else "")
        inner = []
        for v in VERDICT_ORDER:
            n = counts.get(v, 0)
            if not n:
                continue
            h = n / peak * plot_h
            y -= h
            inner.append(
                f'<rect x="{x + 0.5:.2f}" y="{y:.2f}" width="{max(bar_w - 1, 0.8):.2f}" height="{h:.2f}" '
                f'fill="{VERDICT_COLOURS[v]}"/>'
            )
        group = f"<g><title>{_e(tip)}</title>{''.join(inner)}</g>"
        if link is not None and total:
            after = start.isoformat()
            before = _next(start, unit).isoformat()
            href = link + quote(f"kind:email after:{after} before:{before}")
            group = f'<a href="{_e(href)}" aria-label="{_e(tip)}">{group}</a>'
        parts.append(group)
    # A few dates along the axis.
    ticks = min(6, len(buckets))
    for k in range(ticks):
        i = round(k * (len(buckets) - 1) / max(ticks - 1, 1))
        start = buckets[i][0]
        text = start.isoformat() if unit != "month" else start.strftime("%Y-%m")
        # Centred under its bar, except at the ends: the first starts at its bar, the last ends at
        # its bar, so neither runs past the drawing (the last was cut off at the right edge).
        if ticks > 1 and k == 0:
            x, anchor = left + i * bar_w, "start"
        elif ticks > 1 and k == ticks - 1:
            x, anchor = left + (i + 1) * bar_w, "end"
        else:
            x, anchor = left + (i + 0.5) * bar_w, "middle"
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}" fill="#374151">{text}</text>')
    lx = left
    for v in VERDICT_ORDER:
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{VERDICT_COLOURS[v]}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" fill="#1f2937">{VERDICT_LABELS[v]}</text>'
        )
        lx += 24 + 7 * len(VERDICT_LABELS[v])
    parts.append("</svg>")
    return "".join(parts)


def verdict_bars_svg(counts: dict[str, int], *, width: int = 480, link: str | None = None) -> str:
    """One horizontal bar per verdict, labelled with its name and count (never colour alone)."""
    rows = [(v, int(counts.get(v, 0) or 0)) for v in VERDICT_ORDER]
    total = sum(n for _, n in rows) or 1
    row_h, label_w, num_w = 26, 96, 90
    height = row_h * len(rows) + 4
    bar_max = width - label_w - num_w
    parts = [
        f'<svg class="chart verdicts" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Items by verdict" xmlns="http://www.w3.org/2000/svg" font-family="{_e(FONT)}" '
        f'font-size="13"><title>Items by verdict</title>'
    ]
    for i, (v, n) in enumerate(rows):
        y = i * row_h + 2
        w = n / total * bar_max
        pct = f"{100 * n / total:.1f}%" if n else "0"
        bar = (
            f'<text x="0" y="{y + 17}" fill="#1f2937">{VERDICT_LABELS[v]}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_max}" height="16" fill="#eef0f3"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="16" fill="{VERDICT_COLOURS[v]}"/>'
            f'<text x="{label_w + bar_max + 8}" y="{y + 17}" fill="#1f2937">{n:,} ({pct})</text>'
        )
        if link is not None and n:
            bar = f'<a href="{_e(link + quote("verdict:" + v))}">{bar}</a>'
        parts.append(f"<g><title>{VERDICT_LABELS[v]}: {n:,}</title>{bar}</g>")
    parts.append("</svg>")
    return "".join(parts)


# -- spread (social posts) --------------------------------------------------------------------------
PLATFORM_COLOURS = ("#1d4e89", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#6b7280")


def posts_timeline_svg(tl: dict, *, width: int = 960, height: int = 240) -> str:
    """Posts per minute, hour or day (spread.timeline), stacked by platform, with a legend in words."""
    buckets = tl.get("buckets") or []
    if not buckets:
        return '<p class="empty">No dated posts.</p>'
    platforms = list(tl.get("platforms") or [])
    colour = {p: PLATFORM_COLOURS[i % len(PLATFORM_COLOURS)] for i, p in enumerate(platforms)}
    left, right, top, bottom = 44, 12, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(sum(b["counts"].values()) for b in buckets) or 1
    bar_w = plot_w / len(buckets)
    unit = _e(tl.get("unit", ""))
    parts = [
        f'<svg class="chart timeline" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Posts per {unit}, by platform; peak {peak}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="{_e(FONT)}" font-size="11"><title>Posts per {unit}, by platform</title>'
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h - frac * plot_h
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dde3"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">{round(peak * frac)}</text>'
        )
    for i, b in enumerate(buckets):
        total = sum(b["counts"].values())
        if not total:
            continue
        x, y = left + i * bar_w, top + plot_h
        detail = ", ".join(f"{p} {b['counts'][p]}" for p in platforms if b["counts"].get(p))
        inner = []
        for p in platforms:
            n = b["counts"].get(p, 0)
            if n:
                h = n / peak * plot_h
                y -= h
                inner.append(f'<rect x="{x + 0.5:.2f}" y="{y:.2f}" width="{max(bar_w - 1, 0.8):.2f}" height="{h:.2f}" '
                             f'fill="{colour[p]}"/>')
        parts.append(f"<g><title>{_e(b['start'])}: {total} posts ({_e(detail)})</title>{''.join(inner)}</g>")
    ticks = min(6, len(buckets))
    for k in range(ticks):
        i = round(k * (len(buckets) - 1) / max(ticks - 1, 1))
        x = left + (i + 0.5) * bar_w
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#374151">'
                     f"{_e(buckets[i]['start'][:16].replace('T', ' '))}</text>")
    lx = left
    for p in platforms:
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{colour[p]}"/>'
                     f'<text x="{lx + 14}" y="{height - 5}" fill="#1f2937">{_e(p)}</text>')
        lx += 28 + 7 * len(p)
    parts.append("</svg>")
    return "".join(parts)


def cascade_svg(edges: Sequence[tuple[str, str, str]], root: str, labels: dict[str, str] | None = None, *,
                width: int = 960, row_h: int = 16, link: str | None = "/spread/post?uid=") -> str:
    """A cascade as a tree read left to right: the root, then each depth in a column; reposts, quotes and
    replies drawn in different strokes (and named in each node's title, never by colour alone)."""
    if not edges:
        return '<p class="empty">No cascade to draw.</p>'
    labels = labels or {}
    kids: dict[str, list[tuple[str, str]]] = {}
    for parent, child, kind in edges:
        kids.setdefault(parent, []).append((child, kind))
    depth: dict[str, int] = {root: 0}
    order = [root]
    kind_of: dict[str, str] = {}
    stack = [root]
    while stack:  # depth-first, so that each subtree sits in consecutive rows
        node = stack.pop()
        for child, kind in reversed(kids.get(node, ())):
            if child not in depth:
                depth[child] = depth[node] + 1
                kind_of[child] = kind
                order.append(child)
                stack.append(child)
    max_d = max(depth.values()) or 1
    rows = {n: k for k, n in enumerate(order)}
    height = max(60, row_h * len(order) + 20)
    col_w = (width - 220) / max_d

    def xy(n: str) -> tuple[float, float]:
        return 10 + depth[n] * col_w, 10 + rows[n] * row_h

    stroke = {"repost": ("#1d4e89", ""), "quote": ("#c2410c", ' stroke-dasharray="6 3"'),
              "reply": ("#15803d", ' stroke-dasharray="2 2"')}
    parts = [f'<svg class="chart graph cascade" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="Cascade of {len(order)} posts" xmlns="http://www.w3.org/2000/svg" '
             f'font-family="{_e(FONT)}" font-size="10"><title>Cascade from {_e(root)}</title>']
    for parent, child, kind in edges:
        if parent in depth and child in depth:
            (x1, y1), (x2, y2) = xy(parent), xy(child)
            colour, dash = stroke.get(kind, ("#6b7280", ""))
            parts.append(f'<path d="M{x1:.1f},{y1:.1f} H{x1 + col_w * 0.4:.1f} V{y2:.1f} H{x2:.1f}" fill="none" '
                         f'stroke="{colour}" stroke-width="1.2"{dash}/>')
    for n in order:
        x, y = xy(n)
        label = labels.get(n) or n
        label = label if len(label) <= 30 else label[:28] + "…"
        tip = f"{kind_of.get(n, 'root')}: {labels.get(n) or ''} ({n})"
        node = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#111827"/>'
                f'<text x="{x + 7:.1f}" y="{y + 3.5:.1f}" fill="#111827">{_e(label)}</text>')
        if link is not None:
            parts.append(f'<a href="{_e(link + quote(n, safe=""))}"><title>{_e(tip)}</title>{node}</a>')
        else:
            parts.append(f"<g><title>{_e(tip)}</title>{node}</g>")
    parts.append("</svg>")
    return "".join(parts)


def count_bars_svg(rows: Sequence[tuple[str, int, str | None]], *, title: str, width: int = 480) -> str:
    """One horizontal bar per (label, count, link or None), labelled with both, longest first as given."""
    if not rows:
        return '<p class="empty">Nothing to draw.</p>'
    peak = max(n for _, n, _ in rows) or 1
    row_h, label_w, num_w = 24, 110, 80
    bar_max = width - label_w - num_w
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {row_h * len(rows) + 4}" width="100%" role="img" '
        f'aria-label="{_e(title)}" xmlns="http://www.w3.org/2000/svg" font-family="{_e(FONT)}" font-size="13">'
        f"<title>{_e(title)}</title>"
    ]
    for i, (label, n, href) in enumerate(rows):
        y = i * row_h + 2
        bar = (
            f'<text x="0" y="{y + 16}" fill="#1f2937">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{n / peak * bar_max:.1f}" height="15" fill="#4b6584"/>'
            f'<text x="{label_w + n / peak * bar_max + 6:.1f}" y="{y + 16}" fill="#1f2937">{n:,}</text>'
        )
        if href:
            bar = f'<a href="{_e(href)}">{bar}</a>'
        parts.append(f"<g><title>{_e(label)}: {n:,}</title>{bar}</g>")
    parts.append("</svg>")
    return "".join(parts)


def sightings_timeline_svg(rows: Sequence[dict], *, width: int = 960, row_h: int = 22) -> str:
    """First to last sighting of each domain (a bar), each day it was seen (a dot): rows of {"label",
    "days" (ISO dates), "score"}, drawn on one shared time axis."""
    dated = [r for r in rows if r.get("days")]
    if not dated:
        return '<p class="empty">No dated sightings.</p>'
    days = sorted({date.fromisoformat(d[:10]) for r in dated for d in r["days"]})
    first, last = days[0], days[-1]
    if (last - first).days < 2:  # one or two days: a week around them, so that the axis reads as dates
        first, last = first - timedelta(days=3), last + timedelta(days=3)
    span = (last - first).days
    left, right, top = 260, 48, 8
    plot_w = width - left - right
    height = top + row_h * len(dated) + 30

    def x(day: date) -> float:
        return left + (day - first).days / span * plot_w

    parts = [
        f'<svg class="chart sightings" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="First and last sighting of {len(dated)} lookalike domains, {first} to {last}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="{_e(FONT)}" font-size="11">'
        f"<title>First and last sighting per domain</title>"
    ]
    for i, r in enumerate(dated):
        y = top + i * row_h + row_h / 2
        ds = sorted({date.fromisoformat(d[:10]) for d in r["days"]})
        colour = "#c62828" if r.get("score", 0) >= 85 else "#a15c00"
        label = str(r["label"])
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#1f2937">'
                     f"{_e(label if len(label) <= 38 else label[:37] + '…')}</text>")
        x0, x1 = x(ds[0]), x(ds[-1])
        parts.append(f'<g><title>{_e(label)}: first seen {ds[0]}, last seen {ds[-1]}, on {len(ds)} day(s)</title>'
                     f'<line x1="{x0:.1f}" x2="{max(x1, x0 + 1):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
                     f'stroke-width="4" stroke-linecap="round"/>'
                     + "".join(f'<circle cx="{x(d):.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>' for d in ds)
                     + "</g>")  # fmt: skip
    axis_y = top + row_h * len(dated) + 4
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}" stroke="#d9dde3"/>')
    ticks = min(6, span + 1)
    for k in range(ticks):
        day = first + timedelta(days=round(k * span / max(ticks - 1, 1)))
        anchor = "end" if k == ticks - 1 else "start" if k == 0 else "middle"
        parts.append(f'<text x="{x(day):.1f}" y="{axis_y + 16}" text-anchor="{anchor}" fill="#374151">{day}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- correspondents: a directed graph, circular by domain -------------------------------------------
DOMAIN_COLOURS = ("#1d4e89", "#c2410c", "#15803d", "#7c3aed", "#0e7490", "#b91c1c")
OTHER_DOMAIN = "#6b7280"
GRAPH_FONT = 12
LABEL_CHARS = 36  # longer addresses are cut in the label; the full one is in <title> and on focus
CHAR_W = 0.62  # an upper estimate of a sans-serif character's width, in ems, for the collision pass


def label_text(address: str) -> str:
    """The address as a label of at most LABEL_CHARS characters: cut in the middle of the local part
    and at the start of a long domain, so that the domain's end (who it is) stays readable."""
    shown = leak_plain(address)
    if len(shown) <= LABEL_CHARS:
        return shown
    local, at, host = shown.rpartition("@")
    if not at:
        return shown[: LABEL_CHARS - 1] + "…"
    host_room = LABEL_CHARS - 1 - min(len(local), 10)
    if len(host) > host_room:
        host = "…" + host[-(host_room - 1) :]
    room = LABEL_CHARS - len(host) - 1
    if len(local) > room:
        tail = room // 3
        local = local[: room - tail - 1] + "…" + local[len(local) - tail :]
    return f"{local}@{host}"


def _spread(wanted: list[float], gap: float, low: float, high: float) -> list[float]:
    """Heights as close to `wanted` (sorted) as can be with `gap` between neighbours, inside [low, high]:
    one sweep down pushes apart, one sweep up pulls the tail back inside."""
    out: list[float] = []
    for y in wanted:
        out.append(max(y, low, out[-1] + gap if out else low))
    for i in range(len(out) - 1, -1, -1):
        ceiling = high if i == len(out) - 1 else out[i + 1] - gap
        out[i] = min(out[i], ceiling)
    return out


def circle_layout(
    nodes: Sequence[tuple[str, int]], *, font_size: int = GRAPH_FONT, numbered: bool = False
) -> dict:
    """A deterministic layout: nodes on a circle, grouped by domain (busiest domain first, a gap
    between domains), labels in two columns either side with no two overlapping (collision pass).
    `numbered` (for narrow screens): each label is the node's number in `nodes` (1-based), placed just
    outside its node, and the canvas is only as wide as the circle.

    Returns the canvas size, each node's centre and radius, and each label's anchor point, side and
    box (x0, y0, x1, y1) as estimated from its length: the box the tests check for overlaps."""
    by_domain: dict[str, list[tuple[str, int]]] = {}
    for name, n in nodes:
        by_domain.setdefault(name.rpartition("@")[2], []).append((name, n))
    groups = sorted(by_domain.items(), key=lambda g: (-sum(n for _, n in g[1]), g[0]))
    order = [a for _, members in groups for a in sorted(members, key=lambda m: (-m[1], m[0]))]
    gaps = len(groups) if len(groups) > 1 else 0
    slots = len(order) + gaps
    line_h = font_size * 1.35  # a label's box is 1.2 em high: 0.15 em clear between neighbours
    label_w = LABEL_CHARS * font_size * CHAR_W
    margin = 24.0
    if numbered:
        # Numbers sit on a ring outside the nodes; 2.2 em of arc per slot keeps two-digit numbers apart.
        radius = max(110.0, slots * font_size * 2.2 / (2 * math.pi))
        height = width = 2 * (radius + 16 + font_size * 2.2) + 2 * margin
    else:
        radius = max(150.0, min(260.0, slots * 7.0))
        per_side = math.ceil(len(order) / 2) + 2
        height = max(2 * radius + 2 * margin, per_side * line_h + 2 * margin)
        width = 2 * (radius + 36 + label_w + 8)
    col = radius + 36  # label columns, from the centre
    cx, cy = width / 2, height / 2
    peak = max((n for _, n in order), default=1) or 1
    pos: dict[str, tuple[float, float, float]] = {}
    angle: dict[str, float] = {}
    slot = 0
    for _, members in groups:
        for name, n in sorted(members, key=lambda m: (-m[1], m[0])):
            theta = -math.pi / 2 + 2 * math.pi * (slot + 0.5) / slots
            pos[name] = (cx + radius * math.cos(theta), cy + radius * math.sin(theta), 4 + 9 * math.sqrt(n / peak))
            angle[name] = theta
            slot += 1
        slot += 1 if gaps else 0
    labels: dict[str, dict] = {}
    if numbered:
        number = {name: i + 1 for i, (name, _) in enumerate(nodes)}
        for a, theta in angle.items():
            text = str(number[a])
            # Nodes reach radius + 13 at most; the box's corner (half-diagonal < 0.95 em for two
            # digits) stays 3 clear of every circle.
            ring = radius + 16 + font_size * 0.95
            x, y = cx + ring * math.cos(theta), cy + ring * math.sin(theta)
            w = len(text) * font_size * CHAR_W
            labels[a] = {"x": x, "y": y, "side": "middle", "text": text,
                         "box": (x - w / 2, y - font_size * 0.6, x + w / 2, y + font_size * 0.6)}
        return {"width": width, "height": height, "centre": (cx, cy), "nodes": pos, "labels": labels, "groups": groups}
    for side in ("left", "right"):
        names = [a for a in pos if (pos[a][0] < cx) == (side == "left")]
        names.sort(key=lambda a: (pos[a][1], a))
        ys = _spread([pos[a][1] for a in names], line_h, margin, height - margin)
        for a, y in zip(names, ys, strict=True):
            text = label_text(a)
            w = len(text) * font_size * CHAR_W
            x = cx - col if side == "left" else cx + col
            x0, x1 = (x - w, x) if side == "left" else (x, x + w)
            labels[a] = {"x": x, "y": y, "side": side, "text": text,
                         "box": (x0, y - font_size * 0.6, x1, y + font_size * 0.6)}
    return {"width": width, "height": height, "centre": (cx, cy), "nodes": pos, "labels": labels, "groups": groups}


def _towards(px: float, py: float, r: float, qx: float, qy: float) -> tuple[float, float]:
    """The point on the circle (px, py, r) facing (qx, qy): where a curve meets the node's edge."""
    ux, uy = qx - px, qy - py
    d = math.hypot(ux, uy) or 1.0
    return px + ux / d * (r + 2), py + uy / d * (r + 2)


def correspondents_svg(
    nodes: Sequence[tuple[str, int]],
    directed: Sequence[tuple[str, str, int]],
    *,
    link: str | None = "/search?q=",
    numbered: bool = False,
    domain_link: str | None = None,
) -> str:
    """Who writes to whom: an arrow per direction (sender -> recipient) as thick as its messages,
    nodes sized by messages and coloured by domain, every label readable (no two overlap) and each
    node a link whose <title> and accessible name hold the full address. `numbered`: the narrow
    screen's drawing, labelled with each person's number in `nodes` (the page lists them).
    `domain_link`: a URL the legend's domains are appended to (the page's domain filter)."""
    if not nodes:
        return '<p class="empty">No correspondents for these filters.</p>'
    lay = circle_layout(nodes, numbered=numbered)
    width, height, pos, labels = lay["width"], lay["height"], lay["nodes"], lay["labels"]
    cx, cy = lay["centre"]
    groups = lay["groups"]
    colour = {d: DOMAIN_COLOURS[i] if i < len(DOMAIN_COLOURS) else OTHER_DOMAIN for i, (d, _) in enumerate(groups)}
    columns = 1 if numbered else 2
    legend_h = 22 * math.ceil(len(groups[: len(DOMAIN_COLOURS) + 1]) / columns) + 10
    total_h = height + legend_h
    sent: dict[str, int] = {}
    got: dict[str, int] = {}
    for a, b, w in directed:
        sent[a] = sent.get(a, 0) + w
        got[b] = got.get(b, 0) + w
    peak = max((w for _, _, w in directed), default=1) or 1
    marker = "arrow-n" if numbered else "arrow"  # both drawings are on one page: ids differ
    parts = [
        # the narrow drawing is not "graph": pages and tests that look for the graph find one
        f'<svg class="chart correspondents {"narrow" if numbered else "graph wide"}" '
        f'viewBox="0 0 {width:.0f} {total_h:.0f}" width="100%" '
        f'role="group" aria-label="Correspondents graph: {len(nodes)} people, {len(directed)} directed links" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="{_e(FONT)}" font-size="{GRAPH_FONT}">'
        "<title>Correspondents: arrows from sender to recipient, thicker for more messages</title>"
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4b5563"/>'
        "</marker></defs>"
    ]
    for a, b, w in sorted(directed, key=lambda e: (e[2], e[0], e[1])):
        (x1, y1, r1), (x2, y2, r2) = pos[a], pos[b]
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1.0
        # Bent toward the centre (a chord diagram) and to the left of its direction, so that a -> b
        # and b -> a are two separate curves, not one line drawn twice.
        qx = mx + (cx - mx) * 0.35 - dy / length * length * 0.08
        qy = my + (cy - my) * 0.35 + dx / length * length * 0.08
        sx, sy = _towards(x1, y1, r1, qx, qy)
        ex, ey = _towards(x2, y2, r2, qx, qy)
        sw = 1 + 6 * math.sqrt(w / peak)
        tip = f"{a} → {b}: {w} message{'s' if w != 1 else ''}"
        parts.append(
            f'<path class="edge" d="M{sx:.1f},{sy:.1f} Q{qx:.1f},{qy:.1f} {ex:.1f},{ey:.1f}" fill="none" '
            f'stroke="#7c8aa5" stroke-opacity="0.6" stroke-width="{sw:.2f}" marker-end="url(#{marker})">'
            f"<title>{_e(tip)}</title></path>"
        )
    for name, n in nodes:
        x, y, r = pos[name]
        lab = labels[name]
        fill = colour[name.rpartition("@")[2]]
        anchor = "end" if lab["side"] == "left" else "start"
        lx = lab["x"]
        stub = lx + (6 if lab["side"] == "left" else -6)
        words = f"{name}: {n} message{'s' if n != 1 else ''} (sent {sent.get(name, 0)}, received {got.get(name, 0)})"
        if numbered:
            words = f"{lab['text']}. {words}"
        # The full address shown on focus stays on the canvas: one too long for its column is drawn
        # from the canvas's edge inwards, over the drawing (with a white halo) while focused.
        full_w = len(leak_plain(name)) * GRAPH_FONT * CHAR_W
        fx, fanchor = lx, anchor
        if lab["side"] == "left" and lx - full_w < 8:
            fx, fanchor = 8.0, "start"
        elif lab["side"] == "right" and lx + full_w > width - 8:
            fx, fanchor = width - 8.0, "end"
        body = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="#ffffff" stroke-width="1.5"/>'
            f'<text class="label" x="{lx:.1f}" y="{lab["y"]:.1f}" dy="0.35em" text-anchor="middle" '
            f'fill="#111827">{lab["text"]}</text>'
        ) if numbered else (
            f'<line class="leader" x1="{x:.1f}" y1="{y:.1f}" x2="{stub:.1f}" y2="{lab["y"]:.1f}" stroke="#c3cad5"/>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="#ffffff" stroke-width="1.5"/>'
            f'<text class="label" x="{lx:.1f}" y="{lab["y"]:.1f}" dy="0.35em" text-anchor="{anchor}" '
            f'fill="#111827">{escape(lab["text"])}</text>'
            f'<text class="full" x="{fx:.1f}" y="{lab["y"]:.1f}" dy="0.35em" text-anchor="{fanchor}" fill="#111827" '
            f'stroke="#ffffff" stroke-width="4" paint-order="stroke" visibility="hidden">{_e(name)}</text>'
        )
        title = f"<title>{_e(words)}</title>"
        if link is not None:
            href = link + quote(f"from:{name}")
            parts.append(f'<a href="{_e(href)}" class="node" aria-label="{_e(words)}">{title}{body}</a>')
        else:
            parts.append(f'<g class="node" tabindex="0" aria-label="{_e(words)}">{title}{body}</g>')
    y = height + 6
    for i, (d, members) in enumerate(groups[: len(DOMAIN_COLOURS) + 1]):
        more = i == len(DOMAIN_COLOURS)
        x = 12 + (i % columns) * (width / columns)
        yy = y + 22 * (i // columns)
        text = f"other domains ({len(lay['groups']) - i})" if more else f"{d} ({len(members)})"
        entry = (
            f'<circle cx="{x + 6:.1f}" cy="{yy + 8:.1f}" r="6" '
            f'fill="{OTHER_DOMAIN if more else colour[d]}"/><text x="{x + 18:.1f}" y="{yy + 12:.1f}" '
            f'fill="#374151">{_e(text)}</text>'
        )
        if domain_link is not None and not more:
            entry = f'<a href="{_e(domain_link + quote(d))}" aria-label="{_e(f"Only links with {d}")}">{entry}</a>'
        parts.append(f'<g class="legend">{entry}</g>')
    parts.append("</svg>")
    return "".join(parts)
