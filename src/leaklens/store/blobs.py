"""Content-addressed blob store: ``blobs/ab/cd/<sha256>``, written once, never rewritten.

A blob is a file of its own, or a byte range of another blob's file: a mailbox
member whose bytes are exactly a range of its stored mailbox is not copied (its
bytes would be on disk twice, and creating ~20,000 small files costs an mbox
ingest more than reading it). Which blobs are ranges is told by ``ranges``
(the case database's ``blob_ranges``); every read goes through this class, so
callers never need to know which is which. Only files have a :meth:`path`.

Several worker processes write concurrently. A streamed (large) blob is written
to a temporary file and renamed into place. A small one is created in place
with O_EXCL (file creation is what storing many small blobs costs, and a
rename doubles it); a write cut short by a killed run leaves a file shorter
than its bytes, which the next put of those bytes detects and rewrites whole.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .. import crashpoints

CHUNK = 1 << 20
_EXCL = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
OPEN_CONTAINERS = 4  # per thread: members of one mailbox are read together

Range = tuple[str, int, int]  # (container sha256, start, end)


def _stops_the_run(write):
    """A write refused for want of room (a full disk, a quota, ulimit -f) raised as `DiskFull`, which
    is no OSError: the readers' handlers of unreadable input (`except OSError`) let it through, so it
    stops the run loudly instead of failing one member after another without a word."""

    def put(*args, **kw):
        try:
            return write(*args, **kw)
        except OSError as exc:
            from .failures import DiskFull, no_room  # here: store.failures imports the backends

            if no_room(exc):
                raise DiskFull() from exc
            raise

    put.__doc__, put.__name__ = write.__doc__, write.__name__
    return put


def _room() -> None:
    """A test's full disk (crashpoints.full), raised where the first write of a blob's bytes would
    raise it: the file is already created, as a real ENOSPC leaves it."""
    if crashpoints.full("blob-write"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


RangeLookup = Callable[[str], Range | None]


class BlobStore:
    def __init__(self, root: Path, ranges: RangeLookup | None = None) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self._root = str(self.root)
        self._ranges = ranges
        self._dirs: set[str] = set()
        self._seq = 0
        self._ready = False
        self._local = threading.local()  # open containers, one set per thread (pread needs no lock)

    def ensure(self) -> None:
        if not self._ready:
            self.tmp.mkdir(parents=True, exist_ok=True)
            self._ready = True

    def path(self, sha256: str) -> Path:
        """Where a blob stored as a file of its own is (a range has no file: use read/open)."""
        return Path(self._path(sha256))

    def _path(self, sha256: str) -> str:
        return f"{self._root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def _ensure_dir(self, final: str) -> None:
        d = os.path.dirname(final)
        if d not in self._dirs:
            os.makedirs(d, exist_ok=True)
            self._dirs.add(d)

    def exists(self, sha256: str) -> bool:
        return os.path.exists(self._path(sha256)) or self._range(sha256) is not None

    def is_range(self, sha256: str) -> bool:
        return not os.path.exists(self._path(sha256)) and self._range(sha256) is not None

    def _range(self, sha256: str) -> Range | None:
        return self._ranges(sha256) if self._ranges is not None else None

    def _range_or_missing(self, sha256: str) -> Range:
        """Where a blob that has no file of its own lies; FileNotFoundError if it is not stored at all."""
        where = self._range(sha256)
        if where is None:
            raise FileNotFoundError(2, "blob not stored", self._path(sha256))
        return where

    @_stops_the_run
    def put_bytes(self, data: bytes, sha256: str | None = None) -> tuple[str, int]:
        """Store ``data`` as a file (``sha256``, when the caller has just computed it, is not computed again)."""
        sha = sha256 or hashlib.sha256(data).hexdigest()
        final = self._path(sha)
        fd = _create(final)  # in place, see the module's docstring
        if fd is None:
            if os.stat(final).st_size != len(data):  # cut short by a killed run: written again, whole
                self._write(final, data)
            return sha, len(data)
        try:
            _room()
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            _discard(fd, final)
            raise
        os.close(fd)
        return sha, len(data)

    @_stops_the_run
    def put_stream(self, stream: BinaryIO, limit: int | None = None) -> tuple[str, int]:
        """Copy a stream into the store while hashing it.

        ``limit`` caps the bytes read: past it, :class:`LimitExceeded` is raised
        and nothing is stored (the zip-bomb guard relies on this).
        """
        self.ensure()
        h = hashlib.sha256()
        size = 0
        fd, tmpname = tempfile.mkstemp(dir=self.tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                _room()
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise LimitExceeded(size)
                    h.update(chunk)
                    out.write(chunk)
            sha = h.hexdigest()
            final = self._path(sha)
            if os.path.exists(final):
                os.unlink(tmpname)
            else:
                self._ensure_dir(final)
                os.replace(tmpname, final)
            return sha, size
        except BaseException:
            if os.path.exists(tmpname):
                os.unlink(tmpname)
            raise

    def _write(self, final: str, data: bytes) -> None:
        # A name unique to this process and write: no O_EXCL retry loop as in mkstemp.
        self._seq += 1
        tmpname = f"{self.tmp}/{os.getpid()}-{self._seq}"
        try:
            self.ensure()
            with open(tmpname, "wb") as out:
                _room()
                out.write(data)
            self._ensure_dir(final)
            os.replace(tmpname, final)
        except BaseException:
            if os.path.exists(tmpname):
                os.unlink(tmpname)
            raise

    def read(self, sha256: str) -> bytes:
        try:
            with open(self._path(sha256), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return self.read_range(*self._range_or_missing(sha256))

    def read_range(self, container: str, start: int, end: int) -> bytes:
        """Bytes ``start:end`` of a blob stored as a file (a mailbox being cut into its members)."""
        fd = self._container_fd(container)
        data = os.pread(fd, end - start, start)
        while len(data) < end - start:  # pread may return less than asked for (a signal, a large read)
            more = os.pread(fd, end - start - len(data), start + len(data))
            if not more:
                raise OSError(f"blob {container[:12]} is shorter than a range it holds")
            data += more
        return data

    def open(self, sha256: str) -> BinaryIO:
        """A binary file object over the blob's bytes, a file or a range alike."""
        try:
            return open(self._path(sha256), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            container, start, end = self._range_or_missing(sha256)
        fh = open(self._path(container), "rb")  # noqa: SIM115 - owned by the returned reader
        return io.BufferedReader(_RangeReader(fh, start, end), CHUNK)

    def _container_fd(self, container: str) -> int:
        fds: dict[str, int] | None = getattr(self._local, "fds", None)
        if fds is None:
            fds = self._local.fds = {}
        fd = fds.get(container)
        if fd is None:
            while len(fds) >= OPEN_CONTAINERS:
                os.close(fds.pop(next(iter(fds))))
            fd = fds[container] = os.open(self._path(container), os.O_RDONLY | getattr(os, "O_BINARY", 0))
        return fd


class _RangeReader(io.RawIOBase):
    """Bytes ``start:end`` of an open file, as a file of their own."""

    def __init__(self, fh: BinaryIO, start: int, end: int) -> None:
        self._fh, self._start, self._end, self._pos = fh, start, end, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = min(len(buf), self._end - self._start - self._pos)
        if n <= 0:
            return 0
        data = os.pread(self._fh.fileno(), n, self._start + self._pos)
        buf[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()


def _discard(fd: int, final: str) -> None:
    """Remove a half-written blob, unless another writer has meanwhile put a whole one in its place."""
    try:
        if os.stat(final).st_ino == os.fstat(fd).st_ino:
            os.unlink(final)
    except OSError:
        pass
    finally:
        os.close(fd)


def _create(final: str) -> int | None:
    """A new file at ``final`` open for writing, or None if it exists (its folders made if needed)."""
    try:
        return os.open(final, _EXCL, 0o666)
    except FileExistsError:
        return None
    except FileNotFoundError:
        os.makedirs(os.path.dirname(final), exist_ok=True)
    try:
        return os.open(final, _EXCL, 0o666)
    except FileExistsError:
        return None


class LimitExceeded(Exception):
    """A stream produced more bytes than allowed."""

    def __init__(self, size: int) -> None:
        super().__init__(f"more than {size} bytes")
        self.size = size
