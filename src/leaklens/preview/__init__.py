"""Document previews: a PDF's pages (of any revision, with chosen layers hidden) and images, drawn
as PNGs we encode, in long-lived child processes with a deadline a request (`draw serve`). The
browser never gets the file: a PDF viewer, an SVG or an office suite run the document's own
content; a PNG runs nothing.

Office documents are converted to PDF by LibreOffice when it is installed, as Aleph does
(`preview.office`: sandboxed, cached per sha256 in the case folder), and that PDF's pages drawn
here; without LibreOffice, or when it fails on a document, their preview is the text read at
ingest, and the page says why.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

PDF = "application/pdf"
IMAGES = ("image/png", "image/jpeg", "image/gif", "image/bmp", "image/tiff", "image/webp")  # never SVG
OFFICE = (
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
)
INFO_TIMEOUT = 20.0
PAGE_TIMEOUT = 20.0
MAX_PREVIEW_BYTES = 256 << 20  # a larger file is offered as a download only
VIEW_DPI = 110
DPIS = (50, 110, 160)  # thumbnail, reading, zoom: a few sizes, so that the cache serves them
CACHE_ENTRIES = 64


class PreviewError(Exception):
    """The document could not be described or drawn (damaged, over time, no such page): one line."""


def kind_of(mime: str | None) -> str | None:
    """Which preview the type has: "pdf", "image", "office" or None (the text and the download only)."""
    if mime == PDF:
        return "pdf"
    if mime in IMAGES:
        return "image"
    if mime in OFFICE:
        return "office"
    return None


class _Cache:
    """A small LRU shared by the server's threads: a page viewed twice is drawn once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._d[key] = value
            while len(self._d) > self.size:
                self._d.popitem(last=False)


_infos = _Cache(256)
_pages = _Cache(CACHE_ENTRIES)


class _Worker:
    """One long-lived `draw serve` child: the imports (pdfium, qpdf, PIL: most of a cold draw's
    time) are paid once, not once a page. A request over its deadline, or a crash, ends the child;
    the next request starts a new one. It is also renewed every MAX_SERVED requests, so that what a
    hostile file leaks inside the renderer does not build up."""

    MAX_SERVED = 500

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.served = 0

    def _start(self) -> subprocess.Popen[bytes]:
        self.stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leaklens.preview.draw", "serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.served = 0
        return self.proc

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def call(self, request: dict[str, Any], timeout: float) -> tuple[bytes, bytes]:
        proc = self.proc
        if proc is None or proc.poll() is not None or self.served >= self.MAX_SERVED:
            proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        deadline = time.monotonic() + timeout
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
            head = _read_exact(proc.stdout.fileno(), 9, deadline)
            body = _read_exact(proc.stdout.fileno(), int.from_bytes(head[1:], "big"), deadline)
        except TimeoutError:
            self.stop()
            raise PreviewError(f"the document took over {timeout:g} s to read") from None
        except (OSError, EOFError):
            self.stop()
            raise PreviewError("the renderer stopped on this document (damaged or hostile)") from None
        self.served += 1
        return head[:1], body


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    out = bytearray()
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(n - len(out), 1 << 20))
        if not chunk:
            raise EOFError
        out += chunk
    return bytes(out)


class _Pool:
    """A few workers (one per core, at most POOL_SIZE): previews drawn side by side, each by one child."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: list[_Worker] = [_Worker() for _ in range(size)]
        self._free = threading.Semaphore(size)
        self._lock = threading.Lock()

    def call(self, request: dict[str, Any], timeout: float) -> tuple[bytes, bytes]:
        with self._free:
            with self._lock:
                worker = self._idle.pop()
            try:
                return worker.call(request, timeout)
            finally:
                with self._lock:
                    self._idle.append(worker)

    def stop(self) -> None:
        with self._lock:
            for w in self._idle:
                w.stop()


POOL_SIZE = 2
_pool = _Pool(max(1, min(POOL_SIZE, os.cpu_count() or 1)))
atexit.register(_pool.stop)


def warm() -> None:
    """Start every renderer and have it import what it draws with, in the background: the server's
    first preview then waits for no process start (1.3-2.6 s on a loaded 2-core machine)."""

    def one() -> None:
        try:
            _pool.call({"cmd": "warm"}, INFO_TIMEOUT)
        except PreviewError:
            pass  # the first real request starts another and says what went wrong

    for _ in range(_pool.size):
        threading.Thread(target=one, daemon=True, name="leaklens-preview-warm").start()


def _run(request: dict[str, Any], timeout: float) -> bytes:
    status, body = _pool.call(request, timeout)
    if status == b"E":
        raise PreviewError(body.decode("utf-8", "replace").strip().splitlines()[-1][:200] if body.strip() else
                           "the document could not be read")  # fmt: skip
    return body


def describe(path: Path, mime: str, sha256: str) -> dict[str, Any]:
    """{"kind", "pages", "layers": [{"index", "name", "hidden"}], "revisions": [{"revision", "bytes",
    "pages", "layers"} | {"error"}] (empty for a file saved once), ...} of a PDF or an image."""
    key = (sha256, mime)
    cached = _infos.get(key)
    if cached is None:
        cached = json.loads(_run({"cmd": "info", "path": str(path), "mime": mime}, INFO_TIMEOUT))
        _infos.put(key, cached)
    return cached


def page_png(
    path: Path, mime: str, sha256: str, page: int, *, revision: int | None = None, off: tuple[int, ...] | None = None,
    dpi: int = VIEW_DPI,
) -> bytes:  # fmt: skip
    """Page `page` (1-based) of the PDF (of revision `revision`; None: as the file is), with the layers
    at indexes `off` hidden and every other shown (None: the document's own default view), as a PNG."""
    dpi = min(DPIS, key=lambda d: abs(d - dpi))
    key = (sha256, mime, page, revision, off, dpi)
    png = _pages.get(key)
    if png is None:
        request = {"cmd": "page", "path": str(path), "mime": mime, "page": page, "revision": revision,
                   "off": list(off) if off is not None else None, "dpi": dpi}  # fmt: skip
        png = _run(request, PAGE_TIMEOUT)
        if not png.startswith(b"\x89PNG"):
            raise PreviewError("the page could not be drawn")
        _pages.put(key, png)
    return png
