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

import os
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import pq

from ... import crashpoints
from ...errors import LeaklensError
from .investigate import PgInvestigateReads
from .migrations import migrate
from .verify import PgVerifyQueries


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
    return lambda values: Row(values, index)


def without_password(url: str) -> str:
    """The URL with its password left out (what a case folder may remember, what messages show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = (parts.username or "") + "@" + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(url: str) -> psycopg.Connection:
    """An autocommit connection; one clear line (LeaklensError) for a bad URL, an unreachable
    server, a wrong password or a missing database."""
    shown = without_password(url)
    try:
        return psycopg.connect(url, autocommit=True, row_factory=row_factory, connect_timeout=10)
    except psycopg.ProgrammingError as exc:  # the URL itself cannot be read
        raise LeaklensError(f"bad PostgreSQL URL {shown}: {_first_line(exc)}") from None
    except psycopg.OperationalError as exc:
        raise LeaklensError(f"cannot connect to PostgreSQL at {shown}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    # libpq prefixes its messages with where it tried ("connection to server at ... failed:").
    text = lines[-1] if lines else type(exc).__name__
    return text.removeprefix("FATAL:").strip()


class PostgresStore(PgVerifyQueries, PgInvestigateReads):
    """The case store on one PostgreSQL database (one database per case)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = connect(url)
        self._tables_made: set[tuple[str, int]] = set()  # declared tables this connection has ensured
        self._temps: set[str] = set()  # the temporary staging tables this connection has made

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
            self.conn.execute("COMMIT")
            crashpoints.reached("commit")

    def rollback(self) -> None:
        if self.in_transaction:
            self.conn.execute("ROLLBACK")

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


def open_postgres(url: str, *, create: bool) -> PostgresStore:
    """The case database at `url`, migrated to the current schema; one clear error if it is not one."""
    db = PostgresStore(url)
    try:
        if not create and db.conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
            raise LeaklensError(f"{db.path} is not a leaklens case database")
        db.migrate()
        return db
    except BaseException:
        db.close()
        raise
