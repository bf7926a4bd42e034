"""Crash points: kill the process at a chosen write, to test that a case survives a power cut there.

SQLite's own test suite crashes at every write point and checks recovery; leaklens does the same
with its commits. ``LEAKLENS_CRASH_AT=commit:N`` makes the Nth commit of this process kill the whole
process group (when this process leads one) with SIGKILL right after the commit lands, and
``before-commit:N`` just before it, with the transaction's writes and blobs made but not committed
(the coordinator and its pool workers die together, nothing flushes, no handler runs).
A test picks N; nothing else sets it. Reading the variable once keeps the unset path a single comparison.

``LEAKLENS_PAUSE_AT=commit:N`` with ``LEAKLENS_PAUSE_FILE=PATH`` pauses there instead: the process
creates PATH and waits until the test removes it (to pull a database away from under a live run).

``LEAKLENS_ENOSPC_AT=blob-write:N`` (or ``db-commit:N``) fills the disk there: from the Nth pass of
that write point on, every write of that kind in this process fails as on a full disk (a blob write
with OSError(ENOSPC), a SQLite commit with its "database or disk is full"), at the seam where the
real error would come from. Where no small filesystem can be mounted, that is how a test fills the
disk at a chosen write (tests/test_enospc.py); the writer raises its own real error type, so the
code under test takes the same path as for a real full disk.
"""

from __future__ import annotations

import os
import signal

_spec = os.environ.get("LEAKLENS_CRASH_AT", "")
_name, _, _at = _spec.partition(":")
_target = int(_at) if _at.isdigit() else 0
_count = 0
_pause_name, _, _pause_at = os.environ.get("LEAKLENS_PAUSE_AT", "").partition(":")
_pause_target = int(_pause_at) if _pause_at.isdigit() else 0
_pause_count = 0
_full_name, _, _full_at = os.environ.get("LEAKLENS_ENOSPC_AT", "").partition(":")
_full_target = int(_full_at) if _full_at.isdigit() else 0
_full_count = 0


def reached(name: str) -> None:
    """Count one pass through the crash point ``name``; die there if this is the chosen pass."""
    global _count
    if _pause_target and name == _pause_name:
        _pause(name)
    if not _target or name != _name:
        return
    _count += 1
    if _count == _target:
        # The whole group only when this process leads it: never the shell or test runner above us.
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def _pause(name: str) -> None:
    global _pause_count
    _pause_count += 1
    if _pause_count == _pause_target:
        import time
        from pathlib import Path

        flag = Path(os.environ["LEAKLENS_PAUSE_FILE"])
        flag.touch()
        while flag.exists():
            time.sleep(0.05)


def full(name: str) -> bool:
    """Count one pass through the write point ``name``; True when the disk is to be full there (the
    chosen pass and every later one: a full disk stays full until someone frees space)."""
    global _full_count
    if not _full_target or name != _full_name:
        return False
    _full_count += 1
    return _full_count >= _full_target
