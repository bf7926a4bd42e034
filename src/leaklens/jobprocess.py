"""The job processes of a cluster's worker (leaklens/cluster.py): forked warm, dying with it.

A Dask worker runs each task's jobs in a child process that it can kill at a deadline. The
children are forked from a forkserver that has imported the first step's modules once (ingest's
reader, say), not from the worker itself, whose event loop's threads and sockets a fork would
copy. (A later step's job processes import theirs themselves: preloading every step's modules
cost each command seconds for steps it does not run.) This module is what those processes import, so it
imports nothing heavy itself (not distributed: a job process never talks to the cluster).
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing
import pickle
import signal
import threading
from typing import Any

# What every job process imports, loaded once by each worker's forkserver.
JOB_MODULES = ("leaklens.executor", "leaklens.jobprocess")


def start_forkserver(modules: tuple[str, ...]) -> None:
    """Start this process's forkserver with `modules` loaded (a name that does not import is
    skipped), in the background: it takes a second or two, the first job process waits for it.
    Once it runs, this does nothing."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(modules))
    from multiprocessing import forkserver

    threading.Thread(target=forkserver.ensure_running, name="leaklens-forkserver", daemon=True).start()


class Packed:
    """A function, or a setup with its arguments, pickled once by the coordinator and unpickled only
    where it is used: in the job process. The Dask worker in between carries the bytes, so it never
    imports a step's modules (a verify's checks and key archive: ~0.4 s of CPU in each worker, on a
    command of a few seconds) for objects it only hands on."""

    def __init__(self, obj: Any) -> None:
        self.blob = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        self._obj: Any = _UNREAD

    def __getstate__(self) -> bytes:
        return self.blob

    def __setstate__(self, blob: bytes) -> None:
        self.blob, self._obj = blob, _UNREAD

    def get(self) -> Any:
        if self._obj is _UNREAD:
            self._obj = pickle.loads(self.blob)
        return self._obj


_UNREAD = object()


class Paired:
    """`fn` (Packed) over (seq, job) pairs, so that an outcome of the inner executor names its job's seq.

    The result goes back pickled by this job process, once: the Dask worker hands the bytes on
    instead of unpickling every result and pickling it again for Dask (DaskExecutor unpickles it)."""

    def __init__(self, fn: Packed) -> None:
        self.fn = fn

    def __call__(self, pair: tuple[int, Any]) -> bytes:
        result = self.fn.get()(pair[1])
        try:
            return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - that job's failure, as in the local pool (executor._send_results)
            raise TypeError(f"the job's result cannot be sent back: {type(exc).__name__}: {exc}") from None


def child_setup(setup: Packed | None, modules: tuple[str, ...] = ()) -> None:
    """Runs first in each job process: it dies with its parent (a Dask worker killed with SIGKILL
    takes its forkserver with it, and the forkserver's death this process), imports `modules`, then
    runs the step's setup (`setup`: the function and its arguments).

    The forkserver's own imports are only a head start: Python 3.11's forkserver ignores the
    worker's sys.path, so a module found only there is imported here, where it is restored."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: an orphan ends at its job's end (its pipe is gone)
        pass
    for name in modules:
        importlib.import_module(name)
    if setup is not None:
        fn, args = setup.get()
        fn(*args)
