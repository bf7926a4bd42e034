"""What every text extractor shares: a bounded text sink, capped reads and a safe XML feed.

Extractors signal their outcome with exceptions (``Full``, ``Cut``, ``Failed``)
so that the per-format code stays a straight walk over the document; the
dispatcher in ``leaklens.ingest.text`` turns them into a status and findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from lxml import etree

from ...model import Finding

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_chars: int
    max_bytes: int  # bytes read from one file, or decompressed from one zip member


class Full(Exception):
    """The sink reached ``max_chars``."""


class Cut(Exception):
    """Reading stopped early for a reason other than the character limit; carries its finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class Failed(Exception):
    """The document cannot be read: corrupt, encrypted or not what its type says."""

    def __init__(self, code: str, message: str, **evidence: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.evidence = evidence


class Sink:
    """Collects text pieces and stops the extractor once ``max_chars`` is exceeded."""

    __slots__ = ("parts", "count", "max_chars")

    def __init__(self, max_chars: int) -> None:
        self.parts: list[str] = []
        self.count = 0
        self.max_chars = max_chars

    def add(self, text: str) -> None:
        if not text:
            return
        room = self.max_chars - self.count
        if len(text) > room:
            self.parts.append(text[:max(room, 0)])
            self.count = self.max_chars
            raise Full
        self.parts.append(text)
        self.count += len(text)

    def ends_with_space(self) -> bool:
        return not self.parts or self.parts[-1][-1:] in ("\n", " ", "\t", "\f")

    def text(self) -> str:
        return "".join(self.parts)


def member_too_large(member: str, limit: int) -> Cut:
    return Cut(Finding(
        "ingest.member_too_large", "warning",
        "A part of this document is larger than the size limit; its text was read only up to the limit.",
        {"member": member, "limit_bytes": limit},
    ))


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def read_capped(stream: BinaryIO | Readable, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of a stream, and whether there was more."""
    data = stream.read(limit + 1)
    return data[:limit], len(data) > limit


class Target(Protocol):
    def start(self, tag: str, attrib: Any) -> None: ...
    def end(self, tag: str) -> None: ...
    def data(self, data: str) -> None: ...


class _Collect:
    """Adapts a handler to lxml's target interface (``close`` must return something)."""

    def __init__(self, handler: Target) -> None:
        self.start = handler.start
        self.end = handler.end
        self.data = handler.data

    def close(self) -> None:
        return None


class Budget:
    """Bytes that may still be decompressed from one document, across all its zip members."""

    __slots__ = ("remaining",)

    def __init__(self, total: int) -> None:
        self.remaining = total


def feed_xml(stream: BinaryIO | Readable, handler: Target, member: str, limit: int) -> int:
    """Stream an XML part through ``handler`` with no DTD, no network and a size cap.

    A target parser (unlike a tree parser) expands internal entities whatever
    ``resolve_entities`` says, so a part that declares a DOCTYPE is refused:
    Office and OpenDocument parts never carry one, and a billion-laughs bomb
    needs one. Returns the number of bytes read.
    """
    parser = etree.XMLParser(target=_Collect(handler), resolve_entities=False, no_network=True,
                             huge_tree=False, load_dtd=False, remove_comments=True, remove_pis=True)
    read = 0
    prolog = b""
    checked = False
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        read += len(chunk)
        if read > limit:
            raise member_too_large(member, limit)
        if not checked:
            prolog += chunk
            verdict = _prolog_has_doctype(prolog)
            if verdict is None and len(prolog) < 1 << 20:
                continue
            if verdict is not False:
                raise Cut(Finding(
                    "ingest.xml_dtd", "warning",
                    "A part of this document declares a DTD, which this format never needs; it was not read.",
                    {"member": member},
                ))
            checked = True
            chunk, prolog = prolog, b""
        parser.feed(chunk)
    if not checked:
        if not prolog.strip():
            return read
        if _prolog_has_doctype(prolog) is not False:
            raise Cut(Finding(
                "ingest.xml_dtd", "warning",
                "A part of this document declares a DTD, which this format never needs; it was not read.",
                {"member": member},
            ))
        parser.feed(prolog)
    parser.close()
    return read


_SAFE_ENCODINGS = frozenset({b"utf-8", b"utf8", b"utf-16", b"utf-16le", b"utf-16be", b"us-ascii", b"ascii",
                             b"iso-8859-1", b"latin1", b"latin-1", b"windows-1252", b"cp1252"})


def _prolog_has_doctype(data: bytes) -> bool | None:
    """True if a DOCTYPE (or an encoding that could hide one) comes before the root element.

    None if the root is not in sight yet.
    """
    if b"\x00" in data[:4]:
        data = data.replace(b"\x00", b"")  # UTF-16/32: markup characters are ASCII with NULs
    pos = 0
    while True:
        lt = data.find(b"<", pos)
        if lt < 0 or lt + 1 >= len(data):
            return None
        nxt = data[lt + 1]
        if nxt == 0x3F:  # <? ... ?>
            close = data.find(b"?>", lt)
            if close > 0 and data.startswith(b"<?xml", lt) and not _safe_declaration(data[lt:close]):
                return True
        elif data.startswith(b"<!--", lt):
            close = data.find(b"-->", lt)
        elif nxt == 0x21:  # <!DOCTYPE or another declaration
            return True
        else:
            return False
        if close < 0:
            return None
        pos = close + 2


def _safe_declaration(decl: bytes) -> bool:
    """An XML declaration whose encoding cannot disguise markup (UTF-7 could hide a DOCTYPE)."""
    at = decl.find(b"encoding")
    if at < 0:
        return True
    rest = decl[at + 8:].lstrip(b" \t\r\n=").lstrip(b" \t\r\n")
    if rest[:1] not in (b'"', b"'"):
        return False
    close = rest.find(rest[:1], 1)
    return close > 0 and rest[1:close].strip().lower() in _SAFE_ENCODINGS


def local(tag: Any) -> str:
    """The local part of a ``{namespace}name`` tag."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def too_large_file(limit: int) -> Cut:
    return Cut(Finding(
        "ingest.text_truncated", "info",
        "This file is larger than the text extraction limit; only its beginning was read.",
        {"limit_bytes": limit},
    ))
