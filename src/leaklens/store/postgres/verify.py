"""The reads and writes of verification (verify/) on PostgreSQL, mirroring store/sqlite/verify.py
method for method with the same results: findings and verdicts in bulk, the emails to check, the
case-wide proof steps and the documents step, as set-based statements.

Item ids travel as one array parameter (`= ANY(%s)`), never a statement per item; many rows are
written with COPY (into the table, or into a staging table merged by one statement). The rules stay
in verify/: where a query applies one (which emails can be checked, which Received hops show a
relay) the rule's values are parameters, as on SQLite. Where SQLite's answer has an order (its scans
go by rowid, NULL sorts first) the statements here ask for that order.

JSON columns are TEXT, read with `json_of` (a \\u0000 escape would make PostgreSQL refuse the whole
value); a JSON true is what SQLite's json_extract reads as true here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ...model import Finding
from ..base import ItemQuery, TableSpec
from .investigate import C, json_of, signer_domain, stream, where_clause

_FINDING_COLUMNS = ("item_id", "stage", "code", "severity", "message", "evidence")


def _ids(ids: Iterable[str]) -> list[str]:
    """Item ids as one array parameter, for `= ANY(%s)`: one statement for any number."""
    return sorted(set(ids))


def _selection(where: ItemQuery) -> tuple[str, list[Any]]:
    """`where_clause` (the ids, any number of them, are one array parameter there too)."""
    return where_clause(where)


# --- the case-wide proof steps (verify/case_proof.py) -------------------------------------------

_PARENT_EMAILS = """
SELECT e.id FROM items e
WHERE e.kind = 'email' AND e.state = 'stored' AND e.verdict = 'verified'
  AND EXISTS (SELECT 1 FROM items c WHERE c.parent = e.id)
ORDER BY e.rowid
"""
# Every stored descendant of the given emails, down to but not into forwarded messages. Each level's
# children are looked up by the parent index (see _CARRIERS: a join here would hash every item).
_PARTS = """
WITH RECURSIVE tree(id, kind, root) AS (
    SELECT c.id, c.kind, c.parent FROM items c
    WHERE c.parent = ANY(%s) AND c.state = 'stored'
    UNION ALL
    SELECT c.id, c.kind, t.root FROM tree t
    CROSS JOIN LATERAL (SELECT id, kind FROM items c WHERE c.parent = t.id AND c.state = 'stored' OFFSET 0) c
    WHERE t.kind <> 'email'
)
SELECT id, kind, root FROM tree
"""
_ALIGNED = f"({json_of('{f}.evidence')}->>'aligned') = 'true'"
_PROVING_DOMAINS = (
    f"SELECT f.item_id, {signer_domain('f.evidence')} FROM findings f WHERE f.item_id = ANY(%s)"
    f" AND f.code = 'dkim.pass' AND {_ALIGNED.format(f='f')}"
)
# The verified copies of each content first (few, read once), then the items with the same bytes
# by the sha256 index: SQLite's statement, in the order a planner here runs well. The copy named is
# the first by path (SQLite's order of text, C), not by write order, which follows the workers.
_IDENTICAL = f"""
WITH proven AS (
    SELECT sha256, COUNT(*) AS n FROM items
    WHERE state = 'stored' AND verdict = 'verified' AND sha256 IS NOT NULL
    GROUP BY sha256
)
SELECT c.id, p.sha256, p.n, copy.id, copy.path, copy.kind, proof.id, proof.path
FROM proven p
JOIN items c ON c.sha256 = p.sha256 AND c.state = 'stored' AND c.verdict <> 'verified'
JOIN items copy ON copy.id = (
    SELECT v.id FROM items v WHERE v.sha256 = p.sha256 AND v.state = 'stored' AND v.verdict = 'verified'
    ORDER BY v.path {C}, v.id {C} LIMIT 1)
LEFT JOIN items proof ON proof.id = (
    SELECT {json_of("f.evidence")}->>'verified_email' FROM findings f
    WHERE f.item_id = copy.id AND f.code = 'dkim.covered_by_parent' ORDER BY f.rowid LIMIT 1)
