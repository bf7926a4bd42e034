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
        # (permutation, word) with the words contiguous: reduceat along rows of words was four times slower.
        # uint32: the wraparound is the permutation's modulo 2^32.
        phv = a[:, None] * mixed[words[lo:hi]][None, :] + b[:, None]
        out[k:j] = np.minimum.reduceat(phv, starts[k:j] - lo, axis=1).T
        k = j
    return out


BIG_RUN = 64  # texts in one bucket past which pairs are made in time order with a break, not all at once


def candidates(
    sig: np.ndarray,
    ts: np.ndarray,
    acc: np.ndarray,
    window: float,
    bands: int = BANDS,
    sizes: np.ndarray | None = None,
    threshold: float = 0.0,
) -> np.ndarray:
    """The text pairs (x < y, as x * n + y, each once) meeting in a bucket of some band (the same rows of that
    band), within the window of each other and by two accounts: what the exact check compares. Per band the
    rows are sorted by a 64-bit mix of the band's values and equal values are a bucket (a collision of two
    mixes only adds a candidate, which the exact check judges); pairs in a bucket are made by offsets in
    numpy, a big bucket's in time order with a break. A dict of byte keys and a Python loop over every
    bucket of every band was most of co-similarity's time at a million posts. With `sizes` (each text's
    number of words), pairs whose sizes alone keep their Jaccard under `threshold` (smaller / larger) are
    left out: an exact bound, not an estimate."""
    n, width = sig.shape
    rows = width // bands
    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63], dtype=np.uint64)
    found: list[np.ndarray] = []

    def keep(x: np.ndarray, y: np.ndarray) -> None:
        ok = (np.abs(ts[x] - ts[y]) <= window) & (acc[x] != acc[y])
        if sizes is not None:
            # a hair of slack: 0.7 * 10 is 7.000000000000001 in floats, and 7 / 10 >= 0.7 holds
            ok &= np.minimum(sizes[x], sizes[y]) >= (threshold - 1e-9) * np.maximum(sizes[x], sizes[y])
        x, y = x[ok], y[ok]
        found.append(np.minimum(x, y).astype(np.int64) * n + np.maximum(x, y))

    for band in range(bands):
        block = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
        key = np.zeros(n, dtype=np.uint64)
        for r in range(rows):
            key = (key ^ block[:, r]) * mult[r % len(mult)]
        order = np.argsort(key, kind="stable")
        sk = key[order]
        bounds = np.concatenate(([0], np.flatnonzero(sk[1:] != sk[:-1]) + 1, [n]))
        runs = np.diff(bounds)
        multi = np.flatnonzero(runs > 1)
        if not len(multi):
            continue
        # the members of the small buckets of two or more, in bucket order, with their bucket's number
        size_at = np.repeat(runs, runs)
        small = (size_at > 1) & (size_at <= BIG_RUN)
        members = order[small]
        run = np.repeat(np.arange(len(runs)), runs)[small]
        for d in range(1, int(size_at[small].max()) if small.any() else 1):
            same = run[:-d] == run[d:]
            if not same.any():
                break
            keep(members[:-d][same], members[d:][same])
        for s in multi[runs[multi] > BIG_RUN]:
            big = order[bounds[s] : bounds[s + 1]]
            big = big[np.argsort(ts[big], kind="stable")]
            # each member with the later ones up to `window` after it: ranges made by one cumsum, no loop
            hi = np.searchsorted(ts[big], ts[big] + window, side="right")
            count = hi - np.arange(len(big)) - 1
            first = np.repeat(np.arange(len(big)), count)
            offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
            keep(big[first], big[first + 1 + offset])
    if not found:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate(found))


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
    tsa = np.array([ts[i] for i in idx], dtype=np.float64)
    aid: dict[str, int] = {}
    acc = np.fromiter((aid.setdefault(acct[i], len(aid)) for i in idx), dtype=np.int64, count=len(idx))
    matched: dict[int, set[str]] = {}
    n = len(idx)
    for code in candidates(sig, tsa, acc, window, sizes=lengths, threshold=threshold).tolist():
        kx, ky = divmod(code, n)
        s = jaccard(bags[kx], bags[ky])
        if s >= threshold:
            i, j = idx[kx], idx[ky]
            pairs[(i, j) if i < j else (j, i)] = s
            matched.setdefault(i, set()).add(acct[j])
            matched.setdefault(j, set()).add(acct[i])
    for i, others in matched.items():
        for b in others:
            weights[(acct[i], b)] += 1
    return weights, pairs
