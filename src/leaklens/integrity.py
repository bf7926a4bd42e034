"""Integrity proofs: the per-chunk hash manifest of every blob, `fsck`, and the case manifest.

A blob's sha256 says *that* it changed; the sha256 of each 1 MiB chunk, recorded when it was stored
(the declared table `blob_chunks`, as EnCase/libewf keep one per chunk), says *where*: fsck names
the damaged byte range, and for a mailbox member (a range of its stored mailbox, store/blobs.py)
the chunk of the mailbox inside the member's bytes. A case made before chunk hashes were recorded
is still checked by whole-blob hash; fsck then says the range cannot be narrowed.

Hashing runs in threads: hashlib releases the GIL while it hashes a buffer, so two threads use two
cores with no pickling nor process start-up (bench/fsck.py measures it against one thread).
"""

from __future__ import annotations

import csv
import hashlib
import io
import mmap
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import pathchain
from .model import PENDING, STORED
from .store.base import Column, ItemQuery, TableSpec
from .store.blobs import CHUNK

CHUNKS = TableSpec(
    name="blob_chunks",
    key=("sha256",),
    columns=(
        Column("sha256", required=True),
        Column("size", "int", required=True),
        Column("chunks", "json", required=True),  # the sha256 of each CHUNK bytes, in order
    ),
    meaning="The sha256 of each 1 MiB chunk of each blob stored as a file: what fsck narrows damage with.",
)

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass
class Problem:
    """One difference fsck found: what, and where (item, blob, byte range) when it is known."""

    code: str
    message: str
    item: str | None = None
    path: str | None = None
    blob: str | None = None
    start: int | None = None  # byte range [start, end) in `blob`'s file
    end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    blobs: int = 0
    ranges: int = 0
    items: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.problems


# -- hashing -----------------------------------------------------------------------------------


def hash_file(
    path: str, *, chunks: bool = False, done: Callable[[int], None] | None = None
) -> tuple[str, int, list[str]]:
    """(sha256, size, sha256 of each CHUNK when `chunks`) of a file. Mapped, not read: hashlib then
    hashes the page cache in place, without a copy per read (12% faster on two cores, bench/fsck.py)."""
    whole = hashlib.sha256()
    parts: list[str] = []
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return whole.hexdigest(), 0, []
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            view = memoryview(m)
            try:
                for at in range(0, len(m), CHUNK):
                    piece = view[at : at + CHUNK]
                    whole.update(piece)
                    if chunks:
                        parts.append(hashlib.sha256(piece).hexdigest())
                    piece.release()
                    if done is not None:
                        done(min(CHUNK, len(m) - at))
            finally:
                view.release()
            size = len(m)
    return whole.hexdigest(), size, parts


def _threads(workers: int | None) -> int:
    return max(1, workers or os.cpu_count() or 2)


def _stored_blobs(case) -> tuple[dict[str, list[tuple[str, str]]], dict[str, tuple[str, int, int]]]:
    """sha256 -> [(item id, path)] of the stored items, and the ranges (sha256 -> container, start, end)."""
    by_sha: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item_id, path, sha in case.db.item_values(("id", "path", "sha256"), ItemQuery(state=STORED)):
        if sha:
            by_sha[sha].append((item_id, path))
    ranges = {sha: (c, s, e) for sha, c, s, e in case.db.blob_ranges()}
    return by_sha, ranges


def record_chunks(case, *, workers: int | None = None) -> int:
    """Record the chunk hashes of every blob file that has none yet (what ingest calls at its end);
    returns the blobs recorded. A file whose bytes no longer match its name is left unrecorded:
    fsck reports it, and a manifest of damaged bytes would only hide the damage."""
    by_sha, ranges = _stored_blobs(case)
    files = {sha for sha in by_sha if sha not in ranges} | {c for c, _, _ in ranges.values()}
    have = {k[0] for k in case.db.table_keys(CHUNKS)}
    todo = sorted(files - have)
    if not todo:
        return 0

    def one(sha: str) -> dict[str, Any] | None:
        try:
            got, size, parts = hash_file(str(case.blobs.path(sha)), chunks=True)
        except OSError:
            return None
        return {"sha256": sha, "size": size, "chunks": parts} if got == sha else None

    with ThreadPoolExecutor(_threads(workers)) as pool:
        rows = [r for r in pool.map(one, todo) if r is not None]
    case.db.begin()
    case.db.put_rows(CHUNKS, rows)
    case.db.commit()
    return len(rows)


