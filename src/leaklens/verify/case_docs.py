"""Document forensics over a case: metadata, per-document and population checks, altered copies.

Runs after email verification, because its judgements depend on it: a document
saved after its email was sent is a clock discrepancy when the email is verified
(the signature proves those bytes were sent), suspicious when nothing proves the
email, and a swapped attachment when the email's body no longer matches its
signature; a near-copy of a *verified* item that differs is altered; and every
heuristic finding on a verified item is written as a note.
Metadata is extracted once per blob (cached by sha256 in ``doc_metadata``); the
checks are cheap and always run over the whole case, so their findings always
reflect the current population.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

from .. import pathchain
from ..case import Case, case_blobs
from ..model import Finding
from .case_proof import as_note
from .docmeta import DocMetadata, DocRecord, extract_metadata, family_for
from .threads import unquoted
from .verdict import ALTERED, VERIFIED

DOC_ENGINE = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS doc_metadata (sha256 TEXT PRIMARY KEY, engine TEXT NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dup_groups (grp INTEGER NOT NULL, item_id TEXT NOT NULL, kind TEXT NOT NULL,
                                       similarity REAL);
"""
MIN_DUP_WORDS = 30


def _documents(case: Case) -> list[Any]:
    """Stored documents, with what the checks need of them and of the email that carries them."""
    rows = case.db.conn.execute(
        "SELECT d.id, d.path, d.parent, d.sha256, d.mime, d.kind, d.verdict, d.meta,"
        " p.kind AS parent_kind, p.date AS parent_date, p.verdict AS parent_verdict FROM items d"
        " LEFT JOIN items p ON p.id = d.parent WHERE d.state='stored'"
        " AND d.kind IN ('document', 'attachment', 'image') ORDER BY d.rowid"
    ).fetchall()
    return [r for r in rows if family_for(r["mime"] or "")]


# Emails whose body no longer matches a signature's body hash, with no recovered original to show what
# changed (when one is recovered, the change is the text it removed, not an attachment).
_BODY_CHANGED = (
    "SELECT DISTINCT f.item_id FROM findings f WHERE f.code = 'dkim.body_hash_mismatch' AND NOT EXISTS"
    " (SELECT 1 FROM findings r WHERE r.item_id = f.item_id AND +r.code = 'dkim.original_recovered')"
)


def _email_verdict(row: Any, body_changed: set[str]) -> str | None:
    """How far the carrying email vouches for the document's bytes, as `check_document` reads it:
    "verified" (its signature proves them), "altered" (its body no longer matches a signature and
    nothing recovered shows what changed), or None (nothing proves them, nor shows the body changed)."""
    if row["parent_kind"] != "email":
        return None
    if row["parent_verdict"] == VERIFIED:
        return VERIFIED
    return ALTERED if row["parent"] in body_changed else None


_W: dict[str, Any] = {}


def _init(case_root: str) -> None:
    _W["blobs"] = case_blobs(case_root)


