"""A case: one investigation, one folder holding ``blobs/`` and ``case.db`` (SQLite), or the URL of its
PostgreSQL database (``database``: see store/location.py)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

from .errors import LeaklensError
from .store import location
from .store.base import CaseStore, RangeLookup
from .store.blobs import BlobStore
from .store.location import DB_FILE, DB_NAME
from .store.sqlite import RangeIndex, open_database

DEFAULT_CASE = Path("leaklens-case")


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def case_blobs(root: Path | str, db: str | None = None) -> BlobStore:
    """The blob store of the case at ``root``, for any process (workers open it by the case's folder;
    on PostgreSQL its ranges are read from the database the folder remembers, or `db`)."""
    root = Path(root)
    url = location.resolve(root, db)
    return BlobStore(root / "blobs", ranges=_range_lookup(root, url))


def _range_lookup(root: Path, url: str | None) -> RangeLookup:
    if url is None:
        return RangeIndex(root / DB_NAME)
    from .store.postgres import PgRangeIndex  # psycopg only when a case is on PostgreSQL

    return PgRangeIndex(url)


def _open_store(root: Path, url: str | None, *, create: bool) -> CaseStore:
    if url is None:
        return open_database(root / DB_NAME, create=create)
    from .store.postgres import open_postgres

    return open_postgres(url, create=create, index_dir=root / "index")


class Case:
    """The one object the rest of leaklens is handed."""

    def __init__(self, root: Path, db: CaseStore) -> None:
        self.root = root
        self.db = db
        self.blobs = BlobStore(root / "blobs", ranges=db.range_lookup())

    @staticmethod
    def exists(root: Path | str) -> bool:
        """Whether the folder holds a case (on SQLite or on PostgreSQL)."""
        return (Path(root) / DB_NAME).exists() or (Path(root) / DB_FILE).exists()

    @classmethod
    def open(cls, root: Path | str, *, create: bool = False, db: str | None = None) -> Case:
        """The case in folder `root`, its database chosen by `db` (a URL, `sqlite:`, or None: what the
        folder holds, else env LEAKLENS_DB, else SQLite); with `create`, made if it does not exist."""
        root = Path(root)
        url = location.resolve(root, db)
        marker = root / (DB_FILE if url else DB_NAME)
        claimed = False
        if not marker.exists():
            if not create:
                if root.exists():
                    raise LeaklensError(f"{root} is not a leaklens case (no {DB_NAME}); run 'leaklens ingest' first")
                raise LeaklensError(f"no case at {root}; create one with 'leaklens ingest SOURCE --case {root}'")
            if root.exists() and not root.is_dir():
                raise LeaklensError(f"{root} exists and is not a folder")
            if root.exists() and any(p.name not in (".DS_Store",) for p in root.iterdir()):
                raise LeaklensError(f"{root} is a folder that is not a leaklens case (not empty, no {marker.name})")
            made_dir = not root.exists()
            try:
                root.mkdir(parents=True, exist_ok=True)
                if url:
                    # Claimed first, so that a second ingest started at the same moment finds a case
                    # here, not a folder being filled; later commands, workers and the web read it.
                    location.remember(root, url)
                    claimed = True
            except OSError as exc:
                raise LeaklensError(f"cannot create case folder {root}: {exc.strerror}") from None
        try:
            store = _open_store(root, url, create=create)
        except BaseException:
            if claimed:  # nothing was made: the folder is left as it was found
                marker.unlink(missing_ok=True)
                if made_dir:
                    with contextlib.suppress(OSError):  # not empty: another process is making the case
                        root.rmdir()
            raise
        try:
            if create and store.get_meta("created") is None:
                store.set_meta("created", now_iso())
            case = cls(root, store)
            case.blobs.ensure()
        except BaseException:
            store.close()
            raise
        return case

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def published(self) -> datetime | None:
        value = self.db.get_meta("published")
        return datetime.fromisoformat(value) if value else None

    def set_published(self, when: datetime) -> None:
        self.db.set_meta("published", when.isoformat())

    def info(self) -> dict:
        return {
            "root": str(self.root.resolve()),
            "created": self.db.get_meta("created"),
            "published": self.db.get_meta("published"),
            "sources": [dict(r) for r in self.db.sources()],
        }
