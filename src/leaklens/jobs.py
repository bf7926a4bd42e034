"""Jobs: one record per run of ingest, verify or documents, so that progress can be proved.

A job says what ran (command, options, who, where), when, how it ended (running, done, failed,
interrupted, and why), how fast it went (items/s now and on average, an ETA, samples of its
throughput over time), what failed by stage (with each failed item, and where its bytes are, so
that ``--only-failed`` can read it again) and, at the end, the accounting identity: every item
found is stored, skipped, failed or still pending (the store's `accounting()`, the report's).

The records are declared tables (`JOBS`, `JOB_ERRORS`) written through the store, on the
coordinator's connection and inside its transactions: a job's errors are committed with the
results they describe. A run that dies without a word (SIGKILL, power cut, a database that went
away) leaves its job "running"; the next job opened on the case marks it interrupted.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .case import Case, now_iso
from .errors import LeaklensError
from .store.base import Column, TableSpec
from .store.failures import DiskFull, StoreUnavailable, StoreWatch, explain

RUNNING, DONE, FAILED, INTERRUPTED = "running", "done", "failed", "interrupted"
STATES = (RUNNING, DONE, FAILED, INTERRUPTED)

JOBS = TableSpec(
    "jobs",
    key=("id",),
    columns=(
        Column("id"),
        Column("command", required=True),  # ingest, verify, documents
        Column("options", "json"),
        Column("user"),
        Column("host"),
        Column("pid", "int"),
        Column("started", required=True, index=True),
        Column("updated"),
        Column("ended"),
        Column("state", required=True, index=True),
        Column("reason"),  # why it failed or was interrupted, in one line
        Column("phase"),  # what it is doing now (emails, documents ...)
        Column("done", "int"),  # items done by this run, over every phase
        Column("total", "int"),  # items to do in this run, as known now (an ingest finds more as it goes)
        Column("rate_now", "real"),  # items/s over the last NOW_WINDOW seconds
        Column("rate_avg", "real"),  # items/s since the job started
        Column("eta_s", "real"),  # seconds left for what is known now, at the current rate
        Column("phases", "json"),  # phase -> {"done", "total", "before"}: "before" done by earlier runs
        Column("errors", "json"),  # stage -> items that failed there in this run
        Column("accounting", "json"),  # the identity at the end: the store's accounting()
        Column("samples", "json"),  # [[seconds since start, items done], ...]: throughput over time
    ),
    meaning="One record per run of ingest, verify or documents: who ran what, how fast, what failed by "
    "stage, how it ended, and the accounting identity at its end.",
)
JOB_ERRORS = TableSpec(
    "job_errors",
    key=("job_id", "item_id"),
    columns=(
        Column("job_id", index=True),
        Column("item_id", index=True),
        Column("stage", required=True),  # ingest.read, ingest.timeout, ingest.crash, ingest.plan, verify.timeout...
        Column("code"),  # the finding that says why, if any
        Column("reason"),
        # Where the item's bytes were when it failed: its file, a range of a stored mailbox
        # ("slice:..."), or a blob. A failed item's row no longer says it; --only-failed reads it here.
        Column("origin"),
        Column("sha256"),
        Column("size", "int"),
        Column("at"),
    ),
    meaning="Each item a job failed on, by stage, with where its bytes were: what --only-failed reads again.",
)

NOW_WINDOW = 10.0  # seconds over which "items/s now" is measured
WRITE_EVERY = 2.0  # seconds between writes of a running job's figures
SAMPLE_EVERY = 1.0  # seconds between throughput samples
MAX_SAMPLES = 240  # kept by halving their resolution when there would be more


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): the uid says who
        return f"uid {os.getuid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process, alive
        return True
    return True


def ensure_tables(case: Case) -> None:
    case.db.ensure_table(JOBS)
    case.db.ensure_table(JOB_ERRORS)


@dataclass
class _Phase:
    done: int = 0  # items done in this run
    total: int = 0  # items to do in this run
    before: int = 0  # items done before this run (a resumed ingest)


class Job:
    """A running job's record: `advance` as items are done, `error` for each failed item, then
    `finish` (or `fail`, through `recorded`). Cheap to call often: it samples and writes at most
    every few seconds."""

    def __init__(self, case: Case, command: str, options: Mapping[str, Any] | None = None, *, clock=time.monotonic):
        self.case = case
        self.db = case.db
        self.command = command
        self.options = {k: _plain(v) for k, v in (options or {}).items()}
        self.clock = clock
        self.id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        self.started = now_iso()
        self.t0 = clock()
        self.state = RUNNING
        self.reason: str | None = None
        self.phases: dict[str, _Phase] = {}
        self.phase: str | None = None
        self.errors: dict[str, int] = {}
        self.samples: list[list[float]] = []
        self.recent: deque[tuple[float, int]] = deque()  # (time, items done) over the last NOW_WINDOW
        self.accounting: dict[str, Any] | None = None
        self.tallies: dict[str, dict[str, int]] = {}
        self.ended: str | None = None
        self._written = -1e9
        self._sampled = -1e9
        self.watch = StoreWatch(self.db)

    # -- figures -----------------------------------------------------------------------------
    @property
    def done(self) -> int:
        return sum(p.done for p in self.phases.values())

    @property
    def total(self) -> int:
        return sum(p.total for p in self.phases.values())

    def rate_now(self) -> float:
        if len(self.recent) < 2:
            return 0.0
        (t0, d0), (t1, d1) = self.recent[0], self.recent[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    def rate_avg(self) -> float:
        elapsed = self.clock() - self.t0
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds left for the items known now, at the rate of the last seconds (the average when
        nothing moved lately); None when nothing is known to go at any rate."""
        left = self.total - self.done
        if left <= 0:
            return 0.0
        rate = self.rate_now() or self.rate_avg()
        return left / rate if rate > 0 else None

    def figures(self) -> dict[str, Any]:
        """What the terminal shows: items/s now and on average, ETA, errors by stage."""
        return {"now": self.rate_now(), "avg": self.rate_avg(), "eta": self.eta(), "errors": dict(self.errors)}

    # -- recording ---------------------------------------------------------------------------
    def start(self) -> Job:
        ensure_tables(self.case)
        mark_stale(self.case)
        self._sample(self.t0)  # the chart starts at nought
        self._write()
        return self

    def advance(self, done: int, total: int, *, phase: str = "items", before: int = 0) -> None:
        """`done` of `total` items of `phase` done by this run (`before`: done by earlier runs)."""
        p = self.phases.get(phase)
        if p is None:
            p = self.phases[phase] = _Phase(before=before)
        p.done, p.total, self.phase = done, total, phase
        now = self.clock()
        self.recent.append((now, self.done))
        while len(self.recent) > 2 and now - self.recent[0][0] > NOW_WINDOW:
            self.recent.popleft()
        if now - self._sampled >= SAMPLE_EVERY:
            self._sample(now)
        if now - self._written >= WRITE_EVERY:
            self.watch.check()  # a database file removed under us: say so now, not never
            self._write()

    def follower(self, phase: str, then: Callable[[int, int], None] | None = None) -> Callable[[int, int], None]:
        """A progress callback (done, total) that advances `phase`, then calls `then`."""

        def follow(done: int, total: int) -> None:
            self.advance(done, total, phase=phase)
            if then is not None:
                then(done, total)

        return follow

    def _sample(self, now: float) -> None:
        self._sampled = now
        self.samples.append([round(now - self.t0, 2), self.done])
        if len(self.samples) > MAX_SAMPLES:
            self.samples = self.samples[::2]

    def error(
        self,
        stage: str,
        item_id: str,
        *,
        code: str | None = None,
        reason: str | None = None,
        origin: str | None = None,
        sha256: str | None = None,
        size: int | None = None,
    ) -> None:
        """One item failed at `stage`; written in the caller's transaction (with the result itself)."""
        self.errors[stage] = self.errors.get(stage, 0) + 1
        self.db.put_rows(
            JOB_ERRORS,
            [{
                "job_id": self.id, "item_id": item_id, "stage": stage, "code": code, "reason": reason,
                "origin": origin, "sha256": sha256, "size": size, "at": now_iso(),
            }],
        )  # fmt: skip

    def tally(self, name: str, figures: Mapping[str, int]) -> None:
        """A step's own identity, kept with the accounting (verify: emails found = checked + up to date)."""
        self.tallies[name] = dict(figures)

    def finish(self, *, accounting: Mapping[str, Any] | None = None) -> None:
        self.watch.check()  # "done" written to a database file nobody will read again would be a lie
        if accounting is not None:
            self.accounting = dict(accounting)
        if self.tallies:
            self.accounting = {**(self.accounting or {}), **self.tallies}
        self._end(DONE, None)

    def fail(self, state: str, reason: str) -> None:
        """Best effort: the database may be the thing that failed. If this cannot be written, the
        job stays "running" and the next job opened on the case marks it interrupted."""
        try:
            if self.db.in_transaction:
                self.db.rollback()
        except Exception:  # noqa: BLE001 - a database gone away cannot roll back either
            pass
        try:
            self._end(state, reason)
        except Exception:  # noqa: BLE001
            pass

    def _end(self, state: str, reason: str | None) -> None:
        self.state, self.reason, self.ended = state, reason, now_iso()
        self._sample(self.clock())
        self._write()
        if self.db.in_transaction:  # the run is over: what it left open is whole (a failure rolled back first)
            self.db.commit()

    def _write(self) -> None:
        # In the coordinator's transaction when one is open (committed with the results it
        # describes, never committing them early), on its own otherwise.
        self._written = self.clock()
        self.db.put_rows(JOBS, [self.row()])

    def row(self) -> dict[str, Any]:
        eta = self.eta()
        return {
            "id": self.id, "command": self.command, "options": self.options, "user": _user(),
            "host": socket.gethostname(), "pid": os.getpid(), "started": self.started, "updated": now_iso(),
            "ended": self.ended, "state": self.state, "reason": self.reason, "phase": self.phase,
            "done": self.done, "total": self.total, "rate_now": round(self.rate_now(), 3),
            "rate_avg": round(self.rate_avg(), 3), "eta_s": None if eta is None else round(eta, 1),
            "phases": {k: vars(p) for k, p in self.phases.items()}, "errors": self.errors,
            "accounting": self.accounting, "samples": self.samples,
        }  # fmt: skip


