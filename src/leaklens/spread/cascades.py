"""Cascades: the trees of reposts, quotes and replies that grow from one post, with their size, depth
and speed, and the accounts at their roots.

A post's parent is what it reposts, else quotes, else answers. A parent the exports do not hold (a
retweet of a tweet nobody collected) still roots its cascade, as a root "not in the exports".
Speed is counted as DFRLab counted #MacronLeaks: reposts within one and five minutes of the root,
and the time to half and to nine tenths of the cascade.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .model import iso
from .table import PostSet

MIN_SIZE = 2  # a post nobody repeated is not a cascade
MAX_EDGES = 500  # edges kept per cascade for drawing


def parent_ref(ps: PostSet, i: int) -> tuple[str, str]:
    if ps.repost_of[i]:
        return ps.repost_of[i], "repost"
    if ps.quote_of[i]:
        return ps.quote_of[i], "quote"
    if ps.reply_to[i]:
        return ps.reply_to[i], "reply"
    return "", ""


Tree = tuple[dict[str, list[int]], dict[int, str]]


def build(ps: PostSet, sel: Sequence[int]) -> Tree:
    """(parent uid -> child indexes, child index -> edge kind) over the selected posts (parent_ref's choice,
    inlined: a call per post was a second of a million)."""
    children: dict[str, list[int]] = {}
    kind: dict[int, str] = {}
    rep, quo, rpl, uid = ps.repost_of, ps.quote_of, ps.reply_to, ps.uid
    for i in sel:
        ref, k = rep[i], "repost"
        if not ref:
            ref, k = quo[i], "quote"
            if not ref:
                ref, k = rpl[i], "reply"
                if not ref:
                    continue
        if ref != uid[i]:
            children.setdefault(ref, []).append(i)
            kind[i] = k
    return children, kind


def below(ps: PostSet, children: dict[str, list[int]]) -> dict[str, int]:
    """Posts below each parent at any depth, each subtree counted once (bottom up). A post has one parent, but a
    crafted export can make a loop of replies: a post already on the path counts nothing more."""
    out: dict[str, int] = {}
    uid = ps.uid
    on_path: set[str] = set()
    for top in children:
        if top in out:
            continue
        stack = [top]
        while stack:
            r = stack[-1]
            if r not in on_path:
                on_path.add(r)
                for c in children[r]:
                    u = uid[c]
                    if u in children and u not in out and u not in on_path:
                        stack.append(u)
            else:
                stack.pop()
                if r not in out:
                    out[r] = sum(1 + out.get(uid[c], 0) for c in children[r])
    return out


def _within(times: list[float], t0: float | None, s: float) -> int:
    return sum(1 for t in times if t0 is not None and t - t0 <= s)


def _until(times: list[float], t0: float | None, frac: float) -> float | None:
    """Seconds from the root until `frac` of the cascade's posts were made."""
    if not times or t0 is None:
        return None
    return times[min(len(times) - 1, max(0, math.ceil(frac * len(times)) - 1))] - t0


def _walk(ps: PostSet, children: dict[str, list[int]], ref: str, j: int | None) -> list[tuple[int, int, int | None]]:
    """(index, depth, parent index) of every post below `ref`, each once."""
    members: list[tuple[int, int, int | None]] = []
    stack = [(c, 1, j) for c in children.get(ref, ())]
    seen = set()
    while stack:
        i, d, par = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        members.append((i, d, par))
        stack.extend((c, d + 1, i) for c in children.get(ps.uid[i], ()))
    return members


def _figures(
    ps: PostSet,
    children: dict[str, list[int]],
    kind: dict[int, str],
    ref: str,
    j: int | None,
    t0: float | None,
    root_time: str,
    size: int,
) -> dict[str, Any]:
    """A shown cascade's figures and edges (after its root's fields, in the order the output gives them)."""
    ts, account = ps.ts, ps.account
    members = _walk(ps, children, ref, j)
    times = sorted(ts[i] for i, _, _ in members if ts[i] is not None)
    counts = {"repost": 0, "quote": 0, "reply": 0}
    for i, _, _ in members:
        counts[kind[i]] += 1
    out: dict[str, Any] = {
        "root_platform": ps.platform[j] if j is not None else ref.partition(":")[0],
        "root_time": root_time,
        "root_text": ps.text[j][:280] if j is not None else "",
        "size": size,
        "depth": max(d for _, d, _ in members),
        **counts,
        "accounts": len({account[i] for i, _, _ in members if account[i]}),
        "within_1min": _within(times, t0, 60),
        "within_5min": _within(times, t0, 300),
        "to_half_s": _until(times, t0, 0.5),
        "to_90pct_s": _until(times, t0, 0.9),
        "duration_s": (times[-1] - t0) if times and t0 is not None else None,
    }
    edges = [(ps.uid[p] if p is not None else ref, ps.uid[i], kind[i]) for i, _, p in members]
    out["edges"] = edges
    if len(edges) > MAX_EDGES:  # enough to draw; the figures above count them all
        out["edges"] = sorted(edges, key=lambda e: e[2] != "reply")[:MAX_EDGES]
        out["edges_cut"] = True
    return out


def cascades(ps: PostSet, sel: Sequence[int], *, top: int = 50, tree: Tree | None = None) -> dict[str, Any]:
    """`tree`: `build(ps, sel)` when the caller has it already (the analysis shares it with the amplifiers)."""
    children, kind = tree if tree is not None else build(ps, sel)
    chosen = set(sel)
    child_uids = {ps.uid[i] for i in kind}
    roots = []
    for ref in children:
        if ref not in child_uids:  # a post that repeats nothing here: the top of its tree
            j = ps.index.get(ref)
            roots.append((ref, j if j is not None and j in chosen else None))
    # Every cascade's size, start and root account (what the ranking and the root accounts need), then the
    # figures of the `top` shown, walked again: a dict of figures for each of a million posts' cascades,
    # dropped but for fifty, was most of this function's time.
    ts, account = ps.ts, ps.account
    ranked = []
    for ref, j in roots:
        members = _walk(ps, children, ref, j)
        if len(members) + 1 < MIN_SIZE:
            continue
        t0 = ts[j] if j is not None and ts[j] is not None else None
        if t0 is None:  # the root's time unknown: its cascade's first post
            t0 = min((ts[i] for i, _, _ in members if ts[i] is not None), default=None)
        ranked.append((len(members) + 1, iso(t0), ref, j, t0))
    ranked.sort(key=lambda c: (-c[0], c[1]))
    out = []
    by_root: dict[str, dict[str, Any]] = {}
    for k, (size, root_time, ref, j, t0) in enumerate(ranked):
        root_account = account[j] if j is not None else ""
        root_author = ps.author[j] if j is not None else ""
        acct = root_account or "(not in the exports)"
        r = by_root.setdefault(acct, {"account": acct, "author": root_author, "cascades": 0, "posts": 0})
        r["cascades"] += 1
        r["posts"] += size - 1
        if k < top:
            c: dict[str, Any] = {
                "root": ref,
                "root_in_exports": j is not None,
                "root_account": root_account,
                "root_author": root_author,
            }
            c.update(_figures(ps, children, kind, ref, j, t0, root_time, size))
            out.append(c)
    return {
        "count": len(ranked),
        "cascades": out,
        "root_accounts": sorted(by_root.values(), key=lambda r: -r["posts"])[:top],
    }
