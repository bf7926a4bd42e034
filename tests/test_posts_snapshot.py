"""The store's columnar snapshot of a table (store/snapshot.py, `table_snapshot`) on both backends: the same
values as the database's read, served from the file once made, never served stale (a write through any of
the store's table methods makes it so), made again when missing or damaged, and the spread analysis's
output the same with and without it."""

from __future__ import annotations

import json
import shutil

import pytest

from leaklens.case import Case
from leaklens.spread.analyse import analyse
from leaklens.spread.ingest import ingest_files
from leaklens.spread.table import POSTS, READ, PostSet, load_posts, parts
from leaklens.store import snapshot
from leaklens.store.base import Column, TableSpec

HEADER = "id,time,author,author_id,text,reply_to,repost_of,quote_of,urls,author_created,platform,hashtags\n"


def _csv(n: int, start: int = 0) -> str:
    """Posts with repeated values (accounts, retweets of the same post: coded columns) and unique ones
    (ids, most texts), a newline inside a field, empty times and creation dates."""
    lines = [HEADER]
    for k in range(start, start + n):
        t = "" if k % 17 == 0 else f"2017-05-05T18:{k % 60:02d}:{k % 59:02d}Z"
        rt = "1" if k % 3 == 0 and k else ""
        text = f'"RT first post, line one\nline two {k % 4}"' if rt else f"post {k} #Tag{k % 5} x.example/{k % 7}"
        created = "" if k % 5 == 0 else str(1490000000 + k % 11)
        lines.append(
            f"{k + 1},{t},user{k % 13},u{k % 13},{text},,{rt},,x.example/{k % 7},{created},twitter,tag{k % 5}\n"
        )
    return "".join(lines)


def _by_parts(db) -> list[list]:
    """The posts' READ columns as the database gives them, part after part (what load_posts read before)."""
    out: list[list] = [[] for _ in READ]
    for p in range(parts(db) + 1):
        for acc, col in zip(out, db.table_values(POSTS, READ, part=p), strict=True):
            acc.extend(col)
    return out


def _snapshot_files(case: Case) -> list:
    return sorted((case.root / snapshot.FOLDER).glob("*.cols"))


def _ingest(case: Case, tmp_path, name: str, text: str) -> None:
    src = tmp_path / name
    src.write_text(text, encoding="utf-8")
    ingest_files(case, [src])


def test_snapshot_equals_the_database_and_is_served_from_its_file(tmp_path, backend, monkeypatch):
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        _ingest(case, tmp_path, "a.csv", _csv(400))
        db = case.db
        made = db.table_snapshot(POSTS, READ, by="part")
        assert [list(c) for c in made] == _by_parts(db)
        assert len(made[0]) == 400
        (path,) = _snapshot_files(case)
        # Served from the file: the database's read is not used again while nothing changed.
        monkeypatch.setattr(type(db), "table_values", lambda *a, **k: pytest.fail("read the database"))
        again = db.table_snapshot(POSTS, READ, by="part")
        assert again == [list(c) for c in made]
        assert _snapshot_files(case) == [path]


def test_a_write_makes_the_snapshot_stale(tmp_path, backend):
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        _ingest(case, tmp_path, "a.csv", _csv(50))
        assert len(load_posts(case.db)) == 50
        token = case.db.get_meta(snapshot.token_key(POSTS))
        _ingest(case, tmp_path, "b.csv", _csv(30, start=50))
        assert case.db.get_meta(snapshot.token_key(POSTS)) != token
        ps = load_posts(case.db)
        assert len(ps) == 80 and [list(c) for c in case.db.table_snapshot(POSTS, READ, by="part")] == _by_parts(case.db)
        # A post changed in place (a merge, a deletion) through the store's methods: stale too.
        row = case.db.get_row(POSTS, ("twitter:2",))
        case.db.put_rows(POSTS, [{**row, "text": "changed"}])
        assert load_posts(case.db).text[load_posts(case.db).index["twitter:2"]] == "changed"
        case.db.delete_rows(POSTS, uid="twitter:3")
        assert "twitter:3" not in load_posts(case.db).index and len(load_posts(case.db)) == 79


