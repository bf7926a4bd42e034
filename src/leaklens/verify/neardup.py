"""Near-duplicate documents and altered copies.

Texts are reduced to word multisets ("the#1", "the#2", ... so repeated words count), hashed
into MinHash signatures in bulk and bucketed with LSH (datasketch); only the candidate
pairs LSH proposes are then compared exactly. `threshold` is the share of words two texts
have in common (|A ∩ B| / max(|A|, |B|) on word multisets), which is what a reader means
by "85% the same words"; LSH is run at the Jaccard value that overlap implies, with a
margin, so recall does not hinge on the estimate.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from datasketch import MinHash, MinHashLSH

from leaklens.model import Finding

_WORD = re.compile(r"\w+(?:[.,'’-]\w+)*", re.UNICODE)
MAX_WORDS = 20_000  # longer texts are compared on their first words; enough to group them
MAX_DIFF_HUNKS = 40


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


def _multiset(tokens: list[str]) -> list[bytes]:
    seen: Counter[str] = Counter()
    out = []
    for t in tokens:
        t = t.casefold()
        seen[t] += 1
        out.append(f"{t}#{seen[t]}".encode())
    return out


def overlap(a: Counter[str], b: Counter[str], len_a: int, len_b: int) -> float:
    """Share of words in common, on word multisets."""
    if not len_a or not len_b:
        return 0.0
    common = sum((a & b).values())
    return common / max(len_a, len_b)


def find_near_duplicates(
    texts: Iterable[tuple[str, str]],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    min_words: int = 10,
) -> list[DupGroup]:
    """Group texts sharing at least `threshold` of their words. Returns groups of 2+ items."""
    ids: list[str] = []
    token_lists: list[list[bytes]] = []
    bags: list[Counter[str]] = []
    lengths: list[int] = []
    originals: dict[str, str] = {}
    for item_id, text in texts:
        toks = words(text or "")
        if len(toks) < min_words:
            continue
        ids.append(item_id)
        folded = [t.casefold() for t in toks]
        bags.append(Counter(folded))
        lengths.append(len(folded))
        token_lists.append(_multiset(toks))
        originals[item_id] = text
    if len(ids) < 2:
        return []
    # Two texts with overlap o (equal lengths) have multiset Jaccard o / (2 - o); LSH is set
    # a little below that so pairs right at the threshold still meet in a bucket.
    jaccard = threshold / (2 - threshold)
    lsh = MinHashLSH(threshold=max(0.05, jaccard * 0.85), num_perm=num_perm)
    signatures = MinHash.bulk(token_lists, num_perm=num_perm)
    with lsh.insertion_session() as session:
        for i, sig in enumerate(signatures):
            session.insert(i, sig, check_duplication=False)
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    checked: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int, float]] = []
    for i, sig in enumerate(signatures):
        for j in lsh.query(sig):
            if j <= i or (i, j) in checked:
                continue
            checked.add((i, j))
            # Length alone can rule a pair out before counting common words.
            if min(lengths[i], lengths[j]) < threshold * max(lengths[i], lengths[j]):
                continue
            score = overlap(bags[i], bags[j], lengths[i], lengths[j])
            if score >= threshold:
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
    wa, wb = [w.casefold() for w in words(a)], [w.casefold() for w in words(b)]
    return overlap(Counter(wa), Counter(wb), len(wa), len(wb))


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
