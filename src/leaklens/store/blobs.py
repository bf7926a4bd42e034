"""Content-addressed blob store: ``blobs/ab/cd/<sha256>``, written once, never rewritten.

Several worker processes write concurrently. A streamed (large) blob is written
to a temporary file and renamed into place. A small one is created in place
with O_EXCL (file creation is what storing many small blobs costs, and a
rename doubles it); a write cut short by a killed run leaves a file shorter
than its bytes, which the next put of those bytes detects and rewrites whole.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
_EXCL = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self._root = str(self.root)
        self._dirs: set[str] = set()
        self._seq = 0
        self._ready = False

    def ensure(self) -> None:
        if not self._ready:
            self.tmp.mkdir(parents=True, exist_ok=True)
            self._ready = True

    def path(self, sha256: str) -> Path:
        return Path(self._path(sha256))

    def _path(self, sha256: str) -> str:
        return f"{self._root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def _ensure_dir(self, final: str) -> None:
        d = os.path.dirname(final)
        if d not in self._dirs:
            os.makedirs(d, exist_ok=True)
            self._dirs.add(d)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        sha = hashlib.sha256(data).hexdigest()
        final = self._path(sha)
        fd = _create(final)  # in place, see the module's docstring
        if fd is None:
            if os.stat(final).st_size != len(data):  # cut short by a killed run: written again, whole
                self._write(final, data)
            return sha, len(data)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            _discard(fd, final)
            raise
        os.close(fd)
        return sha, len(data)

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
                out.write(data)
            self._ensure_dir(final)
            os.replace(tmpname, final)
        except BaseException:
            if os.path.exists(tmpname):
                os.unlink(tmpname)
            raise

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


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
