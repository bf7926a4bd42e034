"""PostgreSQL's failures as `store.failures` reads them: a full disk on the server, or a connection
gone (the server restarted, the backend terminated, the network cut)."""

from __future__ import annotations


def explain(exc: BaseException) -> tuple[str, str] | None:
    """("disk", text) or ("database", text) for a psycopg error that means either; None otherwise."""
    try:
        import psycopg
    except ImportError:  # no PostgreSQL support installed: it cannot be a psycopg error
        return None
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, psycopg.errors.DiskFull):
        return "disk", first
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return "database", first
    return None
