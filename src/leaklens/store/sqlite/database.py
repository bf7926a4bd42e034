"""The case database on SQLite: items, findings, texts, accounting (search: the index of store/index/).

The schema is built by numbered migrations (`migrations.py`), run when a case is opened.
One process writes (the ingest/verify coordinator); workers only read blobs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ... import crashpoints
from ...errors import LeaklensError
from ...model import FAILED, ITEM_FIELDS, PENDING, SKIPPED, STORED, Finding, Item, Result
from .. import snapshot
from ..base import TableSpec, TextRecord, text_source
from ..index import SearchIndexMixin
from ..snapshot import SnapshotMixin
from . import tables
from .annotations import AnnotationsMixin
from .integrity import SqliteIntegrity
from .investigate import InvestigateReads
from .migrations import migrate
from .verify import VerifyQueries

ITEM_COLUMNS = ITEM_FIELDS  # declared once, by the record (model.Item)


_INSERT_FINDING = "INSERT INTO findings(item_id, stage, code, severity, message, evidence) VALUES(?,?,?,?,?,?)"


# json.dumps with options builds an encoder on every call; ingest encodes two values an item.
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode


def _json(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)


def _item(row: sqlite3.Row) -> Item:
    """A row of `items` as the record (its JSON columns read back)."""
    item = Item(*(row[f] for f in ITEM_FIELDS), rowid=row["rowid"])
    item.hints = json.loads(item.hints) if item.hints else None
    item.meta = json.loads(item.meta) if item.meta else None
    return item


class RangeIndex:
    """Which blobs are byte ranges of another (``blob_ranges``), readable from any process and thread.

    Each thread of each process opens its own read-only connection on first use: the blob
    store is used by worker processes and web threads that hold no database of their own.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def __call__(self, sha256: str) -> tuple[str, int, int] | None:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():  # a connection must not cross a fork
            conn = self._local.conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            conn.execute("PRAGMA query_only=1")
            self._local.pid = os.getpid()
        row = conn.execute('SELECT container, start, "end" FROM blob_ranges WHERE sha256=?', (sha256,)).fetchone()
        return (row[0], row[1], row[2]) if row else None


