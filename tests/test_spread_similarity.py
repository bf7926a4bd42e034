"""Co-similarity's MinHash: the numpy signatures are datasketch's MinHash values bit for bit, and the LSH
network finds the pairs an exhaustive comparison finds (near-copies within the window, by other accounts)."""

from __future__ import annotations

import random
import zlib

import numpy as np
from datasketch import MinHash

from leaklens.spread.coordination.similarity import jaccard, signatures, similar_network, tokens
from leaklens.spread.table import PostSet


def test_signatures_are_datasketchs():
    rng = random.Random(7)
    words = [f"w{k}" for k in range(300)] + ["été", "naïve", "日本語", "x" * 200]
    texts = [rng.sample(words, rng.randint(1, 40)) for _ in range(400)] + [words]  # one text longer than others
    ids: dict[str, int] = {}
    flat = np.array([ids.setdefault(t, len(ids)) for tx in texts for t in tx], dtype=np.int64)
    lengths = np.array([len(t) for t in texts])
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    hashes = np.array([zlib.crc32(t.encode()) for t in ids], dtype=np.uint64)
    sig = signatures(flat, starts, hashes)
    for k, tx in enumerate(texts):
        m = MinHash(num_perm=64, hashfunc=zlib.crc32)
        m.update_batch([t.encode() for t in tx])
        assert np.array_equal(sig[k], m.hashvalues), k


def _posts(n: int, seed: int) -> PostSet:
    """Background texts of random words, and copies of some with a word or two changed, by other accounts."""
    rng = random.Random(seed)
    vocab = [f"v{k}" for k in range(2000)] + ["the", "a", "of"] * 5  # a few words common to every text
    ps = PostSet()
    rows = []
    for k in range(n):
        if rows and rng.random() < 0.3:
            src = rng.choice(rows[-50:])
            ws = src["text"].split()
            for _ in range(rng.randint(0, 2)):
                ws[rng.randrange(len(ws))] = rng.choice(vocab)
            text = " ".join(ws)
            t = src["ts"] + rng.uniform(0, 5000)
        else:
            text = " ".join(["the", "a", "of"] + rng.choices(vocab, k=rng.randint(3, 25)))
            t = rng.uniform(0, 86400)
        acct = f"u{rng.randint(0, 60)}"
        rows.append(
            {
                "uid": f"twitter:{k}",
                "platform": "twitter",
                "ts": t,
                "author_id": acct,
                "author": acct,
                "author_created": None,
                "text": text if rng.random() > 0.05 else "RT " + text,
                "reply_to": "",
                "repost_of": "twitter:0" if rng.random() < 0.05 else "",
                "quote_of": "",
                "urls": "",
                "hashtags": "",
                "files": "",
                "context": "",
                "partial": 0,
            }
        )
    ps.add_rows(rows)
    return ps


def test_lsh_finds_what_every_pair_compared_finds():
    ps = _posts(1500, seed=3)
    window, threshold = 3600.0, 0.8
    _w, pairs = similar_network(ps, range(len(ps)), window, threshold=threshold, min_tokens=5, min_posts=1)
    want = {}
    ok = [i for i in range(len(ps)) if not ps.repost_of[i] and len(tokens(ps.text[i])) >= 5]
    for x, i in enumerate(ok):
        for j in ok[x + 1 :]:
            if ps.account[i] != ps.account[j] and abs(ps.ts[i] - ps.ts[j]) <= window:
                s = jaccard(tokens(ps.text[i]), tokens(ps.text[j]))
                if s >= threshold:
                    want[(i, j)] = s
    assert len(want) > 50  # the copies are there to be found
    assert pairs == want
    # min_posts: only accounts with that many texts take part, and their pairs are the same ones
    _w3, pairs3 = similar_network(ps, range(len(ps)), window, threshold=threshold, min_tokens=5, min_posts=25)
    busy = {a for a in set(ps.account) if sum(1 for i in ok if ps.account[i] == a) >= 25}
    assert 0 < len(pairs3) < len(want)
    assert pairs3 == {p: s for p, s in want.items() if ps.account[p[0]] in busy and ps.account[p[1]] in busy}
