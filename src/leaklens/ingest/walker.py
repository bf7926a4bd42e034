"""The ingest coordinator: finds sources' files, feeds a process pool, writes the case.

Flow: every item found is first written as ``pending``, with where its bytes are:
already in the blob store, a file-system path, or a byte range of a stored
container (an mbox member). A worker stores and reads it and returns its facts
plus its children; the coordinator writes both in one transaction. A run
killed at any point leaves a consistent case, and the next run simply reads the
pending items: nothing is lost, nothing is doubled.
"""

from __future__ import annotations

import itertools
import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import pathchain
from ..case import Case, now_iso
from ..errors import LeaklensError
from ..executor import CRASHED, DONE, RAISED, TIMEOUT, Executor, Outcome, executor_for
from ..jobs import Job
from ..model import FAILED, PENDING, SKIPPED, Finding, Item, Result, Task
from ..store.base import ItemQuery
from ..store.failures import DiskFull, no_room
from ..verdicts import verdict_for
from . import failures, worker
from .limits import Limits
from .spill import read_chunks

if TYPE_CHECKING:
    from ..cluster import Cluster

COMMIT_SECONDS = 1.0
MAX_CRASHES = 2


@dataclass
class Progress:
    """What the coordinator reports as it goes (the CLI draws it as a Rich bar)."""

    found: int = 0
    done: int = 0
    bytes: int = 0
    callback: Callable[[Progress], None] | None = None

    def update(self) -> None:
        if self.callback:
            self.callback(self)


@dataclass
class IngestStats:
    new_items: int = 0
    processed: int = 0
    sources: list[str] = field(default_factory=list)
    not_retried: int = 0  # --only-failed: failed items that cannot be read again (see ingest/failures.py)


# --- planning: sources -> pending top-level items ------------------------------------------


def _root_name(case: Case, abspath: Path) -> str:
    known = case.db.source_root_for(str(abspath))
    if known:
        return known
    base = abspath.name or str(abspath)
    root, n = base, 2
    while case.db.root_taken(root):
        root = f"{base}~{n}"
        n += 1
    return root


def _file_item(root: str, segment: str, *, origin: str | None, state: str = PENDING, reason: str = "") -> Item:
    chain = pathchain.join([segment])
    return Item(
        id=pathchain.item_id(chain),
        path=chain,
        parent=None,
        source=root,
        depth=0,
        name=segment.rsplit("/", 1)[-1],
        ext=os.path.splitext(segment)[1].lower().lstrip(".") or None,
        origin=origin,
        is_file=1,
        state=state,
        reason=reason or None,
    )


def plan_source(case: Case, path: Path) -> tuple[str, str, Iterator[Item]]:
    """Every file under a source, as items; links and special files are items too (skipped).

    The source is checked at once (a missing path fails before anything is written); its files
    are listed as the items are read, once: a folder of a million files is never a list of them.
    """
    if not os.path.lexists(path):
        raise LeaklensError(f"{path}: no such file or folder")
    abspath = path.resolve() if not path.is_symlink() else path.absolute()
    root = _root_name(case, abspath)
    if abspath.is_file():
        if not os.access(abspath, os.R_OK):
            rows = [_file_item(root, root, origin=None, state=FAILED, reason="unreadable file: permission denied")]
        else:
            rows = [_file_item(root, root, origin=str(abspath))]
        return root, str(abspath), iter(rows)
    if not abspath.is_dir():
        raise LeaklensError(f"{path}: not a regular file or folder")
    return root, str(abspath), _walk(case, root, abspath)


def _walk(case: Case, root: str, abspath: Path) -> Iterator[Item]:
    rows: list[Item] = []  # one folder's, yielded after each step of the walk

    def onerror(exc: OSError) -> None:
        rel = os.path.relpath(exc.filename or str(abspath), abspath)
        rows.append(
            _file_item(root, f"{root}/{rel}", origin=None, state=FAILED, reason=f"unreadable folder: {exc.strerror}")
        )

    case_root = case.root.resolve()
    for dirpath, dirnames, filenames in os.walk(abspath, onerror=onerror):
        dirnames.sort()
        # Never ingest the case into itself (a case folder created inside the dump's folder).
        dirnames[:] = [d for d in dirnames if Path(dirpath, d).resolve() != case_root]
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                dirnames.remove(d)
                filenames.append(d)
        for fname in sorted(filenames):
            full = os.path.join(dirpath, fname)
            rel = os.path.relpath(full, abspath).replace(os.sep, "/")
            segment = f"{root}/{rel}"
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                link = _file_item(root, segment, origin=None, state=SKIPPED, reason="symbolic link (not followed)")
                rows.append(link)
            elif not stat.S_ISREG(st.st_mode):
                rows.append(_file_item(root, segment, origin=None, state=SKIPPED, reason="special file"))
            elif not os.access(full, os.R_OK):
                rows.append(
                    _file_item(root, segment, origin=None, state=FAILED, reason="unreadable file: permission denied")
                )
            else:
                rows.append(_file_item(root, segment, origin=full))
        yield from rows
        rows.clear()
    yield from rows  # the walk's last error


