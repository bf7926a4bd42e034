"""``leaklens verify``: every email of a case checked, in the executor's workers, idempotently.

`verify_case` runs the registered steps (`leaklens.steps`). This module holds the first two: the
per-message check (`verify.messages`), whose results are kept in ``verifications`` with the keys
each message lacked, so a later run (after ``keys import`` or with ``--dns``) re-checks only the
messages that a new key can change; and `verify.verdicts`, each email's verdict from its own
findings, after which the case-wide steps (verify/case_proof.py: attachments inherit a verified
email's standing, replies are compared with the parents they quote, ...) and the documents'
(verify/case_docs.py) run, every changed item's verdict derived again from all its findings.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..case import Case, case_blobs, now_iso
from ..executor import CRASHED, DONE, TIMEOUT, Executor, InlineExecutor, Outcome, executor_for
from ..jobs import Job as JobRecord
from ..model import Finding
from ..steps import Run, derive_verdicts, run_steps, stages_of, step
from ..store.base import Column, ItemQuery, TableSpec
from . import timestamps
from .case_docs import EXTRACT_TIMEOUT
from .case_keys import case_archive
from .keys import DnsKeySource, KeyArchive
from .message import MessageVerification, verify_message

if TYPE_CHECKING:
    from ..cluster import Cluster

# As leaklens.steps: where a run's time goes (bench/verify.py reads it): the messages step also says
# how its CPU splits between this process and the workers, and how busy the workers were.
_TIMES = bool(os.environ.get("LEAKLENS_STEP_TIMES"))

ENGINE_VERSION = "3"  # 3: issue 10 rules (alignment, one header reading, key rules)

# The JSON columns hold text the worker encoded (cheaper to send than the values), read back with json.loads.
VERIFICATIONS = TableSpec(
    "verifications",
    key=("item_id",),
    columns=(
        Column("item_id"),
        Column("engine", required=True),
        Column("published"),  # what the check assumed: publication date and recorded timestamps
        Column("checked", required=True),
        Column("verdict", required=True),
        Column("keys_used", required=True),  # JSON: [[domain, selector]...]
        Column("keys_missing", required=True),  # JSON: the keys a later run may find
        Column("signatures", required=True),  # JSON
        Column("arc"),  # JSON
        Column("received"),  # JSON: the Received hops as read
        Column("summary", required=True),
        Column("domains", required=True, default="[]"),  # JSON: signing domains (d=), for the summary
        Column("pass_keys", required=True, default="[]"),  # JSON: selector._domainkey.domain of each valid one
    ),
    meaning="Each email's DKIM and ARC check, with the keys it used and lacked: what makes a later run "
    "check again only the emails a new key can change.",
)
DNS_LOOKUPS = TableSpec(
    "dns_lookups",
    key=(),  # a log: every answer live DNS gave, when
    columns=(Column("item_id"), Column("name"), Column("answer"), Column("error"), Column("at")),
    meaning="What live DNS answered (--dns) while an email was checked, and when: kept, never replaced.",
)

# Only messages kept as their original bytes can be checked: a .msg or a message rebuilt from
# a PST's properties still carries the old DKIM-Signature, which would fail on the rebuilt bytes.
CHECKABLE_MIME = "message/rfc822"
NOT_ORIGINAL = "ingest.reconstructed"
# Seconds one message's check may take before its worker is killed (a pathological header or
# MIME structure, a stalled live DNS answer): the message gets a finding, the others go on.
CHECK_TIMEOUT = 120.0


@dataclass
class VerifyStats:
    emails: int = 0
    checked: int = 0
    skipped_up_to_date: int = 0
    failed: int = 0  # of those checked, the ones whose check timed out or crashed (a finding says so)


# The findings of a check that did not finish: what `--only-failed` checks again.
UNFINISHED = ("verify.timeout", "verify.crash")


def ensure_schema(case: Case) -> None:
    db = case.db
    columns = db.table_columns(VERIFICATIONS)
    if columns and "pass_keys" not in columns:
        # Results of an older leaklens: derived data, so dropped and checked again.
        db.drop_table(VERIFICATIONS)
    db.ensure_table(VERIFICATIONS)
    db.ensure_table(DNS_LOOKUPS)


def _needs_check(row: Any, archive_keys: set[tuple[str, str]], published: str | None, dns: bool) -> bool:
    if row["engine"] is None or row["engine"] != ENGINE_VERSION or row["published"] != published:
        return True
    missing = {tuple(k) for k in json.loads(row["keys_missing"])}
    return bool(missing and (dns or missing & archive_keys))


def select_emails(
    case: Case, archive: KeyArchive, *, published: str | None, dns: bool, force: bool, only_failed: bool = False
) -> tuple[list[Job], int]:
    """The emails to check, each with where its bytes are, and how many checkable emails there are.
    `only_failed`: only those whose last check did not finish (timed out, crashed its worker)."""
    ensure_schema(case)
    archive_keys = {(r.domain.lower(), r.selector.lower()) for r in archive.records}
    unfinished = set().union(*(case.db.items_with_finding(c) for c in UNFINISHED)) if only_failed else set()
    todo: list[Job] = []
    total = 0
    for row in case.db.checkable_emails(VERIFICATIONS, mime=CHECKABLE_MIME, unless=NOT_ORIGINAL):
        total += 1
        if row["id"] in unfinished if only_failed else force or _needs_check(row, archive_keys, published, dns):
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
    gc.enable()  # forked while the coordinator runs without it (verify_case): a worker does collect


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

WRITE_BATCH = 500  # results written per group of statements
COMMIT_EVERY = 2000  # results per transaction, so a long run's work is kept as it goes
POOL_MIN = 50  # fewer emails than this: no first message checked here before the workers start


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
    timeout: float | None = CHECK_TIMEOUT,
    doc_timeout: float | None = EXTRACT_TIMEOUT,
    job: JobRecord | None = None,
    only_failed: bool = False,
    cluster: Cluster | None = None,
) -> VerifyStats:
    """Every registered step (`leaklens.steps`), in dependency order: each email's own check, the
    case-wide steps, then (unless `documents` is false) the documents'. `timeout`, `doc_timeout`:
    the seconds one message's check, one document's metadata may take (None: no limit). `job`: the
    run's record (errors by stage); `only_failed`: check again only what did not finish last time.
    `cluster`: a Dask cluster whose workers run the checks (reading the blobs on shared storage), not
    this machine's `workers`; this process alone writes the case."""
    if job is not None:
        progress, doc_progress = job.follower("emails", progress), job.follower("documents", doc_progress)
    run = Run(
        case,
        workers=workers if workers is not None else (os.cpu_count() or 2),
        cluster=cluster,
        options={
            "key_files": key_files, "dns": dns, "published": published, "force": force,
            "progress": progress, "doc_progress": doc_progress, "timeout": timeout, "doc_timeout": doc_timeout,
            "job": job, "only_failed": only_failed,
        },
    )  # fmt: skip
    # The coordinator makes rows by the hundred thousand and keeps few of them: the cycle collector
    # would walk them again and again for nothing (none of them forms a cycle). Off for the run only.
    collecting = gc.isenabled()
    gc.disable()
    try:
        # The texts steps (OCR, entities) run at ingest, where --no-ocr and --ocr-lang are chosen.
        run_steps(run, exclude=("texts",) if documents else ("documents", "texts"))
    finally:
        if collecting:
            gc.enable()
    stats: VerifyStats = run.results["verify.messages"]
    if job is not None:  # every checkable email accounted for
        job.tally("emails", {"found": stats.emails, "checked": stats.checked,
                             "up_to_date": stats.skipped_up_to_date, "failed": stats.failed})  # fmt: skip
    if progress:
        checked = stats.emails - stats.skipped_up_to_date
        progress(checked, checked)
    return stats


