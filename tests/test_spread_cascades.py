"""Cascades and amplifiers over one shared tree: the reach counted bottom up equals a walk from each post,
and a loop of replies (a crafted export) ends with finite counts instead of walking forever."""

from __future__ import annotations

import random

from leaklens.spread.amplifiers import amplifiers
from leaklens.spread.cascades import below, build, cascades
from leaklens.spread.table import PostSet


def _row(k: int, acct: str, t: float, **ref: str) -> dict:
    return {
        "uid": f"twitter:{k}",
        "platform": "twitter",
        "ts": t,
        "author_id": acct,
        "author": acct,
        "author_created": None,
        "text": f"post {k}",
        "reply_to": ref.get("reply_to", ""),
        "repost_of": ref.get("repost_of", ""),
        "quote_of": ref.get("quote_of", ""),
        "urls": "",
        "hashtags": "",
        "files": "",
        "context": "",
        "partial": 0,
    }


def _walked(ps: PostSet, children: dict[str, list[int]], ref: str) -> int:
    stack, n = list(children.get(ref, ())), 0
    while stack:
        c = stack.pop()
        n += 1
        stack.extend(children.get(ps.uid[c], ()))
    return n


def test_reach_bottom_up_is_every_post_below():
    rng = random.Random(5)
    rows = []
    for k in range(3000):
        kind = rng.choice(["", "repost_of", "quote_of", "reply_to"]) if k else ""
        ref = {kind: f"twitter:{rng.randrange(k)}"} if kind else {}
        if kind and rng.random() < 0.05:
            ref = {kind: f"twitter:missing{k % 7}"}  # a root nobody collected
        rows.append(_row(k, f"a{rng.randrange(200)}", float(k), **ref))
    ps = PostSet()
    ps.add_rows(rows)
    children, _kind = build(ps, range(len(ps)))
    under = below(ps, children)
    assert under.keys() == children.keys()
    assert all(under[r] == _walked(ps, children, r) for r in children)
    assert max(under.values()) > 100  # deep and wide trees, not only leaves
    c = cascades(ps, range(len(ps)), top=5)
    assert sum(x["size"] - 1 for x in c["cascades"]) <= len(ps)
    assert all(x["edges"] for x in c["cascades"])
    assert len(c["cascades"]) == 5 and c["count"] > 5


def test_a_loop_of_replies_ends():
    rows = [
        _row(1, "a", 1.0, reply_to="twitter:2"),
        _row(2, "b", 2.0, reply_to="twitter:1"),
        _row(3, "c", 3.0, repost_of="twitter:1"),
        _row(4, "d", 4.0, repost_of="twitter:3"),
    ]
    ps = PostSet()
    ps.add_rows(rows)
    amp = {x["account"]: x for x in amplifiers(ps, range(len(ps)))}
    assert amp["twitter:a"]["reposts_caused"] == 1
    assert all(x["reach"] <= len(ps) for x in amp.values())
    cascades(ps, range(len(ps)))  # a loop has no root: no cascade, and no endless walk
