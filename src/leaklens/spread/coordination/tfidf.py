"""The projection of Pacheco et al. (ICWSM 2021, "Uncovering Coordinated Networks on Social Media"):
each account is a TF-IDF vector over its behavioural traces (here: the posts it reposts, the hashtags
it uses in order as one sequence, the links it shares), and accounts whose vectors have cosine
similarity >= threshold are linked. As in the paper, only accounts with enough traces are compared
(few traces make chance look like identity), and the cosine is computed over shared traces through an
inverted index, not over every pair of accounts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..match import norm_url
from ..table import PostSet

# A trace that more compared accounts than this hold (a viral post) adds little to any cosine (its IDF is low)
# and would cost the square of its holders in pairs: it counts in the norms, not in the pairing.
MAX_HOLDERS = 1000


def traces(ps: PostSet, sel: Sequence[int]) -> dict[str, Counter[str]]:
    """Each account's traces with their counts (an account that posted without leaving one has none)."""
    acct, rep, tags, urls = ps.account, ps.repost_of, ps.hashtags, ps.urls
    mine = [i for i in sel if acct[i]]
    # (account, trace) pairs counted at once by one Counter (in C), not a Counter per account filled per post
    pairs: list[tuple[str, str]] = [(acct[i], "rt " + rep[i]) for i in mine if rep[i]]
    rest = [i for i in mine if not rep[i]]
    pairs += [(acct[i], "tags " + " ".join(tags[i])) for i in rest if tags[i]]
    pairs += [(acct[i], "url " + norm_url(u)) for i in rest if urls[i] for u in urls[i]]
    out: dict[str, Counter[str]] = {a: Counter() for a in dict.fromkeys(map(acct.__getitem__, mine))}
    for (a, t), n in Counter(pairs).items():
        out[a][t] = n
    return out


def cosine_pairs(
    ps: PostSet, sel: Sequence[int], *, min_traces: int = 10, threshold: float = 0.9
) -> tuple[dict[tuple[str, str], float], dict[str, Any]]:
    every = traces(ps, sel)
    n = len(every)
    # IDF over every account with a trace (a trace all the active accounts share is still rare overall)
    df: Counter[str] = Counter()
    for c in every.values():
        df.update(c.keys())
    tr = {a: c for a, c in every.items() if sum(c.values()) >= min_traces}
    params = {
        "accounts_compared": len(tr),
        "accounts": n,
        "min_traces": min_traces,
        "threshold": threshold,
        "traces": "reposted post, hashtag sequence, shared link",
    }
    if len(tr) < 2:
        return {}, params
    vec: dict[str, dict[str, float]] = {}
    for a, c in tr.items():
        v = {t: tf * math.log(n / df[t]) for t, tf in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vec[a] = {t: x / norm for t, x in v.items() if x > 0}
    postings: dict[str, list[tuple[str, float]]] = {}
    for a, v in vec.items():
        for t, x in v.items():
            postings.setdefault(t, []).append((a, x))
    limit = MAX_HOLDERS
    dots: Counter[tuple[str, str]] = Counter()
    for plist in postings.values():
        if len(plist) < 2 or len(plist) > limit:
            continue
        for k, (a, x) in enumerate(plist):
            for b, y in plist[k + 1 :]:
                dots[(a, b) if a < b else (b, a)] += x * y
    params["max_df"] = limit
    return {p: round(s, 4) for p, s in dots.items() if s >= threshold}, params
