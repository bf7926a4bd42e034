"""Coordination signals: the union of the established methods, each declared once in `METHODS` and
reported with its parameters and its evidence (the accounts, the edges with their weights, the objects
they acted on together and when).

Each is a signal for a reporter to examine, never a verdict on a person: accounts that react to the
same news in the same minutes are a crowd, not a network (Vargas et al., CCSW 2020), which is why the
pair methods ask for *repeated* co-actions (`min_weight`), the projection for enough traces, and the
account methods for a burst far above the baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..model import iso
from ..table import PostSet, last_authors
from . import accounts, networks, similarity, tfidf, window
from .groups import components, shared_objects


@dataclass(frozen=True)
class Params:
    window: float | None = None  # seconds; None: estimated from the data per method (CooRnet)
    fallback_window: float = 60.0  # when too few objects to estimate from
    min_weight: int = 3  # co-actions each way before a pair is a signal
    similarity_window: float = 3600.0
    similarity_threshold: float = 0.8
    min_tokens: int = 5
    tfidf_min_traces: int = 10
    tfidf_threshold: float = 0.9
    new_account_min: int = 5
    new_account_ratio: float = 5.0
    max_per_hour: float = 30.0
    regular_cv: float = 0.1
    rate_min_posts: int = 20


@dataclass(frozen=True)
class Method:
    name: str
    meaning: str
    run: Callable[[PostSet, Sequence[int], Params], dict[str, Any]]


METHODS: dict[str, Method] = {}


def method(name: str, meaning: str) -> Callable:
    def declare(fn: Callable[[PostSet, Sequence[int], Params], dict[str, Any]]) -> Callable:
        METHODS[name] = Method(name, meaning, fn)
        return fn

    return declare


def _groups_from_edges(
    ps: PostSet, edges: dict[tuple[str, str], float], evgroups: dict | None, win: float, fmt: str = "{:g}"
) -> list[dict[str, Any]]:
    names = ps.first_authors()
    flagged = {a for e in edges for a in e}
    index: dict[str, list] = {}
    if evgroups and flagged:
        for key, g in evgroups.items():
            if len(g) < 2:  # an object one post acted on is shared by no one
                continue
            for _t, a, _i in g:
                if a in flagged:
                    index.setdefault(a, []).append(key)
    out = []
    comps = components(edges)
    # each edge to its group in one pass (a pass over every edge per group was the most of a method with
    # thousands of small groups)
    comp_of = {a: k for k, members in enumerate(comps) for a in members}
    per: list[list[tuple[str, str, float]]] = [[] for _ in comps]
    for (a, b), w in edges.items():
        per[comp_of[a]].append((a, b, w))
    for members, es in zip(comps, per, strict=True):
        mset = set(members)
        es.sort(key=lambda e: (-e[2], e[0], e[1]))
        group: dict[str, Any] = {
            "accounts": [{"account": a, "author": names.get(a, "")} for a in members],
            "size": len(members),
            "edges": [{"a": a, "b": b, "weight": w} for a, b, w in es[:30]],
            "edge_count": len(es),
        }
        if evgroups:
            keys = {k for a in members for k in index.get(a, ())}
            n, shared = shared_objects({k: evgroups[k] for k in keys}, mset, win)
            for s in shared:
                s["first"], s["last"] = iso(s["first"]), iso(s["last"])
                s["posts"] = [ps.uid[i] for i in s["posts"]]
            group["shared_objects"] = n
            group["examples"] = shared
        out.append(group)
    return out


def _windowed(name: str, extract: Callable[[PostSet, Sequence[int]], list]) -> Callable:
    def run(ps: PostSet, sel: Sequence[int], p: Params) -> dict[str, Any]:
        evgroups, acted = networks.shared_groups(extract(ps, sel))
        est = window.estimate(evgroups)
        win = p.window if p.window is not None else (est["seconds"] or p.fallback_window)
        weights = networks.network_of_groups(networks.active_groups(evgroups, p.min_weight, acted), win)
        edges = networks.undirected(weights, p.min_weight)
        return {
            "parameters": {
                "window_s": win,
                "window_source": "given"
                if p.window is not None
                else "estimated (CooRnet)"
                if est["seconds"]
                else "default (too few objects to estimate)",
                "estimate": est,
                "min_weight": p.min_weight,
            },
            "network_edges": len(weights),  # among the accounts with min_weight actions or more
            "groups": _groups_from_edges(ps, edges, evgroups, win),
        }

    run.__name__ = name
    return run


method("co-repost", "Accounts repeating the same posts within the window of each other, again and again.")(
    _windowed("co_repost", networks.repost_events)
)
method("co-post", "Accounts posting the same text (case, mentions and spacing aside) within the window, repeatedly.")(
    _windowed("co_post", networks.post_events)
)
method("co-link", "Accounts sharing the same links within the window of each other, repeatedly.")(
    _windowed("co_link", networks.link_events)
)
method("co-reply", "Accounts answering the same posts within the window of each other, repeatedly.")(
    _windowed("co_reply", networks.reply_events)
)


@method("co-similarity", "Accounts posting near-identical texts (word-set Jaccard) within the window, repeatedly.")
def _co_similarity(ps: PostSet, sel: Sequence[int], p: Params) -> dict[str, Any]:
    weights, pairs = similarity.similar_network(
        ps,
        sel,
        p.similarity_window,
        threshold=p.similarity_threshold,
        min_tokens=p.min_tokens,
        min_posts=p.min_weight,
    )
    edges = networks.undirected(weights, p.min_weight)
    groups = _groups_from_edges(ps, edges, None, p.similarity_window)
    group_of = {a["account"]: k for k, g in enumerate(groups) for a in g["accounts"]}
    per: list[list[tuple[float, int, int]]] = [[] for _ in groups]
    for (i, j), s in pairs.items():  # each pair to the group of both its accounts, in one pass
        k = group_of.get(ps.account[i])
        if k is not None and group_of.get(ps.account[j]) == k:
            per[k].append((s, i, j))
    for g, ex in zip(groups, per, strict=True):
        ex.sort(key=lambda x: (ps.ts[x[1]] or 0, ps.ts[x[2]] or 0, x[1], x[2]))  # earliest first, ties fixed
        g["shared_objects"] = len(ex)
        g["examples"] = [
            {
                "object": ps.text[i][:300],
                "accounts": 2,
                "first": iso(ps.ts[i]),
                "last": iso(ps.ts[j]),
                "posts": [ps.uid[i], ps.uid[j]],
                "jaccard": round(s, 3),
            }
            for s, i, j in ex[:10]
        ]
    return {
        "parameters": {
            "window_s": p.similarity_window,
            "threshold": p.similarity_threshold,
            "min_tokens": p.min_tokens,
            "min_weight": p.min_weight,
            "lsh": f"MinHash {similarity.NUM_PERM} permutations, {similarity.BANDS} bands",
        },
        "network_edges": len(weights),
        "similar_pairs": len(pairs),
        "groups": groups,
    }


@method(
    "tfidf-projection",
    "Accounts whose behaviour (what they repost, hashtag sequences, links) has nearly "
    "the same TF-IDF profile (Pacheco et al., ICWSM 2021).",
)
def _tfidf(ps: PostSet, sel: Sequence[int], p: Params) -> dict[str, Any]:
    edges, params = tfidf.cosine_pairs(ps, sel, min_traces=p.tfidf_min_traces, threshold=p.tfidf_threshold)
    return {"parameters": params, "network_edges": len(edges), "groups": _groups_from_edges(ps, edges, None, 0)}


@method("new-accounts", "Many of the posting accounts created within the same day, far above the baseline.")
def _new_accounts(ps: PostSet, sel: Sequence[int], p: Params) -> dict[str, Any]:
    bursts = accounts.creation_bursts(ps, sel, min_accounts=p.new_account_min, ratio=p.new_account_ratio)
    names = last_authors(ps, sel)
    groups = [
        {
            "accounts": [{"account": a, "author": names.get(a, "")} for a in b["accounts"]],
            "size": b["count"],
            "evidence": {k: v for k, v in b.items() if k != "accounts"},
        }
        for b in bursts
    ]
    return {
        "parameters": {
            "bin_days": 1,
            "min_accounts": p.new_account_min,
            "ratio_to_median": p.new_account_ratio,
            "recent_days": 90,
        },
        "groups": groups,
    }


@method("machine-like-rate", "Accounts posting at sustained rates or regular intervals no person keeps up.")
def _rates(ps: PostSet, sel: Sequence[int], p: Params) -> dict[str, Any]:
    found = accounts.machine_like(ps, sel, max_per_hour=p.max_per_hour, min_posts=p.rate_min_posts, max_cv=p.regular_cv)
    groups = [
        {
            "accounts": [{"account": r["account"], "author": r["author"]}],
            "size": 1,
            "evidence": {k: v for k, v in r.items() if k not in ("account", "author")},
        }
        for r in found
    ]
    return {
        "parameters": {
            "max_per_hour_over_12h": p.max_per_hour,
            "regular_interval_cv_below": p.regular_cv,
            "min_posts": p.rate_min_posts,
        },
        "groups": groups,
    }


def coordinate(
    ps: PostSet, sel: Sequence[int], params: Params = Params(), methods: Sequence[str] | None = None
) -> dict[str, Any]:
    """Every method's result, and the accounts each flagged (the union, with which methods)."""
    results = {}
    flagged: dict[str, set[str]] = {}
    for name, m in METHODS.items():
        if methods is not None and name not in methods:
            continue
        r = m.run(ps, sel, params)
        r = {"method": name, "meaning": m.meaning, **r}
        results[name] = r
        for g in r["groups"]:
            for a in g["accounts"]:
                flagged.setdefault(a["account"], set()).add(name)
    return {
        "note": "Signals to examine, with their evidence and parameters; none is a verdict on a person.",
        "parameters": asdict(params),
        "methods": results,
        "accounts": [
            {"account": a, "methods": sorted(ms)} for a, ms in sorted(flagged.items(), key=lambda x: (-len(x[1]), x[0]))
        ],
    }
