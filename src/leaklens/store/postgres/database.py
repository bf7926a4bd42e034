"""The case database on PostgreSQL: the whole `CaseStore`, for a case that several leaklens
processes (ingests of different sources, verify, web users) use at once.

Conventions every mixin of this store follows (store/postgres/{verify,investigate}.py too):
`self.conn` is a psycopg 3 `Connection` opened with autocommit=True, so that a statement outside
a transaction commits by itself, as on SQLite with isolation_level=None; transactions are
explicit, `begin()` / `commit()` / `rollback()` issuing BEGIN / COMMIT / ROLLBACK. Placeholders
are `%s`. Rows read back as `Row`: by position, by column name, and `dict(row)`, like
sqlite3.Row. Bulk writes go through COPY (`cursor.copy`), never a statement per row.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import pq, sql

from ... import crashpoints
from ...errors import LeaklensError
from ...model import FAILED, ITEM_FIELDS, PENDING, SKIPPED, STORED, Finding, Item, Result
from .. import snapshot
from ..base import TableSpec, TextRecord, text_source
from ..index import SearchIndexMixin
from ..location import without_password
from ..snapshot import SnapshotMixin
from . import nul, tables
from .annotations import PgAnnotations
from .integrity import PgIntegrity
from .investigate import PgInvestigateReads
from .migrations import migrate
from .verify import PgVerifyQueries

# The advisory lock key of row id reservations (any constant, the same in every leaklens process).
ROWID_LOCK = 0x1EA7B10C

# json.dumps with options builds an encoder on every call; ingest encodes two values an item.
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode


def _json(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)


def _item(row: Any) -> Item:
    """A row of `items` as the record (its JSON columns read back)."""
    item = Item(*(row[f] for f in ITEM_FIELDS), rowid=row["rowid"])
    item.hints = json.loads(item.hints) if item.hints else None
    item.meta = json.loads(item.meta) if item.meta else None
    return item


def _marks(sql_text: str) -> str:
    """A caller's condition written with SQLite's `?` placeholders, with psycopg's."""
    return sql_text.replace("%", "%%").replace("?", "%s")


_PENDING_COLUMNS = (
    "rowid", "id", "path", "parent", "source", "depth", "name", "ext", "origin", "is_file", "state",
    "reason", "sha256", "size", "kind_hint", "hints",
)  # fmt: skip
_COMPLETE_COLUMNS = (
    "rowid", "state", "reason", "sha256", "size", "kind", "mime", "text_status", "meta", "email_from",
    "email_to", "email_cc", "subject", "date", "message_id", "in_reply_to", "refs", "verdict", "ext",
)  # fmt: skip
_COMPLETE_SET = ", ".join(f"{c}=s.{c}" for c in _COMPLETE_COLUMNS[1:-1]) + ", origin=NULL, ext=COALESCE(s.ext, i.ext)"
_FINDING_COLUMNS = ("item_id", "stage", "code", "severity", "message", "evidence")
_INTS = {"rowid", "depth", "is_file", "size"}
_PENDING_TYPES = tuple("bigint" if c in _INTS else "text" for c in _PENDING_COLUMNS)
_COMPLETE_TYPES = tuple("bigint" if c in _INTS else "text" for c in _COMPLETE_COLUMNS)
ITEMS_PAGE = 5000  # rows of `items()` read at a time
ROWID_BLOCK = 1000  # item row ids a connection reserves from the sequence at a time


class Row:
    """One row: by position, by column name, iterable over its values, `dict(row)` (as sqlite3.Row)."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: int | slice | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values and self._index == other._index
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def row_factory(cursor: Any):
    """psycopg's row factory for `Row`."""
    desc = cursor.description
    if desc is None:
        return tuple
    index = {c.name: n for n, c in enumerate(desc)}
    decode = nul.decoder(cursor)  # text comes back as it went in (NUL kept: store/postgres/nul.py)
    if decode is None:
        return lambda values: Row(values, index)
    return lambda values: Row(decode(values), index)


