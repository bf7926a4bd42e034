"""Near-duplicate grouping, word diffs and altered-copy findings on planted texts."""

from __future__ import annotations

import random

from leaklens.verify.neardup import (
    DupGroup,
    altered_copy_findings,
    exact_groups,
    find_near_duplicates,
    word_diff,
)

rng = random.Random(7)
VOCAB = [f"w{i}" for i in range(5000)]


def doc(n: int = 200) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


CONTRACT = (
    "Invoice 2017-114 from Alpha Conseil to En Marche for consulting services rendered in March. "
    "The amount due is 1,250.00 EUR payable within thirty days to the account held at Banque Populaire. "
    "Please quote the invoice number with any payment and contact the accounts department with questions."
)


def test_planted_groups_found_and_unrelated_left_alone() -> None:
    base_a, base_b = doc(), doc()
    words_a = base_a.split()
    variant = " ".join(words_a[:50] + ["changed", "words", "here"] + words_a[53:])  # 97% overlap
    texts = [("a1", base_a), ("a2", base_a), ("a3", variant), ("b1", base_b), ("b2", base_b + " appended")]
    texts += [(f"x{i}", doc()) for i in range(50)]
    groups = find_near_duplicates(texts)
    found = sorted(sorted(g.members) for g in groups)
    assert found == [["a1", "a2", "a3"], ["b1", "b2"]]
    g = next(g for g in groups if "a3" in g.members)
    assert 0.95 <= g.similarity < 1.0 and g.to_dict()["kind"] == "near"


def test_threshold_is_word_overlap() -> None:
    base = doc(400).split()
    # 82% of words kept in place: found at 0.8, not at 0.9.
    kept = base[:328] + [f"new{i}" for i in range(72)]
    texts = [("p", " ".join(base)), ("q", " ".join(kept))]
    assert [sorted(g.members) for g in find_near_duplicates(texts, threshold=0.8)] == [["p", "q"]]
    assert find_near_duplicates(texts, threshold=0.9) == []


def test_short_texts_are_not_grouped() -> None:
    assert find_near_duplicates([("a", "See attached."), ("b", "See attached.")]) == []


def test_exact_groups_by_sha256() -> None:
    groups = exact_groups([("a", "h1"), ("b", "h2"), ("c", "h1"), ("d", "h1")])
    assert [(g.kind, g.members) for g in groups] == [("exact", ["a", "c", "d"])]


def test_word_diff_shows_changed_amount_with_context() -> None:
    changed = CONTRACT.replace("1,250.00", "91,250.00")
    (hunk,) = word_diff(CONTRACT, changed, context=4)
    assert (hunk["op"], hunk["removed"], hunk["added"]) == ("replace", "1,250.00", "91,250.00")
    assert hunk["before"] == "The amount due is" and hunk["after"].startswith("EUR payable")
    assert "[-1,250.00-] {+91,250.00+}" in hunk["text"]
    assert word_diff(CONTRACT, CONTRACT) == []


def _group(texts: dict[str, str]) -> DupGroup:
    (g,) = find_near_duplicates(texts.items())
    return g


def test_altered_copy_of_verified_member_is_altered_with_diff() -> None:
    forged = CONTRACT.replace("1,250.00", "91,250.00")
    g = _group({"mail-att": CONTRACT, "leaked.pdf": forged, "copy.pdf": CONTRACT})
    out = altered_copy_findings([g], {"mail-att": "verified"})
    assert list(out) == ["leaked.pdf"]
    (f,) = out["leaked.pdf"]
    assert f.code == "dup.altered_copy" and f.severity == "critical"
    assert f.evidence["effect"] == "altered" and f.evidence["reference"] == "mail-att"
    assert f.evidence["diff"][0]["added"] == "91,250.00" and "91,250.00" in f.message


def test_odd_one_out_among_agreeing_copies_is_suspicious() -> None:
    forged = CONTRACT.replace("Banque Populaire", "Bank of Cyprus")
    g = _group({"c1": CONTRACT, "c2": CONTRACT, "c3": CONTRACT, "odd": forged})
    out = altered_copy_findings([g], {})
    assert list(out) == ["odd"]
    (f,) = out["odd"]
    assert f.evidence["effect"] == "suspicious" and f.evidence["reference"] in ("c1", "c2", "c3")
    assert f.evidence["diff"][0]["added"] == "Bank of Cyprus."


def test_no_finding_when_copies_disagree_or_only_two() -> None:
    v1, v2 = CONTRACT.replace("March", "April"), CONTRACT.replace("thirty", "sixty")
    # A pair: nobody can tell which is the original.
    assert altered_copy_findings([_group({"a": CONTRACT, "b": v1})], {}) == {}
    # Three different versions: no agreeing majority.
    assert altered_copy_findings([_group({"a": CONTRACT, "b": v1, "c": v2})], {}) == {}
    # Faithful copies of a verified item are not flagged.
    assert altered_copy_findings([_group({"a": CONTRACT, "b": CONTRACT + " "})], {"a": "verified"}) == {}


def test_many_identical_copies_join_one_group_quickly() -> None:
    import gc
    import time

    letter = doc(150)
    texts = [(f"n{i}", letter) for i in range(3000)] + [("edited", letter + " unsubscribe here")]
    texts += [(f"x{i}", doc()) for i in range(200)]
    start = time.perf_counter()
    (g,) = find_near_duplicates(texts)
    assert time.perf_counter() - start < 10
    assert len(g.members) == 3001 and "edited" in g.members
    assert gc.isenabled()  # the collector paused during grouping is switched back on


def test_a_bucket_of_lookalikes_is_compared_in_part_and_said(monkeypatch) -> None:
    """Texts of one small vocabulary (a mail merge) all share LSH buckets: each is compared with
    BUCKET_CAP of a bucket's others, not all, and the items of such a bucket are named with its size;
    true copies still join (identical ones before LSH, a near one through a bucket it shares)."""
    from leaklens.verify import neardup

    monkeypatch.setattr(neardup, "BUCKET_CAP", 4)
    small = VOCAB[:30]
    lookalikes = [(f"m{i}", " ".join(rng.choice(small) for _ in range(120))) for i in range(40)]
    base = doc(300)
    near = " ".join(base.split()[:290] + ["edited"] * 10)
    texts = [*lookalikes, ("p1", base), ("p2", base), ("p3", near)]
    capped: dict[str, int] = {}
    groups = find_near_duplicates(texts, capped=capped)
    assert ["p1", "p2", "p3"] in [sorted(g.members) for g in groups]
    assert capped and set(capped) <= {i for i, _ in lookalikes}
    assert all(size > 5 for size in capped.values())  # only buckets larger than the cap + 1
    g = next(g for g in groups if "p3" in g.members)
    assert len(g.pairs) == 2 and g.similarity == min(s for _, _, s in g.pairs) >= 0.95  # the pairs that joined it
    monkeypatch.setattr(neardup, "BUCKET_CAP", 10_000)
    uncapped: dict[str, int] = {}
    find_near_duplicates(texts, capped=uncapped)
    assert uncapped == {}
