"""The job processes of a cluster's worker (leaklens/cluster.py): forked warm, dying with it.

A Dask worker runs each task's jobs in a child process that it can kill at a deadline. The
children are forked from a forkserver that has imported the modules whose jobs run on a cluster
once (ingest's reader, the steps' modules), not from the worker itself, whose event loop's
threads and sockets a fork would copy. This module is what those processes import, so it
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

# The modules whose jobs run on a cluster, imported once by each worker's forkserver so that
# every job process starts with them loaded. (A name that does not import is skipped.)
JOB_MODULES = ("leaklens.executor", "leaklens.jobprocess", "leaklens.ingest.worker")


def start_forkserver(modules: tuple[str, ...]) -> None:
    """Start this process's forkserver with `modules` loaded, in the background (it takes a
    second or two; the first job process waits for it)."""
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
