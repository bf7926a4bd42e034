"""The reads and writes of verification (verify/) on SQLite: findings and verdicts in bulk, the
emails to check, the case-wide proof steps and the documents step, as set-based statements.

Each method is a few statements whatever the case's size (a step over 20,000 emails costs a
fraction of a second): item ids travel as one JSON parameter read with `json_each(?)`, never as
a statement per item. The rules stay in verify/: where a query applies one (which emails can be
checked, which Received hops show a relay), the rule's values are parameters.

The steps' own tables (verifications, DNS lookups, document metadata, near-duplicate groups) are
declared by the steps (`store.base.TableSpec`); the methods that join them take the declaration,
make sure the table exists and read it under its declared name.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ...model import Finding
from ..base import ItemQuery, TableSpec
from . import tables
from .investigate import where_clause


def _ids(ids: Iterable[str]) -> str:
    """Item ids as one JSON parameter, read with `json_each(?)`: one statement for any number."""
    return json.dumps(sorted(ids))


def _marks(values: Sequence[str]) -> str:
    """Placeholders for a short list of values (kinds, codes, hosts): bound one by one, since a JSON
    list read with json_each inside a correlated subquery is read again for every row."""
    return ", ".join("?" * len(values))


def _selection(where: ItemQuery) -> tuple[str, list[Any]]:
    """`where_clause`, with the ids (any number of them) bound as one JSON parameter."""
    cond, args = where_clause(replace(where, ids=None))
    if where.ids is not None:
        cond += " AND id IN (SELECT value FROM json_each(?))"
        args.append(_ids(where.ids))
    return cond, args


# --- the case-wide proof steps (verify/case_proof.py) -------------------------------------------

# The verified emails that have parts, looked up among the items that have children (the parent
# index alone answers that): most emails have none, and reading every email's row is what costs.
_PARENT_EMAILS = """
SELECT e.id FROM items e
WHERE e.id IN (SELECT DISTINCT parent FROM items WHERE parent IS NOT NULL)
  AND e.kind = 'email' AND e.state = 'stored' AND e.verdict = 'verified'
"""
# Every stored descendant of the given emails, down to but not into forwarded messages.
_PARTS = """
WITH RECURSIVE tree(id, kind, root) AS (
    SELECT c.id, c.kind, c.parent FROM items c
    WHERE c.parent IN (SELECT value FROM json_each(?)) AND c.state = 'stored'
    UNION ALL
    SELECT c.id, c.kind, t.root FROM tree t JOIN items c ON c.parent = t.id
    WHERE t.kind != 'email' AND c.state = 'stored'
)
SELECT id, kind, root FROM tree
"""
_PROVING_DOMAINS = (
    "SELECT item_id, lower(json_extract(evidence, '$.d')) FROM findings WHERE item_id IN"
    " (SELECT value FROM json_each(?)) AND +code = 'dkim.pass' AND json_extract(evidence, '$.aligned')"
)
# The verified copy named is the first by path, not by write order: with several workers or a
# cluster the write order changes from run to run, and the finding's evidence would follow it.
_IDENTICAL = """
WITH candidates AS (
    SELECT id, sha256 FROM items WHERE state = 'stored' AND verdict != 'verified' AND sha256 IS NOT NULL
), proven AS (
    SELECT sha256, COUNT(*) AS n FROM items
    WHERE state = 'stored' AND verdict = 'verified' AND sha256 IN (SELECT sha256 FROM candidates)
    GROUP BY sha256
)
SELECT c.id, p.sha256, p.n, copy.id, copy.path, copy.kind, proof.id, proof.path
FROM candidates c
JOIN proven p ON p.sha256 = c.sha256
JOIN items copy ON copy.id = (
    SELECT v.id FROM items v WHERE v.sha256 = p.sha256 AND v.state = 'stored' AND v.verdict = 'verified'
    ORDER BY v.path, v.id LIMIT 1)
LEFT JOIN items proof ON proof.id = (
    SELECT json_extract(f.evidence, '$.verified_email') FROM findings f
    WHERE f.item_id = copy.id AND +f.code = 'dkim.covered_by_parent' LIMIT 1)
