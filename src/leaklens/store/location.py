"""Where a case's database is: the folder's own SQLite file, or a PostgreSQL database named by a URL.

`--db URL` (or env LEAKLENS_DB) picks it: absent or `sqlite:`, DIR/case.db; `postgresql://...`,
that database. A case folder on PostgreSQL remembers its URL in DIR/database, without the password
(which comes from the URL given in this process, LEAKLENS_DB, PGPASSWORD or ~/.pgpass), so that
later commands, worker processes and the web app find the database from the folder alone.
No database driver here: this module only reads and writes names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import LeaklensError, UsageError

DB_NAME = "case.db"  # the SQLite database of a case folder
DB_FILE = "database"  # the remembered URL of a case on PostgreSQL
SQLITE = "sqlite:"
SCHEMES = ("postgresql", "postgres")
ENV = "LEAKLENS_DB"

# URL without password -> the URL as given, for this process and those it starts (JSON).
GIVEN_ENV = "LEAKLENS_DB_GIVEN"


def is_postgres(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in SCHEMES


def check_url(url: str) -> str:
    """The URL if it names a database leaklens can use; UsageError (one line) otherwise."""
    if url in (SQLITE, "sqlite"):
        return SQLITE
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise UsageError(
            f"bad database URL {without_password(url)!r}: use sqlite: or postgresql://[USER@]HOST[:PORT]/DATABASE"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise UsageError(f"bad database URL {without_password(url)!r}: the port is not a number") from None
    if not parts.path.strip("/"):
        raise UsageError(f"bad database URL {without_password(url)!r}: it names no database (…/DATABASE)")
    return url


def without_password(url: str) -> str:
    """The URL with its password left out (what a case folder remembers, what messages show)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split("@")[-1]
    if password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    netloc = (parts.username or "") + "@" + host + port
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def remembered(root: Path) -> str | None:
    """The URL the case folder remembers (without password), or None (SQLite)."""
    try:
        text = (Path(root) / DB_FILE).read_text("utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise LeaklensError(f"cannot read {Path(root) / DB_FILE}: {exc.strerror}") from None
    return text or None


def remember(root: Path, url: str) -> None:
    (Path(root) / DB_FILE).write_text(without_password(url) + "\n", "utf-8")


def with_password(url: str) -> str:
    """The URL to connect with: as given in this process or the one that started it (or in
    LEAKLENS_DB) when that names the same database; else as it is (libpq then reads PGPASSWORD or
    ~/.pgpass)."""
    bare = without_password(url)
    known = _given()
    if bare in known:
        return known[bare]
    env = os.environ.get(ENV)
    if env and is_postgres(env) and without_password(env) == bare:
        return env
    return url


def given(url: str) -> None:
    """Keep the URL as given (with its password) for this process's later opens of the same database,
    and its workers' (forked, spawned, a local Dask cluster's: they inherit the environment). A
    worker on another machine reads its own PGPASSWORD or ~/.pgpass."""
    bare = without_password(url)
    if bare == url:
        return
    known = _given()
    if known.get(bare) != url:
        os.environ[GIVEN_ENV] = json.dumps({**known, bare: url})


def _given() -> dict[str, str]:
    try:
        value = json.loads(os.environ.get(GIVEN_ENV) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def resolve(root: Path, db: str | None) -> str | None:
    """The full URL of the case's PostgreSQL database, or None for SQLite.

    An explicit `db` must agree with what the folder holds (an error otherwise); without one, the
    folder decides (its remembered URL, or its case.db), and LEAKLENS_DB only for a folder that is
    not a case yet, so that a LEAKLENS_DB set for a team's case never hides a local SQLite case."""
    root = Path(root)
    known = remembered(root)
    has_sqlite = (root / DB_NAME).exists()
    if db:
        asked = check_url(db)
        if asked == SQLITE:
            if known:
                raise UsageError(f"{root} is a case on PostgreSQL ({known}), not SQLite")
            return None
        if known and not _same(asked, known):
            raise UsageError(f"{root} is a case on {known}, not {without_password(asked)}")
        if has_sqlite and not known:
            raise UsageError(f"{root} is a case on SQLite ({DB_NAME}), not {without_password(asked)}")
        given(asked)
        return asked
    if known:
        return with_password(known)
    if has_sqlite:
        return None
    env = os.environ.get(ENV)
    if env and check_url(env) != SQLITE:
        return env
    return None


def _same(url: str, known: str) -> bool:
    """Whether two URLs name the same database (the password and the scheme's spelling aside)."""

    def norm(u: str) -> str:
        u = without_password(u)
        return "postgresql" + u[u.index(":") :] if u.startswith("postgres:") else u

    return norm(url) == norm(known)
