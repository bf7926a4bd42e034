"""Jobs on a dask.distributed cluster: `--cluster tcp://SCHEDULER:8786` or `--cluster local:N`.

`DaskExecutor` is the executor seam (leaklens/executor.py) over a Dask cluster, with the same
promises as the local pool:

- **tasks of about a second**: a Dask task costs a few milliseconds (3.6-6.6 ms measured here),
  so the jobs submitted are bundled into tasks of `TASK_JOBS` jobs or `TASK_SECONDS` of work,
  whichever is fewer (the work is estimated from the jobs' measured times); a task is sent
  early, smaller, only when a worker would otherwise have nothing to do;
- **deadlines and crashes**: a Dask worker cannot interrupt the thread that runs a task, so it
  runs each task's jobs in a child process of its own, a one-process `LocalExecutor`, which
  kills and replaces that child when a job overruns its deadline (a `TIMEOUT` outcome) and
  survives its death (a `CRASHED` outcome), exactly as on one machine;
- **setup** is a worker plugin: it holds the setup function and its arguments (the case
  folder's path, the limits, the key archive: never a live connection), and each child runs it
  once, before its first job;
- **a killed worker loses nothing**: Dask runs the tasks of a worker that died again elsewhere;
  a task that was on too many dying workers (Dask's `KilledWorker`) is split and its parts run
  again, so a healthy job never ends as `KilledWorker`; a job that is alone in its task and
  still kills every worker it runs on is the culprit, and its outcome is `CRASHED`;
- the results come back to the one coordinator, a task's at a time: the caller writes them.

Jobs, their functions and the setup must be importable by name (module-level functions), and
idempotent (a job may run again after a worker died): ingest's are, blobs being content-addressed.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import pickle
import queue
import statistics
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

import dask
from distributed import Client, LocalCluster, WorkerPlugin, get_worker
from distributed.scheduler import KilledWorker

from .errors import LeaklensError
from .executor import CRASHED, DONE, ExecutorError, J, LocalExecutor, Outcome, R, _Base
from .jobprocess import JOB_MODULES, Packed, Paired, child_setup, start_forkserver

TASK_JOBS = 1000  # jobs one task carries at most ...
TASK_SECONDS = 1.0  # ... or about this much work, whichever is fewer
SAMPLES = 256  # the jobs' latest times kept to estimate a job's cost (their median)
SINGLES = 4  # a task of dying workers with this few jobs is split into one task per job
CONNECT_SECONDS = 10.0  # to reach a scheduler, and for its first worker
ALONE_DEATHS = 3  # times a job alone in its task kills its worker before it is the culprit
ALLOWED_FAILURES = 1  # a LocalCluster's: a task runs again once whole after its worker died, then it is split
# The distributed loggers: below this they only tell of what the executor handles (a worker
# killed and restarted, a task run again).
QUIET = logging.CRITICAL

log = logging.getLogger(__name__)


def quiet_logs(level: int = QUIET) -> None:
    """Silence distributed's loggers in this process (the CLI, the tests): a worker restarted is the
    executor's business, reported in the run's outcome, not a page of warnings."""
    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker",
                 "distributed.core", "distributed.comm", "distributed.client", "distributed.deploy"):  # fmt: skip
        logging.getLogger(name).setLevel(level)


class ClusterError(LeaklensError):
    """The cluster cannot be used: a bad --cluster value, an unreachable scheduler, no workers."""


def parse_spec(spec: str) -> tuple[str, int | str]:
    """("local", N) for local:N, ("remote", address) for a scheduler's address."""
    spec = spec.strip()
    if spec.startswith("local:") or spec == "local":
        n = spec.partition(":")[2] or "2"
        if not n.isdigit() or int(n) < 1:
            raise ClusterError(f"--cluster local:N needs a number of workers of at least 1, got {spec!r}")
        return "local", int(n)
    if "://" in spec and spec.split("://", 1)[0] in ("tcp", "tls") and spec.split("://", 1)[1]:
        return "remote", spec
    raise ClusterError(
        f"--cluster expects tcp://SCHEDULER:8786 (a running dask scheduler) or local:N "
        f"(N worker processes on this machine), got {spec!r}"
    )


