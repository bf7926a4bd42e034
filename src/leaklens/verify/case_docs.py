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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import pathchain
from ..case import Case, case_blobs
from ..executor import CRASHED, DONE, TIMEOUT, Outcome, executor_for
from ..jobs import Job
from ..model import Finding
from ..steps import Run, step
from ..store.base import Column, TableSpec
from .case_proof import as_note, carries_altered
from .docmeta import DocMetadata, DocRecord, extract_metadata, family_for
from .threads import unquoted
from .verdict import ALTERED, VERIFIED

if TYPE_CHECKING:
    from ..cluster import Cluster

DOC_ENGINE = "1"
DOC_METADATA = TableSpec(
    "doc_metadata",
    key=("sha256",),
    columns=(Column("sha256"), Column("engine", required=True), Column("meta", "json", required=True)),
    meaning="What each document's bytes say about their making (DocMetadata.to_dict), read once per blob "
    "by extractor version `engine`.",
)
DUP_GROUPS = TableSpec(
    "dup_groups",
    key=(),  # a member may sit in several groups; the step writes them all again each run
    columns=(
        Column("grp", "int", required=True),
        Column("item_id", required=True),
        Column("kind", required=True),
        Column("similarity", "real"),
    ),
    meaning="Near-duplicate and identical groups, a row per member: group number, item, exact or near, "
    "the lowest word overlap that joined the group.",
)
DOCUMENT_KINDS = ("document", "attachment", "image")
MIN_DUP_WORDS = 30
# Seconds a document's metadata may take to read before its worker is killed (a parser that never
# returns on a hostile file, in Python or C): the document gets a finding, the others go on.
EXTRACT_TIMEOUT = 300.0


def _documents(case: Case) -> list[Any]:
    """Stored documents, with what the checks need of them and of the email that carries them."""
    return [r for r in case.db.documents_with_carriers(DOCUMENT_KINDS) if family_for(r["mime"] or "")]


def _body_changed(case: Case) -> set[str]:
    """Emails whose body no longer matches a signature's body hash, with no recovered original to show
    what changed (when one is recovered, the change is the text it removed, not an attachment)."""
    return case.db.items_with_finding("dkim.body_hash_mismatch", unless="dkim.original_recovered")


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


def extract_all(
    case: Case,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    timeout: float | None = EXTRACT_TIMEOUT,
    job: Job | None = None,
    only_failed: bool = False,
    cluster: Cluster | None = None,
) -> None:
    """The metadata of every document blob not read yet by this extractor, in the executor's workers.

    A document whose reading overruns `timeout` or kills its worker (a crash in a C parser) is
    recorded with a finding saying so, as a damaged one is (and noted in `job`); it is not read
    again by later runs but with `only_failed`, which reads only those again."""
    db = case.db
    done = {k[0] for k in db.table_keys(DOC_METADATA, engine=DOC_ENGINE)}
    if only_failed:
        done -= {r["sha256"] for r in db.table_rows(DOC_METADATA, engine=DOC_ENGINE) if _unfinished(r["meta"])}
    documents = _documents(case)
    jobs = sorted({(r["sha256"], r["mime"]) for r in documents if r["sha256"] not in done})
    item_of = {r["sha256"]: r["id"] for r in reversed(documents)} if job is not None else {}  # the first with it
    if not jobs:
        return
    workers = min(workers if workers is not None else (os.cpu_count() or 2), len(jobs))
    pool = executor_for(workers, setup=_init, setup_args=(str(case.root),), timeout=timeout, cluster=cluster)
    db.begin()
    try:
        with pool:
            rows: list[dict[str, Any]] = []
            for n, out in enumerate(pool.map(_extract, jobs, batch=8), 1):
                sha, meta = _metadata_of(out, timeout)
                if job is not None and (code := _unfinished(meta)):
                    why = "the metadata could not be read in time, or crashed its reader"
                    job.error(code, item_of.get(sha, sha), code=code, sha256=sha, reason=why)
                rows.append({"sha256": sha, "engine": DOC_ENGINE, "meta": meta})
                # Written a few at a time, outside the executor's calls: it forks replacement workers
                # from this thread, never while a database statement is running.
                if len(rows) == WRITE_BATCH:
                    db.put_rows(DOC_METADATA, rows)
                    rows = []
                if progress:
                    progress(n, len(jobs))
            db.put_rows(DOC_METADATA, rows)
    finally:
        db.commit()