@step("verify.messages", group="messages", own_transactions=True)
def _messages_step(run: Run) -> None:
    """Each email's DKIM, ARC and header checks, in the executor's workers; only those a change can affect."""
    o = run.options
    run.results["verify.messages"] = check_messages(
        run.case,
        key_files=o.get("key_files", ()),
        dns=o.get("dns", False),
        published=o.get("published"),
        force=o.get("force", False),
        workers=run.workers,
        progress=o.get("progress"),
        timeout=o.get("timeout", CHECK_TIMEOUT),
        cluster=run.cluster,
        job=o.get("job"),
        only_failed=o.get("only_failed", False),
    )


def check_messages(
    case: Case,
    *,
    key_files: Iterable[Path] = (),
    dns: bool = False,
    published: datetime | None = None,
    force: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    timeout: float | None = CHECK_TIMEOUT,
    job: JobRecord | None = None,
    only_failed: bool = False,
    cluster: Cluster | None = None,
) -> VerifyStats:
    """Check the emails that need it (`select_emails`) and keep each result, committing as it goes.

    A message whose check overruns `timeout` or kills its worker gets a finding saying so (its
    verdict: error), like one leaklens failed on, and the others go on."""
    db = case.db
    ensure_schema(case)
    if published is not None:
        case.set_published(published)
    published = case.published
    pub = published.isoformat() if published else None
    # Recorded proofs of existence change what a compromised key proves: a new one means checking again.
    stamps, stamps_fp = timestamps.recorded(case), timestamps.fingerprint(case)
    marker = f"{pub}|timestamps:{stamps_fp}" if stamps_fp else pub
    archive = case_archive(case, key_files)
    jobs, total = select_emails(case, archive, published=marker, dns=dns, force=force, only_failed=only_failed)
    stats = VerifyStats(emails=total, skipped_up_to_date=total - len(jobs))
    init_args = (str(case.root), archive, pub, dns, stamps)
    workers = workers if workers is not None else (os.cpu_count() or 2)

    unfinished: list[tuple[str, str]] = []  # (item id, code) of the checks that did not finish, to note in the job

    def write(batch: list[tuple[str, Stored]]) -> None:
        for item_id, code in unfinished:
            stats.failed += 1
            if job is not None:
                job.error(code, item_id, code=code, reason="the check did not finish")
        unfinished.clear()
        db.delete_findings_of([b[0] for b in batch], "verify")
        db.add_encoded_findings(((i, *f) for i, (fs, _, _) in batch for f in fs), "verify")
        db.put_encoded_rows(VERIFICATIONS, ((i, ENGINE_VERSION, marker, *row) for i, (_, row, _) in batch))
        db.put_encoded_rows(DNS_LOOKUPS, ((i, *x) for i, (_, _, xs) in batch for x in xs))
        stats.checked += len(batch)
        if stats.checked % COMMIT_EVERY < len(batch):
            db.commit()
            db.begin()
        if progress:
            progress(stats.checked, len(jobs))

    def record(results: Iterable[tuple[str, Stored]]) -> None:
        # Written in batches between the executor's calls: it forks replacement workers from this
        # thread, never while a database statement is running.
        batch: list[tuple[str, Stored]] = []
        for out in results:
            batch.append(out)
            if len(batch) == WRITE_BATCH:
                write(batch)
                batch = []
        if batch:
            write(batch)

    if not jobs:
        return stats
    # From here: the first message's check in this process is part of the step's time.
    usage = _Usage(min(workers, len(jobs)), cluster is None) if _TIMES else None
    first: list[tuple[str, Stored]] = []
    todo = jobs
    if cluster is None and workers > 1 and len(jobs) >= POOL_MIN:
        # The first message is checked here, before the workers are forked: what a check loads
        # once (the public suffix list, parsed keys, compiled patterns) is then theirs, instead
        # of every worker loading it again. (It is the one message the executor's deadline does
        # not cover.)
        _init(*init_args)
        first, todo = [_check(jobs[0])], jobs[1:]
    # Chunks large enough that handing them out costs little, small enough that the last ones
    # do not leave a core idle for long. A chunk's messages still have a deadline each. At most
    # 64 (about 11 KB): a larger batch is sent only to an idle worker (executor.PREFETCH_BYTES),
    # which then waits for it instead of finding it queued.
    chunk = max(8, min(64, len(todo) // (workers * 8)))
    pool = _pool(min(workers, len(todo)), init_args, timeout, cluster)
    db.begin()
    try:
        with pool:
            outcomes = pool.map(_check, todo, ordered=True, batch=chunk)
            if usage is not None:
                outcomes = usage.follow(outcomes)
            record(chain(first, (_stored_outcome(out, timeout, unfinished) for out in outcomes)))
    finally:
        db.commit()
    if usage is not None:
        usage.report(len(jobs))
    return stats


class _Usage:
    """Where the messages step's time goes (LEAKLENS_STEP_TIMES): this process's CPU (its thread
    serving the workers included), the workers' (reaped when the pool closes), and how long the
    workers spent in a job of the step's wall time: what says whether the workers or this
    process (reading, writing) hold the step up. And when the first and the last result came:
    the time before the first is the start (this process's first check, the fork), the time after
    the last the pool's close and the last writes."""

    def __init__(self, workers: int, local: bool) -> None:
        self.workers, self.local = workers, local
        self.wall, self.cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
        self.children = _cpu(resource.RUSAGE_CHILDREN)
        self.in_jobs = 0.0
        self.first = self.last = self.wall

    def follow(self, outcomes: Iterable[Outcome]) -> Iterable[Outcome]:
        for n, out in enumerate(outcomes):
            self.last = time.perf_counter()
            if not n:
                self.first = self.last
            self.in_jobs += out.seconds
            yield out

    def report(self, n: int) -> None:
        wall = time.perf_counter() - self.wall
        cpu = _cpu(resource.RUSAGE_SELF) - self.cpu
        line = (
            f"leaklens: verify.messages: {n:,} checks in {wall:.2f} s (first result at {self.first - self.wall:.2f} s,"
            f" last at {self.last - self.wall:.2f} s); this process {cpu:.2f} CPU-s"
        )
        if self.local:  # a cluster's workers are not this process's children
            workers = _cpu(resource.RUSAGE_CHILDREN) - self.children
            busy = self.in_jobs / (self.workers * wall) if wall else 0.0
            line += (
                f", {self.workers} workers {workers:.2f} CPU-s ({workers / max(n, 1) * 1e6:.0f} us/msg),"
                f" in a job {busy:.0%} of their time"
            )
        print(line, file=sys.stderr)


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _pool(workers: int, init_args: tuple[Any, ...], timeout: float | None, cluster: Cluster | None) -> Executor:
    if cluster is not None:
        return executor_for(workers, setup=_init_worker, setup_args=init_args, timeout=timeout, cluster=cluster)
    if workers <= 1 and timeout is None:
        # No deadline to enforce: this process checks them (without the workers' GC tuning: it may go on serving).
        return InlineExecutor(setup=_init, setup_args=init_args)
    return executor_for(workers, setup=_init_worker, setup_args=init_args, timeout=timeout)


def _stored_outcome(
    out: Outcome, timeout: float | None, unfinished: list[tuple[str, str]] | None = None
) -> tuple[str, Stored]:
    """What the case keeps of one message's check: its result, or a finding on why there is none
    (its id and that finding's code added to `unfinished`)."""
    if out.status == DONE:
        return out.result
    if out.status not in (TIMEOUT, CRASHED):
        raise out.error  # a fault of leaklens's, not the message's (verify_message never raises)
    if unfinished is not None:
        unfinished.append((out.job[0], "verify.timeout" if out.status == TIMEOUT else "verify.crash"))
    if out.status == TIMEOUT:
        finding = Finding(
            "verify.timeout",
            "critical",
            f"leaklens stopped checking this message after {timeout:g} s: nothing is known of its signatures. "
            "It may be built to stall a checker; 'leaklens verify --force' tries again.",
            {"limit_s": timeout},
        )
    else:
        finding = Finding(
            "verify.crash",
            "critical",
            f"The process checking this message died ({out.error}): nothing is known of its signatures. "
            "It may be built to crash a checker; 'leaklens verify --force' tries again.",
            {"error": str(out.error)},
        )
    summary = "leaklens could not finish checking this message; the finding says why."
    return out.job[0], stored_rows(MessageVerification(findings=[finding], verdict="error", summary=summary))


@step("verify.verdicts", needs=("verify.messages",))
def _verdicts_step(run: Run) -> set[str]:
    """Every email's verdict from its own findings, once the case-wide steps' findings are cleared:
    each of those steps then reads verdicts that do not count what it found the last time."""
    db = run.case.db
    cleared = db.clear_findings(stages_of(run, "case"))
    derive_verdicts(db, ItemQuery(kind="email", state="stored"))
    return cleared


def propagate(case: Case) -> None:
    """The case-wide steps (group "case": verify/case_proof.py), as `verify_case` runs them after the
    emails' checks: set-based and cheap, so always run in full. Each replaces its own findings, so
    running them again gives the same findings."""
    run_steps(Run(case), ("case",))


def check_documents(
    case: Case, *, workers: int | None = None, progress: Callable[[int, int], None] | None = None
) -> None:
    """Document forensics (metadata, dates, population, altered copies: the "documents" steps of
    verify/case_docs.py), after the emails are judged.

    Nothing here can take a verification away: document and duplicate findings are heuristic,
    notes on a verified item (verdict.py), so `identical_to_verified` need not run again.
    """
    run_steps(Run(case, workers=workers, options={"doc_progress": progress}), ("documents",))


def verification_summary(case: Case) -> dict[str, Any]:
    """The figures an editor quotes: emails by verdict, by signing domain and by key."""
    db = case.db
    ensure_schema(case)
    emails = dict(db.count_items_by(("verdict",), ItemQuery(kind="email", state="stored")))
    by_domain: dict[str, dict[str, int]] = {}
    for domain, verdict, n in db.verdicts_by_signing_domain(VERIFICATIONS):
        by_domain.setdefault(domain, {})[verdict] = n
    by_key = db.proving_key_counts(VERIFICATIONS)
    checked = db.count_rows(VERIFICATIONS)
    # Altered emails whose signed original was recovered (dkim.original_recovered explains every
    # proven change) are counted apart: the item stays `altered`, but a list's footer is not a forgery.
    from .recover import explanation

    # What `explanation` reads: each finding's signature and effect, and all of these two codes' evidence.
    judged = db.altered_email_findings(("dkim.original_recovered", "dup.altered_copy"))
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