class Cluster:
    """A dask.distributed cluster to run jobs on: a scheduler's address, or a LocalCluster of N
    worker processes started here. Connected on first use; one per command, shared by its steps."""

    def __init__(
        self,
        spec: str,
        *,
        allowed_failures: int = ALLOWED_FAILURES,
        connect_seconds: float = CONNECT_SECONDS,
        preload: tuple[str, ...] = (),
    ) -> None:
        """`preload`: modules every job process imports besides leaklens's own (readers that register
        themselves when imported, say)."""
        self.spec = spec
        self.preload = preload
        self.kind, self.target = parse_spec(spec)
        self.allowed_failures = allowed_failures
        self.connect_seconds = connect_seconds
        self._client: Any = None
        self._local: Any = None

    @property
    def client(self) -> Any:
        """The connected `distributed.Client`."""
        if self._client is None:
            self._connect()
        return self._client

    def _connect(self) -> None:
        if self.kind == "local":
            # Its scheduler runs in this process: it is the one that counts a task's worker deaths.
            # Its workers start job processes of their own (not daemonic, then).
            # Nor do they sample their threads' stacks 100 times a second (Dask's profiler: nobody reads it).
            settings = {"distributed.scheduler.allowed-failures": self.allowed_failures,
                        "distributed.worker.daemon": False, "distributed.worker.profile.enabled": False}  # fmt: skip
            with dask.config.set(settings):
                self._local = LocalCluster(
                    n_workers=int(self.target), threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=":0", silence_logs=QUIET,
                )  # fmt: skip
            # Results are read from the workers directly, not relayed by the scheduler.
            self._client = Client(self._local, set_as_default=False, direct_to_workers=True)
            return
        try:
            self._client = Client(str(self.target), timeout=self.connect_seconds, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the dask scheduler at {self.target} "
                f"({type(exc).__name__}, within {self.connect_seconds:g} s): is it running, is the address right?"
            ) from None
        try:
            self._client.wait_for_workers(1, timeout=self.connect_seconds)
        except (OSError, TimeoutError):
            self.close()
            raise ClusterError(f"the dask scheduler at {self.target} has no worker") from None

    def cores(self) -> int:
        """Threads of all the workers now: how many jobs run at once."""
        return max(1, sum(self.client.nthreads().values()))

    def worker_pids(self) -> dict[str, int]:
        """Each worker's process id, by its address."""
        return self.client.run(os.getpid)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._local is not None:
            self._local.close()
            self._local = None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_cluster(spec: str | None, *, connect_seconds: float | None = None) -> Cluster | None:
    """The cluster a --cluster value names, connected (None: none, run on this machine's pool)."""
    if not spec:
        return None
    quiet_logs()
    cluster = Cluster(spec, connect_seconds=CONNECT_SECONDS if connect_seconds is None else connect_seconds)
    cluster.client  # noqa: B018 - connect now: an unreachable scheduler is said before any work
    return cluster


# --- the workers' side -------------------------------------------------------------------------


class JobRunner(WorkerPlugin):
    """The worker plugin: each task's jobs run in a one-process LocalExecutor (a child process that
    it kills and replaces at a deadline), one per task running at once in this worker."""

    def __init__(
        self, setup: Packed | None, setup_module: str | None, timeout: float | None, modules: tuple[str, ...] = ()
    ) -> None:
        """`setup`: the step's setup and its arguments, pickled (read by the job processes only);
        `setup_module`: where it is, which the job processes' forkserver loads."""
        # (Not `self.setup`: that is the plugin's method the worker calls.)
        self.packed_setup, self.setup_module, self.timeout, self.modules = setup, setup_module, timeout, modules
        self.idle: list[LocalExecutor] = []
        self.made: list[LocalExecutor] = []
        self.lock: threading.Lock | None = None
        self.closed = False

    def __getstate__(self) -> dict:
        return {"setup": self.packed_setup, "setup_module": self.setup_module, "timeout": self.timeout,
                "modules": self.modules}  # fmt: skip

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["setup"], state["setup_module"], state["timeout"], state["modules"])

    def setup(self, worker: Any = None) -> None:
        """On every worker, those that join later too (a restarted one): the job processes' forkserver
        started at once, while the coordinator goes on (jobprocess.py)."""
        self.lock = threading.Lock()
        # A nanny starts its worker as a daemonic process, which multiprocessing forbids to have
        # children: the job processes are ours to stop (they die with the worker: jobprocess.py).
        if multiprocessing.current_process().daemon:
            multiprocessing.current_process().daemon = False
        first = () if self.setup_module is None else (self.setup_module,)
        start_forkserver((*JOB_MODULES, *first, *self.modules))

    def teardown(self, worker: Any = None) -> None:
        assert self.lock is not None
        with self.lock:
            self.closed = True
            made, self.made, self.idle = self.made, [], []
        for ex in made:
            ex.close()

    def run(self, fn: Packed, numbered: list[tuple[int, Any]]) -> list[tuple]:
        assert self.lock is not None
        with self.lock:
            if self.closed:
                raise ExecutorError("the executor is closed")
            ex = self.idle.pop() if self.idle else None
        if ex is None:
            # Forked by the forkserver that setup started (jobprocess.py), not by this worker.
            ex = LocalExecutor(
                1, setup=child_setup, setup_args=(self.packed_setup, self.modules), timeout=self.timeout,
                context="forkserver",
            )  # fmt: skip
            with self.lock:
                self.made.append(ex)
        ok = False
        try:
            ex.submit(Paired(fn), numbered)
            rows = []
            while ex.in_flight:
                for out in ex.collect(None):
                    seq = out.job[0]
                    rows.append((seq, out.status, out.result, out.error, out.seconds, out.trace))
            ok = True
            return rows
        finally:
            with self.lock:
                if ok and not self.closed:
                    self.idle.append(ex)
                else:
                    if ex in self.made:
                        self.made.remove(ex)
                    ex.close()