# -- fsck --------------------------------------------------------------------------------------


def fsck(case, *, workers: int | None = None, progress: Progress | None = None) -> Report:
    """Re-hash every blob and range, check every item's parent chain, the accounting identity and the
    database's own integrity; every difference is a `Problem` naming its item, blob and byte range."""
    import time

    started = time.monotonic()
    rep = Report()
    db = case.db
    for msg in db.integrity_check():
        rep.problems.append(Problem("db.integrity", f"the database's own check: {msg}"))
    by_sha, ranges = _stored_blobs(case)
    rep.items = _check_items(case, rep)
    _check_accounting(case, rep)

    manifests = {r["sha256"]: r for r in db.table_rows(CHUNKS)}
    files = {sha for sha in by_sha if sha not in ranges} | {c for c, _, _ in ranges.values()}
    # and every blob file on disk that no item holds (a spread export, kept byte for byte without an
    # item): its name is its hash, so it is checked all the same
    files |= set(_blob_files_on_disk(case.blobs.root))
    sizes: dict[str, int] = {}
    for sha in files:
        try:
            sizes[sha] = os.stat(case.blobs.path(sha)).st_size
        except OSError:
            sizes[sha] = -1
    total = sum(s for s in sizes.values() if s > 0) + sum(e - s for _, s, e in ranges.values())
    done = [0]

    def tick(n: int) -> None:
        done[0] += n  # a race between threads costs at most a jumpy bar, never a wrong answer
        if progress is not None:
            progress(done[0], total)

    def check_file(sha: str) -> tuple[str, str | None, int, list[str] | None, str | None]:
        """(sha, got hash, size, damaged chunk hashes when it differs, error)."""
        if sizes[sha] < 0:
            return sha, None, 0, None, "missing"
        try:
            got, size, _ = hash_file(str(case.blobs.path(sha)), done=tick)
            parts = None
            if got != sha and sha in manifests:  # second pass only on damage: a sound case is hashed once
                _, _, parts = hash_file(str(case.blobs.path(sha)), chunks=True)
            return sha, got, size, parts, None
        except OSError as exc:
            return sha, None, 0, None, f"unreadable: {exc.strerror or exc}"

    damaged: dict[str, list[tuple[int, int]] | None] = {}  # container -> damaged ranges (None: not narrowed)
    with ThreadPoolExecutor(_threads(workers)) as pool:
        for sha, got, size, parts, error in pool.map(check_file, sorted(files)):
            rep.blobs += 1
            rep.bytes += size
            if error is None and got == sha:
                continue
            spans = _damaged_spans(manifests.get(sha), parts, size) if error is None else None
            damaged[sha] = spans
            _blob_problem(rep, sha, by_sha, error, got, size, manifests.get(sha), spans)
        for sha, got, bad in pool.map(lambda kv: _check_range(case, kv[0], *kv[1], tick), sorted(ranges.items())):
            rep.ranges += 1
            if not bad:
                continue
            container, start, end = ranges[sha]
            spans = damaged.get(container)
            inside = [(max(a, start), min(b, end)) for a, b in spans or () if a < end and b > start]
            owners = by_sha.get(sha) or [(None, None)]
            if spans is None:
                where = "the container has no chunk hashes: the range cannot be narrowed below the member's bytes"
            elif not inside:
                where = "the container's damaged chunks lie outside it"
            else:
                where = "damaged: " + ", ".join(f"bytes {a}-{b} of the container" for a, b in inside)
            a, b = inside[0] if inside else (start, end)
            for item_id, path in owners:
                rep.problems.append(
                    Problem(
                        "blob.range_mismatch",
                        f"range {start}-{end} of blob {container[:12]} hashes to {got or 'nothing'} ({bad}); {where}",
                        item=item_id,
                        path=path,
                        blob=container,
                        start=a,
                        end=b,
                    )
                )
    rep.seconds = time.monotonic() - started
    return rep


