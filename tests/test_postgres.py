"""The PostgreSQL store on a real server: several writers at once, the --db wiring, clear errors.

Each test gets a fresh database (conftest's `pg_url`); the store tests that hold for both backends
are in test_store.py and the others parametrised with `backend`.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from helpers import ROOT, build_case

from leaklens.case import Case, case_blobs
from leaklens.errors import LeaklensError, UsageError
from leaklens.model import Item, Result
from leaklens.store.base import Column, TableSpec, TextRecord
from leaklens.store.location import without_password
from leaklens.store.postgres import PostgresStore


def _cli(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leaklens", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def _email(i: int, tag: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"{tag}{i}@horizon.example"
    m["To"] = "press@horizon.example"
    m["Subject"] = f"{tag} {i}"
    m["Message-ID"] = f"<{tag}{i}@horizon.example>"
    m.set_content(f"Message {i} of {tag}.\n")
    m.add_attachment(f"notes {tag} {i}\n".encode(), maintype="text", subtype="plain", filename="notes.txt")
    return bytes(m)


def _mbox(path: Path, n: int, tag: str) -> Path:
    with path.open("wb") as f:
        for i in range(n):
            f.write(b"From sender@example Tue May  2 09:00:00 2017\n" + _email(i, tag).replace(b"\r\n", b"\n") + b"\n")
    return path


def _items(n: int, prefix: str) -> list[Item]:
    return [Item(f"{prefix}{i}", f"{prefix}/{i}", source=prefix, name=str(i), state="stored") for i in range(n)]


def test_row_id_blocks_from_two_connections_never_overlap(pg_url) -> None:
    first = PostgresStore(pg_url)
    first.migrate()
    blocks: list[tuple[int, int]] = []

    def reserve() -> None:
        db = PostgresStore(pg_url)
        for n in (1, 7, 50, 3) * 25:
            blocks.append((db.reserve_rowids(n), n))
        db.close()

    threads = [threading.Thread(target=reserve) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [start + k for start, n in blocks for k in range(n)]
    assert len(ids) == len(set(ids)) == 3 * 25 * 61  # consecutive blocks, each id handed out once
    assert first.reserve_rowids(1) > max(ids)  # a block reserved later starts after every other (gaps allowed)
    assert first.reserve_rowids(5) == first.reserve_rowids(0) - 5  # and is handed out in order


def test_tags_and_notes_from_two_clients_at_once(pg_url, tmp_path) -> None:
    with Case.open(tmp_path / "case", create=True, db=pg_url) as case:
        case.db.insert_pending(_items(20, "i"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def client(name: str) -> None:
        try:
            with Case.open(tmp_path / "case") as c:  # the folder remembers the database
                barrier.wait()
                for i in range(20):
                    c.db.add_tag(f"i{i}", "shared")  # both clients: one row
                    c.db.add_tag(f"i{i}", f"by {name}")
                    c.db.add_note(f"i{i}", f"note by {name}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Case.open(tmp_path / "case") as case:
        assert {t["tag"]: t["count"] for t in case.db.all_tags()} == {"shared": 20, "by alice": 20, "by bob": 20}
        assert case.db.tags_for("i3") == ["by alice", "by bob", "shared"]
        assert sorted(n["body"] for n in case.db.notes_for("i3")) == ["note by alice", "note by bob"]
        assert case.db.tagged_item_ids("shared") == [f"i{i}" for i in range(20)]


def test_two_ingests_of_different_sources_at_once(pg_url, tmp_path) -> None:
    sources = [_mbox(tmp_path / f"{tag}.mbox", 60, tag) for tag in ("north", "south")]
    case = tmp_path / "case"
    # The team's case exists (its database, blob folder and search index) before the two ingests start.
    (tmp_path / "first").mkdir()
    (tmp_path / "first" / "a.txt").write_text("the first file\n")
    first = _cli("ingest", "-q", "--case", case, "--db", pg_url, tmp_path / "first")
    assert first.returncode == 0, first.stderr
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "leaklens", "ingest", "-q", "--workers", "2", "--case", case, "--db", pg_url, s],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for s in sources
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with Case.open(case, db=pg_url) as c:
        acc = c.db.accounting()
        # Each mbox: itself, 60 messages, 60 attachments; nothing lost, nothing twice.
        assert acc["items"] == {"found": 243, "stored": 243, "skipped": 0, "failed": 0, "pending": 0}
        rows = list(c.db.items())
        assert len({r["rowid"] for r in rows}) == len({r["id"] for r in rows}) == 243
        by_source = c.db.counts("source")
        assert by_source == {"first": 1, "north.mbox": 121, "south.mbox": 121}
        assert {r["root"] for r in c.db.sources()} == {"first", "north.mbox", "south.mbox"}
        assert all(r["completed"] for r in c.db.sources())
        findings = c.db.all_findings()
        assert all(len({f.code for f in fs}) == len(fs) for fs in findings.values())  # no finding twice
        emails = [r for r in rows if r["kind"] == "email"]
        assert len(emails) == 120 and all(c.db.texts_for(r["id"], "body") for r in emails)
        # Both runs' items are searchable (each coordinator updated the index, or queued what it could not).
        north, south = (c.db.search(f"{tag} kind:email", limit=1)[0] for tag in ("north", "south"))
        assert north == south == 60
        # Mailbox members are byte ranges of their mbox: readable through the store's ranges.
        some = emails[0]
        assert c.blobs.read(some["sha256"]).startswith(b"From: ")


def test_the_folder_remembers_the_database_without_its_password(pg_url, tmp_path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "m.eml").write_bytes(_email(1, "budget"))
    ingest = _cli("ingest", "--quiet", "--case", tmp_path / "case", "--db", pg_url, tmp_path / "in")
    assert ingest.returncode == 0, ingest.stderr
    remembered = (tmp_path / "case" / "database").read_text().strip()
    assert remembered == without_password(pg_url)
    password = urlsplit(pg_url).password
    assert password and password not in remembered
    # A later command without --db finds the database; the password comes from the environment.
    alone = {"LEAKLENS_DB_GIVEN": ""}  # not the URL this test process was given
    report = _cli("report", "--case", tmp_path / "case", "--format", "jsonl", env={"PGPASSWORD": password, **alone})
    assert report.returncode == 0, report.stderr
    assert {'"kind": "email"' in line for line in report.stdout.splitlines()} == {True, False}
    report = _cli("report", "--case", tmp_path / "case", "--format", "jsonl", env={"LEAKLENS_DB": pg_url, **alone})
    assert report.returncode == 0, report.stderr
    bare = _cli("report", "--case", tmp_path / "case", "--format", "jsonl", env={"PGPASSWORD": "", **alone})
    assert bare.returncode == 2 and "no password supplied" in bare.stderr, bare.stderr
    # Workers open the blob store by the folder alone, with the password as given to the process that
    # started them (a spawned process: nothing inherited but the environment).
    Case.open(tmp_path / "case", db=pg_url).close()
    assert pickle.loads(pickle.dumps(case_blobs(tmp_path / "case")._ranges)).url == pg_url
    script = "import sys; from leaklens.case import case_blobs; print(case_blobs(sys.argv[1])._ranges('0' * 64))"
    worker = subprocess.run(
        [sys.executable, "-c", script, tmp_path / "case"], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "LEAKLENS_DB")},
    )  # fmt: skip
    assert worker.returncode == 0 and worker.stdout.strip() == "None", worker.stderr


def _wrong_password(url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:not-the-password@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def test_one_clear_line_for_a_bad_url_a_dead_server_or_a_wrong_password(pg_url, tmp_path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a\n")
    bad = _cli("ingest", "--case", tmp_path / "c1", "--db", "mysql://x/y", tmp_path / "in")
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "error: bad database URL 'mysql://x/y': use sqlite: or postgresql://[USER@]HOST[:PORT]/DATABASE"
    )
    dead = _cli("ingest", "--case", tmp_path / "c2", "--db", "postgresql://u:secret@127.0.0.1:1/case", tmp_path / "in")
    assert dead.returncode == 2 and len(dead.stderr.strip().splitlines()) == 1, dead.stderr
    assert "cannot connect to PostgreSQL at postgresql://u@127.0.0.1:1/case: Connection refused" in dead.stderr
    assert "secret" not in dead.stderr and not (tmp_path / "c2").exists()  # nothing claimed, nothing left
    wrong = _cli("ingest", "--case", tmp_path / "c3", "--db", _wrong_password(pg_url), tmp_path / "in")
    assert wrong.returncode == 2 and "password authentication failed" in wrong.stderr, wrong.stderr
    assert "not-the-password" not in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1
    # A case folder on one database is not opened on another, nor as SQLite.
    Case.open(tmp_path / "c4", create=True, db=pg_url).close()
    with pytest.raises(UsageError, match="is a case on PostgreSQL"):
        Case.open(tmp_path / "c4", db="sqlite:")
    with pytest.raises(UsageError, match="not postgresql://"):
        Case.open(tmp_path / "c4", db=pg_url + "_other")
    Case.open(tmp_path / "c5", create=True).close()
    with pytest.raises(UsageError, match="is a case on SQLite"):
        Case.open(tmp_path / "c5", db=pg_url)
    server = urlunsplit(urlsplit(pg_url)._replace(path="/postgres"))  # a database, not a case's
    (tmp_path / "c6").mkdir()
    (tmp_path / "c6" / "database").write_text(without_password(server))
    with pytest.raises(LeaklensError, match="is not a leaklens case database"):
        Case.open(tmp_path / "c6", db=server)


def _read_ranges(args: tuple[str, list[str]]) -> list:
    lookup = pickle.loads(args[0])
    return [lookup(sha) for sha in args[1]]


def test_range_lookup_is_picklable_and_connects_in_each_worker(pg_url, tmp_path) -> None:
    with Case.open(tmp_path / "case", create=True, db=pg_url) as case:
        case.db.insert_pending(_items(2, "m"))
        rowids = case.db.rowids(["m0", "m1"])
        ranges = [("a" * 64, "c" * 64, 0, 10), ("b" * 64, "c" * 64, 10, 25)]
        case.db.complete_items(
            [Result(f"m{i}", "stored", sha256=s, size=e - b, range=(c, b, e), rowid=rowids[f"m{i}"])
             for i, (s, c, b, e) in enumerate(ranges)]
        )  # fmt: skip
        lookup = pickle.dumps(case.db.range_lookup())
    for method in ("fork", "spawn"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            got = pool.map(_read_ranges, [(lookup, ["a" * 64, "b" * 64, "d" * 64])] * 2)
        assert got == [[("c" * 64, 0, 10), ("c" * 64, 10, 25), None]] * 2


def test_values_postgresql_cannot_hold_and_staged_writes(pg_url, tmp_path) -> None:
    case = Case.open(tmp_path / "case", create=True, db=pg_url)
    db = case.db
    item = Item("n1", "dump.zip!/a\x00b.txt", source="dump.zip", name="a\x00b.txt", state="pending")
    assert db.insert_pending([item]) == 1 and db.insert_pending([item]) == 0  # known: left as it is
    (row,) = db.items()
    assert row["name"] == "a\x00b.txt"  # NUL kept, though PostgreSQL text has none (store/postgres/nul.py)
    db.put_texts([TextRecord("n1", "ocr", "x\x00y", 50.0), TextRecord("n1", "ocr", "last wins", 60.0)])
    assert db.texts_for("n1") == [TextRecord("n1", "ocr", "last wins", 60.0)]
    spec = TableSpec("t_log", key=(), columns=(Column("a"), Column("n", "int")))
    db.put_rows(spec, [{"a": "x", "n": 1}, {"a": "x", "n": 1}])  # a log keeps every row
    assert db.count_rows(spec) == 2
    keyed = TableSpec("t_keyed", key=("a",), columns=(Column("a"), Column("n", "int")))
    db.put_rows(keyed, [{"a": "x", "n": 1}, {"a": "y", "n": 2}, {"a": "x", "n": 3}])  # one batch, key twice
    assert db.table_rows(keyed) == [{"a": "y", "n": 2}, {"a": "x", "n": 3}]  # replaced rows move last
    db.put_rows(keyed, [{"a": "q\x00\ufdd0", "n": 6}])  # a declared table's text keeps NUL too
    assert db.get_row(keyed, ("q\x00\ufdd0",)) == {"a": "q\x00\ufdd0", "n": 6}
    assert db.delete_rows(keyed, a="q\x00\ufdd0") == 1  # an equality on it matches (its value escaped alike)
    assert db.table_keys(keyed) == {("x",), ("y",)} and db.table_columns(keyed) == {"a", "n"}
    db.begin()
    db.put_rows(keyed, [{"a": "z", "n": 4}])
    db.rollback()
    db.put_rows(keyed, [{"a": "w", "n": 5}])  # the staging table made in the rolled-back transaction is gone
    assert db.get_row(keyed, ("w",)) == {"a": "w", "n": 5} and db.get_row(keyed, ("z",)) is None
    db.drop_table(keyed)
    assert db.table_columns(keyed) == set()
    case.close()


def test_two_processes_open_a_new_case_at_once(pg_url, tmp_path) -> None:
    script = (
        "import sys; from leaklens.case import Case; "
        "Case.open(sys.argv[1], create=True, db=sys.argv[2]).close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, tmp_path / "case", pg_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    from leaklens.store.postgres.migrations import LATEST

    with Case.open(tmp_path / "case", db=pg_url) as case:
        assert case.db.get_meta("schema_version") == str(LATEST) and case.db.migrate() == []


def test_an_ingest_then_everything_reads_the_same_as_on_sqlite(pg_url, tmp_path, monkeypatch) -> None:
    (tmp_path / "in").mkdir()
    _mbox(tmp_path / "in" / "box.mbox", 5, "same")
    (tmp_path / "in" / "loose.eml").write_bytes(_email(9, "loose"))
    lite = build_case(tmp_path, tmp_path / "in", name="lite")
    pg = build_case(tmp_path, tmp_path / "in", name="pg", db=pg_url)

    def rows(case: Case) -> list[dict]:
        return sorted(({k: r[k] for k in r.keys() if k != "rowid"} for r in case.db.items()), key=lambda r: r["id"])

    assert rows(pg) == rows(lite)
    assert pg.db.all_findings() == lite.db.all_findings()
    assert pg.db.accounting() == lite.db.accounting()
    assert {r["id"]: pg.db.texts_for(r["id"]) for r in rows(pg)} == {
        r["id"]: lite.db.texts_for(r["id"]) for r in rows(lite)
    }
    assert list(pg.db.iter_texts(["body"])) == list(lite.db.iter_texts(["body"]))
    from leaklens.store.postgres import database

    monkeypatch.setattr(database, "ITEMS_PAGE", 2)  # items() a page at a time: the same rows, in order
    assert [dict(r) for r in pg.db.items("kind=?", ("email",))] == [
        dict(r) for r in pg.db.conn.execute("SELECT * FROM items WHERE kind='email' ORDER BY rowid")
    ]