# --- running ---------------------------------------------------------------------------------


class _Budgets:
    """Expansion budget per source, shared across all nesting levels (zip-bomb guard)."""

    def __init__(self, case: Case, limits: Limits) -> None:
        self.limits = limits
        self.bytes: dict[str, int] = {}
        self.items: dict[str, int] = {}
        for source, (size, count) in case.db.expansion_by_source().items():
            self.bytes[source] = size
            self.items[source] = count

    def remaining(self, source: str) -> int:
        if self.items.get(source, 0) >= self.limits.max_items:
            return 0
        return max(0, self.limits.max_expanded_bytes - self.bytes.get(source, 0))

    def spend(self, source: str, nbytes: int, nitems: int) -> None:
        self.bytes[source] = self.bytes.get(source, 0) + nbytes
        self.items[source] = self.items.get(source, 0) + nitems


def ingest(
    case: Case,
    sources: Iterable[Path],
    *,
    limits: Limits | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    job: Job | None = None,
    only_failed: bool = False,
    cluster: Cluster | None = None,
) -> IngestStats:
    """Read the sources into the case; with `only_failed`, only the items of these sources that
    failed before and can be read again (ingest/failures.py), every other item left as it is.
    `job`: the run's record (errors by stage, with where each failed item's bytes were). `cluster`: a
    Dask cluster whose workers read the items (on storage they share with this coordinator, which
    alone writes the case), instead of this machine's `workers`."""
    limits = limits or Limits()
    progress = progress or Progress()
    if job is not None:
        failures.follow(job, progress)
    stats = IngestStats()
    db = case.db
    planned = [plan_source(case, Path(p)) for p in sources]  # all paths checked before anything is written
    roots = [root for root, _, _ in planned]
    queue = _TaskQueue(db)
    retried: set[str] = set()
    if only_failed:
        tasks, stats.not_retried = failures.failed_tasks(case, planned)
        queue.extend(sorted(tasks, key=lambda t: t.rowid or 0))
        retried.update(t.id for t in tasks)
        stats.sources.extend(roots)
    else:
        db.begin()
        for root, abspath, rows in planned:
            stats.sources.append(root)
            db.add_source(root, abspath, now_iso())
            for chunk in _chunks(rows, FLUSH_CHUNK):
                stats.new_items += db.insert_pending(chunk)
                for r in chunk:
                    if r.state != PENDING:
                        verdict = _verdict(r.state, [])  # links and unreadable files: no finding yet
                        db.complete_item(Result(r.id, r.state, r.reason, verdict=verdict))
                failures.note_planned(job, chunk)
        db.commit()
        queue.from_case(roots)
    budgets = _Budgets(case, limits)
    progress.found = db.count_items_of(roots) if not only_failed else len(queue)
    progress.done = progress.found - queue.waiting()
    progress.update()
    workers = max(1, workers if workers is not None else (os.cpu_count() or 2))
    _run(case, queue, budgets, limits, workers, progress, stats, job, retried, cluster=cluster)
    db.begin()
    for root in roots:
        db.complete_source(root, now_iso())
    db.refresh_statistics()
    db.commit()
    from ..integrity import record_chunks  # the chunk hashes fsck narrows damage with, of the blobs just stored

    record_chunks(case, workers=workers)
    return stats