_HEX = frozenset("0123456789abcdef")


def _blob_files_on_disk(root) -> Iterator[str]:
    """The sha256 names of the files under blobs/ab/cd/ (not tmp/, not anything else put there)."""
    try:
        tops = [e for e in os.scandir(root) if e.is_dir() and len(e.name) == 2]
    except OSError:
        return
    for top in tops:
        for mid in os.scandir(top.path):
            if not mid.is_dir() or len(mid.name) != 2:
                continue
            for f in os.scandir(mid.path):
                name = f.name
                if len(name) == 64 and name.startswith(top.name + mid.name) and _HEX.issuperset(name):
                    yield name


def _check_range(case, sha: str, container: str, start: int, end: int, tick) -> tuple[str, str | None, str | None]:
    try:
        h = hashlib.sha256()
        pos = start
        while pos < end:
            data = case.blobs.read_range(container, pos, min(end, pos + CHUNK))
            h.update(data)
            pos += len(data)
            tick(len(data))
        got = h.hexdigest()
        return sha, got, None if got == sha else "hash differs"
    except OSError as exc:
        return sha, None, f"unreadable: {exc.strerror or exc}"


def _damaged_spans(manifest: dict | None, parts: list[str] | None, size: int) -> list[tuple[int, int]] | None:
    """The byte ranges whose chunk hash differs from the one recorded (None: no record to compare)."""
    if manifest is None or parts is None:
        return None
    want = manifest["chunks"]
    spans = []
    for i in range(max(len(want), len(parts))):
        if i >= len(want) or i >= len(parts) or want[i] != parts[i]:
            spans.append((i * CHUNK, min((i + 1) * CHUNK, max(size, manifest["size"]))))
    if not spans and size != manifest["size"]:
        spans.append((min(size, manifest["size"]), max(size, manifest["size"])))
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _blob_problem(rep, sha, by_sha, error, got, size, manifest, spans) -> None:
    owners = by_sha.get(sha) or [(None, None)]
    if error == "missing":
        code, msg, a, b = "blob.missing", f"blob {sha[:12]} is missing", None, None
    elif error:
        code, msg, a, b = "blob.unreadable", f"blob {sha[:12]} is {error}", None, None
    else:
        code = "blob.mismatch"
        msg = f"blob {sha[:12]} hashes to {got[:12]}"
        if manifest is not None and size != manifest["size"]:
            msg += f", {size} bytes instead of {manifest['size']}"
        if spans:
            msg += "; damaged: " + ", ".join(f"bytes {x}-{y}" for x, y in spans)
            a, b = spans[0]
        else:
            msg += "; no chunk hashes recorded for it (a case made before them): the range cannot be narrowed"
            a, b = None, None
    for item_id, path in owners:
        rep.problems.append(Problem(code, msg, item=item_id, path=path, blob=sha, start=a, end=b))


