"""Near-duplicate documents and altered copies.

Texts are reduced to word multisets ("the", "the#2", ... so repeated words count), hashed
into MinHash signatures in bulk and bucketed with LSH (datasketch); only the candidate
pairs LSH proposes are then compared exactly. `threshold` is the share of words two texts
have in common (|A ∩ B| / max(|A|, |B|) on word multisets), which is what a reader means
by "85% the same words"; LSH is run at the Jaccard value that overlap implies, with a
margin, so recall does not hinge on the estimate.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
import re
import tempfile
import zlib
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leaklens.model import Finding

_WORD = re.compile(r"\w+(?:[.,'’-]\w+)*", re.UNICODE)
MAX_WORDS = 20_000  # longer texts are compared on their first words; enough to group them
MAX_DIFF_HUNKS = 40
COMMON_SHARE = 0.05  # a word in more than this share of documents is left out of signatures...
COMMON_MIN_DOCS = 50  # ... if that is also more than this many documents
MIN_DISTINCTIVE = 5  # documents with fewer distinctive words are hashed on all their words


@dataclass
class DupGroup:
    """Items whose texts are (near-)identical. `texts` is kept for diffs, not serialised."""

    kind: str  # "exact" (same sha256) or "near"
    members: list[str]
    similarity: float = 1.0  # lowest word overlap among the pairs that joined the group
    pairs: list[tuple[str, str, float]] = field(default_factory=list)  # those pairs (one fewer than members)
    texts: dict[str, str] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "members": self.members,
            "similarity": round(self.similarity, 4),
            "pairs": [[a, b, round(s, 4)] for a, b, s in self.pairs],
        }


def words(text: str) -> list[str]:
    return _WORD.findall(text)[:MAX_WORDS]


def _multiset(folded: list[str]) -> list[str]:
    """Tokens that make a set behave as a multiset: a word's first occurrence as itself, its
    repeats numbered ("the", "the#2", "the#3"). Built with C-level Counter and joins, since
    this runs over every word of every document."""
    counts = Counter(folded)
    tokens = list(counts)
    tokens += [f"{w}#{k}" for w, c in counts.items() if c > 1 for k in range(2, c + 1)]
    return tokens


def _as_bytes(tokens: list[str]) -> list[bytes]:
    return "\x00".join(tokens).encode().split(b"\x00")


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of words in common, on word multisets (token sets from `_multiset`)."""
    if not a or not b:
        return 0.0
    return len(a & b) / max(len(a), len(b))


def _common(a: Any, b: Any) -> int:
    """Tokens two bags share; bags are sorted arrays of distinct token numbers."""
    if len(a) > len(b):
        a, b = b, a
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    return int(np.count_nonzero(b[at] == a))


def find_near_duplicates(
    texts: Iterable[tuple[str, str]],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    min_words: int = 10,
    capped: dict[str, int] | None = None,
) -> list[DupGroup]:
    """Group texts sharing at least `threshold` of their words. Returns groups of 2+ items.

    `capped`, when given, receives the items that were in an LSH bucket of more than BUCKET_CAP
    texts (with the largest such bucket's size): each was compared with BUCKET_CAP of them only,
    so a near-copy among the others may be missing from its group."""
    # Millions of small immutable objects and no reference cycles: the cyclic collector would
    # only rescan them again and again, which makes the run grow faster than the corpus.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _find_near_duplicates(texts, threshold, num_perm, min_words, capped)
    finally:
        if gc_was_enabled:
            gc.enable()