def _run(
    case: Case,
    queue: _TaskQueue,
    budgets: _Budgets,
    limits: Limits,
    workers: int,
    progress: Progress,
    stats: IngestStats,
    job: Job | None = None,
    retried: set[str] | None = None,
    *,
    cluster: Cluster | None = None,
) -> None:
    writer = _Writer(case, queue, budgets, retried, job)
    crashes: dict[str, int] = {}
    solo: set[str] = set()  # items that crashed a worker once: retried alone
    batch_of: dict[str, int] = {}  # item id -> its batch, while out
    out_in: dict[int, int] = {}  # batch -> its items still out
    batches = 0

    def prepare(task: Task) -> Task:
        task.budget = budgets.remaining(task.source)  # spent by the results written so far
        return task

    def handle(tasks: list[Task], results: list[Result]) -> None:
        writer.write(tasks, results)
        failures.note_results(job, tasks, results)
        stats.processed += len(results)
        progress.done += len(results)
        progress.found += sum(r.child_count for r in results)
        progress.bytes += sum(r.size or 0 for r in results)
        progress.update()

    def settle(outcomes: list[Outcome]) -> None:
        tasks, results = [], []
        for out in outcomes:
            task: Task = out.job
            bid = batch_of.pop(task.id)
            out_in[bid] -= 1
            if not out_in[bid]:
                del out_in[bid]
            result = _result_of(out, limits)
            if result is None:  # a crash, retried once alone; an item present at repeated crashes fails
                crashes[task.id] = crashes.get(task.id, 0) + 1
                if crashes[task.id] < MAX_CRASHES:
                    solo.add(task.id)
                    queue.appendleft(task)
                    continue
                result = worker.crashed(task)
            tasks.append(task)
            results.append(result)
        if tasks:
            handle(tasks, results)

    # One worker process even for --workers 1: the item time limit needs a process to kill.
    pool: Executor = executor_for(
        workers,
        setup=worker.init_worker,
        setup_args=(str(case.root), limits),
        timeout=max(1, limits.item_timeout),
        cluster=cluster,
    )
    workers = pool.workers
    try:
        with pool:
            while queue.refill() or pool.in_flight:
                # Batches enough for every worker, or the jobs the executor asks for (a cluster's
                # tasks bundle a thousand items).
                while queue and (len(out_in) < workers * 4 or pool.in_flight < pool.backlog):
                    batch = _next_batch(queue, workers, prepare, solo)
                    for t in batch:
                        batch_of[t.id] = batches
                    out_in[batches] = len(batch)
                    batches += 1
                    pool.submit(worker.process, batch)
                if writer.deferred:
                    # Members of a large container go to the workers before their rows are all
                    # written: write a chunk, then look after what came back.
                    writer.flush(FLUSH_CHUNK)
                    settle(pool.collect(timeout=0))
                else:
                    writer.commit_now_and_then()
                    settle(pool.collect(timeout=0.5))
    finally:
        writer.close()


def _result_of(out: Outcome, limits: Limits) -> Result | None:
    """The item's result from its outcome in the executor (None: it crashed its worker)."""
    if out.status == DONE:
        return out.result
    if out.status == TIMEOUT:
        return worker.timed_out(out.job, limits)
    if out.status == CRASHED:
        return None
    assert out.status == RAISED
    exc = out.error
    if isinstance(exc, OSError):
        if no_room(exc):  # a full disk (or quota, or ulimit -f): stop the run, loud and resumable
            raise DiskFull() from None
        return worker._done(out.job, FAILED, f"I/O error: {exc}")
    raise exc


FLUSH_CHUNK = 1000
PAGE = 2_000  # pending rows read back from the case at a time
LOW = 500  # the queue is topped up from the case when it holds fewer tasks than this


@dataclass(slots=True)
class _Span:
    """Pending rows of one source that the queue reads back from the case a page at a time, in
    row-id order: the rows a run starts with (its files, or what an earlier run left pending), and
    the members of a large container (spilled by its reader) as their rows are written."""

    source: str
    after: int  # rows up to this one have been queued
    written: int  # rows up to this one exist (a large container's are written a chunk at a time)
    last: int  # its last row id


