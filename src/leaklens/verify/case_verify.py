"""``leaklens verify``: every email of a case checked, in a process pool, idempotently.

Each message's result is kept in ``verifications`` with the keys it lacked, so a
later run (after ``keys import`` or with ``--dns``) re-checks only the messages
that a new key can change. Then the case-wide steps run: attachments inherit a
verified email's standing, replies are compared with the parents they quote,
and every touched item's verdict is derived again from all its findings.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

from ..case import Case, case_blobs, now_iso
from ..model import Finding
from . import timestamps
from .case_keys import case_archive
from .case_proof import (
    STAGES,
    as_note,
    carries_altered,
    expected_signatures,
    identical_to_verified,
    ids_param,
    inherit_verification,
)
from .keys import DnsKeySource, KeyArchive
from .message import MessageVerification, verify_message
from .threads import quote_findings
from .verdict import verdict_for

ENGINE_VERSION = "3"  # 3: issue 10 rules (alignment, one header reading, key rules)


SCHEMA = """
CREATE TABLE IF NOT EXISTS verifications (
    item_id TEXT PRIMARY KEY,
    engine TEXT NOT NULL,
    published TEXT,
    checked TEXT NOT NULL,
    verdict TEXT NOT NULL,
    keys_used TEXT NOT NULL,
    keys_missing TEXT NOT NULL,
    signatures TEXT NOT NULL,
    arc TEXT,
    received TEXT,
    summary TEXT NOT NULL,
    domains TEXT NOT NULL DEFAULT '[]',    -- signing domains (d=), for the summary without parsing signatures
    pass_keys TEXT NOT NULL DEFAULT '[]'   -- selector._domainkey.domain of each valid signature
);
CREATE TABLE IF NOT EXISTS dns_lookups (item_id TEXT, name TEXT, answer TEXT, error TEXT, at TEXT);
"""


# Only messages kept as their original bytes can be checked: a .msg or a message rebuilt from
# a PST's properties still carries the old DKIM-Signature, which would fail on the rebuilt bytes.
CHECKABLE = (
    "i.kind='email' AND i.state='stored' AND i.mime='message/rfc822' AND NOT EXISTS"
    " (SELECT 1 FROM findings f WHERE f.item_id=i.id AND f.code='ingest.reconstructed')"
)


@dataclass
class VerifyStats:
    emails: int = 0
    checked: int = 0
    skipped_up_to_date: int = 0


def ensure_schema(case: Case) -> None:
    conn = case.db.conn
    columns = {r[1] for r in conn.execute("PRAGMA table_info(verifications)")}
    if columns and "pass_keys" not in columns:
        # Results of an older leaklens: derived data, so dropped and checked again.
        conn.execute("DROP TABLE verifications")
    conn.executescript(SCHEMA)


def _needs_check(row: Any, archive_keys: set[tuple[str, str]], published: str | None, dns: bool) -> bool:
    if row["engine"] is None or row["engine"] != ENGINE_VERSION or row["published"] != published:
        return True
    missing = {tuple(k) for k in json.loads(row["keys_missing"])}
    return bool(missing and (dns or missing & archive_keys))


def select_emails(
    case: Case, archive: KeyArchive, *, published: str | None, dns: bool, force: bool
) -> tuple[list[Job], int]:
    """The emails to check, each with where its bytes are, and how many checkable emails there are."""
    ensure_schema(case)
    archive_keys = {(r.domain.lower(), r.selector.lower()) for r in archive.records}
    todo: list[Job] = []
    total = 0
    for row in case.db.conn.execute(
        'SELECT i.id, i.sha256, v.engine, v.published, v.keys_missing, b.container, b.start, b."end"'
        " FROM items i LEFT JOIN verifications v ON v.item_id = i.id LEFT JOIN blob_ranges b"
        " ON b.sha256 = i.sha256 WHERE " + CHECKABLE + " ORDER BY i.rowid"
    ):
        total += 1
        if force or _needs_check(row, archive_keys, published, dns):
            where = None if row["container"] is None else (row["container"], row["start"], row["end"])
            todo.append((row["id"], row["sha256"], where))
    return todo, total


# --- worker side -------------------------------------------------------------------------

_W: dict[str, Any] = {}

# Where an email's bytes are: its blob, or the byte range of a stored mailbox that holds it.
Job = tuple[str, str, tuple[str, int, int] | None]
# What the case keeps of one message, made ready in the worker: the findings' rows (code,
# severity, message, evidence), the verifications row from `checked` on, and the DNS lookups'
# rows. Strings cross the process boundary far more cheaply than the result's nested dicts,
# and turning a result into dicts (dataclasses.asdict) cost a quarter of the check itself.
Stored = tuple[list[tuple[str, str, str, str]], tuple[Any, ...], list[tuple[Any, ...]]]


def _init(
    case_root: str,
    archive: KeyArchive,
    published: str | None,
    dns: bool,
    stamps: dict[str, list[tuple[datetime, str]]] | None = None,
) -> None:
    _W["stamps"] = stamps or {}
    _W["blobs"] = case_blobs(case_root)
    _W["archive"] = archive
    _W["published"] = datetime.fromisoformat(published) if published else None
    _W["dns"] = DnsKeySource() if dns else None


def _init_worker(*args: Any) -> None:
    _init(*args)
    # What the worker inherited (modules, key archive) lives as long as it does: the collector
    # need not walk it again and again. And a message's objects mostly die with it, so
    # collecting less often scans fewer of them. (Not in the coordinator, which may go on serving.)
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _plain(value: Any) -> Any:
    """JSON's fallback for what it cannot hold, as when results went through dataclasses.asdict first."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)