def connect(url: str) -> psycopg.Connection:
    """An autocommit connection; one clear line (LeaklensError) for a bad URL, an unreachable
    server, a wrong password or a missing database."""
    shown = without_password(url)
    try:
        conn = psycopg.connect(url, autocommit=True, row_factory=row_factory, connect_timeout=10)
    except psycopg.ProgrammingError as exc:  # the URL itself cannot be read
        raise LeaklensError(f"bad PostgreSQL URL {shown}: {_first_line(exc)}") from None
    except psycopg.OperationalError as exc:
        raise LeaklensError(f"cannot connect to PostgreSQL at {shown}: {_first_line(exc)}") from None
    nul.register(conn)  # every str sent is escaped, so that a NUL is kept (store/postgres/nul.py)
    return conn


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
    # libpq says where it tried first ("connection failed: connection to server at ... failed: ..."):
    # the URL shown says that already. A second line is its hint ("Is the server running ...?").
    text = lines[0].rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    if len(lines) > 1 and lines[1].startswith("Is the server"):
        text += f" ({lines[1][0].lower()}{lines[1][1:]})"
    if "no password supplied" in text:
        text += " (give it in the URL, in LEAKLENS_DB, in PGPASSWORD or in ~/.pgpass)"
    return text


class PostgresStore(SnapshotMixin, SearchIndexMixin, PgAnnotations, PgVerifyQueries, PgInvestigateReads, PgIntegrity):
    """The case store on one PostgreSQL database (one database per case)."""

    def __init__(self, url: str, index_dir: Path | None = None) -> None:
        self.url = url
        # The search index's folder: DIR/index beside the case's blobs (Case.open names it; a store
        # opened without a case folder has none, and searching it is an error, not a folder made here).
        self.search_index_dir = index_dir
        # Whole-table snapshots (store/snapshot.py) in the same case folder; none without one.
        self.snapshot_dir = index_dir.parent / snapshot.FOLDER if index_dir is not None else None
        self.conn = connect(url)
        self._tables_made: set[tuple[str, int]] = set()  # declared tables this connection has ensured
        self._temps: set[str] = set()  # the temporary staging tables this connection has made
        self._staged: set[str] = set()  # ... and those filled in the transaction under way
        self._ids = (0, 0)  # the block of item row ids reserved and not handed out yet: [next, end)

    @property
    def path(self) -> str:
        """What messages name the case database by (never with its password)."""
        return without_password(self.url)

    # -- lifecycle --------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Bring the schema up to date (numbered migrations); returns those applied."""
        return migrate(self.conn)

    def close(self) -> None:
        self.conn.close()

    def begin(self) -> None:
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        if self.in_transaction:
            crashpoints.reached("before-commit")
            if crashpoints.full("db-commit"):  # a test's full disk: the error PostgreSQL gives for one
                raise psycopg.errors.DiskFull("could not extend file: No space left on device")
            self.conn.execute("COMMIT")
            self._staged.clear()
            crashpoints.reached("commit")

    def rollback(self) -> None:
        if self.in_transaction:
            self.conn.execute("ROLLBACK")
        self._temps.clear()  # staging tables made in the transaction are gone with it
        self._staged.clear()

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != pq.TransactionStatus.IDLE

    def refresh_statistics(self) -> None:
        """ANALYZE when the case has grown by a quarter since the last (autovacuum does it too, later)."""
        items = self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        known = int(self.get_meta("analyzed_items", "0") or 0)
        if items and (known == 0 or abs(items - known) > known / 4):
            self.conn.execute("ANALYZE")
            self.set_meta("analyzed_items", str(items))

    # -- meta -------------------------------------------------------------------------
    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES(%s, %s) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=%s", (key,)).fetchone()
        return row[0] if row else default

    # -- bulk writes: COPY ----------------------------------------------------------------
    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """Inside the caller's transaction, or a transaction of its own (a staged write is several statements)."""
        if self.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            self._temps.clear()
            self._staged.clear()
            raise
        self.conn.execute("COMMIT")
        self._staged.clear()

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """COPY the rows into the table (its other columns get their defaults); returns how many."""
        n = 0
        stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with self.conn.cursor() as cur, cur.copy(stmt) as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n

    def _stage(self, name: str, like: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """COPY the rows into this connection's staging table `name` (the columns of `like`, and `_n`:
        their order), emptied first; returns how many. The caller merges them with one statement."""
        if name not in self._temps:
            cols = ", ".join(f'"{c}"' for c in columns)
            self.conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {name} AS SELECT 0::bigint AS _n, {cols} FROM {like} WITH NO DATA"
            )
            self._temps.add(name)
        # Rows deleted inside a transaction stay until it ends, so a DELETE there costs more at each
        # batch; TRUNCATE costs the same each time (more than a DELETE of nothing).
        again = name in self._staged
        self.conn.execute(f"TRUNCATE {name}" if again else f"DELETE FROM {name}")
        if self.in_transaction:
            self._staged.add(name)
        return self._copy(name, ("_n", *columns), ((n, *r) for n, r in enumerate(rows)))

    @staticmethod
    def _unnest(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> tuple[str, list[list[Any]]]:
        """(`unnest(...) WITH ORDINALITY AS s(columns..., _n)`, its arguments): rows as one array per
        column, for a merge (an upsert, an update) in one statement. A staging table filled by COPY
        would cost a statement more, and emptying it again inside a long transaction grows with every
        batch (the rows deleted there stay until the transaction ends)."""
        arrays = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in columns]
        fragment = (
            "unnest(" + ", ".join(f"%s::{t}[]" for _, t in columns) + ") WITH ORDINALITY AS s("
            + ", ".join(f'"{c}"' for c, _ in columns) + ", _n)"
        )  # fmt: skip
        return fragment, arrays

    # -- sources ----------------------------------------------------------------------
    def source_root_for(self, abspath: str) -> str | None:
        row = self.conn.execute("SELECT root FROM sources WHERE abspath=%s", (abspath,)).fetchone()
        return row[0] if row else None

    def root_taken(self, root: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sources WHERE root=%s", (root,)).fetchone() is not None

    def add_source(self, root: str, abspath: str, added: str) -> None:
        self.conn.execute(
            "INSERT INTO sources(root, abspath, added) VALUES(%s,%s,%s) ON CONFLICT DO NOTHING",
            (root, abspath, added),
        )

    def complete_source(self, root: str, when: str) -> None:
        self.conn.execute("UPDATE sources SET completed=%s WHERE root=%s", (when, root))

    def sources(self) -> list[Row]:
        return self.conn.execute('SELECT * FROM sources ORDER BY added, root COLLATE "C"').fetchall()

    # -- items ------------------------------------------------------------------------
    def reserve_rowids(self, n: int) -> int:
        """Reserve `n` consecutive item row ids and return the first.

        From the sequence `items_rowid_seq`, which no transaction holds, a block of at least
        ROWID_BLOCK at a time, handed out by this connection: two ingests at once each have their own
        blocks (and a run never waits on the sequence per container). A block is taken under a short
        advisory lock, so that no other writer's `nextval` falls inside it. Ids left in a block when
        the connection closes are never used: row ids have gaps, never a duplicate.
        """
        nxt, end = self._ids
        if end - nxt < max(n, 1):
            size = max(n, ROWID_BLOCK)
            self.conn.execute("SELECT pg_advisory_lock(%s)", (ROWID_LOCK,))
            try:
                nxt = int(self.conn.execute("SELECT nextval('items_rowid_seq')").fetchone()[0])
                self.conn.execute("SELECT setval('items_rowid_seq', %s)", (nxt + size - 1,))
            finally:
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (ROWID_LOCK,))
            end = nxt + size
        self._ids = (nxt + n, end)
        return nxt

    def insert_pending(self, items: Iterable[Item]) -> int:
        """Insert newly found items; an item already known (same id or path) is left as it is.

        An item may carry a ``rowid`` reserved with `reserve_rowids` (None: the store assigns one).
        New items (the common case) are one COPY; when some are known already (a run again, a resumed
        one), the COPY is undone to its savepoint and the rows merged with ON CONFLICT DO NOTHING.
        """
        items = list(items)
        if not items:
            return 0
        missing = sum(1 for i in items if i.rowid is None)
        first = self.reserve_rowids(missing) if missing else 0
        rows = []
        for i in items:
            rowid = i.rowid
            if rowid is None:
                rowid, first = first, first + 1
            rows.append((
                rowid, i.id, i.path, i.parent, i.source, i.depth, i.name, i.ext, i.origin, int(i.is_file or 0),
                i.state, i.reason, i.sha256, i.size, i.kind_hint, _json(i.hints or None),
            ))  # fmt: skip
        with self._atomic():
            self.conn.execute("SAVEPOINT pending")
            try:
                n = self._copy("items", _PENDING_COLUMNS, rows)
            except psycopg.errors.UniqueViolation:
                self.conn.execute("ROLLBACK TO SAVEPOINT pending")
            else:
                self.conn.execute("RELEASE SAVEPOINT pending")
                return n
            cols = ", ".join(_PENDING_COLUMNS)
            source, args = self._unnest(list(zip(_PENDING_COLUMNS, _PENDING_TYPES, strict=True)), rows)
            cur = self.conn.execute(
                f"INSERT INTO items({cols}) SELECT {cols} FROM {source} ORDER BY _n ON CONFLICT DO NOTHING", args
            )
            self.conn.execute("RELEASE SAVEPOINT pending")
        return cur.rowcount

    def rowids(self, ids: list[str]) -> dict[str, int]:
        rows = self.conn.execute("SELECT id, rowid FROM items WHERE id = ANY(%s)", (list(ids),))
        return {r[0]: r[1] for r in rows}

    def pending(self, source: str | None = None, *, after: int = 0, limit: int | None = None) -> Iterator[Item]:
        query, args = "SELECT * FROM items WHERE state='pending' AND rowid>%s", [after]
        if source is not None:
            query += " AND source=%s"
            args.append(source)
        query += " ORDER BY rowid"
        if limit is not None:
            query += " LIMIT %s"
            args.append(limit)
        for row in self.conn.execute(query, args).fetchall():
            yield _item(row)

    @staticmethod
    def _completion(r: Result) -> tuple:
        """A result's facts as the item's columns (_COMPLETE_COLUMNS after the rowid)."""
        email = r.email or {}
        return (
            r.state, r.reason, r.sha256, r.size, r.kind, r.mime, r.text_status, _json(r.metadata or None),
            email.get("from"), email.get("to"), email.get("cc"), email.get("subject"), email.get("date"),
            email.get("message_id"), email.get("in_reply_to"), email.get("references"), r.verdict, r.ext,
        )  # fmt: skip

    def complete_items(self, results: list[Result]) -> None:
        """Record what reading pending items found, and their texts, in a few statements.

        Each result carries its item's ``rowid``. The items were pending until now, so they have no
        ingest findings and no texts yet (a pending item's results are committed in one transaction with it).
        """
        if not results:
            return
        completion = self._completion
        source, args = self._unnest(
            list(zip(_COMPLETE_COLUMNS, _COMPLETE_TYPES, strict=True)), [(r.rowid, *completion(r)) for r in results]
        )
        with self._atomic():
            self.conn.execute(f"UPDATE items i SET {_COMPLETE_SET} FROM {source} WHERE i.rowid = s.rowid", args)
            self._record(results)

    def _record(self, results: list[Result]) -> None:
        """A batch's byte ranges, texts and ingest findings."""
        ranges = list({r.sha256: (r.sha256, *r.range) for r in reversed(results) if r.range}.values())
        if ranges:
            # blob_ranges has no unique key: two ingests storing the same bytes at once then never wait
            # on each other's uncommitted row (nor deadlock); a fact written twice is the same fact.
            source, args = self._unnest(
                (("sha256", "text"), ("container", "text"), ("start", "bigint"), ("end", "bigint")), ranges
            )
            self.conn.execute(
                f'INSERT INTO blob_ranges(sha256, container, start, "end") SELECT s.sha256, s.container, s.start,'
                f' s."end" FROM {source} WHERE NOT EXISTS (SELECT 1 FROM blob_ranges b WHERE b.sha256 = s.sha256)',
                args,
            )
        self._put_texts((r.id, text_source(r.kind), r.text, None) for r in results if r.state == STORED and r.text)
        self._copy(
            "findings",
            _FINDING_COLUMNS,
            (
                (r.id, "ingest", f.code, f.severity, f.message, _json(f.evidence) or "{}")
                for r in results
                for f in r.findings
            ),
        )

    def complete_item(self, result: Result) -> None:
        """Record one item's outcome again (e.g. a skipped file seen by a later run)."""
        sets = ", ".join(f"{c}=%s" for c in _COMPLETE_COLUMNS[1:-1]) + ", origin=NULL, ext=COALESCE(%s, ext)"
        with self._atomic():
            row = self.conn.execute(
                f"UPDATE items SET {sets} WHERE id=%s RETURNING rowid", (*self._completion(result), result.id)
            ).fetchone()
            self.conn.execute("DELETE FROM findings WHERE item_id=%s AND stage='ingest'", (result.id,))
            self.conn.execute("DELETE FROM texts WHERE item_id=%s AND source<>'ocr'", (result.id,))
            self._record([replace(result, rowid=row[0])])

    def set_verdict(self, item_id: str, verdict: str) -> None:
        self.conn.execute("UPDATE items SET verdict=%s WHERE id=%s", (verdict, item_id))

    def item(self, item_id: str) -> Row | None:
        return self.conn.execute("SELECT * FROM items WHERE id=%s", (item_id,)).fetchone()

    def items(self, where: str = "", args: Iterable[Any] = ()) -> Iterator[Row]:
        """Every item (those matching a condition written with `?` placeholders), in the order found:
        a page of ITEMS_PAGE rows at a time, by row id (a report over millions of items holds one page)."""
        args = tuple(args)
        cond = f"({_marks(where)}) AND " if where else ""
        query = f"SELECT * FROM items WHERE {cond}rowid > %s ORDER BY rowid LIMIT {ITEMS_PAGE}"
        after = -1
        while True:
            rows = self.conn.execute(query, (*args, after)).fetchall()
            yield from rows
            if len(rows) < ITEMS_PAGE:
                return
            after = rows[-1]["rowid"]

    def children(self, item_id: str) -> list[Row]:
        return self.conn.execute("SELECT * FROM items WHERE parent=%s ORDER BY rowid", (item_id,)).fetchall()

    # -- findings ---------------------------------------------------------------------
    def replace_findings(self, item_id: str, stage: str, findings: Iterable[Finding]) -> None:
        with self._atomic():
            self.conn.execute("DELETE FROM findings WHERE item_id=%s AND stage=%s", (item_id, stage))
            self.add_findings(item_id, stage, findings)

    def add_findings(self, item_id: str, stage: str, findings: Iterable[Finding]) -> None:
        self.add_findings_of(((item_id, f) for f in findings), stage)

    def add_findings_of(self, pairs: Iterable[tuple[str, Finding]], stage: str) -> None:
        """(item id, finding) pairs of many items, in one COPY."""
        rows = [(item_id, stage, f.code, f.severity, f.message, _json(f.evidence) or "{}") for item_id, f in pairs]
        if rows:
            self._copy("findings", _FINDING_COLUMNS, rows)

    def findings_for(self, item_id: str, stage: str | None = None) -> list[Finding]:
        query, args = "SELECT code, severity, message, evidence FROM findings WHERE item_id=%s", [item_id]
        if stage is not None:
            query += " AND stage=%s"
            args.append(stage)
        rows = self.conn.execute(query + " ORDER BY rowid", args)
        return [Finding(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def all_findings(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        with self.conn.cursor() as cur:
            for r in cur.execute("SELECT item_id, code, severity, message, evidence FROM findings ORDER BY rowid"):
                out.setdefault(r[0], []).append(Finding(r[1], r[2], r[3], json.loads(r[4])))
        return out

    # -- texts ------------------------------------------------------------------------
    def put_texts(self, records: Iterable[TextRecord]) -> None:
        with self._atomic():
            self._put_texts((r.item_id, r.source, r.text, r.confidence) for r in records)

    def _put_texts(self, rows: Iterable[tuple[str, str, str, float | None]]) -> None:
        # The last record of an (item, source) wins, as INSERT OR REPLACE would have it.
        rows = list({(r[0], r[1]): r for r in rows}.values())
        if not rows:
            return
        source, args = self._unnest(
            (("item_id", "text"), ("source", "text"), ("text", "text"), ("confidence", "float8")), rows
        )
        self.conn.execute(
            f"INSERT INTO texts(item_id, source, text, confidence) SELECT item_id, source, text, confidence"
            f" FROM {source} ON CONFLICT (item_id, source) DO UPDATE SET text=EXCLUDED.text,"
            " confidence=EXCLUDED.confidence",
            args,
        )

    def texts_for(self, item_id: str, source: str | None = None) -> list[TextRecord]:
        query, args = "SELECT item_id, source, text, confidence FROM texts WHERE item_id=%s", [item_id]
        if source is not None:
            query += " AND source=%s"
            args.append(source)
        return [TextRecord(*r) for r in self.conn.execute(query + ' ORDER BY source COLLATE "C"', args)]

    def iter_texts(self, sources: Sequence[str] | None = None) -> Iterator[TextRecord]:
        """Every text record (of these sources), item by item in the order found, a page at a time
        (by key, so the caller may write between pages and memory stays one page)."""
        query = (
            "SELECT i.rowid, t.item_id, t.source, t.text, t.confidence FROM texts t JOIN items i ON i.id = t.item_id"
            ' WHERE (i.rowid, t.source COLLATE "C") > (%s, %s)'
        )
        args: list[Any] = []
        if sources:
            query += " AND t.source = ANY(%s)"
            args.append(list(sources))
        query += ' ORDER BY i.rowid, t.source COLLATE "C" LIMIT 500'
        key: tuple[int, str] = (-1, "")
        while True:
            rows = self.conn.execute(query, [*key, *args]).fetchall()
            for r in rows:
                yield TextRecord(r[1], r[2], r[3], r[4])
            if len(rows) < 500:
                return
            key = (rows[-1][0], rows[-1][2])

    def texts_of(self, item_ids: Iterable[str]) -> dict[str, list[TextRecord]]:
        out: dict[str, list[TextRecord]] = {}
        for r in self.conn.execute(
            "SELECT item_id, source, text, confidence FROM texts WHERE item_id = ANY(%s)"
            ' ORDER BY item_id COLLATE "C", source COLLATE "C"',
            (list(item_ids),),
        ):
            out.setdefault(r[0], []).append(TextRecord(*r))
        return out

    # -- the search queue (migration 2): what the index (store/index/) has yet to take ------------
    def search_queue(self, after: int, limit: int) -> list[tuple[str, int]]:
        rows = self.conn.execute(
            "SELECT item_id, stamp FROM search_queue WHERE stamp > %s ORDER BY stamp LIMIT %s", (after, limit)
        )
        return [(r[0], r[1]) for r in rows]

    def search_queue_done(self, pairs: Iterable[tuple[str, int]]) -> None:
        pairs = list(pairs)
        if not pairs:
            return
        # Only with the stamp taken: an item changed again since stays queued. A row another writer
        # holds (re-stamping it in a transaction still open) is skipped, not waited for: it stays too.
        self.conn.execute(
            "DELETE FROM search_queue WHERE ctid IN (SELECT q.ctid FROM search_queue q"
            " JOIN unnest(%s::text[], %s::bigint[]) AS d(item_id, stamp) ON q.item_id = d.item_id"
            " AND q.stamp = d.stamp FOR UPDATE OF q SKIP LOCKED)",
            ([p[0] for p in pairs], [p[1] for p in pairs]),
        )

    def search_queue_compact(self) -> None:
        pass  # one entry an item already: a change re-stamps it (migration 2's upsert)

    def search_queue_all(self, ids: Iterable[str] | None = None) -> None:
        some, args = "", ()
        if ids is not None:
            some, args = " AND id = ANY(%s)", (list(ids),)
        self.conn.execute(
            "INSERT INTO search_queue(item_id, stamp) SELECT id, nextval('search_queue_stamp_seq') FROM"
            " (SELECT id FROM items WHERE state = 'stored'" + some + " ORDER BY rowid) s"
            " ON CONFLICT (item_id) DO UPDATE SET stamp = EXCLUDED.stamp",
            args,
        )

    # -- tables declared by steps -------------------------------------------------------
    def ensure_table(self, spec: TableSpec) -> None:
        marker = (spec.name, spec.version)
        if marker not in self._tables_made:
            tables.ensure(self.conn, spec, self.in_transaction)
            self._tables_made.add(marker)

    def put_rows(self, spec: TableSpec, rows: Iterable[Mapping[str, Any]]) -> None:
        self.put_encoded_rows(spec, (tables.encode(spec, r) for r in rows))

    def put_encoded_rows(self, spec: TableSpec, rows: Iterable[Sequence[Any]]) -> None:
        self.ensure_table(spec)
        rows = list(rows)
        if not rows:
            return
        with self._atomic():
            snapshot.touch(self, spec)  # in the write's transaction: its snapshots are stale once it commits
            if not spec.key:  # a log: rows are only added
                self._copy(spec.name, spec.column_names, rows)
                return
            # INSERT OR REPLACE, one statement: the last row of a key wins and goes last, as on SQLite.
            at = [spec.column_names.index(k) for k in spec.key]
            last: dict[tuple, Sequence[Any]] = {}
            for r in rows:
                key = tuple(r[i] for i in at)
                last.pop(key, None)
                last[key] = r
            source, args = self._unnest(tables.typed(spec), list(last.values()))
            self.conn.execute(tables.merge_sql(spec, source), args)

    def get_row(self, spec: TableSpec, key: tuple[Any, ...]) -> dict[str, Any] | None:
        found = self.table_rows(spec, **dict(zip(spec.key, key, strict=True)))
        return found[0] if found else None

    def table_rows(self, spec: TableSpec, **equal: Any) -> list[dict[str, Any]]:
        self.ensure_table(spec)
        where, args = tables.where(spec, equal)
        rows = self.conn.execute(
            f"SELECT {tables.names(spec.column_names)} FROM {spec.name}{where} ORDER BY rowid", args
        )
        return [tables.decode(spec, r) for r in rows]

    def table_values(self, spec: TableSpec, columns: Sequence[str], **equal: Any) -> list[Sequence[Any]]:
        self.ensure_table(spec)
        spec.check_columns(columns)
        where, args = tables.where(spec, equal)
        rows = self.conn.execute(f"SELECT {tables.names(columns)} FROM {spec.name}{where} ORDER BY rowid", args)
        return spec.columnar(columns, rows.fetchall())

    def delete_rows(self, spec: TableSpec, **equal: Any) -> int:
        self.ensure_table(spec)
        where, args = tables.where(spec, equal)
        with self._atomic():
            snapshot.touch(self, spec)
            return self.conn.execute(f"DELETE FROM {spec.name}{where}", args).rowcount

    def table_rows_in(self, spec: TableSpec, column: str, values: Iterable[Any]) -> list[dict[str, Any]]:
        self.ensure_table(spec)
        if column not in spec.column_names:
            raise ValueError(f"{spec.name} has no column {column!r}")
        rows = self.conn.execute(
            f"SELECT {tables.names(spec.column_names)} FROM {spec.name}"
            f" WHERE {tables.q(column)} = ANY(%s) ORDER BY rowid",
            (list(values),),
        )
        return [tables.decode(spec, r) for r in rows]

    def table_groups(
        self, spec: TableSpec, by: Sequence[str], *, distinct: str | None = None, top: int | None = None, **equal: Any
    ) -> list[tuple[Any, ...]]:
        self.ensure_table(spec)
        if not by or not set(by) | ({distinct} if distinct else set()) <= set(spec.column_names):
            raise ValueError(f"{spec.name}: cannot group by {list(by)!r}")
        where, args = tables.where(spec, equal)
        cols = tables.names(by)
        counted = f"COUNT(DISTINCT {tables.q(distinct)})" if distinct else "COUNT(*)"
        # Ties in SQLite's order (byte order of the values), whatever the database's collation.
        ties = ", ".join(f'{tables.q(c)}::text COLLATE "C"' for c in by)
        query = (
            f"SELECT {cols}, COUNT(*), {counted} FROM {spec.name}{where} GROUP BY {cols} ORDER BY COUNT(*) DESC, {ties}"
        )
        if top is not None:
            query += " LIMIT %s"
            args = [*args, int(top)]
        return [tuple(r) for r in self.conn.execute(query, args)]

    def table_keys(self, spec: TableSpec, **equal: Any) -> set[tuple[Any, ...]]:
        self.ensure_table(spec)
        where, args = tables.where(spec, equal)
        return {tuple(r) for r in self.conn.execute(f"SELECT {tables.names(spec.key)} FROM {spec.name}{where}", args)}

    def count_rows(self, spec: TableSpec) -> int:
        self.ensure_table(spec)
        return self.conn.execute(f"SELECT COUNT(*) FROM {spec.name}").fetchone()[0]

    def table_columns(self, spec: TableSpec) -> set[str]:
        tables._check(spec)
        return tables.column_names(self.conn, spec.name)

    def drop_table(self, spec: TableSpec) -> None:
        tables._check(spec)
        self.conn.execute(f"DROP TABLE IF EXISTS {spec.name}")
        self._tables_made -= {m for m in self._tables_made if m[0] == spec.name}
        self._temps -= {t for t in self._temps if t.startswith(f"_in_t_{spec.name}_")}
        snapshot.touch(self, spec)

    def range_lookup(self) -> PgRangeIndex:
        return PgRangeIndex(self.url)

    # -- accounting -------------------------------------------------------------------
    def accounting(self) -> dict[str, Any]:
        c = self.conn
        by_state = {r[0]: r[1] for r in c.execute("SELECT state, COUNT(*) FROM items GROUP BY state")}
        files = {r[0]: r[1] for r in c.execute("SELECT state, COUNT(*) FROM items WHERE is_file=1 GROUP BY state")}
        reasons = {
            state: [
                {"reason": r[0], "count": r[1]}
                for r in c.execute(
                    "SELECT reason, COUNT(*) FROM items WHERE state=%s GROUP BY reason"
                    ' ORDER BY COUNT(*) DESC, reason COLLATE "C"',
                    (state,),
                )
            ]
            for state in (SKIPPED, FAILED)
        }
        stored_bytes = c.execute("SELECT COALESCE(SUM(size),0) FROM items WHERE state=%s", (STORED,)).fetchone()[0]
        unique = c.execute(
            "SELECT COUNT(*), COALESCE(SUM(size),0) FROM (SELECT sha256, MAX(size) AS size FROM items"
            " WHERE state=%s GROUP BY sha256) u",
            (STORED,),
        ).fetchone()
        ranged = c.execute(
            'SELECT COALESCE(SUM(n), 0) FROM (SELECT DISTINCT ON (sha256) "end" - start AS n FROM blob_ranges) r'
        ).fetchone()[0]
        return {
            "files": {"found": sum(files.values()), **{s: files.get(s, 0) for s in (STORED, SKIPPED, FAILED, PENDING)}},
            "items": {
                "found": sum(by_state.values()),
                **{s: by_state.get(s, 0) for s in (STORED, SKIPPED, FAILED, PENDING)},
            },
            "skipped_reasons": reasons[SKIPPED],
            "failed_reasons": reasons[FAILED],
            "bytes": {
                "items": int(stored_bytes),
                "unique_blobs": unique[0],
                "unique_bytes": int(unique[1]),
                # of those, the bytes of mailbox members kept as ranges of their stored mailbox
                "ranged_bytes": int(ranged),
            },
        }

    def expansion_by_source(self) -> dict[str, tuple[int, int]]:
        """source -> (bytes, items) of everything found inside it (the expansion budget spent so far)."""
        rows = self.conn.execute(
            "SELECT source, COALESCE(SUM(size),0), COUNT(*) FROM items WHERE depth>0 GROUP BY source"
        )
        return {source: (int(size), count) for source, size, count in rows}

    def count_items_of(self, sources: list[str]) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM items WHERE source = ANY(%s)", (list(sources),)).fetchone()[0]

    def counts(self, column: str, where: str = "", args: Iterable[Any] = ()) -> dict[str, int]:
        assert column in ITEM_FIELDS
        query = f"SELECT {column}, COUNT(*) FROM items" + (f" WHERE {_marks(where)}" if where else "")
        return {str(k): v for k, v in self.conn.execute(query + f" GROUP BY {column}", tuple(args))}


class PgRangeIndex:
    """Which blobs are byte ranges of another (``blob_ranges``), readable from any process and thread:
    picklable (it holds the URL), each thread of each process connects on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])

    def __call__(self, sha256: str) -> tuple[str, int, int] | None:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid() or conn.closed:  # never across a fork
            conn = self._local.conn = connect(self.url)
            self._local.pid = os.getpid()
        row = conn.execute('SELECT container, start, "end" FROM blob_ranges WHERE sha256=%s', (sha256,)).fetchone()
        return (row[0], row[1], row[2]) if row else None


def create_database(url: str) -> bool:
    """Create the database the URL names, if it does not exist (through the server's `postgres`
    database, as the URL's user); returns whether it made it. Byte-order collation, as SQLite's."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    conn = connect(admin)
    try:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (name,)).fetchone():
            return False
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'").format(
                sql.Identifier(name)
            )
        )
        return True
    except psycopg.errors.DuplicateDatabase:  # another process made it a moment ago
        return False
    except psycopg.Error as exc:
        raise LeaklensError(
            f"cannot create the database {name!r} on {without_password(admin)}: {_first_line(exc)}"
        ) from None
    finally:
        conn.close()


def drop_database(url: str) -> None:
    """Drop the database the URL names (the tests' fresh databases), closing its other connections."""
    parts = urlsplit(url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.path.lstrip("/")))
    with connect(admin) as conn:
        for attempt in range(100):
            try:
                conn.execute(drop)
                return
            except psycopg.errors.InsufficientPrivilege:
                # FORCE cannot end a superuser's process: an autovacuum worker that began on the database
                # (a test's fresh one, after its writes). It ends soon; try again.
                if attempt == 99:
                    raise
                time.sleep(0.1)


def _missing_database(exc: LeaklensError) -> bool:
    return "does not exist" in str(exc) and "database" in str(exc)


def open_postgres(url: str, *, create: bool, index_dir: Path | None = None) -> PostgresStore:
    """The case database at `url`, migrated to the current schema; one clear error if it is not one.
    With `create`, a database that does not exist yet is created."""
    try:
        db = PostgresStore(url, index_dir)
    except LeaklensError as exc:
        if not (create and _missing_database(exc)):
            raise
        create_database(url)
        db = PostgresStore(url, index_dir)
    try:
        if not create and db.conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
            raise LeaklensError(f"{db.path} is not a leaklens case database (run 'leaklens ingest' with --db first)")
        db.migrate()
        return db
    except psycopg.Error as exc:
        db.close()
        raise LeaklensError(f"{db.path}: {_first_line(exc)}") from None
    except BaseException:
        db.close()
        raise