WRITE_BATCH = 100


UNFINISHED = ("doc.metadata_timeout", "doc.metadata_crash")


def _unfinished(meta: dict[str, Any]) -> str | None:
    """The code of the finding saying this extraction did not finish (None: it did)."""
    return next((f["code"] for f in meta.get("findings") or () if f.get("code") in UNFINISHED), None)


def _metadata_of(out: Outcome, timeout: float | None) -> tuple[str, dict[str, Any]]:
    """(sha256, metadata) of one extraction: what it read, or a finding on why it could not."""
    if out.status == DONE:
        return out.result
    if out.status not in (TIMEOUT, CRASHED):
        raise out.error  # a fault of leaklens's (extract_metadata turns a bad file into a finding)
    sha, mime = out.job
    family = family_for(mime or "") or "unknown"
    meta = DocMetadata(family=family)
    if out.status == TIMEOUT:
        meta.findings.append(
            Finding(
                "doc.metadata_timeout",
                "warning",
                f"Reading this {family.upper()} file's metadata took longer than {timeout:g} s and was stopped; "
                "the file may be damaged or built to stall the tools that open it.",
                {"family": family, "limit_s": timeout},
            )
        )
    else:
        meta.findings.append(
            Finding(
                "doc.metadata_crash",
                "warning",
                f"The process reading this {family.upper()} file's metadata crashed; the file may be damaged "
                "or built to crash the tools that open it.",
                {"family": family, "error": str(out.error)},
            )
        )
    return sha, meta.to_dict()


def _group_of(path: str) -> str:
    """The folder or archive a document sits in: the population unit for edit bursts."""
    segments = pathchain.split(path)
    last = segments[-1]
    folder = last.rsplit("/", 1)[0] if "/" in last else ""
    return pathchain.join([*segments[:-1], folder]) if len(segments) > 1 else folder


def document_checks(case: Case) -> set[str]:
    """Per-document and population findings, stored under stage 'doc'; metadata copied into items.meta.

    Findings on a verified document are written as notes (`as_note`). Returns the items whose
    findings of the stage changed (had some before, or have some now)."""
    from .doc_checks import check_document, population_checks

    db = case.db
    metas = {r["sha256"]: DocMetadata.from_dict(r["meta"]) for r in db.table_rows(DOC_METADATA)}
    published = case.published
    now = datetime.now(UTC)
    body_changed = _body_changed(case)
    records: list[DocRecord] = []
    verified: set[str] = set()
    found: list[tuple[str, Finding]] = []
    metas_out: list[tuple[str, dict[str, Any]]] = []
    cleared = db.clear_findings(("doc",))
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
        metas_out.append((row["id"], item_meta))
        records.append(DocRecord(row["id"], _group_of(row["path"]), meta))
    db.set_item_meta(metas_out)
    found += [(i, f) for i, fs in population_checks(records).items() for f in fs]
    db.add_findings_of(((i, as_note(f) if i in verified else f) for i, f in found), "doc")
    return cleared | {i for i, _ in found}


