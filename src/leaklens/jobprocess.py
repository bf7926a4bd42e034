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
import signal
import threading
from collections.abc import Callable
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


class Paired:
    """`fn` over (seq, job) pairs, so that an outcome of the inner executor names its job's seq."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, pair: tuple[int, Any]) -> Any:
        return self.fn(pair[1])


def child_setup(setup: Callable[..., None] | None, setup_args: tuple, modules: tuple[str, ...] = ()) -> None:
    """Runs first in each job process: it dies with its parent (a Dask worker killed with SIGKILL
    takes its forkserver with it, and the forkserver's death this process), imports `modules`, then
    runs the step's setup.

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
        setup(*setup_args)
