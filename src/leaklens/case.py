"""A case: one investigation, one folder holding ``case.db`` and ``blobs/``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from .errors import LeaklensError
from .store.base import CaseStore
from .store.blobs import BlobStore
from .store.sqlite import RangeIndex, open_database

DEFAULT_CASE = Path("leaklens-case")
DB_NAME = "case.db"


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def case_blobs(root: Path | str) -> BlobStore:
    """The blob store of the case at ``root``, for any process (workers open it by the case's folder)."""
    root = Path(root)
    return BlobStore(root / "blobs", ranges=RangeIndex(root / DB_NAME))


class Case:
    """The one object the rest of leaklens is handed."""

    def __init__(self, root: Path, db: CaseStore) -> None:
        self.root = root
        self.db = db
        self.blobs = case_blobs(root)

    @classmethod
    def open(cls, root: Path | str, *, create: bool = False) -> Case:
        root = Path(root)
        db_path = root / DB_NAME
        if not db_path.exists():
            if not create:
                if root.exists():
                    raise LeaklensError(f"{root} is not a leaklens case (no {DB_NAME}); run 'leaklens ingest' first")
                raise LeaklensError(f"no case at {root}; create one with 'leaklens ingest SOURCE --case {root}'")
            if root.exists() and not root.is_dir():
                raise LeaklensError(f"{root} exists and is not a folder")
            if root.exists() and any(p.name not in (".DS_Store",) for p in root.iterdir()):
                raise LeaklensError(f"{root} is a folder that is not a leaklens case (not empty, no {DB_NAME})")
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LeaklensError(f"cannot create case folder {root}: {exc.strerror}") from None
        db = open_database(db_path, create=create)
        if create and db.get_meta("created") is None:
            db.set_meta("created", now_iso())
        case = cls(root, db)
        case.blobs.ensure()
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