def _run_task(plugin: str, fn: Packed, numbered: list[tuple[int, Any]]) -> list[tuple]:
    """A Dask task: these jobs, in this worker's job process; (seq, status, result, error, seconds, trace) each."""
    return get_worker().plugins[plugin].run(fn, numbered)


# --- the coordinator's side ----------------------------------------------------------------------


@dataclass(slots=True)
class _Task:
    fn: Callable
    jobs: dict[int, Any]  # seq -> job
    started: float


class DaskExecutor(_Base):
    """The executor seam over a dask.distributed cluster (see the module's docstring)."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        setup: Callable[..., None] | None = None,
        setup_args: tuple = (),
        timeout: float | None = None,
    ) -> None:
        self.cluster = cluster
        self._client = cluster.client
        self.workers = cluster.cores()
        self.timeout = timeout
        self._name = f"leaklens-jobs-{uuid.uuid4().hex[:12]}"
        packed = None if setup is None else Packed((setup, setup_args))
        module = None if setup is None else setup.__module__
        self._client.register_plugin(JobRunner(packed, module, timeout, cluster.preload), name=self._name)
        self._packed: dict[Callable, Packed] = {}  # each job function, pickled once
        self._buffer: list[tuple[int, Any]] = []
        self._buffer_fn: Callable | None = None
        self._tasks: dict[str, _Task] = {}  # by the Dask key
        self._futures: dict[str, Any] = {}
        self._arrived: queue.SimpleQueue = queue.SimpleQueue()  # (key, rows or None, error or None)
        self._costs: deque[float] = deque(maxlen=SAMPLES)
        self._count = 0
        self._next_seq = 0
        self._next_key = 0
        self._closed = False
        self.tasks_sent = 0  # for the benchmark and the tests: how the jobs were bundled
        self.splits = 0
        self._alone_deaths: dict[int, int] = {}  # job seq -> times its task of one died with its worker

    # -- the interface ------------------------------------------------------------------------
    @property
    def backlog(self) -> int:  # type: ignore[override]
        # Every worker busy with one task and one more waiting, at the size tasks are made now.
        return self.workers * 2 * self._task_jobs()

    def submit(self, fn: Callable[[J], R], jobs: Sequence[J]) -> None:
        self._check()
        numbered = [(self._next_seq + i, job) for i, job in enumerate(jobs)]
        if not numbered:
            return
        self._next_seq += len(numbered)
        self._count += len(numbered)
        if self._buffer and self._buffer_fn is not fn:
            self._flush()
        self._buffer_fn = fn
        self._buffer.extend(numbered)
        size = self._task_jobs()
        while len(self._buffer) >= size:
            self._flush(size)
        self._feed()

    @property
    def in_flight(self) -> int:
        return self._count

    def collect(self, timeout: float | None = None) -> list[Outcome]:
        self._check()
        self._feed()
        if not self._count:
            return []
        end = None if timeout is None else time.monotonic() + timeout
        outs: list[Outcome] = []
        while not outs:
            left = None if end is None else max(0.0, end - time.monotonic())
            try:
                first = self._arrived.get(timeout=left) if left != 0 else self._arrived.get_nowait()
            except queue.Empty:
                return []
            arrived = [first]
            while True:
                try:
                    arrived.append(self._arrived.get_nowait())
                except queue.Empty:
                    break
            for key, rows, error in arrived:
                outs.extend(self._settle(key, rows, error))
            self._feed()
            if end is not None and time.monotonic() >= end:
                break
        self._count -= len(outs)
        return outs

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        futures = list(self._futures.values())
        self._futures.clear()
        self._tasks.clear()
        self._buffer.clear()
        try:
            if futures:
                self._client.cancel(futures)
            self._client.unregister_worker_plugin(self._name)
        except Exception as exc:  # noqa: BLE001 - a cluster already gone has nothing left to stop
            log.debug("closing the Dask executor: %s", exc)

    def _check(self) -> None:
        if self._closed:
            raise ExecutorError("the executor is closed")

    # -- tasks --------------------------------------------------------------------------------------
    def _task_jobs(self) -> int:
        """Jobs per task now: TASK_JOBS, or fewer when that many would take over TASK_SECONDS."""
        if len(self._costs) < 16:
            return TASK_JOBS
        per_job = statistics.median(self._costs)
        if per_job <= 0:
            return TASK_JOBS
        return max(1, min(TASK_JOBS, math.ceil(TASK_SECONDS / per_job)))

    def _feed(self) -> None:
        """Send what is bundled so far when a worker would otherwise be left without a task waiting."""
        if self._buffer and len(self._futures) < self.workers * 2:
            self._flush()

    def _flush(self, size: int | None = None) -> None:
        size = len(self._buffer) if size is None else size
        part, self._buffer = self._buffer[:size], self._buffer[size:]
        assert self._buffer_fn is not None
        self._send(self._buffer_fn, part)

    def _send(self, fn: Callable, numbered: list[tuple[int, Any]]) -> None:
        key = f"{self._name}-{self._next_key}"
        self._next_key += 1
        self._tasks[key] = _Task(fn, dict(numbered), time.monotonic())
        packed = self._packed.get(fn)
        if packed is None:
            packed = self._packed[fn] = Packed(fn)
        fut = self._client.submit(_run_task, self._name, packed, numbered, key=key, pure=False)
        self._futures[key] = fut
        self.tasks_sent += 1
        fut.add_done_callback(self._done)

    def _done(self, fut: Any) -> None:
        """In distributed's callback thread: the task's results read (deserialised) while the
        coordinator goes on writing the previous ones."""
        try:
            # A job's result comes pickled by its job process (jobprocess.Paired): read here, not by
            # the coordinator's main thread, which writes.
            rows = [(seq, status, pickle.loads(result) if status == DONE else result, *rest)
                    for seq, status, result, *rest in fut.result()]  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - the coordinator decides what a failure means
            self._arrived.put((fut.key, None, exc))
        else:
            self._arrived.put((fut.key, rows, None))

    def _settle(self, key: str, rows: list[tuple] | None, error: BaseException | None) -> list[Outcome]:
        task = self._tasks.pop(key, None)
        self._futures.pop(key, None)
        if task is None:  # cancelled by close()
            return []
        if error is None:
            outs = []
            assert rows is not None
            for seq, status, result, err, seconds, trace in rows:
                job = task.jobs.pop(seq)
                outs.append(Outcome(job, status, result, err, seconds, seq, trace))
                if status == DONE:
                    self._costs.append(seconds)
            if task.jobs:  # pragma: no cover - the job process reports every job or the task fails
                raise ExecutorError(f"a task came back without {len(task.jobs)} of its jobs")
            return outs
        if isinstance(error, KilledWorker):
            return self._split(task, error)
        if isinstance(error, ExecutorError):
            raise error
        if isinstance(error, CancelledError | OSError):
            raise ExecutorError(f"the Dask cluster went away: {type(error).__name__}: {error}") from error
        raise ExecutorError(f"a Dask task failed: {type(error).__name__}: {error}") from error

    def _split(self, task: _Task, error: BaseException) -> list[Outcome]:
        """A task whose workers kept dying: its jobs run again in smaller tasks, so that the healthy
        ones end; a job alone in its task that still kills its workers is the culprit."""
        jobs = sorted(task.jobs.items())
        if len(jobs) == 1:
            seq, job = jobs[0]
            # Alone in its task, but maybe on the worker the culprit killed at the same moment (a worker
            # runs several tasks): the culprit is the job that kills its worker alone, time after time.
            self._alone_deaths[seq] = self._alone_deaths.get(seq, 0) + 1
            if self._alone_deaths[seq] < ALONE_DEATHS:
                self._send(task.fn, jobs)
                return []
            err = ChildProcessError(f"the Dask workers running this job died ({type(error).__name__})")
            return [Outcome(job, CRASHED, error=err, seconds=time.monotonic() - task.started, seq=seq)]
        self.splits += 1
        # 1,000 jobs: 31 tasks of 32, then (for the culprit's) 32 of 1; a few jobs: one task each.
        parts = len(jobs) if len(jobs) <= SINGLES else max(2, math.isqrt(len(jobs)))
        step = math.ceil(len(jobs) / parts)
        for i in range(0, len(jobs), step):
            self._send(task.fn, jobs[i : i + step])
        return []
