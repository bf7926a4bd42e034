"""Document previews: a PDF's pages (of any revision, with chosen layers hidden) and images, drawn
as PNGs we encode, in a child process with a deadline (`draw`). The browser never gets the file:
a PDF viewer, an SVG or an office suite run the document's own content; a PNG runs nothing.

Office documents are not drawn yet (Aleph converts them to PDF with LibreOffice, which this machine
lacks): their preview is the text read at ingest, and the page says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
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
    """"pdf", "image", "office" or None (no preview: the text and the download only)."""
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


def _run(args: list[str], timeout: float) -> bytes:
    try:
        proc = subprocess.run([sys.executable, "-m", "leaklens.preview.draw", *args], capture_output=True,
                              timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise PreviewError(f"the document took over {timeout:g} s to read") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PreviewError(lines[-1][:200] if lines else "the document could not be read")
    return proc.stdout


def describe(path: Path, mime: str, sha256: str) -> dict[str, Any]:
    """{"kind", "pages", "layers": [{"index", "name", "hidden"}], "revisions": [{"revision", "bytes",
    "pages", "layers"} | {"error"}] (empty for a file saved once), ...} of a PDF or an image."""
    key = (sha256, mime)
    cached = _infos.get(key)
    if cached is None:
        cached = json.loads(_run(["info", str(path), mime], INFO_TIMEOUT))
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
        args = {"page": page, "revision": revision, "off": list(off) if off is not None else None, "dpi": dpi}
        png = _run(["page", str(path), mime, json.dumps(args)], PAGE_TIMEOUT)
        if not png.startswith(b"\x89PNG"):
            raise PreviewError("the page could not be drawn")
        _pages.put(key, png)
    return png
