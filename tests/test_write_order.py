"""What verify finds does not depend on the order items were written in.

With several workers (or a Dask cluster) the members of a dump are written in the order their
readers finish, which changes from run to run; the near-duplicate groups' joining pairs and their
lowest similarity follow the order the texts are read in. So the store hands the texts over in
path order, on both backends: two cases of the same files written in opposite orders give the
same groups, pairs and similarities.
"""

from __future__ import annotations

import random

from helpers import build_case

from leaklens.verify.case_docs import near_duplicates


def _chain_of_copies(n: int = 4, words: int = 200, changed: int = 8) -> list[str]:
    """n texts, each the previous one with `changed` words replaced: every pair is a near-copy,
    with a different overlap, so which pairs join a group depends on the order they are met in."""
    rng = random.Random(3)
    vocab = [f"mot{i}" for i in range(2000)]
    text = [rng.choice(vocab) for _ in range(words)]
    out = []
    for _ in range(n):
        out.append(" ".join(text))
        text = list(text)
        for k in rng.sample(range(words), changed):
            text[k] = rng.choice(vocab)
    return out


def _dup_rows(case) -> list[tuple]:
    from leaklens.verify.case_docs import DUP_GROUPS

    rows = case.db.table_rows(DUP_GROUPS)
    by_group: dict[int, list[str]] = {}
    sims: dict[int, float] = {}
    for r in rows:
        by_group.setdefault(r["grp"], []).append(r["item_id"])
        sims[r["grp"]] = r["similarity"]
    return sorted((tuple(sorted(m)), sims[g]) for g, m in by_group.items())


def test_near_duplicate_groups_do_not_follow_the_write_order(tmp_path, backend, request):
    texts = _chain_of_copies()
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    for k, text in enumerate(texts):  # A and C in one folder, B and D in the other
        ((one if k % 2 == 0 else two) / f"note{k}.txt").write_text(text + "\n")
    first = build_case(tmp_path, one, two, name="first", db=backend)
    # A PostgreSQL case is its database: the second case needs a database of its own.
    other = None if backend is None else request.getfixturevalue("second_pg_url")
    second = build_case(tmp_path, two, one, name="second", db=other)
    rowids = [[r["id"] for r in c.db.items("kind='document'")] for c in (first, second)]
    assert rowids[0] != rowids[1] and sorted(rowids[0]) == sorted(rowids[1])  # written in two orders
    assert list(first.db.document_texts(("document",), 200)) == list(second.db.document_texts(("document",), 200))
    near_duplicates(first)
    near_duplicates(second)
    assert _dup_rows(first) == _dup_rows(second)
    (members, _similarity), *_ = _dup_rows(first)
    assert len(members) == 4
    for c in (first, second):
        c.close()


def test_the_verified_copy_named_does_not_follow_the_write_order(tmp_path, backend, request):
    """An item with the bytes of verified items is verified through one of them, and its finding
    names that one: the first by path, whichever was written first."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    text = "the same bytes in three places\n"
    (one / "a.txt").write_text(text)
    (two / "b.txt").write_text(text)
    (two / "c.txt").write_text(text)
    first = build_case(tmp_path, one, two, name="first", db=backend)
    other = None if backend is None else request.getfixturevalue("second_pg_url")
    second = build_case(tmp_path, two, one, name="second", db=other)
    named = []
    for c in (first, second):
        by_name = {r["name"]: r["id"] for r in c.db.items("kind='document'")}
        assert sorted(by_name) == ["a.txt", "b.txt", "c.txt"]
        c.db.set_verdicts([(by_name["a.txt"], "verified"), (by_name["b.txt"], "verified")])
        c.db.commit()
        rows = c.db.copies_of_verified()
        assert [(r["id"], r["copies"]) for r in rows] == [(by_name["c.txt"], 2)]
        named.append(rows[0]["copy_path"])
    written = [[r["name"] for r in c.db.items("kind='document'")] for c in (first, second)]
    assert written[0] != written[1]  # the two cases were written in different orders
    assert named[0] == named[1] and named[0].endswith("a.txt")
    for c in (first, second):
        c.close()


def test_the_altered_item_a_carrier_names_is_the_first_by_path(tmp_path, backend):
    """`dup.carries_altered` names an email's first altered item: the first by path, not the first
    written (the reader writes an email's attachments in MIME order, b.txt here before a.txt; with
    workers, nested items are written in the order their jobs finish)."""
    from email.message import EmailMessage

    from leaklens.verify.case_proof import carries_altered

    msg = EmailMessage()
    msg["From"] = "Emilie <emilie@horizon.example>"
    msg["To"] = "treasurer@horizon.example"
    msg["Subject"] = "two copies"
    msg["Date"] = "Fri, 05 May 2017 10:00:00 +0000"
    msg.set_content("See attached.\n")
    for name in ("b.txt", "a.txt"):
        msg.add_attachment(f"the text of {name}\n".encode(), maintype="text", subtype="plain", filename=name)
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "carrier.eml").write_bytes(msg.as_bytes())
    case = build_case(tmp_path, dump, db=backend)
    by_name = {r["name"]: r for r in case.db.items("1=1")}
    written = [r["name"] for r in case.db.items("name IN ('a.txt', 'b.txt')")]
    assert written == ["b.txt", "a.txt"]  # written in MIME order: not the order of their paths
    case.db.set_verdicts([(by_name["a.txt"]["id"], "altered"), (by_name["b.txt"]["id"], "altered")])
    case.db.commit()
    carries_altered(case)
    case.db.commit()
    (finding,) = [f for f in case.db.findings_for(by_name["carrier.eml"]["id"]) if f.code == "dup.carries_altered"]
    assert "'a.txt'" in finding.message and finding.evidence["count"] == 2
    assert [x["path"] for x in finding.evidence["altered"]] == sorted(x["path"] for x in finding.evidence["altered"])
    case.close()
