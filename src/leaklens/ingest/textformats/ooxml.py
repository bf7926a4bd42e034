"""Word, Excel and PowerPoint (Office Open XML) text, streamed from the zip with lxml.

openpyxl and python-docx build whole object models; a streaming walk over
the XML parts is an order of magnitude faster and bounded in memory.
Namespaces are matched by local name so that "strict" OOXML files (other
namespace URIs, same names) read too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...model import Finding
from .support import Budget, Limits, Sink, local
from .zipparts import feed_member, main_part, open_package, relationships

_SMALL = 16 << 20  # relationship and workbook parts: never legitimately larger
_MAX_SIDE_PARTS = 200  # headers or footers per document; Word makes at most three per section


class _Runs:
    """Text of ``w:t``/``a:t`` runs; paragraph ends become newlines.

    ``mc:Fallback`` repeats its ``mc:Choice`` for old readers (text boxes would
    read twice), and ``w:pPr/w:tabs/w:tab`` are tab stops, not tabs: both skipped.
    """

    def __init__(self, sink: Sink, text_tag: str) -> None:
        self.sink = sink
        self.text_tag = text_tag
        self.in_text = 0
        self.in_run = 0
        self.skip = 0

    def start(self, tag: str, attrib: Any) -> None:
        name = local(tag)
        if name == "Fallback":
            self.skip += 1
        elif self.skip:
            return
        elif name == self.text_tag:
            self.in_text += 1
        elif name == "r":
            self.in_run += 1
        elif self.in_run:
            if name == "tab":
                self.sink.add("\t")
            elif name in ("br", "cr"):
                self.sink.add("\n")
            elif name == "noBreakHyphen":
                self.sink.add("-")
        elif name == "br":  # a:br sits between runs in DrawingML
            self.sink.add("\n")

    def end(self, tag: str) -> None:
        name = local(tag)
        if name == "Fallback":
            self.skip -= 1
        elif self.skip:
            return
        elif name == self.text_tag:
            self.in_text -= 1
        elif name == "r":
            self.in_run = max(self.in_run - 1, 0)
        elif name == "p":
            self.sink.add("\n")

    def data(self, data: str) -> None:
        if self.in_text and not self.skip:
            self.sink.add(data)


def _numbered(names: list[str], pattern: str) -> list[str]:
    rx = re.compile(pattern)
    found = [(int(m.group(1) or 0), n) for n in names if (m := rx.fullmatch(n))]
    return [n for _, n in sorted(found)]


def extract_docx(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    with open_package(path, "docx") as zf:
        main = main_part(zf, "word/document.xml", _SMALL)
        folder = main.rpartition("/")[0] or "word"
        names = zf.namelist()
        parts = [main]
        # Headers, footers, notes and comments are text a reader sees (or a reviewer wrote).
        for pattern in (r"header(\d*)\.xml", r"footer(\d*)\.xml"):
            parts += _numbered(names, re.escape(folder) + "/" + pattern)[:_MAX_SIDE_PARTS]
        parts += [f"{folder}/{n}.xml" for n in ("footnotes", "endnotes", "comments")]
        budget = Budget(limits.max_bytes)
        for part in parts:
            if part != parts[0]:
                sink.add("\n")
            feed_member(zf, part, _Runs(sink, "t"), limits.max_bytes, "docx", budget)
    return []


def extract_pptx(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    with open_package(path, "pptx") as zf:
        main = main_part(zf, "ppt/presentation.xml", _SMALL)
        order = _SlideOrder()
        feed_member(zf, main, order, _SMALL, "pptx")
        rels = relationships(zf, main, _SMALL)
        slides = [rels[rid][1] for rid in order.ids if rid in rels]
        if not slides:
            slides = _numbered(zf.namelist(), r"ppt/slides/slide(\d+)\.xml")
        budget = Budget(limits.max_bytes)
        for number, slide in enumerate(slides):
            if number:
                sink.add("\n")
            feed_member(zf, slide, _Runs(sink, "t"), limits.max_bytes, "pptx", budget)
            # Speaker notes: what the presenter meant to say is often the story.
            for rtype, target in relationships(zf, slide, _SMALL).values():
                if rtype.endswith("/notesSlide"):
                    feed_member(zf, target, _Runs(sink, "t"), limits.max_bytes, "pptx", budget)
    return []


class _SlideOrder:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def start(self, tag: str, attrib: Any) -> None:
        if local(tag) == "sldId":
            for key, value in attrib.items():
                if local(key) == "id" and key.startswith("{"):
                    self.ids.append(value)

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass


# -- Excel ------------------------------------------------------------------------------

class _SharedStrings:
    """``si`` entries; phonetic guides (``rPh``) repeat the text in kana and are skipped."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.current: list[str] = []
        self.in_t = 0
        self.in_rph = 0

    def start(self, tag: str, attrib: Any) -> None:
        name = local(tag)
        if name == "t":
            self.in_t += 1
        elif name == "rPh":
            self.in_rph += 1
        elif name == "si":
            self.current = []

    def end(self, tag: str) -> None:
        name = local(tag)
        if name == "t":
            self.in_t -= 1
        elif name == "rPh":
            self.in_rph -= 1
        elif name == "si":
            self.strings.append("".join(self.current))

    def data(self, data: str) -> None:
        if self.in_t and not self.in_rph:
            self.current.append(data)


