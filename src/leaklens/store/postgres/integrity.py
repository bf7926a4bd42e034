"""The PostgreSQL store's own integrity check, its blob ranges read in bulk, and the append-only audit log
(migration 4: a trigger refuses any UPDATE, DELETE or TRUNCATE of `audit_log`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ..sqlite.integrity import AUDIT_FIELDS


class PgIntegrity:
    """Mixed into `PostgresStore`."""

    conn: Any

    def integrity_check(self) -> list[str]:
        """What PostgreSQL can tell without an extension: indexes left invalid (a CREATE INDEX cut short),
        and every table of the case readable to its end (a damaged page raises)."""
        problems = [
            f"index {r[0]} is not valid"
            for r in self.conn.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND i.indisready)"
            )
        ]
        tables = [
            r[0] for r in self.conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ]
        for t in tables:
            try:
                self.conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()
            except Exception as exc:  # noqa: BLE001 - a damaged table is a finding, not a crash
                problems.append(f"table {t}: {exc}")
        return problems

    def blob_ranges(self) -> Iterator[tuple[str, str, int, int]]:
        rows = self.conn.execute('SELECT DISTINCT ON (sha256) sha256, container, start, "end" FROM blob_ranges')
        yield from (tuple(r) for r in rows.fetchall())

    def append_audit(self, entry: Mapping[str, Any]) -> None:
        own = not self.in_transaction
        if own:
            self.begin()
        try:
            self.conn.execute(
                "INSERT INTO audit_log(at, who, via, version, command, options, outcome) VALUES(%s,%s,%s,%s,%s,%s,%s)",
                (
                    entry["at"],
                    entry["who"],
                    entry["via"],
                    entry["version"],
                    entry["command"],
                    json.dumps(entry.get("options") or {}, ensure_ascii=False),
                    entry.get("outcome"),
                ),
            )
        except BaseException:
            if own:
                self.rollback()
            raise
        if own:
            self.commit()

    def audit_entries(self, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(AUDIT_FIELDS)} FROM audit_log ORDER BY id DESC LIMIT %s OFFSET %s"
        rows = self.conn.execute(sql, (limit, offset)).fetchall()
        out = []
        for r in rows:
            d = dict(zip(AUDIT_FIELDS, tuple(r), strict=True))
            try:
                d["options"] = json.loads(d["options"] or "{}")
            except ValueError:
                d["options"] = {"raw": d["options"]}
            out.append(d)
        return out