"""
# Received hops that show a message going from one mail server to another (the rule, and the
# values it is applied with, are verify/case_proof.py's): a named sending host that is not the
# receiving host itself nor a local one, over a protocol that is not a client's submission.
_RELAY_HOP = """EXISTS (
    SELECT 1 FROM json_each(v.received) h
    WHERE json_extract(h.value, '$.by') IS NOT NULL
      AND lower(trim(json_extract(h.value, '$.from'), '.')) NOT IN ({hosts})
      AND lower(trim(json_extract(h.value, '$.from'), '.')) != lower(trim(json_extract(h.value, '$.by'), '.'))
      AND upper(coalesce(json_extract(h.value, '$.with'), '')) NOT IN ({protocols}))"""
# Emails as stored at ingest, and whether a valid signature aligned with From (one that can prove
# the message) signed each. Read from the findings (by item: `+code` keeps SQLite off the code
# index here): verifications rows are large.
_CHECKED = "i.kind = 'email' AND i.state = 'stored' AND i.date IS NOT NULL AND i.email_from IS NOT NULL"
_SIGNED = (
    "EXISTS (SELECT 1 FROM findings f WHERE f.item_id = i.id AND +f.code = 'dkim.pass'"
    " AND json_extract(f.evidence, '$.aligned'))"
)
# Every altered item, walked up to every email above it that nothing verifies; by path, not by write
# order (which follows the workers): the finding names an email's first altered item.
_CARRIERS = """
WITH RECURSIVE up(item, ancestor) AS (
    SELECT a.id, a.parent FROM items a WHERE a.state = 'stored' AND a.verdict = 'altered' AND a.parent IS NOT NULL
    UNION
    SELECT up.item, p.parent FROM up JOIN items p ON p.id = up.ancestor WHERE p.parent IS NOT NULL
)
SELECT e.id, a.id, a.path, a.name FROM up
JOIN items e ON e.id = up.ancestor
JOIN items a ON a.id = up.item
WHERE e.kind = 'email' AND e.state = 'stored' AND e.verdict != 'verified'
ORDER BY e.path, a.path
"""


class VerifyQueries:
    """The verify/ methods of the SQLite store (mixed into `Database`)."""

    conn: sqlite3.Connection
    _tables_made: set[tuple[str, int]]
    ensure_table: Callable[[TableSpec], None]  # Database's

    # -- declared tables, beyond rows by key -------------------------------------------------
    def table_columns(self, spec: TableSpec) -> set[str]:
        tables._check(spec)
        return {r[1] for r in self.conn.execute(f"PRAGMA table_info({spec.name})")}

    def drop_table(self, spec: TableSpec) -> None:
        tables._check(spec)
        self.conn.execute(f"DROP TABLE IF EXISTS {spec.name}")
        self._tables_made -= {m for m in self._tables_made if m[0] == spec.name}

    def put_encoded_rows(self, spec: TableSpec, rows: Iterable[Sequence[Any]]) -> None:
        self.ensure_table(spec)
        names, marks = ", ".join(spec.column_names), ",".join("?" * len(spec.columns))
        self.conn.executemany(f"INSERT OR REPLACE INTO {spec.name}({names}) VALUES({marks})", rows)

    def count_rows(self, spec: TableSpec) -> int:
        self.ensure_table(spec)
        return self.conn.execute(f"SELECT COUNT(*) FROM {spec.name}").fetchone()[0]

    def table_keys(self, spec: TableSpec, **equal: Any) -> set[tuple[Any, ...]]:
        self.ensure_table(spec)
        where, args = tables._where(spec, equal)
        return {tuple(r) for r in self.conn.execute(f"SELECT {', '.join(spec.key)} FROM {spec.name}{where}", args)}

    # -- findings in bulk --------------------------------------------------------------------
    def clear_findings(self, stages: Sequence[str]) -> set[str]:
        marks = ", ".join("?" * len(stages))
        rows = self.conn.execute(f"DELETE FROM findings WHERE stage IN ({marks}) RETURNING item_id", tuple(stages))
        return {r[0] for r in rows}

    def delete_findings_of(self, item_ids: Iterable[str], stage: str) -> None:
        # By the item index, one execution per item (executemany: one call). "+stage": without it the
        # planner may take findings_stage, which holds every finding of the stage (a verify of 20,000
        # emails spent 62 s here, scanning them all once an email).
        self.conn.executemany("DELETE FROM findings WHERE item_id=? AND +stage=?", ((i, stage) for i in item_ids))

    def add_encoded_findings(self, rows: Iterable[tuple[str, str, str, str, str]], stage: str) -> None:
        self.conn.executemany(
            "INSERT INTO findings(item_id, stage, code, severity, message, evidence) VALUES(?,?,?,?,?,?)",
            ((r[0], stage, r[1], r[2], r[3], r[4]) for r in rows),
        )

    def items_with_finding(self, code: str, *, unless: str | None = None) -> set[str]:
        sql = "SELECT DISTINCT f.item_id FROM findings f WHERE f.code = ?"
        args: list[Any] = [code]
        if unless is not None:
            sql += " AND NOT EXISTS (SELECT 1 FROM findings r WHERE r.item_id = f.item_id AND +r.code = ?)"
            args.append(unless)
        return {r[0] for r in self.conn.execute(sql, args)}

    def findings_of(self, item_ids: Iterable[str]) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = defaultdict(list)
        for item_id, code, severity, message, evidence in self.conn.execute(
            "SELECT item_id, code, severity, message, evidence FROM findings"
            " WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY rowid",
            (_ids(item_ids),),
        ):
            out[item_id].append(Finding(code, severity, message, json.loads(evidence)))
        return dict(out)

    # -- verdicts ----------------------------------------------------------------------------
    def verdict_inputs(self, where: ItemQuery) -> list[tuple[str, str, str | None]]:
        cond, args = _selection(where)
        return self.conn.execute(
            "SELECT id, verdict, (SELECT group_concat(f.code || char(31) || coalesce(CASE WHEN"
            " instr(f.evidence, '\"effect\"') THEN json_extract(f.evidence, '$.effect') END, ''), char(30))"
            f" FROM findings f WHERE f.item_id = items.id) FROM items WHERE state = 'stored' AND {cond}",
            args,
        ).fetchall()

    def set_verdicts(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.conn.executemany("UPDATE items SET verdict=? WHERE id=?", ((v, i) for i, v in pairs))

    def verdicts_of(self, item_ids: Iterable[str]) -> dict[str, str]:
        rows = self.conn.execute(
            "SELECT id, verdict FROM items WHERE id IN (SELECT value FROM json_each(?))", (_ids(item_ids),)
        )
        return dict(rows.fetchall())

    # -- the emails to check, and what their checks found --------------------------------------
    def checkable_emails(self, verifications: TableSpec, *, mime: str, unless: str) -> list[Mapping[str, Any]]:
        self.ensure_table(verifications)
        return self.conn.execute(
            'SELECT i.id, i.sha256, v.engine, v.published, v.keys_missing, b.container, b.start, b."end"'
            f" FROM items i LEFT JOIN {verifications.name} v ON v.item_id = i.id LEFT JOIN blob_ranges b"
            " ON b.sha256 = i.sha256 WHERE i.kind='email' AND i.state='stored' AND i.mime=? AND NOT EXISTS"
            " (SELECT 1 FROM findings f WHERE f.item_id=i.id AND f.code=?) ORDER BY i.rowid",
            (mime, unless),
        ).fetchall()

    def verdicts_by_signing_domain(self, verifications: TableSpec) -> list[tuple[str, str, int]]:
        self.ensure_table(verifications)
        rows = self.conn.execute(
            f"SELECT d.value, i.verdict, COUNT(*) FROM {verifications.name} v JOIN items i ON i.id = v.item_id,"
            " json_each(v.domains) d GROUP BY d.value, i.verdict ORDER BY d.value"
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def proving_key_counts(self, verifications: TableSpec) -> dict[str, int]:
        self.ensure_table(verifications)
        rows = self.conn.execute(
            f"SELECT k.value, COUNT(*) FROM {verifications.name} v, json_each(v.pass_keys) k GROUP BY k.value"
            " ORDER BY COUNT(*) DESC"
        )
        return dict(rows.fetchall())

    def altered_email_findings(self, whole: Sequence[str]) -> dict[str, list[Finding]]:
        judged: dict[str, list[Finding]] = {}
        for item_id, code, signature, effect, full in self.conn.execute(
            "SELECT f.item_id, f.code, json_extract(f.evidence, '$.signature'), json_extract(f.evidence, '$.effect'),"
            f" CASE WHEN f.code IN ({_marks(whole)}) THEN f.evidence END"
            " FROM findings f JOIN items i ON i.id = f.item_id"
            " WHERE i.kind='email' AND i.state='stored' AND i.verdict='altered'",
            tuple(whole),
        ):
            evidence = json.loads(full) if full else {"signature": signature} | ({"effect": effect} if effect else {})
            judged.setdefault(item_id, []).append(Finding(code, "info", "", evidence))
        return judged

    # -- the case-wide proof steps -------------------------------------------------------------
    def verified_emails_with_parts(self) -> list[str]:
        return [r[0] for r in self.conn.execute(_PARENT_EMAILS)]

    def parts_of(self, email_ids: Iterable[str]) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.conn.execute(_PARTS, (_ids(email_ids),))]  # type: ignore[misc]

    def aligned_signing_domains(self, item_ids: Iterable[str]) -> dict[str, set[str]]:
        domains: dict[str, set[str]] = defaultdict(set)
        for item_id, domain in self.conn.execute(_PROVING_DOMAINS, (_ids(item_ids),)):
            if domain:
                domains[item_id].add(domain)
        return dict(domains)

    def copies_of_verified(self) -> list[dict[str, Any]]:
        keys = ("id", "sha256", "copies", "copy_id", "copy_path", "copy_kind", "proof_id", "proof_path")
        return [dict(zip(keys, r, strict=True)) for r in self.conn.execute(_IDENTICAL).fetchall()]

    def relayed_unsigned_emails(
        self, verifications: TableSpec, *, local_hosts: Sequence[str], submission_protocols: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        self.ensure_table(verifications)
        hop = _RELAY_HOP.format(hosts=_marks(local_hosts), protocols=_marks(submission_protocols))
        rows = self.conn.execute(
            f"SELECT i.id, i.verdict, v.signatures FROM items i JOIN {verifications.name} v ON v.item_id = i.id"
            f" WHERE {_CHECKED} AND NOT {_SIGNED} AND {hop}",
            (*local_hosts, *submission_protocols),
        )
        return {i: (verdict, sigs) for i, verdict, sigs in rows}

    def checked_emails(self, verifications: TableSpec) -> Iterator[tuple[str, str, str, str | None, int]]:
        self.ensure_table(verifications)
        yield from self.conn.execute(
            f"SELECT i.id, i.email_from, i.date, i.message_id, {_SIGNED} FROM items i WHERE {_CHECKED}"
            f" AND EXISTS (SELECT 1 FROM {verifications.name} v WHERE v.item_id = i.id)"
        )

    def carriers_of_altered(self) -> list[tuple[str, str, str, str]]:
        return [tuple(r) for r in self.conn.execute(_CARRIERS).fetchall()]  # type: ignore[misc]

    # -- documents -----------------------------------------------------------------------------
    def documents_with_carriers(self, kinds: Sequence[str]) -> list[Mapping[str, Any]]:
        return self.conn.execute(
            "SELECT d.id, d.path, d.parent, d.sha256, d.mime, d.kind, d.verdict, d.meta,"
            " p.kind AS parent_kind, p.date AS parent_date, p.verdict AS parent_verdict FROM items d"
            " LEFT JOIN items p ON p.id = d.parent WHERE d.state='stored'"
            f" AND d.kind IN ({_marks(kinds)}) ORDER BY d.rowid",
            tuple(kinds),
        ).fetchall()

    def set_item_meta(self, pairs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self.conn.executemany(
            "UPDATE items SET meta=? WHERE id=?", ((json.dumps(meta, default=str), i) for i, meta in pairs)
        )

    # Texts come from the text store (what ingest extracted, not OCR), in the order the groups'
    # members have always been listed in: by kind and date, emails by Message-ID.
    def document_texts(self, kinds: Sequence[str], min_length: int) -> Iterator[tuple[str, str]]:
        # A scan's OCR text counts too: a retyped or rescanned copy of a document is a near-duplicate of it.
        # Texts of one item joined in source order (the subquery's order is the one group_concat reads).
        # Items in path order, not write order: with several workers the order items are written in
        # changes from run to run, and the near-duplicate groups' joining pairs follow the input order.
        yield from self.conn.execute(
            "SELECT id, group_concat(text, char(10)) AS joined FROM (SELECT i.id, i.kind, i.date, i.path AS p,"
            " t.text FROM items i JOIN texts t ON t.item_id = i.id AND t.source IN ('attachment', 'document', 'ocr')"
            f" WHERE i.state='stored' AND i.kind IN ({_marks(kinds)}) ORDER BY i.rowid, t.source)"
            " GROUP BY id HAVING length(joined) > ? ORDER BY kind, date, p",
            (*kinds, min_length),
        )

    def email_copy_texts(self) -> Iterator[tuple[str, str, str]]:
        yield from self.conn.execute(
            "SELECT i.id, i.message_id, coalesce(t.text, '') FROM items i"
            " LEFT JOIN texts t ON t.item_id = i.id AND t.source = 'body' WHERE i.kind='email'"
            " AND i.state='stored' AND i.message_id IN (SELECT message_id FROM items"
            " WHERE message_id IS NOT NULL GROUP BY message_id HAVING COUNT(*) > 1) ORDER BY i.message_id, i.path"
        )

    def items_sharing_bytes(self, kinds: Sequence[str]) -> list[tuple[str, str]]:
        return [
            tuple(r)  # type: ignore[misc]
            for r in self.conn.execute(
                f"SELECT id, sha256 FROM items WHERE state='stored' AND kind IN ({_marks(kinds)})"
                " AND sha256 IN (SELECT sha256 FROM items WHERE sha256 IS NOT NULL GROUP BY sha256"
                " HAVING COUNT(*) > 1) ORDER BY path",
                tuple(kinds),
            ).fetchall()
        ]