class _TaskQueue(deque):
    """The tasks to send, in memory a few thousand at a time: the rest wait as pending rows in the case.

    A folder of a million files or a mailbox of a million messages is a million pending rows; as
    tasks in memory they cost a gigabyte in the coordinator (and in every worker it forks).
    """

    def __init__(self, db) -> None:
        super().__init__()
        self.db = db
        self.spans: deque[_Span] = deque()
        self.unread = 0  # pending rows of the sources when the run started

    def from_case(self, roots: list[str]) -> None:
        """Queue the pending rows these sources have now (rows written later are this run's own)."""
        last = self.db.reserve_rowids(1)  # every row there now has a smaller id
        self.spans.extend(_Span(root, 0, last, last) for root in roots)
        counts = dict(self.db.count_items_by(("source",), ItemQuery(state=PENDING)))
        self.unread = sum(counts.get(root, 0) for root in roots)

    def waiting(self) -> int:
        """Tasks to send at the start of the run, in memory or not."""
        return len(self) + self.unread

    def refill(self) -> bool:
        """Top the queue up from the case when it runs low; whether anything is left to send."""
        if len(self) < LOW:
            for span in list(self.spans):
                if len(self) >= PAGE:
                    break
                if span.after < span.written:
                    rows = list(self.db.pending(span.source, after=span.after, limit=PAGE))
                    mine = [r for r in rows if r.rowid <= span.written]
                    self.extend(map(Task.of, mine))
                    # A full page may have more behind it; a short one read all that is written.
                    span.after = mine[-1].rowid if len(mine) == PAGE else span.written
                if span.after >= span.last:
                    self.spans.remove(span)
        return bool(self) or bool(self.spans)


@dataclass(slots=True)
class _Deferred:
    """A child whose row is still to be written, with what goes with it."""

    item: Item
    findings: list[Finding]  # what its container observed about it
    task: Task | None = None  # pending: queued for the workers already
    done: Result | None = None  # skipped or failed by its container: completed with its row
    span: _Span | None = None  # a large container's member: queued from its row, once written


@dataclass(slots=True)
class _Lazy:
    """A large container's members, read from their spill file as their rows are written."""

    next_rowid: int
    entries: Iterator[_Deferred]


def _first_rowid(entry: _Deferred | _Lazy) -> int:
    return entry.next_rowid if isinstance(entry, _Lazy) else entry.item.rowid