class _Spill:
    """The texts, in a temporary file while grouping: only the grouped ones are read back (for
    diffs), so the whole corpus is never held in memory."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()
        self.spans = array("q")  # (offset, length) of each text, in order
        self.end = 0

    def add(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self.file.write(data)
        self.spans.extend((self.end, len(data)))
        self.end += len(data)

    def text(self, i: int) -> str:
        self.file.seek(self.spans[2 * i])
        return self.file.read(self.spans[2 * i + 1]).decode("utf-8", "surrogatepass")


def _find_near_duplicates(
    texts: Iterable[tuple[str, str]], threshold: float, num_perm: int, min_words: int, capped: dict[str, int] | None
) -> list[DupGroup]:
    # Each text is kept as a sorted array of token numbers (4 bytes a token, where a set of
    # strings cost ~100): the corpus's memory is its distinct tokens once, plus 4 bytes a word.
    vocab: dict[str, int] = {}
    ids: list[str] = []
    bags: list[Any] = []
    spill = _Spill()
    # Texts with the same words (a newsletter sent to a thousand people) are joined directly;
    # only one of them goes through LSH, so identical copies cannot flood a bucket.
    first: dict[bytes, int] = {}
    reps: list[int] = []
    joins: list[tuple[int, int, float]] = []  # (i, j, overlap) of the pairs that joined two groups
    parent: list[int] = []

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for item_id, text in texts:
        toks = words(text or "")
        if len(toks) < min_words:
            continue
        tokens = _multiset([t.casefold() for t in toks])
        bag = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.uint32, count=len(tokens))
        bag.sort()
        i = len(ids)
        ids.append(item_id)
        spill.add(text)
        parent.append(i)
        key = hashlib.blake2b(bag.tobytes(), digest_size=16).digest()
        r = first.setdefault(key, i)
        if r != i and np.array_equal(bags[r], bag):
            bags.append(bags[r])  # the same array: a copy costs no memory
            joins.append((r, i, 1.0))
            parent[i] = find(r)
        else:
            bags.append(bag)
            reps.append(i)
    if len(ids) < 2:
        return []
    for i, j, score in _lsh_joins(bags, reps, list(vocab), threshold, num_perm, find, parent, capped, ids):
        joins.append((i, j, score))
    del first, vocab
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(ids)):
        members[find(i)].append(i)
    group_pairs: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for i, j, score in joins:
        group_pairs[find(i)].append((i, j, score))
    groups = []
    for root, idx in members.items():
        if len(idx) < 2:
            continue
        gp = group_pairs[root]
        groups.append(
            DupGroup(
                kind="near",
                members=[ids[i] for i in idx],
                similarity=min(s for _, _, s in gp),
                pairs=[(ids[i], ids[j], s) for i, j, s in gp],
                texts={ids[i]: spill.text(i) for i in idx},
            )
        )
    spill.file.close()
    groups.sort(key=lambda g: g.members[0])
    return groups


BUCKET_CAP = 64  # texts of one LSH bucket each compared with at most this many of the others
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x27D4EB2F165667C5, 0x94D049BB133111EB],
                dtype=np.uint64)  # fmt: skip


def _band_keys(hashvalues: Any, bands: int, rows: int) -> Any:
    """One 64-bit key per band of a signature: equal bands give equal keys (what LSH buckets by);
    unequal ones collide with odds of 2^-64, and a collision only adds a pair to compare."""
    block = hashvalues[: bands * rows].astype(np.uint64).reshape(bands, rows)
    with np.errstate(over="ignore"):
        mixed = block * _MIX[:rows]
        key = np.bitwise_xor.reduce(mixed ^ (mixed >> np.uint64(29)), axis=1) * np.uint64(0xBF58476D1CE4E5B9)
    return key


def _lsh_joins(
    bags: list[Any],
    reps: list[int],
    vocab: list[str],
    threshold: float,
    num_perm: int,
    find: Callable[[int], int],
    parent: list[int],
    capped: dict[str, int] | None,
    ids: list[str],
) -> Iterator[tuple[int, int, float]]:
    """The pairs of distinct texts with word overlap >= threshold that join two groups, among the
    candidates LSH proposes, bucket by bucket: memory is the signatures' band keys (200 bytes a
    text) and one bucket's pairs, not every candidate pair of the corpus."""
    if len(reps) < 2:
        return
    # Imported here: datasketch pulls in scipy (half a second), needed only when there is grouping to do.
    from datasketch import MinHash, MinHashLSH

    # Words found in a large share of all documents ("the", "the#2", the organisation's name)
    # say nothing about which documents are copies of each other, yet they make unrelated
    # documents share LSH buckets: candidate pairs then grow with the square of the corpus.
    # Signatures are built from the other words; the exact check still uses every word.
    df = np.zeros(len(vocab), dtype=np.int64)
    for i in reps:
        df[bags[i]] += 1  # a bag's tokens are distinct
    limit = max(COMMON_MIN_DOCS, int(COMMON_SHARE * len(reps)))
    common = df > limit
    del df
    token_bytes = _as_bytes(vocab)

    def token_lists() -> Iterator[list[bytes]]:
        for i in reps:
            bag = bags[i]
            distinctive = bag[~common[bag]]
            chosen = distinctive if len(distinctive) >= MIN_DISTINCTIVE else bag
            yield [token_bytes[t] for t in chosen.tolist()]

    # Two texts with overlap o (equal lengths) have multiset Jaccard o / (2 - o); LSH is set
    # a little below that, and weighted against misses (a false candidate only costs one exact
    # comparison), so pairs near the threshold still meet in a bucket: with 128 permutations
    # this gives 25 bands of 5 rows, catching a pair at Jaccard 0.74 (overlap 0.85) 99.8% of
    # the time, at 0.667 (overlap 0.8) 97%.
    jaccard = threshold / (2 - threshold)
    lsh = MinHashLSH(threshold=max(0.05, jaccard * 0.85), num_perm=num_perm, weights=(0.2, 0.8))
    bands, rows = lsh.b, lsh.r
    keys = np.empty((len(reps), bands), dtype=np.uint64)
    # crc32 is a C function: hashing each token through it instead of datasketch's default
    # Python-level sha1 wrapper makes signatures several times cheaper, and stays deterministic.
    for k, sig in enumerate(MinHash.generator(token_lists(), num_perm=num_perm, hashfunc=zlib.crc32)):
        keys[k] = _band_keys(sig.hashvalues, bands, rows)
    sizes = [len(bags[i]) for i in reps]
    for band in range(bands):
        column = keys[:, band]
        order = np.argsort(column, kind="stable")  # a bucket is a run of equal keys, its texts in order
        ordered = column[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            if end - start < 2:
                continue
            bucket = order[start:end]
            size = len(bucket)
            if size > BUCKET_CAP + 1 and capped is not None:
                for k in bucket.tolist():
                    item = ids[reps[k]]
                    capped[item] = max(capped.get(item, 0), size)
            # Each text with the next BUCKET_CAP of its bucket (all of them in a bucket that small).
            left, right = [], []
            for step in range(1, min(size, BUCKET_CAP + 1)):
                left.append(bucket[:-step])
                right.append(bucket[step:])
            ks, ms = np.concatenate(left), np.concatenate(right)
            if band:  # a pair that shared an earlier band's bucket was compared there
                seen = (keys[ks, :band] == keys[ms, :band]).any(axis=1)
                ks, ms = ks[~seen], ms[~seen]
            for k, m in zip(ks.tolist(), ms.tolist(), strict=True):
                i, j = reps[k], reps[m]
                ri, rj = find(i), find(j)
                if ri == rj:
                    continue  # in one group already: their overlap would join nothing
                la, lb = sizes[k], sizes[m]
                # Length alone can rule a pair out before counting common words.
                if min(la, lb) < threshold * max(la, lb):
                    continue
                score = _common(bags[i], bags[j]) / max(la, lb)
                if score >= threshold:
                    parent[ri] = rj
                    yield (i, j, score) if i < j else (j, i, score)


def exact_groups(records: Iterable[tuple[str, str]]) -> list[DupGroup]:
    """Items sharing a sha256: (item_id, sha256) pairs in, groups of 2+ out."""
    by_hash: dict[str, list[str]] = defaultdict(list)
    for item_id, sha in records:
        by_hash[sha].append(item_id)
    return [DupGroup(kind="exact", members=ids) for _, ids in sorted(by_hash.items()) if len(ids) > 1]


def word_diff(a: str, b: str, context: int = 8) -> list[dict[str, Any]]:
    """Word-level differences from `a` to `b`, each hunk with a few words of context around it."""
    wa, wb = a.split(), b.split()
    matcher = difflib.SequenceMatcher(a=wa, b=wb, autojunk=False)
    hunks = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        before = " ".join(wa[max(0, i1 - context) : i1])
        after = " ".join(wa[i2 : i2 + context])
        removed, added = " ".join(wa[i1:i2]), " ".join(wb[j1:j2])
        hunks.append(
            {
                "op": op,
                "position": i1,
                "before": before,
                "removed": removed,
                "added": added,
                "after": after,
                "text": " ".join(
                    x
                    for x in (before, f"[-{removed}-]" if removed else "", f"{{+{added}+}}" if added else "", after)
                    if x
                ),
            }
        )
        if len(hunks) >= MAX_DIFF_HUNKS:
            break
    return hunks


def _normal(text: str) -> str:
    return " ".join(text.split())


def _fingerprint(text: str) -> str:
    return hashlib.sha256(_normal(text).encode()).hexdigest()


def altered_copy_findings(groups: Iterable[DupGroup], verdicts: dict[str, str]) -> dict[str, list[Finding]]:
    """`dup.altered_copy` for members that differ from a verified member (altered) or, with no
    verified member, from the rest of a group whose other members all agree (suspicious)."""
    out: dict[str, list[Finding]] = defaultdict(list)
    for group in groups:
        if group.kind != "near" or len(group.members) < 2:
            continue
        prints = {m: _fingerprint(group.texts.get(m, "")) for m in group.members}
        verified = [m for m in group.members if verdicts.get(m) == "verified"]
        verified_prints = {prints[m] for m in verified}
        for member in group.members:
            if verdicts.get(member) == "verified":
                continue
            if verified:
                if prints[member] in verified_prints:
                    continue  # a faithful copy of one verified version
                reference = max(
                    verified, key=lambda v: _similarity(group.texts.get(v, ""), group.texts.get(member, ""))
                )
                out[member].append(_finding(group, member, reference, "altered"))
                continue
            others = [m for m in group.members if m != member]
            other_prints = {prints[m] for m in others}
            if len(others) >= 2 and len(other_prints) == 1 and prints[member] not in other_prints:
                out[member].append(_finding(group, member, others[0], "suspicious"))
    return dict(out)


def _similarity(a: str, b: str) -> float:
    return overlap(
        frozenset(_multiset([w.casefold() for w in words(a)])),
        frozenset(_multiset([w.casefold() for w in words(b)])),
    )


def _finding(group: DupGroup, member: str, reference: str, effect: str) -> Finding:
    diff = word_diff(group.texts.get(reference, ""), group.texts.get(member, ""))
    # The pair's own overlap: a group keeps only the pairs that joined it, not every pair.
    score = _similarity(group.texts.get(reference, ""), group.texts.get(member, ""))
    if effect == "altered":
        message = (
            "A near-copy of a cryptographically verified item, with different content: "
            "this copy was changed after the verified one was sent."
        )
        severity = "critical"
    else:
        message = (
            f"Differs from {len(group.members) - 1} other copies that agree with each other; "
            "this copy may have been edited."
        )
        severity = "warning"
    changes = "; ".join(h["text"] for h in diff[:3])
    if changes:
        message += f" Changes: {changes[:300]}"
    return Finding(
        "dup.altered_copy",
        severity,
        message,
        {
            "effect": effect,
            "reference": reference,
            "group": group.members,
            "word_overlap": round(score, 4),
            "diff": diff,
        },
    )
