"""SQLite's failures as `store.failures` reads them: a full disk, a database it cannot write any more,
and the file a store opened (to notice it removed or replaced under a running job)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

_GONE = ("locked", "disk I/O", "unable to open", "readonly", "closed", "malformed", "busy")


def explain(exc: BaseException) -> tuple[str, str] | None:
    """("disk", text) or ("database", text) for an sqlite3 error that means either; None otherwise."""
    if not isinstance(exc, sqlite3.Error):
        return None
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "full" in text:  # "database or disk is full"
        return "disk", text
    if any(s in text for s in _GONE):
        return "database", text
    return None


def opened_file(store: Any) -> Path | None:
    """The database file a SQLite store has open (None: not a SQLite store)."""
    if isinstance(getattr(store, "conn", None), sqlite3.Connection):
        return getattr(store, "path", None)
    return None
