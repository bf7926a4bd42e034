"""Co-action networks within a time window, as QUT's coordination-network-toolkit defines them
(Graham et al.; its co-retweet, co-tweet, co-link, co-reply and co-similarity networks), computed
in memory instead of by a self-join in SQLite.

Two accounts are linked when they did the same thing (repeated the same post, posted the same text,
shared the same link, answered the same post) within `window` seconds of each other. The weight of
the directed edge (a, b) is the toolkit's: the number of a's posts that b matched within the window
(`count(distinct e_1.message_id)`, times inclusive). Self-loops are left out, as the toolkit's
exports leave them out by default.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

from ..match import norm_url
from ..table import PostSet

# The toolkit's message_preprocessor: lower-cased, @mentions removed, whitespace collapsed.
MENTION = re.compile(r"@.*?(?=(?:\s|$))")

Event = tuple[Hashable, float, str, int]  # (what was done, when, account, post index)


def preprocess(text: str) -> str:
    return " ".join(MENTION.sub("", text.lower()).split())


def repost_events(ps: PostSet, sel: Sequence[int]) -> list[Event]:
    return [
        (ps.repost_of[i], ps.ts[i], ps.account[i], i)
        for i in sel
        if ps.repost_of[i] and ps.ts[i] is not None and ps.account[i]
    ]


def post_events(ps: PostSet, sel: Sequence[int], min_chars: int = 0) -> list[Event]:
    out = []
    for i in sel:
        if ps.repost_of[i] or ps.ts[i] is None or not ps.account[i]:
            continue
        t = preprocess(ps.text[i])
        if len(t) >= min_chars:
            out.append((t, ps.ts[i], ps.account[i], i))
    return out


def link_events(ps: PostSet, sel: Sequence[int]) -> list[Event]:
    # The toolkit ignores the links inside reposts (they are the original's).
    return [
        (norm_url(u), ps.ts[i], ps.account[i], i)
        for i in sel
        if not ps.repost_of[i] and ps.ts[i] is not None and ps.account[i]
        for u in dict.fromkeys(ps.urls[i])
    ]


def reply_events(ps: PostSet, sel: Sequence[int]) -> list[Event]:
    return [
        (ps.reply_to[i], ps.ts[i], ps.account[i], i)
        for i in sel
        if ps.reply_to[i] and not ps.repost_of[i] and ps.ts[i] is not None and ps.account[i]
    ]


def active_only(events: list[Event], min_weight: int) -> list[Event]:
    """The events of accounts with at least `min_weight` of them: no other account can have an edge of weight
    `min_weight` to one with fewer (the toolkit prunes the same way), and the weights between the accounts kept
    are unchanged. A crowd of one-off accounts (an organic burst) costs nothing then."""
    if min_weight <= 1:
        return events
    n = Counter(e[2] for e in events)
    return [e for e in events if n[e[2]] >= min_weight]


def group_events(events: Iterable[Event]) -> dict[Hashable, list[tuple[float, str, int]]]:
    groups: dict[Hashable, list[tuple[float, str, int]]] = {}
    for key, t, acct, i in events:
        groups.setdefault(key, []).append((t, acct, i))
    return groups


def network(events: Iterable[Event], window: float) -> Counter[tuple[str, str]]:
    """Directed weights (a, b) -> a's posts matched by b within the window, over every shared key."""
    weights: Counter[tuple[str, str]] = Counter()
    groups = group_events(events)
    multi: set[tuple[int, str]] | None = None  # (post, account) already counted, for posts under several keys
    per_post = Counter(i for g in groups.values() for _, _, i in g)
    if any(n > 1 for n in per_post.values()):
        multi = set()
    for g in groups.values():
        if len(g) < 2:
            continue
        g.sort()
        n = len(g)
        lo = hi = 0
        for k in range(n):
            t, a, i = g[k]
            while g[lo][0] < t - window:
                lo += 1
            if hi < k:
                hi = k
            while hi + 1 < n and g[hi + 1][0] <= t + window:
                hi += 1
            if hi == lo:
                continue
            others = {g[m][1] for m in range(lo, hi + 1)}
            others.discard(a)
            if multi is not None and per_post[i] > 1:
                others = {b for b in others if (i, b) not in multi}
                multi.update((i, b) for b in others)
            for b in others:
                weights[(a, b)] += 1
    return weights


def undirected(weights: Counter[tuple[str, str]], min_weight: int) -> dict[tuple[str, str], int]:
    """Pairs whose posts matched each other at least `min_weight` times each way (the smaller of the
    two directed weights): one shared reaction is what crowds do; repeated ones are the signal."""
    out = {}
    for (a, b), w in weights.items():
        if a < b and w >= min_weight:
            back = weights.get((b, a), 0)
            if back >= min_weight:
                out[(a, b)] = min(w, back)
    return out
