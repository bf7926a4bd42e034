"""Document forensics over a case: metadata, per-document and population checks, altered copies.

Runs after email verification, because two of its judgements depend on it: an
attachment modified after its *verified* email was sent is proven altered (not
just suspicious), and a near-copy of a *verified* item that differs is altered.
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
from .docmeta import DocMetadata, DocRecord, extract_metadata, family_for
from .threads import unquoted

DOC_ENGINE = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS doc_metadata (sha256 TEXT PRIMARY KEY, engine TEXT NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dup_groups (grp INTEGER NOT NULL, item_id TEXT NOT NULL, kind TEXT NOT NULL,
                                       similarity REAL);
"""
MIN_DUP_WORDS = 30


def _documents(case: Case) -> list[Any]:
    rows = case.db.conn.execute(
        "SELECT id, path, parent, sha256, mime, kind FROM items WHERE state='stored'"
        " AND kind IN ('document', 'attachment', 'image') ORDER BY rowid"
    ).fetchall()
    return [r for r in rows if family_for(r["mime"] or "")]


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
    """Per-document and population findings, stored under stage 'doc'; metadata copied into items.meta."""
    from .doc_checks import check_document, population_checks

    conn = case.db.conn
    conn.executescript(SCHEMA)
    metas = {
        sha: DocMetadata.from_dict(json.loads(m)) for sha, m in conn.execute("SELECT sha256, meta FROM doc_metadata")
    }
    published = case.published
    now = datetime.now(UTC)
    records: list[DocRecord] = []
    conn.execute("DELETE FROM findings WHERE stage='doc'")
    for row in _documents(case):
        meta = metas.get(row["sha256"])
        if meta is None:
            continue
        parent = case.db.item(row["parent"]) if row["parent"] else None
        email_date = email_verified = None
        if parent is not None and parent["kind"] == "email":
            email_date = datetime.fromisoformat(parent["date"]) if parent["date"] else None
            email_verified = parent["verdict"] == "verified"
        findings = list(meta.findings) + check_document(
            meta, email_date=email_date, email_verified=bool(email_verified), published=published, now=now
        )
        case.db.add_findings(row["id"], "doc", findings)
        item_meta = json.loads(case.db.item(row["id"])["meta"] or "{}")
        item_meta["document"] = meta.to_dict()
        conn.execute("UPDATE items SET meta=? WHERE id=?", (json.dumps(item_meta, default=str), row["id"]))
        records.append(DocRecord(row["id"], _group_of(row["path"]), meta))
    for item_id, findings in population_checks(records).items():
        case.db.add_findings(item_id, "doc", findings)


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
        " AND i.state='stored' AND i.message_id IN (SELECT message_id FROM items WHERE kind='email'"
        " AND message_id IS NOT NULL GROUP BY message_id HAVING COUNT(*) > 1)"
    ):
        by_message.setdefault(message_id, {})[item_id] = unquoted(body)
    groups += [DupGroup(kind="near", members=list(t), texts=t) for t in by_message.values()]
    # Identical bytes in several places ("this attachment appears in 14 emails"), for the report.
    groups += exact_groups(
        conn.execute(
            "SELECT id, sha256 FROM items WHERE state='stored' AND kind IN ('document', 'attachment', 'image')"
            " AND sha256 IN (SELECT sha256 FROM items WHERE state='stored' GROUP BY sha256 HAVING COUNT(*) > 1)"
        ).fetchall()
    )
    verdicts = dict(conn.execute("SELECT id, verdict FROM items WHERE state='stored'").fetchall())
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
