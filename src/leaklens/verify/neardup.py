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
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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
    pairs: list[tuple[str, str, float]] = field(default_factory=list)
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


def find_near_duplicates(
    texts: Iterable[tuple[str, str]],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    min_words: int = 10,
) -> list[DupGroup]:
    """Group texts sharing at least `threshold` of their words. Returns groups of 2+ items."""
    # Millions of small immutable objects and no reference cycles: the cyclic collector would
    # only rescan them again and again, which makes the run grow faster than the corpus.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _find_near_duplicates(texts, threshold, num_perm, min_words)
    finally:
        if gc_was_enabled:
            gc.enable()


def _find_near_duplicates(
    texts: Iterable[tuple[str, str]], threshold: float, num_perm: int, min_words: int
) -> list[DupGroup]:
    ids: list[str] = []
    bags: list[frozenset[str]] = []
    originals: dict[str, str] = {}
    for item_id, text in texts:
        toks = words(text or "")
        if len(toks) < min_words:
            continue
        ids.append(item_id)
        bags.append(frozenset(_multiset([t.casefold() for t in toks])))
        originals[item_id] = text
    if len(ids) < 2:
        return []
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pairs: list[tuple[int, int, float]] = []
    # Texts with the same words (a newsletter sent to a thousand people) are joined directly;
    # only one of them goes through LSH, so identical copies cannot flood a bucket.
    first: dict[frozenset[str], int] = {}
    reps: list[int] = []
    for i, bag in enumerate(bags):
        r = first.setdefault(bag, i)
        if r == i:
            reps.append(i)
        else:
            pairs.append((r, i, 1.0))
            parent[find(i)] = find(r)
    for i, j, score in _lsh_pairs(bags, reps, threshold, num_perm):
        pairs.append((i, j, score))
        parent[find(i)] = find(j)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(ids)):
        members[find(i)].append(i)
    group_pairs: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for i, j, score in pairs:
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
                texts={ids[i]: originals[ids[i]] for i in idx},
            )
        )
    groups.sort(key=lambda g: g.members[0])
    return groups


def _lsh_pairs(
    bags: list[frozenset[str]], reps: list[int], threshold: float, num_perm: int
) -> list[tuple[int, int, float]]:
    """Pairs of distinct texts with word overlap >= threshold, among the candidates LSH proposes."""
    if len(reps) < 2:
        return []
    # Imported here: datasketch pulls in scipy (half a second), needed only when there is grouping to do.
    from datasketch import MinHash, MinHashLSH

    # Words found in a large share of all documents ("the", "the#2", the organisation's name)
    # say nothing about which documents are copies of each other, yet they make unrelated
    # documents share LSH buckets: candidate pairs then grow with the square of the corpus.
    # Signatures are built from the other words; the exact check still uses every word.
    df: Counter[str] = Counter()
    for i in reps:
        df.update(bags[i])
    limit = max(COMMON_MIN_DOCS, int(COMMON_SHARE * len(reps)))
    common = {t for t, n in df.items() if n > limit}
    token_lists = []
    for i in reps:
        distinctive = [t for t in bags[i] if t not in common] if common else list(bags[i])
        token_lists.append(_as_bytes(distinctive if len(distinctive) >= MIN_DISTINCTIVE else list(bags[i])))
    # Two texts with overlap o (equal lengths) have multiset Jaccard o / (2 - o); LSH is set
    # a little below that, and weighted against misses (a false candidate only costs one exact
    # comparison), so pairs near the threshold still meet in a bucket: with 128 permutations
    # this gives 25 bands of 5 rows, catching a pair at Jaccard 0.74 (overlap 0.85) 99.8% of
    # the time, at 0.667 (overlap 0.8) 97%.
    jaccard = threshold / (2 - threshold)
    lsh = MinHashLSH(threshold=max(0.05, jaccard * 0.85), num_perm=num_perm, weights=(0.2, 0.8))
    # crc32 is a C function: hashing each token through it instead of datasketch's default
    # Python-level sha1 wrapper makes signatures several times cheaper, and stays deterministic.
    signatures = MinHash.bulk(token_lists, num_perm=num_perm, hashfunc=zlib.crc32)
    with lsh.insertion_session() as session:
        for k, sig in enumerate(signatures):
            session.insert(k, sig, check_duplication=False)
    checked: set[tuple[int, int]] = set()
    out = []
    for k, sig in enumerate(signatures):
        for m in lsh.query(sig):
            if m <= k or (k, m) in checked:
                continue
            checked.add((k, m))
            i, j = reps[k], reps[m]
            a, b = bags[i], bags[j]
            # Length alone can rule a pair out before counting common words.
            if min(len(a), len(b)) < threshold * max(len(a), len(b)):
                continue
            score = overlap(a, b)
            if score >= threshold:
                out.append((i, j, score))
    return out


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
    score = next(
        (s for a, b, s in group.pairs if {a, b} == {member, reference}),
        group.similarity,
    )
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