def test_a_write_around_the_store_methods_is_caught_by_the_row_count(tmp_path):
    with Case.open(tmp_path / "case", create=True) as case:
        _ingest(case, tmp_path, "a.csv", _csv(20))
        assert len(load_posts(case.db)) == 20
        case.db.conn.execute("DELETE FROM posts WHERE uid = 'twitter:5'")  # no token change
        assert len(load_posts(case.db)) == 19


@pytest.mark.parametrize(
    "damage",
    ["missing", "empty", "garbage", "truncated", "flipped byte", "other header"],
)
def test_a_missing_or_damaged_snapshot_is_made_again(tmp_path, backend, damage):
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        _ingest(case, tmp_path, "a.csv", _csv(120))
        want = _by_parts(case.db)
        load_posts(case.db)
        (path,) = _snapshot_files(case)
        data = path.read_bytes()
        if damage == "missing":
            shutil.rmtree(path.parent)
        elif damage == "empty":
            path.write_bytes(b"")
        elif damage == "garbage":
            path.write_bytes(b"\x00\xff" * 5000)
        elif damage == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "flipped byte":  # inside the payload: only the checksum can tell
            b = bytearray(data)
            b[-100] ^= 0x01
            path.write_bytes(bytes(b))
        else:  # a well-formed file made for another state of the table
            n = int.from_bytes(data[len(snapshot.MAGIC) : len(snapshot.MAGIC) + 8], "little")
            head = json.loads(data[len(snapshot.MAGIC) + 8 : len(snapshot.MAGIC) + 8 + n])
            head["token"] = "someone-else"
            raw = json.dumps(head).encode().ljust(n)
            path.write_bytes(data[: len(snapshot.MAGIC) + 8] + raw + data[len(snapshot.MAGIC) + 8 + n :])
        assert [list(c) for c in case.db.table_snapshot(POSTS, READ, by="part")] == want
        assert path.read_bytes() == data  # made again, the same bytes


def test_the_analysis_is_the_same_with_and_without_the_snapshot(tmp_path, backend):
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        _ingest(case, tmp_path, "a.csv", _csv(300))

        def result() -> dict:
            out = analyse(case, ["#tag1"])
            out.pop("timings_s")
            return out

        shutil.rmtree(case.root / snapshot.FOLDER, ignore_errors=True)
        case.db.snapshot_dir, folder = None, case.db.snapshot_dir  # no folder: every read from SQL
        from_sql = result()
        assert not (case.root / snapshot.FOLDER).exists()
        case.db.snapshot_dir = folder
        result()  # makes the snapshot
        assert _snapshot_files(case)
        assert result() == from_sql  # served from it
        assert from_sql["posts"] > 0 and from_sql["posts_in_case"] == 300


def test_no_snapshot_inside_a_transaction_and_none_for_an_undeclared_table(tmp_path, backend):
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        _ingest(case, tmp_path, "a.csv", _csv(10))
        case.db.begin()
        try:
            assert len(load_posts(case.db)) == 10
            assert not _snapshot_files(case)  # its rows could yet be rolled back
        finally:
            case.db.rollback()
        with pytest.raises(ValueError, match="not declared"):
            case.db.table_snapshot(TableSpec("plain", key=("k",), columns=(Column("k"),)), ["k"])


ODD = TableSpec(
    "snapodd",
    key=("k",),
    columns=(Column("k"), Column("n", "int"), Column("x", "real"), Column("j", "json"), Column("g")),
    snapshot=True,
)


