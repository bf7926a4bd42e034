"""`leaklens spread analyse`: the posts a match selects, then every part of the answer in one object
(JSON-ready): timeline, first movers and hops, cascades, amplifiers, coordination signals, and the
case items the posts share."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..case import Case
from . import amplifiers, cascades, links, match, movers, timeline
from .coordination import Params, coordinate
from .table import PostSet, load_posts, no_cycle_collection


def analyse(
    case: Case,
    matches: Sequence[str] = (),
    *,
    params: Params = Params(),
    methods: Sequence[str] | None = None,
    posts: PostSet | None = None,
) -> dict[str, Any]:
    """The whole analysis; `posts` may be handed in already loaded (the web keeps them between pages)."""
    with no_cycle_collection():
        return _analyse(case, matches, params, methods, posts)


def _analyse(
    case: Case, matches: Sequence[str], params: Params, methods: Sequence[str] | None, posts: PostSet | None
) -> dict[str, Any]:
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 3)
        t = now

    ps = posts if posts is not None else load_posts(case.db)
    lap("load")
    wanted = match.parse(matches)
    sel = match.select(ps, wanted, case.db)
    lap("match")
    out: dict[str, Any] = {
        "match": [m.describe() for m in wanted],
        "posts": len(sel),
        "posts_in_case": len(ps),
        "platforms": sorted({ps.platform[i] for i in sel}),
        "accounts": len({ps.account[i] for i in sel if ps.account[i]}),
    }
    out["timeline"] = timeline.timeline(ps, sel)
    out["first_movers"] = movers.first_movers(ps, sel)
    lap("timeline")
    tree = cascades.build(ps, sel)
    out["cascades"] = cascades.cascades(ps, sel, tree=tree)
    out["amplifiers"] = amplifiers.amplifiers(ps, sel, tree=tree)
    lap("cascades")
    out["coordination"] = coordinate(ps, sel, params, methods)
    lap("coordination")
    out["dump_links"] = links.links_for_posts(case, [ps.uid[i] for i in sel])
    lap("links")
    out["timings_s"] = timings
    return out
