"""Suite-wide settings, and the PostgreSQL fixtures (`pg_url`, `backend`)."""

import itertools
import os
import shutil
import subprocess

import pytest

# Every finding any test makes (in this process, in worker pools and in the CLI it runs) must use a
# code declared in leaklens/codes.py: an undeclared one raises (model.Finding).
os.environ["LEAKLENS_STRICT_CODES"] = "1"


# --- PostgreSQL: a fresh empty database per test, and the `backend` fixture ----------------------
# The server: env LEAKLENS_TEST_PG (a URL whose user may create databases, e.g.
# postgresql://user:pw@host:5432/postgres), else the local Debian cluster, started if it is down and
# given a test role (as root, through the postgres OS user). No server: the tests that need one are
# skipped with the reason, or fail when LEAKLENS_REQUIRE_PG=1 (CI sets it).
_PG: dict[str, str | None] = {}
_TEST_ROLE = "leaklens_test"
_numbers = itertools.count()


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _local_cluster() -> tuple[str | None, str]:
    """(server URL, why not) of the local Debian cluster, started and given the test role."""
    if not shutil.which("pg_lsclusters"):
        return None, "PostgreSQL is not installed (apt-get install postgresql) and LEAKLENS_TEST_PG is unset"
    clusters = [ln.split() for ln in _run("pg_lsclusters", "--no-header").stdout.splitlines() if ln.strip()]
    if not clusters:
        return None, "PostgreSQL is installed but has no cluster (pg_createcluster) and LEAKLENS_TEST_PG is unset"
    version, name, port, status = max(clusters, key=lambda c: float(c[0]))[:4]
    if os.geteuid() != 0:
        return None, "LEAKLENS_TEST_PG is unset and only root may start the local cluster and add a test role"
    if status != "online":
        started = _run("pg_ctlcluster", version, name, "start")
        if started.returncode != 0 and "already running" not in started.stderr:
            return None, f"cannot start PostgreSQL {version}/{name}: {started.stderr.strip()}"
    password = "leaklens-test-pw"  # a throwaway role on a local test cluster
    sql = (
        f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{_TEST_ROLE}') THEN"
        f" CREATE ROLE {_TEST_ROLE} LOGIN CREATEDB; END IF; END$$; ALTER ROLE {_TEST_ROLE} PASSWORD '{password}'"
    )
    made = _run("runuser", "-u", "postgres", "--", "psql", "-p", port, "-Atqc", sql)
    if made.returncode != 0:
        return None, f"cannot add the test role to PostgreSQL {version}/{name}: {made.stderr.strip()}"
    return f"postgresql://{_TEST_ROLE}:{password}@127.0.0.1:{port}/postgres", ""


def _pg_server() -> tuple[str | None, str]:
    if "url" not in _PG:
        try:
            import leaklens.store.postgres  # noqa: F401 - psycopg is there
        except ImportError as exc:
            _PG["url"], _PG["why"] = None, f"psycopg is not installed ({exc})"
        else:
            url = os.environ.get("LEAKLENS_TEST_PG")
            _PG["url"], _PG["why"] = (url, "") if url else _local_cluster()
    return _PG["url"], _PG["why"] or ""


def _no_postgres(why: str) -> None:
    if os.environ.get("LEAKLENS_REQUIRE_PG") == "1":
        pytest.fail(f"LEAKLENS_REQUIRE_PG=1 but no PostgreSQL: {why}", pytrace=False)
    pytest.skip(f"no PostgreSQL: {why}")


@pytest.fixture
def pg_url():
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    yield from _fresh_database()


@pytest.fixture
def second_pg_url():
    """Another fresh database, for a test that compares two PostgreSQL cases."""
    yield from _fresh_database()


@pytest.fixture(scope="module")
def module_pg_url():
    """`pg_url` for a module's fixtures: one fresh database, dropped after the module's tests."""
    yield from _fresh_database()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_backend(request) -> str | None:
    """`backend` for a module's fixtures (a case built once, read by several tests, on each backend)."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("module_pg_url")


def _fresh_database():
    from urllib.parse import urlsplit, urlunsplit

    server, why = _pg_server()
    if server is None:
        _no_postgres(why)
    from leaklens.store.postgres.database import create_database, drop_database

    parts = urlsplit(server)
    url = urlunsplit(parts._replace(path=f"/llt_{os.getpid()}_{next(_numbers)}"))
    try:
        create_database(url)
    except Exception as exc:  # noqa: BLE001 - the server is there but unusable: say why, once per test
        _no_postgres(str(exc))
    yield url
    drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str | None:
    """The `db` to open a case with: None (SQLite, the folder's case.db) or a fresh PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")