def test_values_no_separator_can_split(tmp_path, backend):
    """Text holding every separator the file could use, NUL and non-BMP characters, None in every column
    type, JSON values: the same values back from the file as from the database."""
    every = "".join(snapshot.SEPARATORS)
    rows = [
        {"k": f"k{i}", "n": None if i % 4 == 0 else i - 3, "x": None if i % 3 == 0 else i / 7,
         "j": None if i % 5 == 0 else {"i": i, "l": [1, "é"]}, "g": [None, "", every, "a\x00b", "😀 x", "g"][i % 6]}
        for i in range(40)
    ]  # fmt: skip
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        db = case.db
        db.put_rows(ODD, rows)
        cols = ["k", "n", "x", "j", "g"]
        want = [list(c) for c in db.table_values(ODD, cols)]
        assert [list(c) for c in db.table_snapshot(ODD, cols)] == want
        assert _snapshot_files(case)
        assert db.table_snapshot(ODD, cols) == want  # from the file
        assert db.table_snapshot(ODD, ["g"]) == [want[4]]  # other columns: a file of their own


def test_an_empty_table(tmp_path, backend):
    with Case.open(tmp_path / "case", create=True, db=backend) as case:
        assert [list(c) for c in case.db.table_snapshot(POSTS, READ, by="part")] == [[] for _ in READ]
        assert len(load_posts(case.db)) == 0
        assert len(PostSet()) == 0


def test_an_unwritable_folder_and_an_untouched_table_are_served(tmp_path):
    """A snapshot folder that cannot be made (a file in its place) leaves the read served from the database;
    a table no write has marked yet (a case from before snapshots) gets a snapshot without a write to it."""
    with Case.open(tmp_path / "case", create=True) as case:
        _ingest(case, tmp_path, "a.csv", _csv(25))
        want = _by_parts(case.db)
        case.db.conn.execute("DELETE FROM meta WHERE key = ?", (snapshot.token_key(POSTS),))
        (case.root / snapshot.FOLDER).write_text("not a folder")
        assert [list(c) for c in case.db.table_snapshot(POSTS, READ, by="part")] == want
        (case.root / snapshot.FOLDER).unlink()
        assert [list(c) for c in case.db.table_snapshot(POSTS, READ, by="part")] == want
        assert _snapshot_files(case) and case.db.get_meta(snapshot.token_key(POSTS)) is None
        _ingest(case, tmp_path, "b.csv", _csv(5, start=25))  # the first write marks it: stale
        assert len(load_posts(case.db)) == 30


def test_long_columns_round_trip_through_the_file(tmp_path):
    """Columns longer than the sample that picks a layout: unique values kept as they are, repeated ones coded,
    a column unique at its start and repeated after (the sample misjudges it: still the same values)."""
    n = snapshot.SAMPLE * 3
    cols = [
        [f"id{i}" for i in range(n)],
        [f"acct{i % 7}" for i in range(n)],
        [f"u{i}" if i < snapshot.SAMPLE else "same" for i in range(n)],
        [None if i % 9 == 0 else i * 0.5 for i in range(n)],
    ]
    path = tmp_path / "t.cols"
    snapshot.write(path, {"count": n}, ["text", "text", "text", "real"], cols)
    assert snapshot.read(path, {"count": n}) == cols
    assert snapshot.read(path, {"count": n + 1}) is None


def test_fsck_and_the_manifest_leave_the_snapshot_out(tmp_path):
    """The snapshot is derived data, not evidence: fsck is as clean with it as without it, damaged or not, and
    the case manifest names the same things."""
    from leaklens.integrity import fsck, manifest_lines

    with Case.open(tmp_path / "case", create=True) as case:
        _ingest(case, tmp_path, "a.csv", _csv(30))
        before = list(manifest_lines(case))
        load_posts(case.db)
        (path,) = _snapshot_files(case)
        path.write_bytes(b"damaged")
        rep = fsck(case)
        assert rep.clean, rep.problems
        assert list(manifest_lines(case)) == before