def _plain(value: Any) -> Any:
    """An option as JSON holds it (paths and dates as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def mark_stale(case: Case) -> list[str]:
    """Mark interrupted the jobs recorded as running by a process of this host that is gone (killed,
    or stopped by a database it lost): the job cannot say it ended, so the next one says it for it."""
    db, host, stale = case.db, socket.gethostname(), []
    for row in db.table_rows(JOBS, state=RUNNING):
        if row["host"] == host and row["pid"] and row["pid"] != os.getpid() and not _alive(row["pid"]):
            last = row["updated"] or row["started"]
            row.update(
                state=INTERRUPTED,
                ended=last,
                reason=row["reason"] or f"the process ended without finishing (killed, or it lost its database); "
                f"last heard of at {last}",
            )
            db.put_rows(JOBS, [row])
            stale.append(row["id"])
    return stale


class Interrupted(LeaklensError):
    """Ctrl-C during a job: said in one line (the command line would otherwise end silently)."""

    exit_code = 130
    MESSAGE = "interrupted (Ctrl-C): run the same command again to resume"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


def judge(exc: BaseException) -> tuple[str, str, BaseException | None]:
    """(state, one-line reason, what to raise instead or None) for an exception that ended a job."""
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, Interrupted.MESSAGE, Interrupted()
    why = explain(exc)
    if why is not None:
        what, line = why
        if what == "disk":
            return FAILED, line, exc if isinstance(exc, DiskFull) else DiskFull(line)
        return INTERRUPTED, line, exc if isinstance(exc, StoreUnavailable) else StoreUnavailable(line)
    if isinstance(exc, LeaklensError):
        return FAILED, str(exc), None
    return FAILED, f"internal error: {type(exc).__name__}: {str(exc)[:300]}", None


@contextmanager
def recorded(case: Case, command: str, options: Mapping[str, Any] | None = None) -> Iterator[Job]:
    """A job record around a run: done when the block ends (unless it called `finish`), failed or
    interrupted with the reason when it raises. A full disk and a lost database are raised as one
    clear line (`DiskFull`, `StoreUnavailable`: exit 75), never as a driver's traceback; Ctrl-C as
    `Interrupted` (exit 130)."""
    job = Job(case, command, options).start()
    try:
        yield job
    except BaseException as exc:
        state, reason, instead = judge(exc)
        job.fail(state, reason)
        if instead is not None and instead is not exc:
            raise instead from exc
        raise
    if job.state == RUNNING:
        job.finish()


# --- the reads (CLI and workbench) ----------------------------------------------------------


def identity(acc: Mapping[str, Any], level: str = "items") -> dict[str, Any]:
    """The accounting identity of `accounting()` (items, or top-level "files"): found = stored +
    skipped + failed + pending, and whether it holds."""
    row = acc[level]
    parts = {s: row[s] for s in ("stored", "skipped", "failed", "pending")}
    return {"found": row["found"], **parts, "balanced": row["found"] == sum(parts.values())}


def identity_line(acc: Mapping[str, Any]) -> str:
    """One line: every item found accounted for, and the top-level files apart."""
    out = []
    for level in ("items", "files"):
        i = identity(acc, level)
        out.append(
            f"{i['found']:,} {level} found = {i['stored']:,} stored + {i['skipped']:,} skipped + "
            f"{i['failed']:,} failed + {i['pending']:,} pending" + ("" if i["balanced"] else " (DOES NOT BALANCE)")
        )
    return "; ".join(out)


def _seconds_between(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def _view(row: dict[str, Any]) -> dict[str, Any]:
    """A job's row with what a reader works out from it: its duration, how long since it was last
    heard of (a running job that has gone quiet), its identity."""
    now = now_iso()
    out = dict(row)
    out["seconds"] = _seconds_between(row["started"], row["ended"] or now)
    out["silent_s"] = _seconds_between(row["updated"], now) if row["state"] == RUNNING else None
    out["errors_total"] = sum((row["errors"] or {}).values())
    acc = row.get("accounting") or {}
    out["identity"] = identity(acc) if "items" in acc else None
    out["identity_files"] = identity(acc, "files") if "files" in acc else None
    emails = acc.get("emails")  # a verify job's: every checkable email checked or found up to date
    out["identity_emails"] = (
        {**emails, "balanced": emails["found"] == emails["checked"] + emails["up_to_date"]} if emails else None
    )
    return out


def list_jobs(case: Case, *, limit: int = 200) -> list[dict[str, Any]]:
    """The case's jobs, newest first."""
    ensure_tables(case)
    # Newest first: by start (to the second), and jobs started in the same second in the order they were
    # recorded, the later first (their ids' random tails say nothing of their order).
    rows = sorted(reversed(case.db.table_rows(JOBS)), key=lambda r: r["started"], reverse=True)
    return [_view(r) for r in rows[:limit]]


def job_detail(case: Case, job_id: str, *, max_errors: int = 500) -> dict[str, Any] | None:
    """One job, with its failed items by stage (the first `max_errors` of each, with the item's
    path as the case holds it now: a later --only-failed may have read it)."""
    ensure_tables(case)
    row = case.db.get_row(JOBS, (job_id,))
    if row is None:
        return None
    out = _view(row)
    by_stage: dict[str, list[dict[str, Any]]] = {}
    for e in case.db.table_rows(JOB_ERRORS, job_id=job_id):
        listed = by_stage.setdefault(e["stage"], [])
        if len(listed) < max_errors:
            item = case.db.item(e["item_id"])
            listed.append({**e, "path": item["path"] if item else None, "state_now": item["state"] if item else None})
    out["failed"] = by_stage
    return out


def failure_locations(case: Case) -> dict[str, dict[str, Any]]:
    """item id -> the latest recorded failure of it that says where its bytes were."""
    ensure_tables(case)
    out: dict[str, dict[str, Any]] = {}
    for e in sorted(case.db.table_rows(JOB_ERRORS), key=lambda e: e["at"] or ""):
        if e["origin"] or e["sha256"]:
            out[e["item_id"]] = e
    return out
