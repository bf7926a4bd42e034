"""The executor: jobs in worker processes, with deadlines it enforces itself and crashes it survives."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from leaklens.executor import (
    CRASHED,
    DONE,
    RAISED,
    TIMEOUT,
    ExecutorError,
    InlineExecutor,
    LocalExecutor,
    executor_for,
)

# --- jobs (module level: a worker finds them by name) ---------------------------------------

_setup_calls: list[str] = []


def _setup(tag: str) -> None:
    _setup_calls.append(tag)


def _square(n: int) -> int:
    return n * n


def _slow_square(n: int) -> int:
    time.sleep(0.002 * (n % 5))  # finish out of order
    return n * n


def _whoami(_: object) -> tuple[int, list[str]]:
    return os.getpid(), list(_setup_calls)


def _backtrack(n: int) -> bool:
    """A regex that backtracks for ages inside the C engine, which never returns to the interpreter
    (so no Python signal handler, hence no signal.alarm, could stop it)."""
    return re.match(r"(a+)+$", "a" * n + "b") is not None


def _sleep_or_square(n: int) -> int:
    if n < 0:
        time.sleep(60)
    return n * n


def _crash_on(n: int) -> int:
    if n == 13:
        import ctypes
        import faulthandler

        faulthandler.disable()  # the intended crash needs no traceback in the log
        ctypes.string_at(0)  # a real SIGSEGV, as a crashing C parser gives
    return n * n


def _raise_on(n: int) -> int:
    if n == 3:
        raise ValueError("three is not welcome")
    return n


def _unpicklable(n: int):
    return (lambda: n) if n == 1 else n


def _failing_setup() -> None:
    raise RuntimeError("no blob store here")


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 7])
def test_map_in_order_and_as_completed(batch):
    with LocalExecutor(2) as ex:
        ordered = list(ex.map(_slow_square, range(60), ordered=True, batch=batch))
        assert [o.result for o in ordered] == [n * n for n in range(60)]
        assert all(o.status == DONE and o.ok for o in ordered)
        unordered = list(ex.map(_slow_square, range(60), batch=batch))
        assert sorted(o.result for o in unordered) == [n * n for n in range(60)]
        assert all(o.result == o.job * o.job for o in unordered)


def test_setup_runs_once_in_each_worker_before_its_jobs():
    with LocalExecutor(2, setup=_setup, setup_args=("keys loaded",)) as ex:
        outs = list(ex.map(_whoami, range(40), batch=4))
    pids = {o.result[0] for o in outs}
    assert 1 <= len(pids) <= 2 and os.getpid() not in pids
    assert all(o.result[1] == ["keys loaded"] for o in outs)
    assert _setup_calls == []  # not in the coordinator


def test_submit_and_collect_with_a_growing_queue():
    """What ingest does: results come back, new jobs (a container's members) go out."""
    with LocalExecutor(2) as ex:
        ex.submit(_square, [1, 2, 3])
        seen: list[int] = []
        while ex.in_flight:
            for out in ex.collect(timeout=5):
                seen.append(out.result)
                if out.job < 30:
                    ex.submit(_square, [out.job * 10])
        assert sorted(seen) == [1, 4, 9, 100, 400, 900, 10000, 40000]
        assert ex.collect(timeout=0) == []


def test_a_busy_c_call_past_its_deadline_is_killed_and_the_rest_go_on():
    with LocalExecutor(2, timeout=1.0) as ex:
        t = time.monotonic()
        ex.submit(_backtrack, [2, 60, 3])  # one batch: the middle job never ends
        ex.submit(_backtrack, [4])
        outs = _drain(ex)
        elapsed = time.monotonic() - t
    assert outs[60].status == TIMEOUT and isinstance(outs[60].error, TimeoutError)
    assert 1.0 <= outs[60].seconds < 5
    assert {j: o.status for j, o in outs.items() if j != 60} == {2: DONE, 3: DONE, 4: DONE}
    assert elapsed < 8


def test_sleep_past_the_deadline_times_out_and_the_worker_is_replaced():
    with LocalExecutor(1, timeout=0.5) as ex:
        before = ex._pool[0].proc.pid
        time.sleep(0.5)  # the worker is ready and the executor idle before the job comes: it must still watch it
        t = time.monotonic()
        outs = _drain(ex, [(_sleep_or_square, [-1]), (_sleep_or_square, [5, 6])])
        assert time.monotonic() - t < 5
        after = ex._pool[0].proc.pid
        assert before != after
        again = _drain(ex, [(_whoami, [None])])
    assert outs[-1].status == TIMEOUT
    assert outs[5].result == 25 and outs[6].result == 36
    assert again[None].result[0] == after


def test_a_worker_that_segfaults_costs_its_job_only():
    with LocalExecutor(2) as ex:
        outs = {o.job: o for o in ex.map(_crash_on, range(30), batch=8)}
    assert outs[13].status == CRASHED and "SIGSEGV" in str(outs[13].error)
    assert all(outs[n].status == DONE and outs[n].result == n * n for n in range(30) if n != 13)


def test_an_exception_is_the_job_outcome_with_its_type_and_trace():
    with LocalExecutor(2) as ex:
        outs = {o.job: o for o in ex.map(_raise_on, range(6), batch=3)}
        unsendable = {o.job: o for o in ex.map(_unpicklable, [0, 1, 2], batch=3)}
    assert outs[3].status == RAISED and isinstance(outs[3].error, ValueError)
    assert "three is not welcome" in str(outs[3].error) and "_raise_on" in outs[3].trace
    assert [outs[n].result for n in (0, 1, 2, 4, 5)] == [0, 1, 2, 4, 5]
    assert unsendable[1].status == RAISED and isinstance(unsendable[1].error, TypeError)
    assert unsendable[0].result == 0 and unsendable[2].result == 2


def test_a_setup_that_fails_in_every_worker_stops_the_executor():
    ex = LocalExecutor(2, setup=_failing_setup)
    with pytest.raises(ExecutorError, match="no blob store here"):
        ex.submit(_square, [1])
        ex.collect(timeout=10)
    ex.close()


def test_inline_executor_same_interface_in_this_process():
    with InlineExecutor(setup=_setup, setup_args=("inline",)) as ex:
        outs = list(ex.map(_raise_on, range(5), ordered=True, batch=2))
        assert [o.status for o in outs] == [DONE, DONE, DONE, RAISED, DONE]
        assert _whoami(None)[0] == os.getpid()
    assert _setup_calls == ["inline"]
    _setup_calls.clear()


def test_the_factory_runs_in_process_only_when_nothing_needs_enforcing():
    assert isinstance(executor_for(1), InlineExecutor)
    with executor_for(1, timeout=5) as ex:
        assert isinstance(ex, LocalExecutor)  # a deadline needs a process to kill
    with executor_for(2) as ex:
        assert isinstance(ex, LocalExecutor) and ex.workers == 2


def test_workers_go_away_with_a_killed_coordinator():
    """kill -9 of the coordinator (a power cut, test_resume) leaves no worker behind."""
    code = (
        "import os, signal, sys\n"
        "from leaklens.executor import LocalExecutor\n"
        "ex = LocalExecutor(3)\n"
        "print(' '.join(str(w.proc.pid) for w in ex._pool), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 3
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "\nState:\tZ" not in fh.read()
    except FileNotFoundError:
        return False


def _drain(ex, submissions=()):
    for fn, jobs in submissions:
        ex.submit(fn, jobs)
    outs = {}
    deadline = time.monotonic() + 30
    while ex.in_flight and time.monotonic() < deadline:
        for o in ex.collect(timeout=1):
            outs[o.job] = o
    return outs


# --- ingest on the executor -------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_an_item_past_the_time_limit_fails_with_ingest_timeout_and_the_dump_goes_on(tmp_path, monkeypatch, workers):
    """A reader stuck in a C call (a regex that backtracks for ages) is stopped at --item-timeout,
    with one worker as with two: the item fails with ingest.timeout, every other item is read."""
    from helpers import assert_balanced, build_case, codes, rows

    from leaklens.ingest import readers
    from leaklens.ingest.readers.base import ReaderSpec

    def stuck_on_tarpit(src, ctx):
        data = src.read_bytes()
        if b"TARPIT" in data:
            _backtrack(64)
        ctx.kind, ctx.text, ctx.text_status = "document", data.decode(), "extracted"

    # Workers are forked from this process, so they inherit the patched registry.
    stuck = ReaderSpec("stuck", ("text/plain",), stuck_on_tarpit, 99)
    monkeypatch.setattr(readers, "REGISTRY", [*readers.REGISTRY, stuck])
    src = tmp_path / "in"
    src.mkdir()
    for i in range(12):
        (src / f"note{i:02d}.txt").write_text(f"an innocent note number {i} about a heron\n")
    (src / "tarpit.txt").write_text("TARPIT for the parser\n")
    t = time.monotonic()
    case = build_case(tmp_path, src, workers=workers, item_timeout=1)
    assert time.monotonic() - t < 30
    assert_balanced(case)
    (tarpit,) = rows(case, "name='tarpit.txt'")
    assert tarpit["state"] == "failed" and tarpit["verdict"] == "error"
    assert tarpit["reason"] == "reading took longer than --item-timeout (1 s)"
    assert "ingest.timeout" in codes(case, tarpit["id"])
    notes = rows(case, "name LIKE 'note%'")
    assert len(notes) == 12 and all(r["state"] == "stored" and r["text_status"] == "extracted" for r in notes)