def near_duplicates(case: Case) -> set[str]:
    """Duplicate groups (exact: same bytes; near: similar text) and the altered copies among them.

    Documents are grouped by text with MinHash LSH, emails by Message-ID.

    Emails are compared only with other copies of the same message (the sender's
    and a recipient's copy share a Message-ID): mail merges, newsletters and thank-you
    templates make distinct emails near-identical, and calling one "an altered copy"
    of another would overstate. Quoted lines are left out, so a reply is not a copy
    of what it quotes. Returns the items whose findings of the stage changed.
    """
    from .neardup import DupGroup, altered_copy_findings, exact_groups, find_near_duplicates

    db = case.db
    cleared = db.clear_findings(("dup",))
    db.delete_rows(DUP_GROUPS)
    # Images too: a scan read by OCR is compared with the typed documents it may copy.
    docs = db.document_texts(("document", "attachment", "image"), 200)
    capped: dict[str, int] = {}
    groups = find_near_duplicates(((i, t) for i, t in docs if len(t.split()) >= MIN_DUP_WORDS), capped=capped)
    by_message: dict[str, dict[str, str]] = {}
    for item_id, message_id, body in db.email_copy_texts():
        by_message.setdefault(message_id, {})[item_id] = unquoted(body)
    groups += [DupGroup(kind="near", members=list(t), texts=t) for t in by_message.values() if len(t) > 1]
    # Identical bytes in several places ("this attachment appears in 14 emails"), for the report.
    groups += exact_groups(db.items_sharing_bytes(DOCUMENT_KINDS))
    verdicts = db.verdicts_of({m for g in groups for m in g.members})
    db.put_rows(
        DUP_GROUPS,
        (
            {"grp": n, "item_id": m, "kind": g.kind, "similarity": g.similarity}
            for n, g in enumerate(groups)
            for m in g.members
        ),
    )
    found = altered_copy_findings(groups, verdicts)
    for item_id, size in capped.items():  # said, so that a missing group is not read as "no copy"
        found.setdefault(item_id, []).append(_compared_in_part(size))
    db.add_findings_of(((i, f) for i, fs in found.items() for f in fs), "dup")
    return cleared | set(found)


def _compared_in_part(bucket: int) -> Finding:
    from .neardup import BUCKET_CAP

    return Finding(
        "dup.compared_in_part",
        "info",
        f"This text shares most of its words with {bucket - 1:,} others (a template, a mail merge): it was "
        f"compared with up to {2 * BUCKET_CAP} of them, so a near-copy among the rest may be missing from its group.",
        {"lookalikes": bucket - 1, "compared": 2 * BUCKET_CAP},  # BUCKET_CAP on each side of it in its bucket
    )


def population(case: Case) -> dict[str, Any]:
    from .population import population_summary

    metas = {r["sha256"]: DocMetadata.from_dict(r["meta"]) for r in case.db.table_rows(DOC_METADATA)}
    records = [
        DocRecord(r["id"], _group_of(r["path"]), metas[r["sha256"]]) for r in _documents(case) if r["sha256"] in metas
    ]
    return population_summary(records)


# --- the documents' steps: after the emails are judged (their verdicts decide what a date means) ---------


@step("documents.extract", group="documents", own_transactions=True)
def _extract_step(run: Run) -> None:
    """Each document blob's metadata, read once, in the executor's workers."""
    o = run.options
    extract_all(
        run.case,
        workers=run.workers,
        progress=o.get("doc_progress"),
        timeout=o.get("doc_timeout", EXTRACT_TIMEOUT),
        job=o.get("job"),
        only_failed=o.get("only_failed", False),
        cluster=run.cluster,
    )


@step("documents.checks", needs=("documents.extract", "proof.identical"), group="documents", stage="doc")
def _checks_step(run: Run) -> set[str]:
    """Per-document and population findings, judged against the carrying email's verdict."""
    return document_checks(run.case)


@step("documents.duplicates", needs=("proof.identical",), group="documents", stage="dup")
def _duplicates_step(run: Run) -> set[str]:
    """Near-duplicate and identical groups, and the copies of a verified item that differ from it."""
    return near_duplicates(run.case)


@step("documents.vehicle", needs=("documents.checks", "documents.duplicates", "proof.vehicle"), group="documents",
      stage="vehicle")  # fmt: skip
def _vehicle_step(run: Run) -> set[str]:
    """Emails carrying what the documents' steps found altered (the case step again, with those)."""
    return carries_altered(run.case)