class Database(SnapshotMixin, SearchIndexMixin, AnnotationsMixin, InvestigateReads, VerifyQueries, SqliteIntegrity):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.search_index_dir = self.path.parent / "index"  # the search index beside the case's blobs
        self.snapshot_dir = self.path.parent / snapshot.FOLDER  # whole-table snapshots (store/snapshot.py)
        self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self.conn.execute("PRAGMA cache_size=-65536")
        self._tables_made: set[tuple[str, int]] = set()  # declared tables this connection has ensured

    # -- lifecycle --------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Bring the schema up to date (numbered migrations); returns those applied."""
        return migrate(self.conn)

    create_schema = migrate

    def close(self) -> None:
        self.conn.close()

    def refresh_statistics(self) -> None:
        """Give SQLite's planner table statistics (a sampled ANALYZE, ~0.1 s at 100,000 items) when it
        has none or the case has grown by a quarter since. Without them it guesses, and for "ext:txt
        newest first" walks the whole date index instead of sorting 13,000 rows (150 ms instead of 25 ms)."""
        items = self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        known = int(self.get_meta("analyzed_items", "0") or 0)
        if items and (known == 0 or abs(items - known) > known / 4):
            self.conn.execute("PRAGMA analysis_limit=1000")
            self.conn.execute("ANALYZE")
            self.set_meta("analyzed_items", str(items))

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.conn.in_transaction:
            crashpoints.reached("before-commit")
            if crashpoints.full("db-commit"):  # a test's full disk: the error SQLite gives for one
                raise sqlite3.OperationalError("database or disk is full")
            self.conn.execute("COMMIT")
            crashpoints.reached("commit")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    # -- meta -------------------------------------------------------------------------
    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    # -- sources ----------------------------------------------------------------------
    def source_root_for(self, abspath: str) -> str | None:
        row = self.conn.execute("SELECT root FROM sources WHERE abspath=?", (abspath,)).fetchone()
        return row[0] if row else None

    def root_taken(self, root: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sources WHERE root=?", (root,)).fetchone() is not None

    def add_source(self, root: str, abspath: str, added: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO sources(root, abspath, added) VALUES(?,?,?)", (root, abspath, added))

    def complete_source(self, root: str, when: str) -> None:
        self.conn.execute("UPDATE sources SET completed=? WHERE root=?", (when, root))

    def sources(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM sources ORDER BY added, root").fetchall()

    # -- items ------------------------------------------------------------------------
    def insert_pending(self, items: Iterable[Item]) -> int:
        """Insert newly found items; an item already known (same path) is left as it is.

        An item may carry a ``rowid`` reserved with `reserve_rowids` (None: the store assigns one).
        """
        items = list(items)
        missing = sum(1 for i in items if i.rowid is None)
        first = self.reserve_rowids(missing) if missing else 0

        def values(items: list[Item]) -> Iterator[tuple]:
            nonlocal first
            for i in items:
                rowid = i.rowid
                if rowid is None:
                    rowid, first = first, first + 1
                yield (
                    rowid, i.id, i.path, i.parent, i.source, i.depth, i.name, i.ext, i.origin, i.is_file,
                    i.state, i.reason, i.sha256, i.size, i.kind_hint, _json(i.hints or None),
                )  # fmt: skip

        cur = self.conn.executemany(
            "INSERT OR IGNORE INTO items(rowid, id, path, parent, source, depth, name, ext, origin, is_file, state,"
            " reason, sha256, size, kind_hint, hints) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            values(items),
        )
        return cur.rowcount

    def reserve_rowids(self, n: int) -> int:
        """Reserve `n` consecutive item row ids and return the first.

        The store hands out identity, not its callers: a counter kept in the case (on PostgreSQL
        a sequence), so that several writers can never pick the same id.
        """
        row = self.conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'next_rowid' RETURNING value", (n,)
        ).fetchone()
        return int(row[0]) - n

    def rowids(self, ids: list[str]) -> dict[str, int]:
        marks = ",".join("?" * len(ids))
        return dict(self.conn.execute(f"SELECT id, rowid FROM items WHERE id IN ({marks})", ids).fetchall())

    def pending(self, source: str | None = None, *, after: int = 0, limit: int | None = None) -> Iterator[Item]:
        sql = "SELECT * FROM items WHERE state='pending' AND rowid>?"  # the literal lets SQLite use the partial index
        args: list[Any] = [after]
        if source is not None:
            sql += " AND source=?"
            args.append(source)
        sql += " ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        for row in self.conn.execute(sql, args).fetchall():
            yield _item(row)

    _COMPLETE = (
        "UPDATE items SET state=?, reason=?, sha256=?, size=?, kind=?, mime=?, text_status=?, meta=?, origin=NULL,"
        " email_from=?, email_to=?, email_cc=?, subject=?, date=?, message_id=?, in_reply_to=?, refs=?, verdict=?,"
        " ext=COALESCE(?, ext)"
    )

    @staticmethod
    def _completion(r: Result) -> tuple:
        """The values of _COMPLETE's placeholders, in order: a result's facts as the item's columns."""
        email = r.email or {}
        return (
            r.state, r.reason, r.sha256, r.size, r.kind, r.mime, r.text_status, _json(r.metadata or None),
            email.get("from"), email.get("to"), email.get("cc"), email.get("subject"), email.get("date"),
            email.get("message_id"), email.get("in_reply_to"), email.get("references"), r.verdict, r.ext,
        )  # fmt: skip

    def complete_items(self, results: list[Result]) -> None:
        """Record what reading pending items found, and their text, in a few statements (the search
        queue's triggers queue them for the index).

        Each result carries its item's ``rowid``. The items were pending until now, so they
        have no ingest findings and no index entry yet (a pending item's results are
        committed in one transaction with it).
        """
        completion = self._completion
        self.conn.executemany(self._COMPLETE + " WHERE rowid=?", ((*completion(r), r.rowid) for r in results))
        self._index_and_record(results)

    def _index_and_record(self, results: list[Result]) -> None:
        self.conn.executemany(
            'INSERT OR IGNORE INTO blob_ranges(sha256, container, start, "end") VALUES(?,?,?,?)',
            ((r.sha256, *r.range) for r in results if r.range),
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO texts(item_id, source, text, confidence) VALUES(?,?,?,NULL)",
            ((r.id, text_source(r.kind), r.text) for r in results if r.state == STORED and r.text),
        )
        self.conn.executemany(
            _INSERT_FINDING,
            (
                (r.id, "ingest", f.code, f.severity, f.message, _json(f.evidence) or "{}")
                for r in results
                for f in r.findings
            ),
        )

    def complete_item(self, result: Result) -> None:
        """Record one item's outcome again (e.g. a skipped file seen by a later run)."""
        sql = self._COMPLETE + " WHERE id=? RETURNING rowid"
        rowid = self.conn.execute(sql, (*self._completion(result), result.id)).fetchone()[0]
        self.conn.execute("DELETE FROM findings WHERE item_id=? AND stage='ingest'", (result.id,))
        self.conn.execute("DELETE FROM texts WHERE item_id=? AND source<>'ocr'", (result.id,))
        self._index_and_record([replace(result, rowid=rowid)])

    def replace_findings(self, item_id: str, stage: str, findings: Iterable[Finding]) -> None:
        self.conn.execute("DELETE FROM findings WHERE item_id=? AND +stage=?", (item_id, stage))  # the item index
        self.add_findings(item_id, stage, findings)

    def add_findings(self, item_id: str, stage: str, findings: Iterable[Finding]) -> None:
        self.add_findings_of(((item_id, f) for f in findings), stage)

    def add_findings_of(self, pairs: Iterable[tuple[str, Finding]], stage: str) -> None:
        """(item id, finding) pairs of many items, in one statement."""
        self.conn.executemany(
            _INSERT_FINDING,
            ((item_id, stage, f.code, f.severity, f.message, _json(f.evidence) or "{}") for item_id, f in pairs),
        )

    def findings_for(self, item_id: str, stage: str | None = None) -> list[Finding]:
        sql = "SELECT code, severity, message, evidence FROM findings WHERE item_id=?"
        args: tuple = (item_id,)
        if stage is not None:
            sql += " AND +stage=?"  # by the item index, not findings_stage (every finding of the stage)
            args += (stage,)
        rows = self.conn.execute(sql + " ORDER BY rowid", args)
        return [Finding(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def all_findings(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for r in self.conn.execute("SELECT item_id, code, severity, message, evidence FROM findings ORDER BY rowid"):
            out.setdefault(r[0], []).append(Finding(r[1], r[2], r[3], json.loads(r[4])))
        return out

    # -- texts ------------------------------------------------------------------------
    def put_texts(self, records: Iterable[TextRecord]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO texts(item_id, source, text, confidence) VALUES(?,?,?,?)",
            ((r.item_id, r.source, r.text, r.confidence) for r in records),
        )

    def texts_for(self, item_id: str, source: str | None = None) -> list[TextRecord]:
        sql, args = "SELECT item_id, source, text, confidence FROM texts WHERE item_id=?", [item_id]
        if source is not None:
            sql += " AND source=?"
            args.append(source)
        return [TextRecord(*r) for r in self.conn.execute(sql + " ORDER BY source", args)]

    def iter_texts(self, sources: Sequence[str] | None = None) -> Iterator[TextRecord]:
        sql = "SELECT t.item_id, t.source, t.text, t.confidence FROM texts t JOIN items i ON i.id = t.item_id"
        args: list[Any] = []
        if sources:
            sql += f" WHERE t.source IN ({','.join('?' * len(sources))})"
            args.extend(sources)
        # A cursor of its own: the caller writes while it reads (WAL lets a reader see a steady snapshot).
        cur = self.conn.cursor()
        for row in cur.execute(sql + " ORDER BY i.rowid, t.source", args):
            yield TextRecord(*row)

    def texts_of(self, item_ids: Iterable[str]) -> dict[str, list[TextRecord]]:
        out: dict[str, list[TextRecord]] = {}
        for r in self.conn.execute(
            "SELECT item_id, source, text, confidence FROM texts WHERE item_id IN (SELECT value FROM json_each(?))"
            " ORDER BY item_id, source",
            (json.dumps(list(item_ids)),),
        ):
            out.setdefault(r[0], []).append(TextRecord(*r))
        return out

    # -- the search queue (migration 4): what the index (store/index/) has yet to take -----------
    def search_queue(self, after: int, limit: int) -> list[tuple[str, int]]:
        # A log (migration 5): the row id is the stamp, and an item may be in it more than once.
        return [
            (r[0], r[1])
            for r in self.conn.execute(
                "SELECT item_id, rowid FROM search_queue WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit)
            )
        ]

    def search_queue_done(self, pairs: Iterable[tuple[str, int]]) -> None:
        # The rows taken, by row id (a change since is a row of its own and stays). One statement,
        # so one commit outside a transaction, whatever the number.
        self.conn.execute(
            "DELETE FROM search_queue WHERE rowid IN (SELECT value FROM json_each(?))",
            (json.dumps([stamp for _, stamp in pairs]),),
        )

    def search_queue_compact(self) -> None:
        # One statement: a change committed meanwhile is a newer row, the one its item keeps.
        self.conn.execute(
            "DELETE FROM search_queue WHERE rowid NOT IN (SELECT MAX(rowid) FROM search_queue GROUP BY item_id)"
        )

    def search_queue_all(self, ids: Iterable[str] | None = None) -> None:
        some, args = "", ()
        if ids is not None:
            some, args = " AND id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)
        # An item queued already will be read when the index takes it: once is enough.
        self.conn.execute(
            "INSERT INTO search_queue(item_id) SELECT id FROM items WHERE state = 'stored'"
            " AND id NOT IN (SELECT item_id FROM search_queue)" + some + " ORDER BY rowid",
            args,
        )

    # -- tables declared by steps -------------------------------------------------------
    def ensure_table(self, spec: TableSpec) -> None:
        tables.ensure(self.conn, spec, self._tables_made)

    def put_rows(self, spec: TableSpec, rows: Iterable[Mapping[str, Any]]) -> None:
        self.ensure_table(spec)
        snapshot.touch(self, spec)  # before and after: a snapshot made during the write is stale too
        tables.put(self.conn, spec, rows)
        snapshot.touch(self, spec)

    def put_encoded_rows(self, spec: TableSpec, rows: Iterable[Sequence[Any]]) -> None:
        snapshot.touch(self, spec)
        super().put_encoded_rows(spec, rows)
        snapshot.touch(self, spec)

    def drop_table(self, spec: TableSpec) -> None:
        super().drop_table(spec)
        snapshot.touch(self, spec)

    def get_row(self, spec: TableSpec, key: tuple[Any, ...]) -> dict[str, Any] | None:
        self.ensure_table(spec)
        return tables.get(self.conn, spec, key)

    def table_rows(self, spec: TableSpec, **equal: Any) -> list[dict[str, Any]]:
        self.ensure_table(spec)
        return tables.rows(self.conn, spec, equal)

    def table_values(self, spec: TableSpec, columns: Sequence[str], **equal: Any) -> list[Sequence[Any]]:
        self.ensure_table(spec)
        return tables.column_values(self.conn, spec, columns, equal)

    def delete_rows(self, spec: TableSpec, **equal: Any) -> int:
        self.ensure_table(spec)
        snapshot.touch(self, spec)
        n = tables.delete(self.conn, spec, equal)
        snapshot.touch(self, spec)
        return n

    def table_rows_in(self, spec: TableSpec, column: str, values: Iterable[Any]) -> list[dict[str, Any]]:
        self.ensure_table(spec)
        return tables.rows_in(self.conn, spec, column, values)

    def table_groups(
        self, spec: TableSpec, by: Sequence[str], *, distinct: str | None = None, top: int | None = None, **equal: Any
    ) -> list[tuple[Any, ...]]:
        self.ensure_table(spec)
        return tables.groups(self.conn, spec, by, distinct, top, equal)

    def range_lookup(self) -> RangeIndex:
        return RangeIndex(self.path)

    # -- search: store/sqlite/search.py (SearchMixin); notes and tags: annotations.py (AnnotationsMixin)

    def set_verdict(self, item_id: str, verdict: str) -> None:
        self.conn.execute("UPDATE items SET verdict=? WHERE id=?", (verdict, item_id))

    def item(self, item_id: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM items WHERE id=?", (item_id,)).fetchone()

    def items(self, where: str = "", args: Iterable[Any] = ()) -> Iterator[sqlite3.Row]:
        sql = "SELECT * FROM items" + (f" WHERE {where}" if where else "") + " ORDER BY rowid"
        yield from self.conn.execute(sql, tuple(args))

    def children(self, item_id: str) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM items WHERE parent=? ORDER BY rowid", (item_id,)).fetchall()

    # -- accounting -------------------------------------------------------------------
    def accounting(self) -> dict[str, Any]:
        c = self.conn
        by_state = dict(c.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())
        files = dict(c.execute("SELECT state, COUNT(*) FROM items WHERE is_file=1 GROUP BY state").fetchall())
        reasons = {
            state: [
                {"reason": r[0], "count": r[1]}
                for r in c.execute(
                    "SELECT reason, COUNT(*) FROM items WHERE state=? GROUP BY reason ORDER BY COUNT(*) DESC",
                    (state,),
                )
            ]
            for state in (SKIPPED, FAILED)
        }
        stored_bytes = c.execute("SELECT COALESCE(SUM(size),0) FROM items WHERE state=?", (STORED,)).fetchone()[0]
        unique = c.execute(
            "SELECT COUNT(*), COALESCE(SUM(size),0) FROM (SELECT sha256, MAX(size) AS size FROM items"
            " WHERE state=? GROUP BY sha256)",
            (STORED,),
        ).fetchone()
        return {
            "files": {
                "found": sum(files.values()),
                **{s: files.get(s, 0) for s in (STORED, SKIPPED, FAILED, PENDING)},
            },
            "items": {
                "found": sum(by_state.values()),
                **{s: by_state.get(s, 0) for s in (STORED, SKIPPED, FAILED, PENDING)},
            },
            "skipped_reasons": reasons[SKIPPED],
            "failed_reasons": reasons[FAILED],
            "bytes": {
                "items": stored_bytes,
                "unique_blobs": unique[0],
                "unique_bytes": unique[1],
                # of those, the bytes of mailbox members kept as ranges of their stored mailbox
                "ranged_bytes": c.execute('SELECT COALESCE(SUM("end" - start), 0) FROM blob_ranges').fetchone()[0],
            },
        }

    def expansion_by_source(self) -> dict[str, tuple[int, int]]:
        """source -> (bytes, items) of everything found inside it (the expansion budget spent so far)."""
        rows = self.conn.execute(
            "SELECT source, COALESCE(SUM(size),0), COUNT(*) FROM items WHERE depth>0 GROUP BY source"
        )
        return {source: (size, count) for source, size, count in rows}

    def count_items_of(self, sources: list[str]) -> int:
        marks = ",".join("?" * len(sources))
        return self.conn.execute(f"SELECT COUNT(*) FROM items WHERE source IN ({marks})", sources).fetchone()[0]

    def counts(self, column: str, where: str = "", args: Iterable[Any] = ()) -> dict[str, int]:
        assert column in ITEM_COLUMNS
        sql = f"SELECT {column}, COUNT(*) FROM items" + (f" WHERE {where}" if where else "") + f" GROUP BY {column}"
        return {str(k): v for k, v in self.conn.execute(sql, tuple(args)).fetchall()}


def open_database(path: Path, *, create: bool) -> Database:
    """The case database at `path`, migrated to the current schema; one clear error if it is not one."""
    try:
        db = Database(path)
        if not create and db.get_meta("schema_version") is None:
            raise LeaklensError(f"{path} is not a leaklens case database")
        db.migrate()  # a new case gets every migration; a case from an earlier release, the ones it lacks
        return db
    except sqlite3.DatabaseError as exc:
        raise LeaklensError(f"{path} is not a readable leaklens case database: {exc}") from None
