"""The SQLite store's own integrity check, its blob ranges read in bulk, and the append-only audit log
(migration 7: triggers refuse any UPDATE or DELETE of `audit_log`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

AUDIT_FIELDS = ("id", "at", "who", "via", "version", "command", "options", "outcome")


class SqliteIntegrity:
    """Mixed into the SQLite `Database`."""

    conn: Any

    def integrity_check(self) -> list[str]:
        """SQLite's own check of its file (pages, indexes, constraints): the problems, none when sound."""
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check")]
        problems = [r for r in rows if r != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in self.conn.execute("PRAGMA foreign_key_check")]
        return problems

    def blob_ranges(self) -> Iterator[tuple[str, str, int, int]]:
        """(sha256, container, start, end) of every blob kept as a range of another."""
        yield from (tuple(r) for r in self.conn.execute('SELECT sha256, container, start, "end" FROM blob_ranges'))

    # -- the audit log: added to, never changed (no method here updates or deletes a row)
    def append_audit(self, entry: Mapping[str, Any]) -> None:
        """Add one entry: {"at", "who", "via" (cli | web), "version", "command", "options", "outcome"}."""
        own = not self.conn.in_transaction
        if own:
            self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "INSERT INTO audit_log(at, who, via, version, command, options, outcome) VALUES(?,?,?,?,?,?,?)",
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
                self.conn.execute("ROLLBACK")
            raise
        if own:
            self.conn.execute("COMMIT")

    def audit_entries(self, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """The entries, newest first."""
        sql = f"SELECT {', '.join(AUDIT_FIELDS)} FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?"
        rows = self.conn.execute(sql, (-1 if limit is None else limit, offset))
        return [_entry(r) for r in rows]


def _entry(row) -> dict[str, Any]:
    d = dict(zip(AUDIT_FIELDS, tuple(row), strict=True))
    try:
        d["options"] = json.loads(d["options"] or "{}")
    except ValueError:
        d["options"] = {"raw": d["options"]}
    return d
