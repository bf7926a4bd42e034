"""Co-similarity: accounts posting near-identical texts (not reposts) within a time window, the
toolkit's co_similar_tweet network (word-set Jaccard >= threshold, its tokeniser's words, texts of
fewer than `min_tokens` words ignored as its MinDocSizeSimilarity does) found by MinHash LSH
instead of comparing every pair of posts in the window: texts meet in a bucket, pairs in a bucket and
in the window are checked exactly. The signatures are datasketch's (same permutations, same hash), computed
for every text at once in numpy."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..table import PostSet
from .networks import MENTION

WORD = re.compile(r"\w+(?:'\w+)?", re.UNICODE)
NUM_PERM, BANDS = 64, 16
COMMON_SHARE, COMMON_MIN, MIN_RARE = (
    0.01,
    50,
    3,
)  # 16 bands of 4 rows: a pair at Jaccard 0.8 meets in a bucket 99.9% of the time
SEED = 1
CHUNK = 1 << 18  # words hashed at once: 64 values of 4 bytes each, 64 MiB of temporaries


def tokens(text: str) -> frozenset[str]:
    return frozenset(WORD.findall(MENTION.sub("", text.lower())))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _permutations(num_perm: int = NUM_PERM, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's "affine32" permutations (odd a, any b, drawn as its MinHash draws them for this seed), so the
    signatures are datasketch's MinHash(num_perm, seed, hashfunc=zlib.crc32) values, bit for bit (a test checks)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer, the pre-mix datasketch applies to each word's hash."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signatures(words: np.ndarray, starts: np.ndarray, hashes: np.ndarray, num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash signatures of many texts at once: text k is words[starts[k]:starts[k + 1]] (word ids, none
    empty), `hashes` each word id's crc32. Each word is hashed by every permutation once per text, in numpy,
    chunk by chunk of texts; the minimum per text is a reduceat. One datasketch MinHash per text cost a
    Python call and an array per text, most of co-similarity's time at a million posts."""
    a, b = _permutations(num_perm)
    mixed = _fmix32(hashes.astype(np.uint32))
    n = len(starts)
    ends = np.append(starts[1:], len(words))
    out = np.empty((n, num_perm), dtype=np.uint32)
    k = 0
    while k < n:
        # texts k..j-1, about CHUNK words (at least one text, however long)
        j = max(k + 1, int(np.searchsorted(ends, starts[k] + CHUNK, side="right")))
        lo, hi = starts[k], ends[j - 1]
        phv = mixed[words[lo:hi], None] * a + b  # uint32: the wraparound is the permutation's modulo 2^32
        out[k:j] = np.minimum.reduceat(phv, starts[k:j] - lo, axis=0)
        k = j
    return out


def _bucket_runs(sig: np.ndarray, bands: int) -> list[np.ndarray]:
    """The texts meeting in a bucket (the same rows of one band), each run of two or more as an array of text
    numbers: per band, the rows are sorted by a 64-bit mix of the band's values and equal values are runs.
    A collision of two mixes only adds a candidate, which the exact check then judges."""
    n, width = sig.shape
    rows = width // bands
    runs: list[np.ndarray] = []
    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63], dtype=np.uint64)
    for band in range(bands):
        block = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
        key = np.zeros(n, dtype=np.uint64)
        for r in range(rows):
            key = (key ^ block[:, r]) * mult[r % len(mult)]
        order = np.argsort(key, kind="stable")
        sk = key[order]
        edges = np.flatnonzero(sk[1:] != sk[:-1]) + 1
        bounds = np.concatenate(([0], edges, [n]))
        sizes = np.diff(bounds)
        for s in np.flatnonzero(sizes > 1):
            runs.append(order[bounds[s] : bounds[s + 1]])
    return runs


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
    rep, ts, acct, text = ps.repost_of, ps.ts, ps.account, ps.text
    cand = [i for i in sel if not rep[i] and ts[i] is not None and acct[i]]
    if min_posts > 1:  # an account with fewer texts than the weight asked can make no edge: not even tokenised
        per = Counter(acct[i] for i in cand)
        cand = [i for i in cand if per[acct[i]] >= min_posts]
    idx, bags = [], []
    for i in cand:
        bag = tokens(text[i])
        if len(bag) >= max(1, min_tokens):  # an empty text is like no other (Jaccard 0)
            idx.append(i)
            bags.append(bag)
    if min_posts > 1:  # as networks.active_only: fewer texts than the weight asked can make no edge
        per = Counter(acct[i] for i in idx)
        keep = [k for k, i in enumerate(idx) if per[acct[i]] >= min_posts]
        idx, bags = [idx[k] for k in keep], [bags[k] for k in keep]
    weights: Counter[tuple[str, str]] = Counter()
    pairs: dict[tuple[int, int], float] = {}
    if len(idx) < 2:
        return weights, pairs
    # Words as ids, each text's words in one flat array (np.fromiter over a chain: no list per text kept).
    ids: dict[str, int] = {}
    lengths = np.fromiter(map(len, bags), dtype=np.int64, count=len(bags))
    flat = np.fromiter(
        (ids.setdefault(t, len(ids)) for bag in bags for t in bag), dtype=np.int64, count=int(lengths.sum())
    )
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    # Words in a large share of all texts say little about which texts are copies, yet make unrelated ones
    # meet in buckets: signatures leave them out (the exact check still counts every word), as neardup does
    # (a text with fewer than MIN_RARE other words keeps them all).
    df = np.bincount(flat, minlength=len(ids))
    common = df > max(COMMON_MIN, COMMON_SHARE * len(bags))
    rare = ~common[flat]
    n_rare = np.add.reduceat(rare.astype(np.int64), starts)
    text_of = np.repeat(np.arange(len(bags)), lengths)
    keep = rare | (n_rare < MIN_RARE)[text_of]
    kept_len = np.add.reduceat(keep.astype(np.int64), starts)
    kept_starts = np.concatenate(([0], np.cumsum(kept_len)[:-1]))
    hashes = np.fromiter((zlib.crc32(t.encode()) for t in ids), dtype=np.uint64, count=len(ids))
    sig = signatures(flat[keep], kept_starts, hashes)
    checked: set[tuple[int, int]] = set()
    matched: dict[int, set[str]] = {}
    for run in _bucket_runs(sig, BANDS):
        members = sorted(run.tolist(), key=lambda k: ts[idx[k]])
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