def _extract(job: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    sha, mime = job
    return sha, extract_metadata(_W["blobs"].path(sha), mime).to_dict()


def extract_all(case: Case, *, workers: int | None = None, progress: Callable[[int, int], None] | None = None) -> None:
    conn = case.db.conn
    conn.executescript(SCHEMA)
    done = {r[0] for r in conn.execute("SELECT sha256 FROM doc_metadata WHERE engine=?", (DOC_ENGINE,))}
    jobs = sorted({(r["sha256"], r["mime"]) for r in _documents(case) if r["sha256"] not in done})
    workers = workers if workers is not None else (os.cpu_count() or 2)
    case.db.begin()
    try:
        if workers <= 1 or len(jobs) < 20:
            _init(str(case.root))
            results = map(_extract, jobs)
            _store(case, results, len(jobs), progress)
        else:
            with ProcessPoolExecutor(workers, initializer=_init, initargs=(str(case.root),)) as pool:
                _store(case, pool.map(_extract, jobs, chunksize=8), len(jobs), progress)
    finally:
        case.db.commit()


def _store(case: Case, results, total: int, progress) -> None:
    for n, (sha, meta) in enumerate(results, 1):
        case.db.conn.execute(
            "INSERT OR REPLACE INTO doc_metadata VALUES(?,?,?)", (sha, DOC_ENGINE, json.dumps(meta, default=str))
        )
        if progress:
            progress(n, total)


def _group_of(path: str) -> str:
    """The folder or archive a document sits in: the population unit for edit bursts."""
    segments = pathchain.split(path)
    last = segments[-1]
    folder = last.rsplit("/", 1)[0] if "/" in last else ""
    return pathchain.join([*segments[:-1], folder]) if len(segments) > 1 else folder


def document_checks(case: Case) -> None:
    """Per-document and population findings, stored under stage 'doc'; metadata copied into items.meta.

    Findings on a verified document are written as notes (`as_note`)."""
    from .doc_checks import check_document, population_checks

    conn = case.db.conn
    conn.executescript(SCHEMA)
    metas = {
        sha: DocMetadata.from_dict(json.loads(m)) for sha, m in conn.execute("SELECT sha256, meta FROM doc_metadata")
    }
    published = case.published
    now = datetime.now(UTC)
    body_changed = {r[0] for r in conn.execute(_BODY_CHANGED)}
    records: list[DocRecord] = []
    verified: set[str] = set()
    found: list[tuple[str, Finding]] = []
    metas_out: list[tuple[str, str]] = []
    conn.execute("DELETE FROM findings WHERE stage='doc'")
    for row in _documents(case):
        meta = metas.get(row["sha256"])
        if meta is None:
            continue
        email_date = None
        if row["parent_kind"] == "email" and row["parent_date"]:
            email_date = datetime.fromisoformat(row["parent_date"])
        findings = list(meta.findings) + check_document(
            meta,
            email_date=email_date,
            email_verdict=_email_verdict(row, body_changed),
            published=published,
            now=now,
        )
        if row["verdict"] == VERIFIED:
            verified.add(row["id"])
        found += [(row["id"], f) for f in findings]
        item_meta = json.loads(row["meta"] or "{}")
        item_meta["document"] = meta.to_dict()
        metas_out.append((json.dumps(item_meta, default=str), row["id"]))
        records.append(DocRecord(row["id"], _group_of(row["path"]), meta))
    conn.executemany("UPDATE items SET meta=? WHERE id=?", metas_out)
    found += [(i, f) for i, fs in population_checks(records).items() for f in fs]
    case.db.add_findings_of(((i, as_note(f) if i in verified else f) for i, f in found), "doc")


def near_duplicates(case: Case) -> None:
    """Duplicate groups (exact: same bytes; near: similar text) and the altered copies among them.

    Documents are grouped by text with MinHash LSH, emails by Message-ID.

    Emails are compared only with other copies of the same message (the sender's
    and a recipient's copy share a Message-ID): mail merges, newsletters and thank-you
    templates make distinct emails near-identical, and calling one "an altered copy"
    of another would overstate. Quoted lines are left out, so a reply is not a copy
    of what it quotes.
    """
    from .neardup import DupGroup, altered_copy_findings, exact_groups, find_near_duplicates

    conn = case.db.conn
    conn.executescript(SCHEMA)
    conn.execute("DELETE FROM findings WHERE stage='dup'")
    conn.execute("DELETE FROM dup_groups")
    docs = conn.execute(
        "SELECT i.id, f.body FROM items i JOIN fts f ON f.rowid = i.rowid WHERE i.state='stored'"
        " AND i.kind IN ('document', 'attachment') AND length(f.body) > 200"
    )
    groups = find_near_duplicates((i, t) for i, t in docs if len(t.split()) >= MIN_DUP_WORDS)
    by_message: dict[str, dict[str, str]] = {}
    for item_id, message_id, body in conn.execute(
        "SELECT i.id, i.message_id, f.body FROM items i JOIN fts f ON f.rowid = i.rowid WHERE i.kind='email'"
        " AND i.state='stored' AND i.message_id IN (SELECT message_id FROM items"
        " WHERE message_id IS NOT NULL GROUP BY message_id HAVING COUNT(*) > 1)"
    ):
        by_message.setdefault(message_id, {})[item_id] = unquoted(body)
    groups += [DupGroup(kind="near", members=list(t), texts=t) for t in by_message.values() if len(t) > 1]
    # Identical bytes in several places ("this attachment appears in 14 emails"), for the report.
    groups += exact_groups(
        conn.execute(
            "SELECT id, sha256 FROM items WHERE state='stored' AND kind IN ('document', 'attachment', 'image')"
            " AND sha256 IN (SELECT sha256 FROM items WHERE sha256 IS NOT NULL GROUP BY sha256 HAVING COUNT(*) > 1)"
        ).fetchall()
    )
    members = {m for g in groups for m in g.members}
    verdicts = dict(
        conn.execute(
            "SELECT id, verdict FROM items WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(sorted(members)),)
        )
    )
    for n, group in enumerate(groups):
        conn.executemany(
            "INSERT INTO dup_groups VALUES(?,?,?,?)", ((n, m, group.kind, group.similarity) for m in group.members)
        )
    for item_id, findings in altered_copy_findings(groups, verdicts).items():
        case.db.add_findings(item_id, "dup", findings)


def population(case: Case) -> dict[str, Any]:
    from .population import population_summary

    conn = case.db.conn
    conn.executescript(SCHEMA)
    metas = {
        sha: DocMetadata.from_dict(json.loads(m)) for sha, m in conn.execute("SELECT sha256, meta FROM doc_metadata")
    }
    records = [
        DocRecord(r["id"], _group_of(r["path"]), metas[r["sha256"]]) for r in _documents(case) if r["sha256"] in metas
    ]
    return population_summary(records)