def _check_items(case, rep: Report) -> int:
    """Every item's row: its id from its path, its parent existing and a prefix of its path one level up,
    a stored item with a sha256 and a size matching its blob."""
    fields = ("id", "path", "parent", "source", "depth", "state", "sha256", "size")
    rows = {r[0]: r for r in case.db.item_values(fields)}
    ranges = {sha: e - s for sha, _, s, e in case.db.blob_ranges()}
    for item_id, path, parent, source, depth, state, sha, size in rows.values():
        where = {"item": item_id, "path": path}
        if pathchain.item_id(path) != item_id:
            rep.problems.append(Problem("item.id_mismatch", f"id {item_id} is not the id of its path", **where))
        if parent is None:
            # a file of the dump: the source itself, or a path under its root, never inside a container
            if depth != 0 or pathchain.SEP in path or not (path == source or path.startswith(source + "/")):
                rep.problems.append(
                    Problem("item.parent_chain", "a top-level item at depth > 0 or outside its source", **where)
                )
        else:
            p = rows.get(parent)
            if p is None:
                rep.problems.append(Problem("item.parent_missing", f"parent {parent} does not exist", **where))
            elif not path.startswith(p[1] + pathchain.SEP) or depth != p[4] + 1:
                rep.problems.append(
                    Problem("item.parent_chain", f"path and depth do not follow parent {parent} ({p[1]})", **where)
                )
            elif p[5] != STORED:
                rep.problems.append(Problem("item.parent_chain", f"parent {parent} is {p[5]}, not stored", **where))
        if state == STORED:
            if not sha or size is None:
                rep.problems.append(Problem("item.no_blob", "stored without a sha256 or a size", **where))
                continue
            if len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
                rep.problems.append(Problem("item.bad_sha256", f"sha256 {sha!r} is not a sha256", **where, blob=sha))
                continue
            want = ranges.get(sha)
            if want is None:
                try:
                    want = os.stat(case.blobs.path(sha)).st_size
                except OSError:
                    rep.problems.append(
                        Problem("blob.missing", f"its blob {sha[:12]} is not stored", **where, blob=sha)
                    )
                    continue
            if want != size:
                rep.problems.append(
                    Problem("item.size_mismatch", f"size {size} but its blob has {want} bytes", **where, blob=sha)
                )
    return len(rows)


def _check_accounting(case, rep: Report) -> None:
    acc = case.db.accounting()
    for what in ("items", "files"):
        a = acc[what]
        if a["found"] != a["stored"] + a["skipped"] + a["failed"] + a[PENDING]:
            rep.problems.append(
                Problem("accounting.identity", f"{what}: found {a['found']} != stored + skipped + failed + pending")
            )
    if acc["items"][PENDING]:
        rep.problems.append(
            Problem(
                "accounting.pending",
                f"{acc['items'][PENDING]} items are still pending: run the same ingest again to finish it",
            )
        )


# -- manifest ----------------------------------------------------------------------------------

MANIFEST_FIELDS = ("kind", "path", "sha256", "size", "id", "parent", "state", "source_path")


def manifest_lines(case) -> Iterator[str]:
    """The manifest as CSV lines (one header, one line per source and per item, in the order found): a
    third party checks it with any CSV reader and sha256sum against the original dump."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")

    def line(values: Iterable[Any]) -> str:
        buf.seek(0)
        buf.truncate()
        w.writerow(["" if v is None else v for v in values])
        return buf.getvalue()

    yield line(MANIFEST_FIELDS)
    for s in map(dict, case.db.sources()):
        yield line(
            ("source", s["root"], "", "", "", "", "completed" if s.get("completed") else "incomplete", s["abspath"])
        )
    fields = ("id", "path", "parent", "state", "sha256", "size", "is_file", "origin")
    for item_id, path, parent, state, sha, size, is_file, origin in case.db.item_values(fields):
        # the path chain as leaklens writes it (pathchain.py: "dump.zip!/inbox.mbox!/#42"), one line, reversible
        yield line(("file" if is_file else "item", path, sha, size, item_id, parent, state, origin if is_file else ""))


def write_manifest(case, out) -> tuple[str, int]:
    """Write the manifest to the text stream `out`; returns (sha256 of every byte above its last line, lines).
    The last line, a comment, says how to check that sha256."""
    h = hashlib.sha256()
    n = 0
    for text in manifest_lines(case):
        data = text.encode("utf-8")
        h.update(data)
        out.write(text)
        n += 1
    digest = h.hexdigest()
    out.write(f"# sha256 of every line above this one: {digest} (check: head -n -1 FILE | sha256sum)\n")
    return digest, n
