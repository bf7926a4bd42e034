"""The reads of investigate/ on PostgreSQL (mirrors store/sqlite/investigate.py, method for method,
with the same results): items selected and counted by a typed query, and the few case-wide figures
the dashboard shows.

Field names come from `ITEM_FIELDS` (or the derived fields SQLite's module declares: one list for
both) and values are bound, so a caller's text never becomes SQL. Where SQLite's answer has an
order of its own (GROUP BY sorts, NULL first in an ascending order) the statements here ask for it,
so that figures, reports and pages list the same things in the same order on both backends.

JSON values are TEXT (store/postgres/migrations.py) and read with `json_of`: PostgreSQL's json
refuses to extract anything from a value holding a \\u0000 escape (a hostile header can carry one),
so that escape is read as U+FFFD there, in SQL only (the figures grouped by a JSON field). Python
reads the text itself (json.loads), which keeps the NUL, as every text column does (store/postgres/nul.py).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg

from ...errors import LeaklensError
from ...model import Finding
from ..base import ItemQuery
from ..conditions import item_condition
from ..sqlite.investigate import ORDERS, _evidence, _field
from .nul import decoder

# Text compared or lower-cased byte by byte, as SQLite does (its lower() and upper() touch ASCII only).
C = 'COLLATE "C"'


def json_of(column: str) -> str:
    """The SQL json value of a JSON text column, readable whatever it holds (see the module's docstring)."""
    return f"replace({column}, '\\u0000', '\\ufffd')::json"


def signer_domain(evidence: str) -> str:
    """The signing domain (d=) of a finding's evidence, lower-cased as SQLite does: the expression of the
    findings_signer index (migrations.py) and of the reads that group by it."""
    return f"lower(({json_of(evidence)}->>'d') {C})"


def where_clause(q: ItemQuery) -> tuple[str, list[Any]]:
    """The SQL condition of a query and its arguments ("TRUE" when it selects every item)."""
    return item_condition(q, mark="%s", ids=lambda ids: ("id = ANY(%s)", [list(ids)]), everything="TRUE")


_cursor_names = itertools.count()


def _tuples(cursor: Any):
    """psycopg's tuple_row, with text unescaped as the store's Row is (store/postgres/nul.py)."""
    decode = decoder(cursor)
    return decode or tuple


def stream(conn: psycopg.Connection, query: str, args: Sequence[Any] = (), *, size: int = 2000) -> Iterator[tuple]:
    """The rows of a query as tuples, fetched `size` at a time through a server-side cursor (a read of
    millions of rows never sits whole in memory). WITH HOLD: it works outside a transaction (the store's
    connection is autocommit) and outlives a commit the caller makes while reading."""
    name = f"leaklens_read_{next(_cursor_names)}"
    with conn.cursor(name, row_factory=_tuples, withhold=True) as cur:
        cur.itersize = size
        cur.execute(query, args)
        yield from cur


def _exists(conn: psycopg.Connection, table: str) -> bool:
    """Whether a step's table exists yet (asked, not tried: a failed statement would end the caller's transaction)."""
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]


