"""`leaklens spread ingest`: export files -> the posts table, every file kept byte for byte in the
blob store, every post located in it, every line that is not a post counted (never fatal), and a post
read twice (in two files, or as a tweet and as another's expansion) merged into one row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..case import Case, now_iso
from ..errors import LeaklensError
from ..store.base import transaction
from . import readers
from .model import Bad, Post
from .table import PART_SIZE, PARTS_META, POSTS, SPREAD_FILES, decode_row, encode, merge, parts, row_of

EXAMPLES = 5  # malformed places kept per file, to show where


@dataclass
class FileReport:
    path: str
    format: str = ""
    sha256: str = ""
    posts: int = 0  # posts read (a post and each expansion it carries)
    new: int = 0
    merged: int = 0  # read before (in this file, another, or an earlier run): merged into one row
    malformed: int = 0
    errors: int = 0  # API error objects in the export
    skipped: int = 0  # not posts (Telegram service messages)
    examples: list[dict[str, str]] = field(default_factory=list)
    message: str = ""  # one line when the file could not be read at all, or was read before

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def ingest_files(
    case: Case, paths: Iterable[Path], *, progress: Callable[[str, int], None] | None = None
) -> list[FileReport]:
    """Read each file into the case's posts; returns a report per file (counts, malformed places)."""
    db = case.db
    db.ensure_table(POSTS)
    db.ensure_table(SPREAD_FILES)
    known = {k[0] for k in db.table_keys(POSTS)}
    reports = []
    for path in paths:
        path = Path(path)
        rep = FileReport(str(path))
        reports.append(rep)
        if not path.is_file():
            rep.message = "no such file" if not path.exists() else "not a file"
            continue
        with open(path, "rb") as f:
            head = f.read(readers.HEAD_BYTES)
        reader = readers.pick(path, head)
        if reader is None:
            rep.message = "not an export format leaklens reads (" + ", ".join(readers.load()) + ")"
            continue
        rep.format = reader.name
        try:
            with open(path, "rb") as f:
                rep.sha256, _size = case.blobs.put_stream(f)
        except OSError as exc:
            raise LeaklensError(f"{path}: cannot read: {exc.strerror}") from None
        if db.get_row(SPREAD_FILES, (rep.sha256,)) is not None:
            rep.message = "read before (same bytes): nothing added"
            continue
        with transaction(db):
            _read_into(case, reader, path, rep, known, progress)
            db.put_rows(
                SPREAD_FILES,
                [
                    {
                        "sha256": rep.sha256,
                        "name": path.name,
                        "format": rep.format,
                        "posts": rep.posts,
                        "new": rep.new,
                        "merged": rep.merged,
                        "malformed": rep.malformed,
                        "errors": rep.errors,
                        "skipped": rep.skipped,
                        "examples": rep.examples,
                        "ingested": now_iso(),
                    }
                ],
            )
    return reports


def _read_into(
    case: Case,
    reader: readers.Reader,
    path: Path,
    rep: FileReport,
    known: set[str],
    progress: Callable[[str, int], None] | None,
) -> None:
    db = case.db
    part = parts(db) + 1
    batch: dict[str, dict[str, Any]] = {}

    def flush() -> None:
        nonlocal part, batch
        if batch:
            db.put_encoded_rows(POSTS, (encode(r) for r in batch.values()))
            db.set_meta(PARTS_META, str(part))
            known.update(batch)
            part += 1
            batch = {}

    for got in reader.read(path):
        if isinstance(got, Bad):
            if got.kind == "error":
                rep.errors += 1
            elif got.kind == "skipped":
                rep.skipped += 1
            else:
                rep.malformed += 1
            if got.kind != "skipped" and len(rep.examples) < EXAMPLES:
                rep.examples.append({"where": got.where, "reason": got.reason})
            continue
        post: Post = got
        if not post.uid:
            rep.malformed += 1
            continue
        rep.posts += 1
        row = row_of(post, f"{rep.sha256} {post.origin}", part)
        old = batch.get(post.uid)
        if old is None and post.uid in known:
            old = db.get_row(POSTS, (post.uid,))
            old = decode_row(old) if old is not None else None
        if old is not None:
            rep.merged += 1
            row = merge(old, row)
        else:
            rep.new += 1
        batch[post.uid] = row
        if len(batch) >= PART_SIZE:
            flush()
            if progress:
                progress(str(path), rep.posts)
    flush()
    if progress:
        progress(str(path), rep.posts)
