"""Crash points: kill the process at a chosen write, to test that a case survives a power cut there.

SQLite's own test suite crashes at every write point and checks recovery; leaklens does the same
with its commits. ``LEAKLENS_CRASH_AT=commit:N`` makes the Nth commit of this process kill the whole
process group (when this process leads one) with SIGKILL right after the commit lands, and
``before-commit:N`` just before it, with the transaction's writes and blobs made but not committed
(the coordinator and its pool workers die together, nothing flushes, no handler runs).
A test picks N; nothing else sets it. Reading the variable once keeps the unset path a single comparison.

``LEAKLENS_PAUSE_AT=commit:N`` with ``LEAKLENS_PAUSE_FILE=PATH`` pauses there instead: the process
creates PATH and waits until the test removes it (to pull a database away from under a live run).
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
