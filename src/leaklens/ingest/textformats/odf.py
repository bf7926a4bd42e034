"""OpenDocument text, spreadsheets and presentations: the text of ``content.xml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...model import Finding
from .support import Failed, Limits, Sink
from .zipparts import feed_member, open_package, read_member

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_DRAW_NS = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"

class _Content:
    """Paragraphs end in newlines; spreadsheet cells are tab-separated within a row.

    Empty cells and rows are not written: a sheet row can claim 16 384 repeated
    empty cells, and a sheet a million repeated empty rows.
    """

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.skip = 0
        self.cell_depth = 0
        self.cell_has_text = False
        self.row_has_cells = False
        self.pending_space = False

    def start(self, tag: str, attrib: Any) -> None:
        ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if ns == _TEXT_NS:
            if name == "tracked-changes":  # deleted text lives here; it is not on the page
                self.skip += 1
            elif self.skip:
                return
            elif name == "s":
                try:
                    count = int(attrib.get(f"{{{_TEXT_NS}}}c", "1"))
                except ValueError:
                    count = 1
                self._add(" " * max(1, min(count, 100)))
            elif name == "tab":
                self._add("\t")
            elif name == "line-break":
                self._add("\n")
        elif ns == _TABLE_NS and name == "table-cell" and not self.skip:
            self.cell_depth += 1
            self.cell_has_text = False
            self.pending_space = False

    def end(self, tag: str) -> None:
        ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        if ns == _TEXT_NS and name == "tracked-changes":
            self.skip -= 1
        elif self.skip:
            return
        elif ns == _TEXT_NS and name in ("p", "h"):
            if self.cell_depth:
                self.pending_space = self.cell_has_text
            else:
                self.sink.add("\n")
        elif ns == _TABLE_NS and name == "table-cell":
            self.cell_depth = max(self.cell_depth - 1, 0)
            self.pending_space = False
        elif ns == _TABLE_NS and name == "table-row" and not self.cell_depth:
            if self.row_has_cells:
                self.sink.add("\n")
            self.row_has_cells = False
        elif ns == _DRAW_NS and name == "page":
            self.sink.add("\n")

    def data(self, data: str) -> None:
        if not self.skip:
            self._add(data)

    def _add(self, text: str) -> None:
        if self.cell_depth:
            if not self.cell_has_text:
                if not text.strip():
                    return
                if self.row_has_cells:
                    self.sink.add("\t")
                self.cell_has_text = True
                self.row_has_cells = True
            elif self.pending_space:
                self.sink.add(" ")
                self.pending_space = False
        self.sink.add(text)

def extract(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    fmt = "opendocument"
    with open_package(path, "opendocument") as zf:
        manifest = read_member(zf, "META-INF/manifest.xml", 16 << 20) or b""
        if b"encryption-data" in manifest:
            raise Failed("ingest.encrypted",
                         "This OpenDocument file is password-protected; its text could not be read.",
                         format=fmt)
        if "content.xml" not in zf.namelist():
            raise Failed("ingest.text_failed",
                         "This OpenDocument file has no content.xml; its text could not be read.", format=fmt)
        feed_member(zf, "content.xml", _Content(sink), limits.max_bytes, "opendocument")
    return []
