"""The reads of investigate/ on SQLite: items selected and counted by a typed query, and the few
case-wide figures (latest warnings, signing domains, repeated attachments) the dashboard shows.

Field names come from `ITEM_FIELDS` (or `DERIVED`) and values are bound, so a caller's text never
becomes SQL. The tables of verification steps (`verifications`, `dup_groups`) may not exist yet
on a case that was never verified: reading them then finds nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import LeaklensError
from ...model import Finding
from ..base import ITEM_FIELDS, ItemQuery
from ..conditions import item_condition

# Fields computed from an item's own, usable wherever an item field is.
DERIVED = {"day": "SUBSTR(date, 1, 10)"}
ORDERS = {"found": "rowid", "date": "date IS NULL, date, rowid"}


def _field(name: str) -> str:
    if name in ITEM_FIELDS:
        return name
    if name in DERIVED:
        return DERIVED[name]
    raise ValueError(f"unknown item field {name!r}")


def where_clause(q: ItemQuery) -> tuple[str, list[Any]]:
    """The SQL condition of a query and its arguments ("1" when it selects every item)."""
    return item_condition(q, mark="?", ids=_ids_in, everything="1")


def _ids_in(ids: Sequence[str]) -> tuple[str, list[Any]]:
    return (f"id IN ({','.join('?' * len(ids))})" if ids else "0"), list(ids)


def _evidence(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:  # written by hand or by an old step: shown as it is
        return {"raw": text}


class InvestigateReads:
    """The investigate/ methods of the SQLite store (mixed into `Database`)."""

    conn: sqlite3.Connection
    path: Any

    def prepare_for_reading(self) -> None:
        try:
            self.refresh_statistics()  # type: ignore[attr-defined]  # Database's
        except sqlite3.OperationalError as exc:  # a read-only or locked case
            raise LeaklensError(f"cannot prepare {self.path} for reading: {exc}") from None

    def _case_path(self) -> str:
        path = getattr(self, "_resolved_path", None)
        if path is None:
            path = self._resolved_path = str(Path(self.path).resolve())
        return path

    def items_fingerprint(self) -> tuple[Any, ...]:
        # Items added (row ids only grow) or completed (the pending ones, read through their
        # partial index). An item re-recorded in place is one skipped again: no stored email.
        state = self.conn.execute(
            "SELECT (SELECT MAX(rowid) FROM items), (SELECT COUNT(*) FROM items WHERE state = 'pending')"
        ).fetchone()
        return (self._case_path(), *state)

    def content_fingerprint(self) -> tuple[Any, ...]:
        # The items' state, and findings written (every re-check inserts afresh; deletions among
        # the latest thousand are seen too). In-place edits of an item's columns alone would not
        # change it; no step makes them without writing findings.
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
        sql = f"SELECT {', '.join(exprs)}, COUNT(*) FROM items WHERE {cond} GROUP BY {groups}"
        return [tuple(r) for r in self.conn.execute(sql, args)]

    def item_values(self, fields: Sequence[str], where: ItemQuery = ItemQuery()) -> Iterator[tuple[Any, ...]]:
        exprs = [_field(f) for f in fields]
        cond, args = where_clause(where)
        for r in self.conn.execute(f"SELECT {', '.join(exprs)} FROM items WHERE {cond} ORDER BY rowid", args):
            yield tuple(r)

    def select_items(
        self, where: ItemQuery, *, order: str = "found", limit: int | None = None
    ) -> list[Mapping[str, Any]]:
        cond, args = where_clause(where)
        sql = f"SELECT * FROM items WHERE {cond} ORDER BY {ORDERS[order]}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return self.conn.execute(sql, args).fetchall()

    def staged_findings(self, item_id: str) -> list[tuple[str, Finding]]:
        rows = self.conn.execute(
            "SELECT stage, code, severity, message, evidence FROM findings WHERE item_id=? ORDER BY rowid", (item_id,)
        )
        return [(r[0], Finding(r[1], r[2], r[3], _evidence(r[4]))) for r in rows]

    def latest_warnings(self, limit: int) -> list[dict[str, Any]]:
        out = []
        for code, severity, items, last in self.conn.execute(
            "SELECT code, severity, COUNT(DISTINCT item_id), MAX(rowid) AS last FROM findings"
            " WHERE severity IN ('warning', 'critical') GROUP BY code, severity ORDER BY last DESC LIMIT ?",
            (limit,),
        ).fetchall():
            r = self.conn.execute(
                "SELECT f.item_id, f.message, i.name, i.subject, i.verdict, i.kind FROM findings f"
                " JOIN items i ON i.id = f.item_id WHERE f.rowid = ?",
                (last,),
            ).fetchone()
            if r is not None:
                out.append({**dict(r), "code": code, "severity": severity, "items": items})
        return out

    def signing_domains(self, limit: int) -> list[tuple[str, int]]:
        # The expression is the one the findings_signer index is built on (migration 1).
        rows = self.conn.execute(
            "SELECT LOWER(json_extract(f.evidence, '$.d')) AS d, COUNT(DISTINCT f.item_id) FROM findings f"
            " WHERE f.code = 'dkim.pass' AND d IS NOT NULL GROUP BY d ORDER BY 2 DESC, d LIMIT ?",
            (limit,),
        )
        return [(r[0], r[1]) for r in rows]

    def repeated_attachments(self, limit: int) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.conn.execute(
                "SELECT sha256, COUNT(*) AS copies, MIN(name) AS name, MIN(id) AS id, MAX(size) AS size"
                " FROM items"
                " WHERE parent IS NOT NULL AND kind != 'email' AND state = 'stored' AND sha256 IS NOT NULL"
                " GROUP BY sha256 HAVING COUNT(*) > 1 ORDER BY copies DESC, name LIMIT ?",
                (limit,),
            )
        ]

    def verification_of(self, item_id: str) -> dict[str, Any] | None:
        try:
            v = self.conn.execute(
                "SELECT checked, verdict, summary, keys_used, keys_missing FROM verifications WHERE item_id=?",
                (item_id,),
            ).fetchone()
        except sqlite3.OperationalError:  # the case was never verified
            return None
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
        try:
            rows = self.conn.execute("SELECT grp, item_id, kind, similarity FROM dup_groups ORDER BY grp").fetchall()
        except sqlite3.OperationalError:  # verification (which groups them) has not run yet
            return []
        groups: dict[int, dict[str, Any]] = {}
        for r in rows:
            g = groups.setdefault(
                r["grp"], {"group": r["grp"], "kind": r["kind"], "similarity": r["similarity"], "members": []}
            )
            g["members"].append(r["item_id"])
        return list(groups.values())
