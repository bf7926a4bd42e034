"""Amplifiers: the accounts whose posts were repeated most, ranked by the reposts (and quotes) they
caused directly, with the whole reach of the cascades below their posts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from .cascades import Tree, below, build
from .table import PostSet


def amplifiers(ps: PostSet, sel: Sequence[int], *, top: int = 25, tree: Tree | None = None) -> list[dict[str, Any]]:
    """`tree`: `cascades.build(ps, sel)` when the caller has it already."""
    children, kind = tree if tree is not None else build(ps, sel)
    under = below(ps, children)
    caused, quotes, replies, reach, made, posts = Counter(), Counter(), Counter(), Counter(), Counter(), Counter()
    for i in sel:
        a = ps.account[i]
        if not a:
            continue
        posts[a] += 1
        if ps.repost_of[i]:
            made[a] += 1
    names: dict[str, str] = {}
    for ref, kids in children.items():
        j = ps.index.get(ref)
        if j is None or not ps.account[j]:
            continue
        a = ps.account[j]
        names[a] = ps.author[j]
        for c in kids:
            k = kind[c]
            if k == "repost":
                caused[a] += 1
            elif k == "quote":
                quotes[a] += 1
            else:
                replies[a] += 1
        reach[a] += under[ref]  # every post below this one, at any depth
    ranked = sorted(set(caused) | set(quotes), key=lambda a: (-(caused[a] + quotes[a]), -reach[a], a))
    return [
        {
            "account": a,
            "author": names.get(a, ""),
            "reposts_caused": caused[a],
            "quotes_caused": quotes[a],
            "replies_received": replies[a],
            "reach": reach[a],
            "posts": posts[a],
            "reposts_made": made[a],
        }
        for a in ranked[:top]
    ]
