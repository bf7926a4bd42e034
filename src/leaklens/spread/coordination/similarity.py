"""Co-similarity: accounts posting near-identical texts (not reposts) within a time window, the
toolkit's co_similar_tweet network (word-set Jaccard >= threshold, its tokeniser's words, texts of
fewer than `min_tokens` words ignored as its MinDocSizeSimilarity does) found by MinHash LSH
(datasketch) instead of comparing every pair of posts in the window: texts meet in a bucket, pairs
in a bucket and in the window are checked exactly."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Sequence

from ..table import PostSet
from .networks import MENTION

WORD = re.compile(r"\w+(?:'\w+)?", re.UNICODE)
NUM_PERM, BANDS = 64, 16
COMMON_SHARE, COMMON_MIN, MIN_RARE = (
    0.01,
    50,
    3,
)  # 16 bands of 4 rows: a pair at Jaccard 0.8 meets in a bucket 99.9% of the time


def tokens(text: str) -> frozenset[str]:
    return frozenset(WORD.findall(MENTION.sub("", text.lower())))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def similar_network(
    ps: PostSet,
    sel: Sequence[int],
    window: float,
    *,
    threshold: float = 0.8,
    min_tokens: int = 5,
    min_posts: int = 1,
) -> tuple[Counter[tuple[str, str]], dict[tuple[int, int], float]]:
    """(directed weights as in networks.network, the similar post pairs found with their Jaccard)."""
    from datasketch import MinHash  # imported here: it pulls in scipy, needed only when comparing texts

    idx, bags = [], []
    for i in sel:
        if ps.repost_of[i] or ps.ts[i] is None or not ps.account[i]:
            continue
        bag = tokens(ps.text[i])
        if len(bag) >= min_tokens:
            idx.append(i)
            bags.append(bag)
    if min_posts > 1:  # as networks.active_only: fewer texts than the weight asked can make no edge
        per = Counter(ps.account[i] for i in idx)
        keep = [k for k, i in enumerate(idx) if per[ps.account[i]] >= min_posts]
        idx, bags = [idx[k] for k in keep], [bags[k] for k in keep]
    weights: Counter[tuple[str, str]] = Counter()
    pairs: dict[tuple[int, int], float] = {}
    if len(idx) < 2:
        return weights, pairs
    # Words in a large share of all texts say little about which texts are copies, yet make unrelated ones
    # meet in buckets: signatures leave them out (the exact check still counts every word), as neardup does.
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag)
    common = {t for t, n in df.items() if n > max(COMMON_MIN, COMMON_SHARE * len(bags))}
    # One MinHash, cleared for each text: building one object per text cost more than hashing its words.
    m = MinHash(num_perm=NUM_PERM, hashfunc=zlib.crc32)
    buckets: dict[bytes, list[int]] = {}
    for k, bag in enumerate(bags):
        rare = [t.encode() for t in bag if t not in common]
        m.clear()
        m.update_batch(rare if len(rare) >= MIN_RARE else [t.encode() for t in bag])
        raw = m.hashvalues.tobytes()
        width = len(raw) // BANDS  # whatever width datasketch's scheme gives a hash value
        for b in range(BANDS):
            buckets.setdefault(bytes([b]) + raw[b * width : (b + 1) * width], []).append(k)
    ts, acct = ps.ts, ps.account
    checked: set[tuple[int, int]] = set()
    matched: dict[int, set[str]] = {}
    for members in buckets.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda k: ts[idx[k]])
        n = len(members)
        for x in range(n):
            kx = members[x]
            tx = ts[idx[kx]]
            for y in range(x + 1, n):
                ky = members[y]
                if ts[idx[ky]] - tx > window:
                    break
                i, j = idx[kx], idx[ky]
                if acct[i] == acct[j]:
                    continue
                pair = (i, j) if i < j else (j, i)
                if pair in checked:
                    continue
                checked.add(pair)
                s = jaccard(bags[kx], bags[ky])
                if s >= threshold:
                    pairs[pair] = s
                    matched.setdefault(i, set()).add(acct[j])
                    matched.setdefault(j, set()).add(acct[i])
    for i, others in matched.items():
        for b in others:
            weights[(acct[i], b)] += 1
    return weights, pairs
