"""Groups from signal edges: connected components, with the evidence a reader can check."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any


def components(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    out: dict[str, list[str]] = {}
    for x in parent:
        out.setdefault(find(x), []).append(x)
    return sorted((sorted(m) for m in out.values()), key=lambda m: (-len(m), m[0]))


def shared_objects(
    groups: dict[Hashable, list[tuple[float, str, int]]], members: set[str], window: float, limit: int = 10
) -> tuple[int, list[dict[str, Any]]]:
    """(how many objects, the first few) that several members acted on within the window of each other."""
    found = []
    for key, g in groups.items():
        mine = sorted((t, a, i) for t, a, i in g if a in members)
        if len({a for _, a, _ in mine}) < 2:
            continue
        # the members' actions on this object that had another member's within the window
        close = [
            (t, a, i)
            for k, (t, a, i) in enumerate(mine)
            if any(b != a and abs(u - t) <= window for u, b, _ in mine[max(0, k - 50) : k + 50])
        ]
        if len({a for _, a, _ in close}) >= 2:
            found.append((close[0][0], key, close))
    found.sort(key=lambda x: x[0])
    return len(found), [
        {
            "object": str(key)[:300],
            "accounts": len({a for _, a, _ in close}),
            "first": t0,
            "last": close[-1][0],
            "posts": [i for _, _, i in close[:20]],
        }
        for t0, key, close in found[:limit]
    ]
