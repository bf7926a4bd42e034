"""One way to run jobs in parallel, whatever runs them: the executor seam.

In the spirit of httpx's `BaseTransport`: a step hands jobs to an `Executor` and reads back one
`Outcome` per job; it never learns whether a local process pool (`LocalExecutor`), the calling
process (`InlineExecutor`, for tests and debugging) or, later, a Dask cluster runs them.

What every implementation promises:

- `submit(fn, jobs)` sends jobs to one worker in one round trip (small jobs are cheap in
  batches), yet each job has its own deadline and its own outcome;
- `collect(timeout)` returns the outcomes finished so far, as they complete; `map()` wraps
  both, with results as they complete or in submission order;
- a `setup` function runs once in each worker before its first job (load keys, open the blob
  store), like `ProcessPoolExecutor`'s initializer;
- **per-job timeouts are enforced by the executor itself**: a job past its deadline has its
  worker process killed (SIGKILL) and replaced, and yields a `TIMEOUT` outcome. `signal.alarm`
  is never used: it does not work in Dask's worker threads, and it cannot stop a C library
  that never returns to the interpreter. A worker that dies (a segfault in a C parser) yields a
  `CRASHED` outcome for the job it was running, and the other jobs go on;
- a job whose worker was killed while it waited in the same batch as the culprit runs again
  on another worker: jobs must be idempotent (ingest's are: blobs are content-addressed).

A Dask implementation keeps this interface: `submit` becomes `client.submit` of a function
running the batch, `setup` a worker plugin, and the deadline is enforced the same way, by
running each job in a child process that the Dask worker kills and replaces (Dask cannot
interrupt a thread).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from .cluster import Cluster

J = TypeVar("J")
R = TypeVar("R")

DONE, RAISED, TIMEOUT, CRASHED = "done", "raised", "timeout", "crashed"
STATUSES = (DONE, RAISED, TIMEOUT, CRASHED)

# A batch message up to this size is sent to a worker that is still busy (it waits in the socket's
# buffer, which holds two such messages, so the send never blocks the coordinator); a larger one
# only to an idle worker, which reads it at once.
PREFETCH_BYTES = 16 << 10
# A worker running a long batch sends what it has finished at least this often, so that a kill
# later in the batch costs little work done again.
FLUSH_SECONDS = 0.25
# Workers that die before finishing a single job, in a row: the setup itself is broken.
MAX_EARLY_DEATHS = 3


class ExecutorError(RuntimeError):
    """The executor cannot run jobs at all (its setup fails in every worker)."""


@dataclass(slots=True)
class Outcome(Generic[J, R]):
    """What became of one job: its result, or why there is none."""

    job: J
    status: str  # one of STATUSES
    result: R | None = None
    error: BaseException | None = None  # RAISED: the job's exception; TIMEOUT / CRASHED: why
    seconds: float = 0.0  # how long the job ran in its worker (to its deadline for TIMEOUT)
    seq: int = 0  # the job's number, in submission order, in this executor
    trace: str = ""  # RAISED: the worker's formatted traceback

    @property
    def ok(self) -> bool:
        return self.status == DONE


class Executor(Protocol):
    """Runs jobs in workers; see the module's docstring for what every implementation promises."""

    workers: int
    timeout: float | None  # seconds a job may run before its worker is killed (None: no limit)
    # Jobs to keep in flight at least, whatever the caller's own window: an executor that bundles
    # jobs into larger tasks of its own (a Dask cluster's) needs that many to keep its workers busy.
    backlog: int

    def submit(self, fn: Callable[[J], R], jobs: Sequence[J]) -> None:
        """Queue `fn(job)` for each of `jobs`, sent to one worker in one round trip."""
        ...

    def collect(self, timeout: float | None = None) -> list[Outcome]:
        """The outcomes finished since the last call, in the order they completed.

        Waits up to `timeout` seconds for the first one (None: until one is ready; 0: not at all);
        returns [] when nothing is in flight or nothing finished in time.
        """
        ...

    @property
    def in_flight(self) -> int:
        """Jobs submitted whose outcome has not been collected yet."""
        ...

    def map(
        self, fn: Callable[[J], R], jobs: Iterable[J], *, ordered: bool = False, batch: int = 1
    ) -> Iterator[Outcome]:
        """One outcome per job of `jobs` (read lazily), as they complete or in their order."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


def executor_for(
    workers: int,
    *,
    setup: Callable[..., None] | None = None,
    setup_args: tuple = (),
    timeout: float | None = None,
    cluster: Cluster | None = None,
) -> Executor:
    """The executor for `workers` cores on this machine, or for every worker of `cluster`.

    In-process only when that loses nothing: one worker and no deadline to enforce. A deadline
    needs a process to kill, so a step with a timeout gets a process even for one worker.
    """
    if cluster is not None:
        from .cluster import DaskExecutor  # distributed is imported only for a cluster

        return DaskExecutor(cluster, setup=setup, setup_args=setup_args, timeout=timeout)
    if workers <= 1 and timeout is None:
        return InlineExecutor(setup=setup, setup_args=setup_args)
    return LocalExecutor(max(1, workers), setup=setup, setup_args=setup_args, timeout=timeout)


class _Base:
    """`map` and the context manager, written once over `submit` and `collect`."""

    workers: int
    backlog = 0

    def submit(self, fn: Callable[[J], R], jobs: Sequence[J]) -> None:
        raise NotImplementedError

    def collect(self, timeout: float | None = None) -> list[Outcome]:
        raise NotImplementedError

    @property
    def in_flight(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def map(
        self, fn: Callable[[J], R], jobs: Iterable[J], *, ordered: bool = False, batch: int = 1
    ) -> Iterator[Outcome]:
        it = iter(jobs)
        # Jobs kept in flight: every worker busy, one batch waiting (and what the executor asks for).
        window = max(self.workers * 2 * max(1, batch), self.backlog)
        next_seq = self._next_seq  # type: ignore[attr-defined]
        waiting: dict[int, Outcome] = {}
        exhausted = False
        while True:
            while not exhausted and self.in_flight < window:
                chunk = [job for _, job in zip(range(max(1, batch)), it, strict=False)]
                if not chunk:
                    exhausted = True
                    break
                self.submit(fn, chunk)
            if not self.in_flight:
                break
            for out in self.collect(None):
                if not ordered:
                    yield out
                    continue
                waiting[out.seq] = out
                while next_seq in waiting:
                    yield waiting.pop(next_seq)
                    next_seq += 1
        assert not waiting, f"outcomes {sorted(waiting)} never released"

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- in-process -----------------------------------------------------------------------------


class InlineExecutor(_Base):
    """Runs jobs in the calling process, one batch per `collect`: for tests, debugging, and one core
    with no deadline. It cannot enforce a timeout (nothing to kill) nor survive a crash."""

    workers = 1
    timeout = None

    def __init__(self, *, setup: Callable[..., None] | None = None, setup_args: tuple = ()) -> None:
        self._setup = (setup, setup_args) if setup else None
        self._queue: deque[tuple[Callable, list[tuple[int, Any]]]] = deque()
        self._next_seq = 0
        self._count = 0

    def submit(self, fn: Callable[[J], R], jobs: Sequence[J]) -> None:
        numbered = [(self._next_seq + i, job) for i, job in enumerate(jobs)]
        self._next_seq += len(numbered)
        self._count += len(numbered)
        if numbered:
            self._queue.append((fn, numbered))

    @property
    def in_flight(self) -> int:
        return self._count

    def collect(self, timeout: float | None = None) -> list[Outcome]:
        if not self._queue:
            return []
        if self._setup:
            setup, args = self._setup
            self._setup = None
            setup(*args)
        fn, numbered = self._queue.popleft()
        self._count -= len(numbered)
        return [_run_one(fn, job, seq)[0] for seq, job in numbered]

    def close(self) -> None:
        self._queue.clear()
        self._count = 0


def _run_one(fn: Callable, job: Any, seq: int) -> tuple[Outcome, float]:
    t = time.monotonic()
    try:
        result = fn(job)
    except Exception as exc:  # noqa: BLE001 - the job's failure is its outcome, not the executor's
        return Outcome(job, RAISED, error=exc, seconds=time.monotonic() - t, seq=seq, trace=traceback.format_exc()), t
    return Outcome(job, DONE, result, seconds=time.monotonic() - t, seq=seq), t


# --- a local process pool ---------------------------------------------------------------------


@dataclass(slots=True)
class _Batch:
    fn: Callable
    jobs: list[tuple[int, Any]]  # (seq, job), as sent: the worker's progress slot indexes this list
    left: dict[int, Any]  # seq -> job, those not reported yet
    bid: int = -1  # set when sent
    payload: bytes | None = None

    @classmethod
    def of(cls, fn: Callable, jobs: list[tuple[int, Any]]) -> _Batch:
        return cls(fn, jobs, dict(jobs))


@dataclass(slots=True)
class _Worker:
    proc: Any  # multiprocessing.Process
    pipe: Connection
    progress: Any  # shared doubles: [batch id, index of the running job in it (-1: none), its start (monotonic)]
    batches: deque[_Batch] = field(default_factory=deque)  # sent, oldest (running) first
    ready: bool = False
    finished_any: bool = False


class LocalExecutor(_Base):
    """A pool of worker processes on this machine that it kills and replaces when a job overruns.

    Unlike `concurrent.futures.ProcessPoolExecutor`, a dead worker does not break the pool: the
    executor knows which job each worker runs (a shared progress slot the worker writes before
    each job), so a crash or a kill costs that job alone; the jobs that shared its batch and had
    not been reported run again on the replacement.

    A thread of the executor reads the workers' results, hands them their next batches and
    watches the deadlines while the caller is busy (writing the results to the case, typically):
    workers neither wait for work nor block on sending a result, and an overrunning job is killed
    on time. New workers are forked by the caller's thread only (in `submit` and `collect`), never
    by the executor's thread: a fork while the caller is inside SQLite could copy a held lock.
    """

    def __init__(
        self,
        workers: int,
        *,
        setup: Callable[..., None] | None = None,
        setup_args: tuple = (),
        timeout: float | None = None,
        context: str = "fork",
    ) -> None:
        # fork by default: workers inherit what the coordinator loaded (and a test's patches);
        # "spawn" or "forkserver" for a coordinator with threads of its own.
        self.workers = workers
        self.timeout = timeout
        self._setup, self._setup_args = setup, setup_args
        self._ctx = multiprocessing.get_context(context)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pending: deque[_Batch] = deque()
        self._done: list[Outcome] = []
        self._count = 0
        self._next_seq = 0
        self._next_bid = 0
        self._early_deaths = 0
        self._deaths: dict[int, int] = {}  # seq -> deaths of its worker while no job was known to run
        self._error: BaseException | None = None
        self._closed = False
        self._pool: list[_Worker] = []
        self._missing = workers  # workers to start (by the caller's thread)
        self._wake_r, self._wake_w = os.pipe()  # tells the executor's thread to look again
        self._asleep = False  # the executor's thread waits with no deadline to watch
        with self._lock:
            self._start_missing()
        self._thread = threading.Thread(target=self._serve_workers, name="leaklens-executor", daemon=True)
        self._thread.start()

    # -- the interface ----------------------------------------------------------------------
    def submit(self, fn: Callable[[J], R], jobs: Sequence[J]) -> None:
        numbered = [(self._next_seq + i, job) for i, job in enumerate(jobs)]
        if not numbered:
            return
        with self._lock:
            self._check()
            self._next_seq += len(numbered)
            self._count += len(numbered)
            self._pending.append(_Batch.of(fn, numbered))
            self._start_missing()
            self._dispatch()
            if self._asleep and self.timeout is not None:
                self._asleep = False
                os.write(self._wake_w, b"x")  # a deadline to watch now

    @property
    def in_flight(self) -> int:
        return self._count

    def collect(self, timeout: float | None = None) -> list[Outcome]:
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._check()
                self._start_missing()
                self._dispatch()
                if self._done or not self._count:
                    out, self._done = self._done, []
                    self._count -= len(out)
                    return out
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return []
                self._cond.wait(left)

    def close(self) -> None:
        """Stop the workers: at once (killed) if jobs are still running, else after their last job."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        os.write(self._wake_w, b"x")
        self._thread.join()
        busy = any(w.batches for w in self._pool)
        for w in self._pool:
            if busy:
                _kill(w)
            else:
                try:
                    w.pipe.send_bytes(_STOP)
                except OSError:
                    pass
        for w in self._pool:
            w.proc.join(timeout=5)
            if w.proc.is_alive():
                _kill(w)
            w.pipe.close()
        self._pool.clear()
        self._pending.clear()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ExecutorError("the executor is closed")

    # -- workers (the caller's thread, under the lock) ----------------------------------------
    def _start_missing(self) -> None:
        if not self._missing or self._closed:
            return
        while self._missing:
            self._pool.append(self._spawn())
            self._missing -= 1
        os.write(self._wake_w, b"x")  # new pipes to watch

    def _spawn(self) -> _Worker:
        mine, theirs = self._ctx.Pipe(duplex=True)
        progress = self._ctx.RawArray("d", 3)
        progress[1] = -1.0
        # A forked worker would hold the coordinator's ends of its own and the other workers' pipes
        # open: it closes them, so that it sees the coordinator go away (end of file) even when the
        # coordinator is killed.
        # (Only a forked one: a "spawn" or "forkserver" child inherits none of them, and the same
        # numbers may be its own descriptors.)
        forked = self._ctx.get_start_method() == "fork"
        others = [mine.fileno(), self._wake_r, self._wake_w, *(w.pipe.fileno() for w in self._pool)] if forked else []
        proc = self._ctx.Process(
            target=_worker_main,
            args=(theirs, progress, self._setup, self._setup_args, others),
            daemon=True,
        )
        proc.start()
        theirs.close()
        return _Worker(proc, mine, progress)

    def _dispatch(self) -> None:
        """Hand pending batches to workers: an idle one first, else one batch waiting behind the running one."""
        while self._pending and self._pool:
            w = min(self._pool, key=lambda w: len(w.batches))
            if len(w.batches) >= 2:
                return
            batch = self._pending[0]
            if batch.payload is None:
                batch.bid = self._next_bid
                self._next_bid += 1
                batch.payload = pickle.dumps((batch.bid, batch.fn, batch.jobs), protocol=pickle.HIGHEST_PROTOCOL)
            if len(batch.payload) > PREFETCH_BYTES and (w.batches or not w.ready):
                # Too large to wait in the pipe without blocking us: only a worker reading now may take it.
                idle = [x for x in self._pool if not x.batches and x.ready]
                if not idle:
                    return
                w = idle[0]
            self._pending.popleft()
            try:
                w.pipe.send_bytes(batch.payload)
            except OSError:  # the worker is dead: its jobs come back when the thread sees it
                pass
            batch.payload = None
            w.batches.append(batch)

    # -- the executor's thread ------------------------------------------------------------------
    def _serve_workers(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed:
                        return
                    pool = list(self._pool)
                    wake = self._next_wake(time.monotonic())
                    # Waiting without a deadline: a batch sent meanwhile must wake us to watch it.
                    self._asleep = wake is None
                timeout = None if wake is None else max(0.0, wake - time.monotonic())
                pipes = {w.pipe: w for w in pool}
                sentinels = {w.proc.sentinel: w for w in pool}
                ready = wait([*pipes, *sentinels, self._wake_r], timeout)
                if self._wake_r in ready:
                    os.read(self._wake_r, 4096)
                # Read outside the lock (unpickling a large result takes a while); only this thread
                # reads the pipes or removes a worker, so the snapshot stays valid.
                received: list[tuple[_Worker, tuple]] = []
                dead: list[_Worker] = []
                for r in ready:
                    w = pipes.get(r) or sentinels.get(r)
                    if w is None or w in dead:
                        continue
                    try:
                        while w.pipe.poll():
                            received.append((w, w.pipe.recv()))
                    except (EOFError, OSError):
                        dead.append(w)
                        continue
                    if r in sentinels:
                        dead.append(w)
                with self._cond:
                    if self._closed:
                        return
                    for w, msg in received:
                        self._message(w, msg)
                    for w in dead:
                        self._crashed(w)
                    self._enforce_deadlines()
                    self._dispatch()
                    if self._done or self._missing or self._error:
                        self._cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - the caller must hear of it, not wait forever
            with self._cond:
                self._error = ExecutorError(f"the executor's thread failed: {type(exc).__name__}: {exc}")
                self._error.__cause__ = exc
                self._cond.notify_all()

    def _message(self, w: _Worker, msg: tuple) -> None:
        kind = msg[0]
        if kind == "results":
            _, finished, last = msg
            batch = w.batches[0]
            for seq, status, value, seconds, trace in finished:
                job = batch.left.pop(seq)
                if status == DONE:
                    self._done.append(Outcome(job, DONE, value, seconds=seconds, seq=seq))
                else:
                    self._done.append(Outcome(job, RAISED, error=value, seconds=seconds, seq=seq, trace=trace))
            w.finished_any = True
            self._early_deaths = 0
            if last:
                w.batches.popleft()
        elif kind == "ready":
            w.ready = True
        elif kind == "setup":
            self._error = ExecutorError(f"the workers' setup failed: {msg[1]!r}")
            self._error.__cause__ = msg[1]

    def _running(self, w: _Worker) -> tuple[int, Any, float] | None:
        """(seq, job, start) of the job `w` is running now, if any."""
        # Read in the reverse order of the worker's writes (start, batch, index): an index seen
        # is never older than the batch and start read after it.
        index = int(w.progress[1])
        if index < 0:
            return None
        bid, start = int(w.progress[0]), w.progress[2]
        for batch in w.batches:
            if batch.bid == bid:
                if index < len(batch.jobs):
                    seq, job = batch.jobs[index]
                    if seq in batch.left:
                        return seq, job, start
                return None
        return None

    def _enforce_deadlines(self) -> None:
        if self.timeout is None:
            return
        for w in list(self._pool):
            running = self._running(w)
            if running is None:
                continue
            seq, job, start = running
            ran = time.monotonic() - start
            if ran >= self.timeout:
                self._forget(w, seq)
                err = TimeoutError(f"the job ran over its {self.timeout:g} s")
                self._done.append(Outcome(job, TIMEOUT, error=err, seconds=ran, seq=seq))
                w.finished_any = True  # a job came to an end: the setup works
                self._retire(w)

    def _next_wake(self, now: float) -> float | None:
        """When to look at the deadlines again (None: no deadline to watch)."""
        if self.timeout is None or not any(w.batches for w in self._pool):
            return None
        starts = [r[2] for r in map(self._running, self._pool) if r is not None]
        # A job that starts while we wait is seen at the next wake-up: wake at least once a second
        # while jobs are out, so that a deadline is never missed by more than that.
        tick = now + min(1.0, self.timeout)
        return min(min(starts) + self.timeout, tick) if starts else tick

    def _forget(self, w: _Worker, seq: int) -> None:
        for batch in w.batches:
            batch.left.pop(seq, None)

    def _crashed(self, w: _Worker) -> None:
        """`w` died on its own (a segfault, the OOM killer): the job it was running crashed."""
        if w not in self._pool:
            return
        running = self._running(w)
        w.proc.join(timeout=5)
        code = w.proc.exitcode
        why = f"killed by signal {-code} ({signal.Signals(-code).name})" if code and code < 0 else f"exit code {code}"
        culprits = []
        if running is not None:
            culprits = [running]
        else:
            # It died between jobs: nobody to blame, its jobs run again; a job present at repeated
            # deaths like that is given up on, so that the run always ends.
            for batch in w.batches:
                for seq, job in batch.left.items():
                    self._deaths[seq] = self._deaths.get(seq, 0) + 1
                    if self._deaths[seq] >= MAX_EARLY_DEATHS:
                        culprits.append((seq, job, time.monotonic()))
        for seq, job, start in culprits:
            self._forget(w, seq)
            err = ChildProcessError(f"the worker process died: {why}")
            self._done.append(Outcome(job, CRASHED, error=err, seconds=time.monotonic() - start, seq=seq))
            w.finished_any = True
        self._retire(w)

    def _retire(self, w: _Worker) -> None:
        """Take `w` (killed or dead) out of the pool; its unreported jobs go back first in line, and
        a replacement is started by the caller's thread."""
        _kill(w)
        w.pipe.close()
        self._pool.remove(w)
        if not w.finished_any:
            self._early_deaths += 1
            if self._early_deaths >= MAX_EARLY_DEATHS:
                self._error = ExecutorError(
                    f"{MAX_EARLY_DEATHS} worker processes in a row died before finishing a job"
                )
        again = [_Batch.of(b.fn, list(b.left.items())) for b in w.batches if b.left]
        self._pending.extendleft(reversed(again))
        w.batches.clear()
        self._missing += 1


def _kill(w: _Worker) -> None:
    if w.proc.is_alive():
        try:
            os.kill(w.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    w.proc.join(timeout=5)


_STOP = pickle.dumps(None)


def _worker_main(pipe: Connection, progress: Any, setup: Callable | None, setup_args: tuple, others: list[int]) -> None:
    """A worker's life: setup once, then batches until told to stop (or the coordinator is gone)."""
    for fd in others:
        try:
            os.close(fd)
        except OSError:
            pass
    # The coordinator handles Ctrl-C (it stops the run and kills us); a worker just waits for that.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _serve(pipe, progress, setup, setup_args)
    except (EOFError, OSError):
        pass  # the coordinator is gone (killed, or stopped without a word): so are we


def _serve(pipe: Connection, progress: Any, setup: Callable | None, setup_args: tuple) -> None:
    try:
        if setup is not None:
            setup(*setup_args)
    except BaseException as exc:  # noqa: BLE001 - reported to the coordinator, which gives up
        pipe.send(("setup", _picklable(exc)))
        return
    pipe.send(("ready",))
    while True:
        msg = pickle.loads(pipe.recv_bytes())
        if msg is None:
            return
        bid, fn, numbered = msg
        finished: list[tuple] = []
        last_send = time.monotonic()
        for index, (seq, job) in enumerate(numbered):
            progress[2] = time.monotonic()  # written first: whoever sees the index sees its start
            progress[0] = bid
            progress[1] = index
            out, _ = _run_one(fn, job, seq)
            progress[1] = -1.0
            if out.status == DONE:
                finished.append((seq, DONE, out.result, out.seconds, ""))
            else:
                finished.append((seq, RAISED, _picklable(out.error), out.seconds, out.trace))
            if index + 1 < len(numbered) and time.monotonic() - last_send > FLUSH_SECONDS:
                _send_results(pipe, finished, False)
                finished, last_send = [], time.monotonic()
        _send_results(pipe, finished, True)


def _send_results(pipe: Connection, finished: list[tuple], last: bool) -> None:
    try:
        payload = pickle.dumps(("results", finished, last), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - a result that cannot be pickled is that job's failure, not the batch's
        safe = []
        for seq, status, value, seconds, trace in finished:
            try:
                pickle.dumps(value)
                safe.append((seq, status, value, seconds, trace))
            except Exception as exc:  # noqa: BLE001
                err = TypeError(f"the job's result cannot be sent back: {type(exc).__name__}: {exc}")
                safe.append((seq, RAISED, err, seconds, ""))
        payload = pickle.dumps(("results", safe, last), protocol=pickle.HIGHEST_PROTOCOL)
    pipe.send_bytes(payload)


def _picklable(exc: BaseException | None) -> BaseException | None:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - an exception that cannot cross keeps its type name and message
        return RuntimeError(f"{type(exc).__name__}: {exc}")