ORDER BY c.rowid
"""
# Received hops that show a message going from one mail server to another (the rule, and the
# values it is applied with, are verify/case_proof.py's; SQLite's statement says the same).
_HOP = "lower(btrim(h->>'{key}', '.') " + C + ")"
_RELAY_HOP = f"""EXISTS (
    SELECT 1 FROM json_array_elements(CASE WHEN json_typeof({json_of("v.received")}) = 'array'
                                      THEN {json_of("v.received")} END) h
    WHERE h->>'by' IS NOT NULL
      AND {_HOP.format(key="from")} <> ALL(%s)
      AND {_HOP.format(key="from")} <> {_HOP.format(key="by")}
      AND upper(coalesce(h->>'with', '') {C}) <> ALL(%s))"""
_CHECKED = "i.kind = 'email' AND i.state = 'stored' AND i.date IS NOT NULL AND i.email_from IS NOT NULL"
_SIGNED = (
    f"EXISTS (SELECT 1 FROM findings f WHERE f.item_id = i.id AND f.code = 'dkim.pass' AND {_ALIGNED.format(f='f')})"
)
# Every altered item, walked up to every email above it that nothing verifies. Few rows, but the
# planner cannot know how few a recursive walk yields and would hash the whole items table for each
# join: each step is a lookup by id instead (OFFSET 0 keeps a lateral lookup from being flattened
# into such a join); a third of the time at 1,000,000 items. A walk ends at an item without a parent.
_CARRIERS = """
WITH RECURSIVE up(item, ancestor) AS (
    SELECT a.id, a.parent FROM items a WHERE a.state = 'stored' AND a.verdict = 'altered' AND a.parent IS NOT NULL
    UNION
    SELECT up.item, (SELECT p.parent FROM items p WHERE p.id = up.ancestor) FROM up WHERE up.ancestor IS NOT NULL
)
SELECT e.id, a.id, a.path, a.name FROM up
CROSS JOIN LATERAL (SELECT id, path FROM items WHERE id = up.ancestor AND kind = 'email' AND state = 'stored'
                    AND verdict <> 'verified' OFFSET 0) e
