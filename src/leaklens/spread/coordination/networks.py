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
from operator import itemgetter

from ..match import norm_url
from ..table import PostSet

# The toolkit's message_preprocessor: lower-cased, @mentions removed, whitespace collapsed.
MENTION = re.compile(r"@.*?(?=(?:\s|$))")

Event = tuple[Hashable, float, str, int]  # (what was done, when, account, post index)


def preprocess(text: str) -> str:
    t = text.lower()
    if "@" in t:  # the pattern matches nothing else: most texts skip the regex
        t = MENTION.sub("", t)
    return " ".join(t.split())


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
    # The toolkit ignores the links inside reposts (they are the original's). Each distinct link is
    # normalised once (a popular link is in thousands of posts).
    norm: dict[str, str] = {}

    def normal(u: str) -> str:
        n = norm.get(u)
        if n is None:
            n = norm[u] = norm_url(u)
        return n

    return [
        (normal(u), ps.ts[i], ps.account[i], i)
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
    """The events of accounts with at least `min_weight` of them, for the undirected signal (`undirected`: both
    directions at least `min_weight`): an account with fewer actions can match no one `min_weight` times, and the
    weights between the accounts kept are unchanged. A crowd of one-off accounts (an organic burst) costs nothing."""
    if min_weight <= 1:
        return events
    n = Counter(e[2] for e in events)
    return [e for e in events if n[e[2]] >= min_weight]


def group_events(events: Iterable[Event]) -> dict[Hashable, list[tuple[float, str, int]]]:
    groups: dict[Hashable, list[tuple[float, str, int]]] = {}
    for key, t, acct, i in events:
        groups.setdefault(key, []).append((t, acct, i))
    return groups


def shared_groups(events: list[Event]) -> tuple[dict[Hashable, list[tuple[float, str, int]]], Counter[str]]:
    """(`group_events` of the events whose object was acted on more than once, each account's events counted
    over all of them). Every reader of the groups passes over an object acted on once (it pairs no one, has
    no second share for the window's estimate), and most texts and links are posted once: grouping them
    was most of a method's time. The counts are what `active_groups` keeps accounts by."""
    keys = Counter(map(itemgetter(0), events))
    return group_events([e for e in events if keys[e[0]] > 1]), Counter(map(itemgetter(2), events))


def active_groups(
    groups: dict[Hashable, list[tuple[float, str, int]]], min_weight: int, acted: Counter[str] | None = None
) -> dict[Hashable, list]:
    """`group_events(active_only(events, min_weight))` from the groups already made, less the objects fewer
    than two such posts acted on (they pair no one): grouping a million events twice was seconds a method.
    `acted`: each account's events, when `groups` holds only some of them (`shared_groups`)."""
    if min_weight <= 1:
        return {k: g for k, g in groups.items() if len(g) > 1}
    n = acted if acted is not None else Counter(a for g in groups.values() for _t, a, _i in g)
    out = {}
    for k, g in groups.items():
        if len(g) > 1:
            kept = [e for e in g if n[e[1]] >= min_weight]
            if len(kept) > 1:
                out[k] = kept
    return out


def network(events: Iterable[Event], window: float, min_weight: int = 1) -> Counter[tuple[str, str]]:
    """Directed weights (a, b) -> a's posts matched by b within the window, over every shared key. With
    `min_weight`, only the edges from accounts with that many posts are counted, as the toolkit selects its
    user_1 (the weights of those edges are unchanged; lighter edges from them are kept too).

    The posts per account and the keys per post are counted over every event, in C; only the events of a key
    acted on more than once are grouped (most texts and links are posted once: grouping them was most of
    the time of co-tweet and co-link, for objects that pair no one)."""
    events = events if isinstance(events, list) else list(events)
    keys = Counter(map(itemgetter(0), events))
    shared = [e for e in events if keys[e[0]] > 1]
    per_post = Counter(map(itemgetter(3), events))
    heavy = None
    if min_weight > 1:  # each post once, whatever its keys
        posts_of = Counter(dict(zip(map(itemgetter(3), events), map(itemgetter(2), events), strict=True)).values())
        heavy = {a for a, n in posts_of.items() if n >= min_weight}
    return _network(group_events(shared), window, per_post, heavy)


def network_of_groups(
    groups: dict[Hashable, list[tuple[float, str, int]]], window: float, min_weight: int = 1
) -> Counter[tuple[str, str]]:
    """`network` over events grouped by their object already (`group_events`); the lists are sorted in place."""
    per_post = Counter(i for g in groups.values() for _, _, i in g)
    heavy = None
    if min_weight > 1:
        posts_of = Counter({i: a for g in groups.values() for _, a, i in g}.values())  # each post once
        heavy = {a for a, n in posts_of.items() if n >= min_weight}
    return _network(groups, window, per_post, heavy)


def _network(
    groups: dict[Hashable, list[tuple[float, str, int]]],
    window: float,
    per_post: Counter[int],
    heavy_accounts: set[str] | None,
) -> Counter[tuple[str, str]]:
    """The weights over these groups; `per_post`: each post's keys (over every event, grouped here or not),
    `heavy_accounts`: the only accounts whose edges are counted (None: every account's)."""
    names: list[str] = []
    ids: dict[str, int] = {}
    for g in groups.values():
        for _t, a, _i in g:
            if a not in ids:
                ids[a] = len(names)
                names.append(a)
    m = len(names)
    # Pairs as one integer (a * m + b) counted by Counter.update over a map: the loop over a window's accounts
    # runs in C, which is most of the time when a crowd shares one thing within the window.
    counts: Counter[int] = Counter()
    heavy = None if heavy_accounts is None else {ids[a] for a in heavy_accounts if a in ids}
    done: set[tuple[int, int]] = set()  # (post, account) counted, for the posts under several keys
    for g in groups.values():
        n = len(g)
        if n < 2:
            continue
        g.sort()
        times = [t for t, _, _ in g]
        accs = [ids[a] for _, a, _ in g]
        lo = hi = 0
        for k in range(n):
            t = times[k]
            while times[lo] < t - window:
                lo += 1
            if hi < k:
                hi = k
            while hi + 1 < n and times[hi + 1] <= t + window:
                hi += 1
            if hi == lo:
                continue
            a = accs[k]
            if heavy is not None and a not in heavy:
                continue
            others = set(accs[lo : hi + 1])
            others.discard(a)
            if not others:
                continue
            i = g[k][2]
            if per_post[i] > 1:
                others = {b for b in others if (i, b) not in done}
                done.update((i, b) for b in others)
            counts.update(map((a * m).__add__, others))
    return Counter({(names[key // m], names[key % m]): w for key, w in counts.items()})


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