class PgInvestigateReads:
    """The investigate/ methods of the PostgreSQL store (mixed into `PostgresStore`)."""

    conn: psycopg.Connection
    path: Any

    def prepare_for_reading(self) -> None:
        try:
            self.refresh_statistics()  # type: ignore[attr-defined]  # PostgresStore's
        except psycopg.Error as exc:  # a read-only role, or a server that went away
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                self.conn.execute("ROLLBACK")
            raise LeaklensError(f"cannot prepare {self.path} for reading: {str(exc).strip()}") from None

    def items_fingerprint(self) -> tuple[Any, ...]:
        # Items added (row ids only grow) or completed (the pending ones, read through their partial index).
        state = self.conn.execute(
            "SELECT (SELECT MAX(rowid) FROM items), (SELECT COUNT(*) FROM items WHERE state = 'pending')"
        ).fetchone()
        return (str(self.path), *state)

    def content_fingerprint(self) -> tuple[Any, ...]:
        # The items' state, and findings written (each re-check inserts afresh; deletions among the latest
        # thousand are seen too), as on SQLite.
        state = self.conn.execute(
            "SELECT (SELECT MAX(rowid) FROM findings),"
            " (SELECT COUNT(*) FROM findings WHERE rowid > (SELECT MAX(rowid) - 1000 FROM findings))"
        ).fetchone()
        return (*self.items_fingerprint(), *state)

    def count_items(self, where: ItemQuery = ItemQuery()) -> int:
        cond, args = where_clause(where)
        return self.conn.execute(f"SELECT COUNT(*) FROM items WHERE {cond}", args).fetchone()[0]

    def count_items_by(self, fields: Sequence[str], where: ItemQuery = ItemQuery()) -> list[tuple[Any, ...]]:
        exprs = [_field(f) for f in fields]
        cond, args = where_clause(where)
        groups = ", ".join(str(n + 1) for n in range(len(exprs)))
        # In SQLite's order: its GROUP BY hands the groups out sorted, NULL first.
        order = ", ".join(f"{n + 1} NULLS FIRST" for n in range(len(exprs)))
        sql = f"SELECT {', '.join(exprs)}, COUNT(*) FROM items WHERE {cond} GROUP BY {groups} ORDER BY {order}"
        return [tuple(r) for r in self.conn.execute(sql, args)]

    def item_values(self, fields: Sequence[str], where: ItemQuery = ItemQuery()) -> Iterator[tuple[Any, ...]]:
        exprs = [_field(f) for f in fields]
        cond, args = where_clause(where)
        yield from stream(self.conn, f"SELECT {', '.join(exprs)} FROM items WHERE {cond} ORDER BY rowid", args)

    def select_items(
        self, where: ItemQuery, *, order: str = "found", limit: int | None = None
    ) -> list[Mapping[str, Any]]:
        cond, args = where_clause(where)
        sql = f"SELECT * FROM items WHERE {cond} ORDER BY {ORDERS[order]}"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(int(limit))
        return self.conn.execute(sql, args).fetchall()

    def staged_findings(self, item_id: str) -> list[tuple[str, Finding]]:
        rows = self.conn.execute(
            "SELECT stage, code, severity, message, evidence FROM findings WHERE item_id=%s ORDER BY rowid", (item_id,)
        )
        return [(r[0], Finding(r[1], r[2], r[3], _evidence(r[4]))) for r in rows]

    def latest_warnings(self, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "WITH latest AS (SELECT code, severity, COUNT(DISTINCT item_id) AS items, MAX(rowid) AS last"
            " FROM findings WHERE severity IN ('warning', 'critical') GROUP BY code, severity"
            " ORDER BY last DESC LIMIT %s)"
            " SELECT f.item_id, f.message, i.name, i.subject, i.verdict, i.kind, l.code, l.severity, l.items"
            " FROM latest l JOIN findings f ON f.rowid = l.last JOIN items i ON i.id = f.item_id ORDER BY l.last DESC",
            (limit,),
        )
        keys = ("item_id", "message", "name", "subject", "verdict", "kind", "code", "severity", "items")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def signing_domains(self, limit: int) -> list[tuple[str, int]]:
        # The expression is the one the findings_signer index is built on (store/postgres/migrations.py).
        d = signer_domain("f.evidence")
        rows = self.conn.execute(
            f"SELECT {d} AS d, COUNT(DISTINCT f.item_id) FROM findings f WHERE f.code = 'dkim.pass' AND {d} IS NOT NULL"
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s",
            (limit,),
        )
        return [(r[0], r[1]) for r in rows]

    def repeated_attachments(self, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT sha256, COUNT(*) AS copies, MIN(name) AS name, MIN(id) AS id, MAX(size) AS size FROM items"
            " WHERE parent IS NOT NULL AND kind <> 'email' AND state = 'stored' AND sha256 IS NOT NULL"
            " GROUP BY sha256 HAVING COUNT(*) > 1 ORDER BY copies DESC, name LIMIT %s",
            (limit,),
        )
        return [dict(r) for r in rows]

    def verification_of(self, item_id: str) -> dict[str, Any] | None:
        if not _exists(self.conn, "verifications"):  # the case was never verified
            return None
        v = self.conn.execute(
            "SELECT checked, verdict, summary, keys_used, keys_missing FROM verifications WHERE item_id=%s",
            (item_id,),
        ).fetchone()
        if v is None:
            return None
        return {
            "checked": v[0],
            "verdict": v[1],
            "summary": v[2],
            "keys_used": json.loads(v[3]),
            "keys_missing": json.loads(v[4]),
        }

    def duplicate_groups(self) -> list[dict[str, Any]]:
        if not _exists(self.conn, "dup_groups"):  # verification (which groups them) has not run yet
            return []
        rows = self.conn.execute("SELECT grp, item_id, kind, similarity FROM dup_groups ORDER BY grp, rowid")
        groups: dict[int, dict[str, Any]] = {}
        for grp, item_id, kind, similarity in rows:
            g = groups.setdefault(grp, {"group": grp, "kind": kind, "similarity": similarity, "members": []})
            g["members"].append(item_id)
        return list(groups.values())