# Made once: json.dumps with any option builds a new encoder on every call. A result holds no
# cycles, so the encoders need not look for them (the output is the same).
_to_json = json.JSONEncoder(default=_plain, check_circular=False).encode
_evidence_json = json.JSONEncoder(  # as the store writes a finding's evidence
    ensure_ascii=False, sort_keys=True, default=_plain, check_circular=False
).encode
_list_json = json.JSONEncoder(check_circular=False).encode


def stored_rows(result: MessageVerification) -> Stored:
    """The rows `verify_case` writes for one message's result."""
    sigs = result.signatures
    findings = [(f.code, f.severity, f.message, _evidence_json(f.evidence or {})) for f in result.findings]
    row = (
        now_iso(),
        result.verdict,
        _list_json([list(k) for k in result.keys_used]),
        _list_json([list(k) for k in result.keys_missing]),
        _to_json(sigs),
        _to_json(result.arc),
        _to_json(result.received),
        result.summary,
        _list_json(sorted({s["d"] for s in sigs if s.get("d")})),
        _list_json([f"{s['s']}._domainkey.{s['d']}" for s in sigs if s.get("result") == "pass"]),
    )
    lookups = [
        (x.get("name"), _to_json(x.get("answer")), x.get("error"), x.get("time") or x.get("at"))
        for x in result.dns_lookups or ()
    ]
    return findings, row, lookups


def _check(job: Job) -> tuple[str, Stored]:
    item_id, sha, where = job
    blobs = _W["blobs"]
    # A mailbox member is read from its range directly: BlobStore.read would first fail to open
    # a file of its own and then look the range up in the database, once per message.
    raw = blobs.read_range(*where) if where else blobs.read(sha)
    result = verify_message(
        raw, _W["archive"], dns=_W["dns"], published=_W["published"], timestamps=_W["stamps"].get(sha, ())
    )
    return item_id, stored_rows(result)


# --- coordinator -----------------------------------------------------------------------------

_INSERT_FINDING = "INSERT INTO findings(item_id, stage, code, severity, message, evidence) VALUES(?,?,?,?,?,?)"
WRITE_BATCH = 500  # results written per group of statements
COMMIT_EVERY = 2000  # results per transaction, so a long run's work is kept as it goes


