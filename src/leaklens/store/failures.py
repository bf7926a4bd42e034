"""What a store's failure means to the user, in one line: a full disk, or a database gone away.

Only `store/` knows its drivers' exceptions (sqlite3, psycopg); the rest of leaklens asks here
whether an exception it caught means "free some space" or "the database is unreachable", so
that a job can say so, be marked failed or interrupted, and the same command resume it later.
A removed or replaced SQLite file is the silent case: the open connection goes on writing to a
file nobody will read again. `StoreWatch` notices it (the path no longer names the file opened).
"""

from __future__ import annotations

import errno
import os
from typing import Any

from ..errors import LeaklensError
from .sqlite import failures as sqlite_failures

DISK_FULL = "the disk is full: free some space and run the same command again to resume"


# A write that failed for want of room: a full disk, a quota, a file-size limit (ulimit -f).
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def no_room(exc: BaseException) -> bool:
    """Whether `exc` is a write refused for want of room: the run must stop, not fail the item."""
    return isinstance(exc, OSError) and exc.errno in NO_ROOM


class StoreUnavailable(LeaklensError):
    """The case's database cannot be reached or written any more: nothing more is written, the
    work done so far is committed, the same command resumes once the database is back."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class DiskFull(LeaklensError):
    exit_code = 75

    def __init__(self, message: str = DISK_FULL) -> None:
        super().__init__(message)


def explain(exc: BaseException) -> tuple[str, str] | None:
    """("disk" | "database", one line saying what happened and what to do) when `exc` is a full
    disk or a database that went away; None for anything else."""
    if isinstance(exc, DiskFull):
        return "disk", str(exc)
    if isinstance(exc, StoreUnavailable):
        return "database", str(exc)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk", DISK_FULL
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return "disk", "a file grew past the size this process may write (ulimit -f): " + DISK_FULL
    if isinstance(exc, LeaklensError) and "disk is full" in str(exc):
        return "disk", str(exc)
    on_sqlite = sqlite_failures.explain(exc)
    if on_sqlite is not None:
        what, text = on_sqlite
        if what == "disk":
            return "disk", DISK_FULL
        return "database", f"the case database cannot be written ({text}): run the same command again to resume"
    if type(exc).__module__.startswith("psycopg"):
        from .postgres import failures as pg_failures

        on_pg = pg_failures.explain(exc)
        if on_pg is not None:
            what, text = on_pg
            if what == "disk":
                return "disk", DISK_FULL
            return "database", f"lost the connection to the case database ({text}): run the same command again"
    return None


class StoreWatch:
    """Notices a database file removed or replaced under a running job (SQLite keeps writing to the
    file it opened, which is gone: silently lost work). Other backends have no file to watch; their
    lost connections raise on the next statement, and `explain` reads those."""

    def __init__(self, store: Any) -> None:
        self.path = sqlite_failures.opened_file(store)
        self.identity = self._identity()

    def _identity(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def check(self) -> None:
        """StoreUnavailable if the file opened is no longer the one at its path."""
        if self.path is None or self.identity is None:
            return
        if self._identity() != self.identity:
            raise StoreUnavailable(
                f"the case database {self.path} was removed or replaced while this command ran: "
                "put it back and run the same command again to resume"
            )