class _Writer:
    """The one writer: items' results and their children, in transactions that keep the case whole.

    A container's children are written as pending rows in the transaction that completes the
    container. Their row ids are chosen here, so that they can be queued (and sent to the
    workers) at once while their rows are written a chunk at a time; a child's row is always
    written before its result, and nothing is committed while rows are still to be written.
    """

    def __init__(
        self,
        case: Case,
        queue: _TaskQueue,
        budgets: _Budgets,
        retried: set[str] | None = None,
        job: Job | None = None,
    ) -> None:
        self.db = case.db
        self.retried = retried or set()  # failed items read again (--only-failed): their old findings go
        self.job = job  # the run's record: members their container could not extract are noted in it
        self.queue = queue
        self.budgets = budgets
        self.deferred: deque[_Deferred | _Lazy] = deque()  # children whose rows are not written yet
        # What a container observed about a member found in this run (when it observed anything),
        # kept here until the member's result is written; a member found by an earlier run reads it
        # back. Members found in this run have row ids from `first_reserved` on.
        self.carried: dict[str, list[Finding]] = {}
        self.first_reserved: int | None = None
        self.last_commit = time.monotonic()

    def write(self, tasks: list[Task], results: list[Result]) -> None:
        """Record what a batch of items held; queue their pending children."""
        db = self.db
        if not db.in_transaction:
            db.begin()
        self.flush_through(max(t.rowid for t in tasks))
        again = [t.id for t in tasks if t.id in self.retried]
        if again:  # what the failed reading found is replaced by what this one finds
            db.delete_findings_of(again, "ingest")
            self.retried.difference_update(again)
        for task, result in zip(tasks, results, strict=True):
            carried = self.carried.pop(task.id, None)
            if carried is None:  # nothing observed, or a member found by an earlier run
                found_now = self.first_reserved is not None and (task.rowid or 0) >= self.first_reserved
                carried = [] if found_now else db.findings_for(task.id, "container")
            result.rowid = task.rowid
            result.verdict = _verdict(result.state, [*carried, *result.findings])
        db.complete_items(results)
        for task, result in zip(tasks, results, strict=True):
            if result.children:
                self._children(task, result)

    def _children(self, task: Task, result: Result) -> None:
        count = result.child_count
        self.budgets.spend(task.source, result.expanded, count)
        first = self.db.reserve_rowids(count)
        if self.first_reserved is None:
            self.first_reserved = first
        if result.spilled is None:
            self.deferred.extend(self._entries(result.children, first, None))
            return
        # Thousands of members: read from their spill file a chunk at a time as their rows are
        # written, and queued from those rows (the queue's span), never all in memory at once.
        span = _Span(task.source, first - 1, first - 1, first + count - 1)
        self.queue.spans.append(span)
        self.deferred.append(_Lazy(first, self._spilled(result, first, span)))

    def _spilled(self, result: Result, rowid: int, span: _Span) -> Iterator[_Deferred]:
        assert result.spilled is not None
        for chunk in itertools.chain(read_chunks(result.spilled[0]), [result.children]):
            yield from self._entries(chunk, rowid, span)
            rowid += len(chunk)

    def _entries(self, children: list[Item], rowid: int, span: _Span | None) -> Iterator[_Deferred]:
        """The children's rows to write, with row ids from `rowid` on; queued at once unless `span`
        queues them."""
        for child in children:  # each is its row already, but for the row id chosen here
            child.rowid = rowid
            rowid += 1
            # What the container observed about a member (unsafe name, unquoted mbox lines)
            # is stored with the member at once, so a resumed run keeps it.
            findings = [Finding.from_dict(f) for f in child.findings] if child.findings else []
            entry = _Deferred(child, findings, span=span)
            if child.state == PENDING:
                if findings:
                    self.carried[child.id] = findings
                if span is None:
                    entry.task = Task.of(child)
                    self.queue.append(entry.task)
            else:
                entry.done = Result(
                    child.id,
                    child.state,
                    child.reason,
                    kind=child.kind_hint,
                    rowid=child.rowid,
                    verdict=_verdict(child.state, findings),
                )
            yield entry

    def flush(self, limit: int | None = None) -> None:
        """Write up to ``limit`` deferred children's rows (all of them by default, a chunk at a time)."""
        if limit is None:
            while self.deferred:
                self.flush(FLUSH_CHUNK)
            return
        entries = self._take(limit)
        if not entries:
            return
        db = self.db
        if not db.in_transaction:
            db.begin()
        items = [e.item for e in entries]
        for e in entries:
            if e.span is not None:  # in row-id order: the last one is how far its span is written
                e.span.written = e.item.rowid
        if db.insert_pending(items) < len(items):
            # Some rows were there already (same path): their tasks and completions use the rows
            # the case holds, not the ids chosen here.
            known = db.rowids([i.id for i in items])
            for e in entries:
                reserved, e.item.rowid = e.item.rowid, known[e.item.id]
                for target in (e.task, e.done):
                    if target is not None:
                        target.rowid = e.item.rowid
                if e.span is not None and e.done is None and e.item.rowid != reserved:
                    self.queue.append(Task.of(e.item))  # its row is outside the span the queue reads
        db.add_findings_of(((e.item.id, f) for e in entries for f in e.findings), "container")
        done = [e.done for e in entries if e.done is not None]
        db.complete_items(done)
        failures.note_container(self.job, done)

    def _take(self, n: int) -> list[_Deferred]:
        entries: list[_Deferred] = []
        while self.deferred and len(entries) < n:
            head = self.deferred[0]
            if isinstance(head, _Lazy):
                got = list(itertools.islice(head.entries, n - len(entries)))
                head.next_rowid += len(got)
                entries.extend(got)
                if len(entries) < n:  # its members are all taken
                    self.deferred.popleft()
            else:
                entries.append(self.deferred.popleft())
        return entries

    def flush_through(self, rowid: int) -> None:
        """Write deferred rows up to ``rowid``: results about to be written need their rows."""
        while self.deferred and _first_rowid(self.deferred[0]) <= rowid:
            self.flush(FLUSH_CHUNK)

    def commit_now_and_then(self) -> None:
        if not self.deferred and time.monotonic() - self.last_commit > COMMIT_SECONDS:
            self.db.commit()
            self.last_commit = time.monotonic()

    def close(self) -> None:
        """Commit what is whole. Children still unwritten (an error while writing) roll their
        container back with them: the next run reads it again."""
        try:
            self.flush()
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()


MAX_BATCH = 32


def _next_batch(queue: deque[Task], workers: int, prepare: Callable[[Task], Task], solo: set[str]) -> list[Task]:
    """Up to MAX_BATCH small items per round trip, fewer when the queue runs low (keep both cores busy)."""
    size = max(1, min(MAX_BATCH, len(queue) // (workers * 4)))
    batch: list[Task] = []
    while queue and len(batch) < size:
        task = queue[0]
        if task.id in solo or (task.size or 0) > worker.IN_MEMORY:
            if batch:
                break
            batch.append(prepare(queue.popleft()))
            break
        batch.append(prepare(queue.popleft()))
    return batch


def _chunks(items: Iterable[Item], n: int) -> Iterator[list[Item]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, n)):
        yield chunk


def _verdict(state: str, findings: list[Finding]) -> str:
    return "error" if state == FAILED else verdict_for(findings)