def verify_case(
    case: Case,
    *,
    key_files: Iterable[Path] = (),
    dns: bool = False,
    published: datetime | None = None,
    force: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    documents: bool = True,
    doc_progress: Callable[[int, int], None] | None = None,
) -> VerifyStats:
    db = case.db
    conn = db.conn
    ensure_schema(case)
    if published is not None:
        case.set_published(published)
    published = case.published
    pub = published.isoformat() if published else None
    # Recorded proofs of existence change what a compromised key proves: a new one means checking again.
    stamps, stamps_fp = timestamps.recorded(case), timestamps.fingerprint(case)
    marker = f"{pub}|timestamps:{stamps_fp}" if stamps_fp else pub
    archive = case_archive(case, key_files)
    jobs, total = select_emails(case, archive, published=marker, dns=dns, force=force)
    stats = VerifyStats(emails=total, skipped_up_to_date=total - len(jobs))
    init_args = (str(case.root), archive, pub, dns, stamps)
    workers = workers if workers is not None else (os.cpu_count() or 2)

    def write(batch: list[tuple[str, Stored]]) -> None:
        conn.executemany("DELETE FROM findings WHERE item_id=? AND stage='verify'", [(b[0],) for b in batch])
        conn.executemany(_INSERT_FINDING, ((i, "verify", *f) for i, (fs, _, _) in batch for f in fs))
        conn.executemany(
            "INSERT OR REPLACE INTO verifications VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ((i, ENGINE_VERSION, marker, *row) for i, (_, row, _) in batch),
        )
        conn.executemany(
            "INSERT INTO dns_lookups VALUES(?,?,?,?,?)", ((i, *x) for i, (_, _, xs) in batch for x in xs)
        )
        stats.checked += len(batch)
        if stats.checked % COMMIT_EVERY < len(batch):
            db.commit()
            db.begin()
        if progress:
            progress(stats.checked, len(jobs))

    def record(results: Iterable[tuple[str, Stored]]) -> None:
        batch: list[tuple[str, Stored]] = []
        for out in results:
            batch.append(out)
            if len(batch) == WRITE_BATCH:
                write(batch)
                batch = []
        if batch:
            write(batch)

    db.begin()
    try:
        if workers <= 1 or len(jobs) < 50:
            _init(*init_args)
            record(map(_check, jobs))
        else:
            # The first message is checked here, before the workers are forked: what a check loads
            # once (the public suffix list, parsed keys, compiled patterns) is then theirs, instead
            # of every worker loading it again.
            _init(*init_args)
            first = _check(jobs[0])
            # Chunks large enough that handing them out costs little, small enough that the
            # last ones do not leave a core idle for long.
            chunk = max(8, min(128, len(jobs) // (workers * 8)))
            with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=init_args) as pool:
                record(chain([first], pool.map(_check, jobs[1:], chunksize=chunk)))
        db.commit()
        db.begin()
        propagate(case)
        db.commit()
    finally:
        db.commit()
    if documents:
        check_documents(case, workers=workers, progress=doc_progress)
    if progress:
        progress(len(jobs), len(jobs))
    return stats


def propagate(case: Case) -> None:
    """Case-wide steps after the per-message checks: set-based and cheap, so always run in full.

    Each step replaces its own findings and reads verdicts derived without them, so running it
    again gives the same findings (see verify/case_proof.py for the steps themselves). Verdicts
    are derived again for every email, then for the items whose findings these steps changed.
    """
    db = case.db
    stages = (*STAGES, "thread")
    touched = _items_with_findings(case, stages)
    db.conn.execute(f"DELETE FROM findings WHERE stage IN ({', '.join('?' * len(stages))})", stages)
    # 1. Every email's verdict from its own findings (ingest + verify).
    _refresh_verdicts(case, "kind='email' AND state='stored'")
    # 2. Parts of a verified email: their bytes lie inside the signed body.
    touched |= inherit_verification(case)
    # 3. Replies that misquote a verified parent (a note on a reply that is verified itself).
    quotes = quote_findings(case)
    proven = _verified(case, set(quotes))
    db.add_findings_of(((i, as_note(f) if i in proven else f) for i, fs in quotes.items() for f in fs), "thread")
    # 4. Unsigned mail claiming a domain whose relayed mail is signed.
    touched |= set(quotes) | expected_signatures(case)
    _refresh_items(case, touched)
    # 5. Proof travels with bytes (read against verdicts that no longer count a previous run's copies).
    _refresh_items(case, identical_to_verified(case))
    # 6. Emails carrying what is altered so far (again once the documents are judged).
    _refresh_items(case, carries_altered(case))  # documents are judged next, against these verdicts


def check_documents(
    case: Case, *, workers: int | None = None, progress: Callable[[int, int], None] | None = None
) -> None:
    """Document forensics (metadata, dates, population, altered copies), after the emails are judged.

    Nothing here can take a verification away: document and duplicate findings are heuristic,
    notes on a verified item (verdict.py), so `identical_to_verified` need not run again.
    """
    from .case_docs import document_checks, extract_all, near_duplicates

    extract_all(case, workers=workers, progress=progress)
    db = case.db
    db.begin()
    try:
        stages = ("doc", "dup", "vehicle")
        touched = _items_with_findings(case, stages)
        document_checks(case)
        near_duplicates(case)
        _refresh_items(case, touched | _items_with_findings(case, ("doc", "dup")))
        # Altered copies found just now make the emails that carry them suspicious.
        _refresh_items(case, touched | carries_altered(case))
    finally:
        db.commit()


def _verified(case: Case, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    rows = case.db.conn.execute(
        "SELECT id FROM items WHERE verdict = 'verified' AND id IN (SELECT value FROM json_each(?))", (ids_param(ids),)
    )
    return {r[0] for r in rows}


def _items_with_findings(case: Case, stages: tuple[str, ...]) -> set[str]:
    marks = ", ".join("?" * len(stages))
    rows = case.db.conn.execute(f"SELECT DISTINCT item_id FROM findings WHERE stage IN ({marks})", stages)
    return {r[0] for r in rows}


def _verdict_findings(case: Case, where: str, args: tuple[Any, ...] = ()) -> list[tuple[str, str, str | None]]:
    """(id, verdict, findings) of every selected stored item, its findings packed as the verdict rules
    see them: code and `evidence.effect` only, "code\\x1feffect" joined by "\\x1e". One string per
    item, so the items with the same findings share one verdict computation."""
    return case.db.conn.execute(
        "SELECT i.id, i.verdict, (SELECT group_concat(f.code || char(31) || coalesce(CASE WHEN"
        " instr(f.evidence, '\"effect\"') THEN json_extract(f.evidence, '$.effect') END, ''), char(30))"
        f" FROM findings f WHERE f.item_id = i.id) FROM items i WHERE i.state = 'stored' AND ({where})",
        args,
    ).fetchall()


def _unpack(packed: str | None) -> list[Finding]:
    out = []
    for part in packed.split("\x1e") if packed else ():
        code, _, effect = part.partition("\x1f")
        out.append(Finding(code, "info", "", {"effect": effect} if effect else {}))
    return out


def _refresh_verdicts(case: Case, where: str, args: tuple[Any, ...] = ()) -> None:
    """Every selected item's verdict from all its findings."""
    known: dict[str | None, str] = {}
    changed = []
    for item_id, old, packed in _verdict_findings(case, where, args):
        new = known.get(packed)
        if new is None:
            new = known[packed] = verdict_for(_unpack(packed))
        if new != old:
            changed.append((new, item_id))
    case.db.conn.executemany("UPDATE items SET verdict=? WHERE id=?", changed)


def _refresh_items(case: Case, ids: set[str]) -> None:
    if ids:
        _refresh_verdicts(case, "i.id IN (SELECT value FROM json_each(?))", (ids_param(ids),))


def verification_summary(case: Case) -> dict[str, Any]:
    """The figures an editor quotes: emails by verdict, by signing domain and by key."""
    conn = case.db.conn
    ensure_schema(case)
    emails = dict(
        conn.execute(
            "SELECT verdict, COUNT(*) FROM items WHERE kind='email' AND state='stored' GROUP BY verdict"
        ).fetchall()
    )
    by_domain: dict[str, dict[str, int]] = {}
    for domain, verdict, n in conn.execute(
        "SELECT d.value, i.verdict, COUNT(*) FROM verifications v JOIN items i ON i.id = v.item_id,"
        " json_each(v.domains) d GROUP BY d.value, i.verdict ORDER BY d.value"
    ):
        by_domain.setdefault(domain, {})[verdict] = n
    by_key = dict(
        conn.execute(
            "SELECT k.value, COUNT(*) FROM verifications v, json_each(v.pass_keys) k GROUP BY k.value"
            " ORDER BY COUNT(*) DESC"
        ).fetchall()
    )
    checked = conn.execute("SELECT COUNT(*) FROM verifications").fetchone()[0]
    # Altered emails whose signed original was recovered (dkim.original_recovered explains every
    # proven change) are counted apart: the item stays `altered`, but a list's footer is not a forgery.
    from .recover import explanation

    judged: dict[str, list[Finding]] = {}
    for item_id, code, signature, effect, full in conn.execute(
        "SELECT f.item_id, f.code, json_extract(f.evidence, '$.signature'), json_extract(f.evidence, '$.effect'),"
        " CASE WHEN f.code IN ('dkim.original_recovered', 'dup.altered_copy') THEN f.evidence END"
        " FROM findings f JOIN items i ON i.id = f.item_id"
        " WHERE i.kind='email' AND i.state='stored' AND i.verdict='altered'"
    ):
        evidence = json.loads(full) if full else {"signature": signature} | ({"effect": effect} if effect else {})
        judged.setdefault(item_id, []).append(Finding(code, "info", "", evidence))
    explained = [e for e in map(explanation, judged.values()) if e is not None]
    in_transit_n = sum(1 for e in explained if e["in_transit"])
    return {
        "emails": sum(emails.values()),
        "checked": checked,
        "by_verdict": emails,
        "by_signing_domain": by_domain,
        "verified_by_key": by_key,
        "altered_recovered": len(explained),
        "altered_in_transit": in_transit_n,
        "altered_unexplained": emails.get("altered", 0) - len(explained),
    }