class _Workbook:
    def __init__(self) -> None:
        self.sheets: list[tuple[str, str]] = []  # (name, rId)

    def start(self, tag: str, attrib: Any) -> None:
        if local(tag) == "sheet":
            rid = next((v for k, v in attrib.items() if local(k) == "id" and k.startswith("{")), "")
            self.sheets.append((attrib.get("name", ""), rid))

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass


class _Cells:
    """Cell values row by row: tabs between cells, a newline per row; formulas are not text."""

    def __init__(self, sink: Sink, strings: list[str]) -> None:
        self.sink = sink
        self.strings = strings
        self.kind = ""
        self.value: list[str] = []
        self.capture = 0
        self.in_rph = 0
        self.row_has_cells = False

    def start(self, tag: str, attrib: Any) -> None:
        name = local(tag)
        if name == "c":
            self.kind = attrib.get("t", "n")
            self.value = []
        elif name == "v" or (name == "t" and self.kind == "inlineStr"):
            self.capture += 1
        elif name == "rPh":
            self.in_rph += 1

    def end(self, tag: str) -> None:
        name = local(tag)
        if name == "c":
            text = self._cell_text("".join(self.value))
            if text:
                self.sink.add(("\t" if self.row_has_cells else "") + text)
                self.row_has_cells = True
        elif name == "v" or (name == "t" and self.kind == "inlineStr"):
            self.capture -= 1
        elif name == "rPh":
            self.in_rph -= 1
        elif name == "row":
            if self.row_has_cells:
                self.sink.add("\n")
            self.row_has_cells = False

    def data(self, data: str) -> None:
        if self.capture and not self.in_rph:
            self.value.append(data)

    def _cell_text(self, raw: str) -> str:
        if self.kind == "s":
            try:
                return self.strings[int(raw)]
            except (ValueError, IndexError):
                return ""
        if self.kind == "b":
            return "TRUE" if raw.strip() == "1" else "FALSE"
        return raw


def extract_xlsx(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    with open_package(path, "xlsx") as zf:
        main = main_part(zf, "xl/workbook.xml", _SMALL)
        folder = main.rpartition("/")[0] or "xl"
        rels = relationships(zf, main, _SMALL)
        strings = _SharedStrings()
        shared = next((t for rt, t in rels.values() if rt.endswith("/sharedStrings")),
                      f"{folder}/sharedStrings.xml")
        budget = Budget(limits.max_bytes)
        feed_member(zf, shared, strings, limits.max_bytes, "xlsx", budget)
        book = _Workbook()
        feed_member(zf, main, book, _SMALL, "xlsx")
        sheets = [(name, rels[rid][1]) for name, rid in book.sheets if rid in rels]
        if not sheets:
            pattern = re.escape(folder) + r"/worksheets/sheet(\d+)\.xml"
            sheets = [("", n) for n in _numbered(zf.namelist(), pattern)]
        for number, (name, member) in enumerate(sheets):
            if number:
                sink.add("\n")
            if name:
                sink.add(name + "\n")
            feed_member(zf, member, _Cells(sink, strings.strings), limits.max_bytes, "xlsx", budget)
    return []