CROSS JOIN LATERAL (SELECT id, path, name FROM items WHERE id = up.item OFFSET 0) a
ORDER BY e.path COLLATE "C", a.path COLLATE "C"
"""
# A finding as the verdict rules read it: its code, and its evidence's effect (the evidence is
# parsed only when it names one).
_RULE_FINDING = (
    "f.code || chr(31) || coalesce(CASE WHEN strpos(f.evidence, '\"effect\"') > 0"
    f" THEN {json_of('f.evidence')}->>'effect' END, '')"
)


class PgVerifyQueries:
    """The verify/ methods of the PostgreSQL store (mixed into `PostgresStore`).

    The declared-table methods SQLite's VerifyQueries holds too (table_columns, drop_table,
    put_encoded_rows, count_rows, table_keys) are PostgresStore's own, beside its other table code."""

    conn: psycopg.Connection
    ensure_table: Callable[[TableSpec], None]  # PostgresStore's
    _atomic: Callable[[], AbstractContextManager[None]]
    _copy: Callable[[str, Sequence[str], Iterable[Sequence[Any]]], int]
    _stage: Callable[[str, str, Sequence[str], Iterable[Sequence[Any]]], int]

    # -- findings in bulk --------------------------------------------------------------------
    def clear_findings(self, stages: Sequence[str]) -> set[str]:
        rows = self.conn.execute("DELETE FROM findings WHERE stage = ANY(%s) RETURNING item_id", (list(stages),))
        return {r[0] for r in rows}

    def delete_findings_of(self, item_ids: Iterable[str], stage: str) -> None:
        ids = _ids(item_ids)
        if ids:
            self.conn.execute("DELETE FROM findings WHERE item_id = ANY(%s) AND stage = %s", (ids, stage))

    def add_encoded_findings(self, rows: Iterable[tuple[str, str, str, str, str]], stage: str) -> None:
        self._copy("findings", _FINDING_COLUMNS, ((r[0], stage, r[1], r[2], r[3], r[4]) for r in rows))

    def items_with_finding(self, code: str, *, unless: str | None = None) -> set[str]:
        sql = "SELECT DISTINCT f.item_id FROM findings f WHERE f.code = %s"
        args: list[Any] = [code]
        if unless is not None:
            sql += " AND NOT EXISTS (SELECT 1 FROM findings r WHERE r.item_id = f.item_id AND r.code = %s)"
            args.append(unless)
        return {r[0] for r in self.conn.execute(sql, args)}

    def findings_of(self, item_ids: Iterable[str]) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = defaultdict(list)
        for item_id, code, severity, message, evidence in stream(
            self.conn,
            "SELECT item_id, code, severity, message, evidence FROM findings WHERE item_id = ANY(%s) ORDER BY rowid",
            (_ids(item_ids),),
        ):
            out[item_id].append(Finding(code, severity, message, json.loads(evidence)))
        return dict(out)

    # -- verdicts ----------------------------------------------------------------------------
    def verdict_inputs(self, where: ItemQuery) -> list[tuple[str, str, str | None]]:
        cond, args = _selection(where)
        packed = f"string_agg({_RULE_FINDING}, chr(30) ORDER BY f.rowid)"
        if where.ids is not None:
            # A few items: each one's findings looked up by the item index.
            sql = (
                f"SELECT i.id, i.verdict, (SELECT {packed} FROM findings f WHERE f.item_id = i.id)"
                f" FROM items i WHERE i.state = 'stored' AND {cond}"
            )
        else:
            # A whole kind or case: every finding read once, grouped, joined to the items by hash.
            sql = (
                f"SELECT i.id, i.verdict, p.packed FROM items i LEFT JOIN"
                f" (SELECT f.item_id, {packed} AS packed FROM findings f GROUP BY f.item_id) p ON p.item_id = i.id"
                f" WHERE i.state = 'stored' AND {cond}"
            )
        return list(stream(self.conn, sql, args))

    def set_verdicts(self, pairs: Iterable[tuple[str, str]]) -> None:
        rows = list(pairs)
        if not rows:
            return
        with self._atomic():
            self._stage("_in_verdicts", "items", ("id", "verdict"), rows)
            # The last pair of an item wins, as SQLite's statement per pair leaves it.
            self.conn.execute(
                "UPDATE items i SET verdict = s.verdict FROM (SELECT DISTINCT ON (id) id, verdict FROM _in_verdicts"
                " ORDER BY id, _n DESC) s WHERE i.id = s.id AND i.verdict IS DISTINCT FROM s.verdict"
            )

    def verdicts_of(self, item_ids: Iterable[str]) -> dict[str, str]:
        rows = self.conn.execute("SELECT id, verdict FROM items WHERE id = ANY(%s)", (_ids(item_ids),))
        return {r[0]: r[1] for r in rows}

    # -- the emails to check, and what their checks found --------------------------------------
    def checkable_emails(self, verifications: TableSpec, *, mime: str, unless: str) -> list[Mapping[str, Any]]:
        self.ensure_table(verifications)
        # blob_ranges is keyed by sha256 (a join finds one range at most): hash joins, half the time of a
        # lookup per email at 600,000 emails.
        return self.conn.execute(
            'SELECT i.id, i.sha256, v.engine, v.published, v.keys_missing, b.container, b.start, b."end"'
            f" FROM items i LEFT JOIN {verifications.name} v ON v.item_id = i.id LEFT JOIN blob_ranges b"
            " ON b.sha256 = i.sha256"
            " WHERE i.kind = 'email' AND i.state = 'stored' AND i.mime = %s AND NOT EXISTS"
            " (SELECT 1 FROM findings f WHERE f.item_id = i.id AND f.code = %s) ORDER BY i.rowid",
            (mime, unless),
        ).fetchall()

    def verdicts_by_signing_domain(self, verifications: TableSpec) -> list[tuple[str, str, int]]:
        self.ensure_table(verifications)
        rows = self.conn.execute(
            f"SELECT d.value, i.verdict, COUNT(*) FROM {verifications.name} v JOIN items i ON i.id = v.item_id,"
            f" json_array_elements_text({json_of('v.domains')}) d(value)"
            f" GROUP BY 1, 2 ORDER BY d.value {C}, i.verdict {C}"
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def proving_key_counts(self, verifications: TableSpec) -> dict[str, int]:
        self.ensure_table(verifications)
        # Ties in the order of the keys, as SQLite's grouping leaves them.
        rows = self.conn.execute(
            f"SELECT k.value, COUNT(*) FROM {verifications.name} v,"
            f" json_array_elements_text({json_of('v.pass_keys')}) k(value) GROUP BY 1 ORDER BY 2 DESC, k.value {C}"
        )
        return {r[0]: r[1] for r in rows}

    def altered_email_findings(self, whole: Sequence[str]) -> dict[str, list[Finding]]:
        judged: dict[str, list[Finding]] = {}
        ev = json_of("f.evidence")
        # `signature` as json (psycopg reads it as its value: the index, as SQLite's json_extract gives it).
        for item_id, code, signature, effect, full in self.conn.execute(
            f"SELECT f.item_id, f.code, {ev}->'signature', {ev}->>'effect',"
            " CASE WHEN f.code = ANY(%s) THEN f.evidence END"
            " FROM findings f JOIN items i ON i.id = f.item_id"
            " WHERE i.kind = 'email' AND i.state = 'stored' AND i.verdict = 'altered' ORDER BY f.rowid",
            (list(whole),),
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
        return [dict(zip(keys, r, strict=True)) for r in self.conn.execute(_IDENTICAL)]

    def relayed_unsigned_emails(
        self, verifications: TableSpec, *, local_hosts: Sequence[str], submission_protocols: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        self.ensure_table(verifications)
        rows = self.conn.execute(
            f"SELECT i.id, i.verdict, v.signatures FROM items i JOIN {verifications.name} v ON v.item_id = i.id"
            f" WHERE {_CHECKED} AND NOT {_SIGNED} AND {_RELAY_HOP}",
            (list(local_hosts), list(submission_protocols)),
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    def checked_emails(self, verifications: TableSpec) -> Iterator[tuple[str, str, str, str | None, int]]:
        self.ensure_table(verifications)
        # Oldest first, as SQLite reads them (by its (kind, date) index): the rule counts a Message-ID
        # found in several mailboxes in the month of the first copy it reads.
        yield from stream(
            self.conn,
            f"SELECT i.id, i.email_from, i.date, i.message_id, ({_SIGNED})::int FROM items i WHERE {_CHECKED}"
            f" AND EXISTS (SELECT 1 FROM {verifications.name} v WHERE v.item_id = i.id) ORDER BY i.date, i.rowid",
        )

    def carriers_of_altered(self) -> list[tuple[str, str, str, str]]:
        return [tuple(r) for r in self.conn.execute(_CARRIERS)]  # type: ignore[misc]

    # -- documents -----------------------------------------------------------------------------
    def documents_with_carriers(self, kinds: Sequence[str]) -> list[Mapping[str, Any]]:
        return self.conn.execute(
            "SELECT d.id, d.path, d.parent, d.sha256, d.mime, d.kind, d.verdict, d.meta,"
            " p.kind AS parent_kind, p.date AS parent_date, p.verdict AS parent_verdict FROM items d"
            " LEFT JOIN items p ON p.id = d.parent WHERE d.state = 'stored' AND d.kind = ANY(%s) ORDER BY d.rowid",
            (list(kinds),),
        ).fetchall()

    def set_item_meta(self, pairs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        rows = [(i, json.dumps(meta, default=str)) for i, meta in pairs]  # encoded as SQLite's store does
        if not rows:
            return
        with self._atomic():
            self._stage("_in_meta", "items", ("id", "meta"), rows)
            self.conn.execute(
                "UPDATE items i SET meta = s.meta FROM (SELECT DISTINCT ON (id) id, meta FROM _in_meta"
                " ORDER BY id, _n DESC) s WHERE i.id = s.id"
            )

    # Texts come from the text store (what ingest extracted, not OCR), in the order the groups'
    # members have always been listed in: by kind and date (undated first, as on SQLite), emails by Message-ID;
    # ties by path (as on SQLite), never by write order, which changes from run to run with several workers.
    def document_texts(self, kinds: Sequence[str], min_length: int) -> Iterator[tuple[str, str]]:
        yield from stream(
            self.conn,
            "SELECT i.id, string_agg(t.text, E'\\n' ORDER BY t.source COLLATE \"C\") FROM items i"
            " JOIN texts t ON t.item_id = i.id AND t.source IN ('attachment', 'document', 'ocr')"
            " WHERE i.state = 'stored' AND i.kind = ANY(%s)"
            " GROUP BY i.id, i.kind, i.date, i.path HAVING length(string_agg(t.text, E'\\n')) > %s"
            " ORDER BY i.kind, i.date NULLS FIRST, i.path COLLATE \"C\"",
            (list(kinds), min_length),
            size=200,
        )

    def email_copy_texts(self) -> Iterator[tuple[str, str, str]]:
        yield from stream(
            self.conn,
            "SELECT i.id, i.message_id, coalesce(t.text, '') FROM items i"
            " LEFT JOIN texts t ON t.item_id = i.id AND t.source = 'body' WHERE i.kind = 'email'"
            " AND i.state = 'stored' AND i.message_id IN (SELECT message_id FROM items"
            " WHERE message_id IS NOT NULL GROUP BY message_id HAVING COUNT(*) > 1)"
            " ORDER BY i.message_id COLLATE \"C\", i.path COLLATE \"C\"",
            size=200,
        )

    def items_sharing_bytes(self, kinds: Sequence[str]) -> list[tuple[str, str]]:
        return [
            tuple(r)  # type: ignore[misc]
            for r in self.conn.execute(
                "SELECT id, sha256 FROM items WHERE state = 'stored' AND kind = ANY(%s)"
                " AND sha256 IN (SELECT sha256 FROM items WHERE sha256 IS NOT NULL GROUP BY sha256"
                " HAVING COUNT(*) > 1) ORDER BY path COLLATE \"C\"",
                (list(kinds),),
            )
        ]
