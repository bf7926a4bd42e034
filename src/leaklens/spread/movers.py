"""First movers: the earliest posts on each platform, and the hop from one platform to the next (the
first appearance on each platform after the first anywhere)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .model import iso
from .table import PostSet

FIRST_N = 5


def _brief(ps: PostSet, i: int) -> dict[str, Any]:
    return {
        "uid": ps.uid[i],
        "time": iso(ps.ts[i]),
        "ts": ps.ts[i],
        "platform": ps.platform[i],
        "account": ps.account[i],
        "author": ps.author[i],
        "text": ps.text[i][:280],
        "kind": "repost" if ps.repost_of[i] else "quote" if ps.quote_of[i] else "reply" if ps.reply_to[i] else "post",
    }


def first_movers(ps: PostSet, sel: Sequence[int], n: int = FIRST_N) -> dict[str, Any]:
    by_platform: dict[str, list[int]] = {}
    for i in sel:
        if ps.ts[i] is not None:
            by_platform.setdefault(ps.platform[i], []).append(i)
    firsts = {p: sorted(ix, key=lambda i: (ps.ts[i], ps.uid[i]))[:n] for p, ix in by_platform.items()}
    order = sorted(firsts, key=lambda p: ps.ts[firsts[p][0]])
    hops = []
    start = ps.ts[firsts[order[0]][0]] if order else None
    prev = start
    for k, p in enumerate(order):
        i = firsts[p][0]
        hops.append(
            {
                **_brief(ps, i),
                "after_first_s": ps.ts[i] - start,
                "after_previous_s": ps.ts[i] - prev,
                "from_platform": order[k - 1] if k else None,
            }
        )
        prev = ps.ts[i]
    return {"per_platform": {p: [_brief(ps, i) for i in firsts[p]] for p in order}, "hops": hops}
