"""The posts read as columns (`table_values`, `load_posts`) on both backends: the same posts, fields and
derived columns as the row-by-row read (`table_rows` through `PostSet.add_rows`), and bad column names
refused with one clear error."""

from __future__ import annotations

import pytest

from leaklens.case import Case
from leaklens.spread.ingest import ingest_files
from leaklens.spread.table import POSTS, PostSet, load_posts, parts
from leaklens.store.base import Column, TableSpec

CSV = """id,time,author,author_id,text,reply_to,repost_of,quote_of,urls,author_created,platform,hashtags
1,2017-05-05T18:00:00Z,alice,a1,first #MacronLeaks https://x.example/a,,,,x.example/a,1490000000,twitter,MacronLeaks
2,2017-05-05T18:00:05Z,bob,b2,RT first,,1,,,,twitter,
3,2017-05-05T18:00:09Z,,c3,"a reply
on two lines",1,,,,,twitter,
4,2017-05-05T18:01:00Z,,,anonymous,,,2,"y.example/b z.example/c",,twitter,
"""

FIELDS = (
    "uid",
    "platform",
    "ts",
    "account",
    "author",
    "author_created",
    "text",
    "reply_to",
    "repost_of",
    "quote_of",
    "urls",
    "hashtags",
    "files",
    "context",
    "partial",
)


def test_posts_as_columns_equal_rows(tmp_path, backend):
    src = tmp_path / "posts.csv"
    src.write_text(CSV, encoding="utf-8")
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        ingest_files(case, [src])
        ps = load_posts(case.db)
        rows = PostSet()
        for p in range(parts(case.db) + 1):
            rows.add_rows(case.db.table_rows(POSTS, part=p))
        assert len(ps) == 4
        for name in FIELDS:
            assert getattr(ps, name) == getattr(rows, name), name
        assert ps.index == rows.index == {u: i for i, u in enumerate(ps.uid)}
        i = ps.index["twitter:1"]
        assert ps.account[i] == "twitter:a1" and ps.hashtags[i] == ["macronleaks"]
        assert ps.author[ps.index["twitter:3"]] == "c3"  # no handle: the id stands for it
        assert ps.account[ps.index["twitter:4"]] == ""  # no author at all (an anonymous poster): no account
        assert ps.urls[ps.index["twitter:4"]] == ["y.example/b", "z.example/c"]
        assert ps.text[ps.index["twitter:3"]] == "a reply\non two lines"  # a newline inside a CSV field kept


SPEC = TableSpec(
    "colcheck",
    key=("k",),
    columns=(Column("k"), Column("n", "int"), Column("j", "json"), Column("g", index=True)),
)


def test_table_values_columns_in_row_order(tmp_path, backend):
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        db = case.db
        db.put_rows(
            SPEC, [{"k": f"k{i}", "n": i, "j": {"i": [i]} if i % 2 else None, "g": "ab"[i % 2]} for i in range(6)]
        )
        k, j = db.table_values(SPEC, ["k", "j"])
        assert list(k) == [f"k{i}" for i in range(6)]
        assert list(j) == [None, {"i": [1]}, None, {"i": [3]}, None, {"i": [5]}]  # JSON decoded
        (n,) = db.table_values(SPEC, ["n"], g="b")
        assert list(n) == [1, 3, 5]
        assert [list(c) for c in db.table_values(SPEC, ["k", "n"], g="none")] == [[], []]
        with pytest.raises(ValueError, match="no column 'nope'"):
            db.table_values(SPEC, ["k", "nope"])
        with pytest.raises(ValueError, match="no column 'nope'"):
            db.table_values(SPEC, ["k"], nope=1)
