"""Legacy OLE2 Office files (doc, xls, ppt) with olefile: the SummaryInformation property sets,
the streams that say which application really wrote the file, and encryption flags."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import olefile

from .common import LCID_TAGS, DateStamp, DocMetadata, clean_text, encrypted, jsonable

# Codepages as Python codecs, for the 8-bit strings (VT_LPSTR) of the property sets.
_CODECS = {1200: "utf-16-le", 65001: "utf-8", 10000: "mac-roman", 10007: "mac-cyrillic"}


def _decode(value: bytes, codepage: int) -> str | None:
    codec = _CODECS.get(codepage, f"cp{codepage}")
    try:
        text = value.decode(codec, "replace")
    except LookupError:
        text = value.decode("cp1252", "replace")
    return clean_text(text)


def extract(path: Path, meta: DocMetadata) -> None:
    with olefile.OleFileIO(str(path)) as ole:
        streams = ["/".join(parts) for parts in ole.listdir(streams=True, storages=True)]
        raw = meta.raw
        raw["streams"] = streams[:200]
        lowered = {s.lower() for s in streams}
        if "encryptedpackage" in lowered and "encryptioninfo" in lowered:
            meta.findings.append(encrypted("ooxml", "an encrypted Office Open XML package (EncryptedPackage stream)"))
            raw["ole_kind"] = "encrypted-ooxml"
            return
        raw["ole_kind"] = _kind(lowered)
        raw["macros"] = any(s.split("/")[0].lower() in ("macros", "_vba_project_cur", "vba") for s in streams)
        _properties(ole, meta)
        if raw["ole_kind"] == "word":
            _word_fib(ole, meta)
        elif raw["ole_kind"] == "excel":
            _excel_filepass(ole, meta)
        elif raw["ole_kind"] == "powerpoint" and "encryptedsummary" in lowered:
            meta.findings.append(encrypted("ole", "PowerPoint EncryptedSummary stream"))


def _kind(lowered: set[str]) -> str:
    if "worddocument" in lowered:
        return "word"
    if "workbook" in lowered or "book" in lowered:
        return "excel"
    if "powerpoint document" in lowered:
        return "powerpoint"
    if any(s.startswith("__substg1.0_") for s in lowered):
        return "outlook"
    return "other"


_SUMMARY = {
    2: "title",
    3: "subject",
    4: "author",
    5: "keywords",
    6: "comments",
    7: "template",
    8: "last_saved_by",
    9: "revision",
    10: "total_edit_time",
    11: "last_printed",
    12: "created",
    13: "last_saved",
    14: "pages",
    18: "application",
    19: "security",
}
_DOCSUM = {2: "category", 14: "manager", 15: "company"}
_MAX_STRING = 64 * 1024


def read_property_set(ole: olefile.OleFileIO, name: str) -> dict[int, Any]:
    """The scalar properties of a property-set stream's first section (MS-OLEPS).

    Parsed here rather than with olefile's get_metadata, which loops over whatever count a
    corrupted vector declares (billions of iterations on a flipped byte)."""
    if not ole.exists(name):
        return {}
    with ole.openstream(name) as fh:
        data = fh.read(1024 * 1024)
    if len(data) < 48 or data[:2] != b"\xfe\xff":
        raise ValueError(f"{name!r} is not a property set")
    offset = struct.unpack_from("<I", data, 44)[0]
    if offset + 8 > len(data):
        raise ValueError(f"{name!r} section lies outside the stream")
    size, count = struct.unpack_from("<II", data, offset)
    if count > 1024 or 8 + 8 * count > min(size, len(data) - offset):
        raise ValueError(f"{name!r} declares {count} properties in {size} bytes")
    section = data[offset : offset + size]
    props: dict[int, Any] = {}
    codepage = 1252
    for i in range(count):
        pid, pos = struct.unpack_from("<II", section, 8 + 8 * i)
        if pos + 8 > len(section):
            continue
        vtype = struct.unpack_from("<H", section, pos)[0]
        value = _scalar(section, pos + 4, vtype, codepage)
        if pid == 1 and isinstance(value, int):
            codepage = value & 0xFFFF  # stored as a signed 16-bit value
            value = codepage
        props[pid] = value
    return props


def _scalar(s: bytes, pos: int, vtype: int, codepage: int) -> Any:
    try:
        if vtype == 2:  # VT_I2
            return struct.unpack_from("<h", s, pos)[0]
        if vtype in (3, 22):  # VT_I4, VT_INT
            return struct.unpack_from("<i", s, pos)[0]
        if vtype in (19, 23):  # VT_UI4, VT_UINT
            return struct.unpack_from("<I", s, pos)[0]
        if vtype == 11:  # VT_BOOL
            return bool(struct.unpack_from("<H", s, pos)[0])
        if vtype == 0x40:  # VT_FILETIME: 100-ns ticks since 1601
            return struct.unpack_from("<Q", s, pos)[0]
        if vtype in (0x1E, 8):  # VT_LPSTR, VT_BSTR: bytes in the set's codepage
            n = min(struct.unpack_from("<I", s, pos)[0], _MAX_STRING)
            return _decode(s[pos + 4 : pos + 4 + n].split(b"\x00")[0], codepage)
        if vtype == 0x1F:  # VT_LPWSTR: UTF-16 code units
            n = min(struct.unpack_from("<I", s, pos)[0], _MAX_STRING)
            return clean_text(s[pos + 4 : pos + 4 + 2 * n].decode("utf-16-le", "replace"))
    except struct.error:
        return None
    return None


def _filetime(ticks: Any) -> datetime | None:
    # Property-set FILETIMEs are UTC by specification; 0 means "not set".
    if not isinstance(ticks, int) or ticks <= 0:
        return None
    try:
        return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None


def _properties(ole: olefile.OleFileIO, meta: DocMetadata) -> None:
    summary = read_property_set(ole, "\x05SummaryInformation")
    docsum = read_property_set(ole, "\x05DocumentSummaryInformation")
    meta.codepage = summary.get(1) if isinstance(summary.get(1), int) else docsum.get(1)
    named = {_SUMMARY[k]: v for k, v in summary.items() if k in _SUMMARY}
    named.update({_DOCSUM[k]: v for k, v in docsum.items() if k in _DOCSUM})
    meta.author = clean_text(named.get("author"))
    meta.last_modified_by = clean_text(named.get("last_saved_by"))
    meta.application = clean_text(named.get("application"))
    meta.template = clean_text(named.get("template"))
    meta.revision = clean_text(named.get("revision"))
    meta.company = clean_text(named.get("company"))
    edit = named.get("total_edit_time")
    if isinstance(edit, int) and 0 <= edit < 10**18:
        meta.total_time = edit // 600_000_000  # 100-ns ticks to minutes
    stamp = DateStamp(meta)
    stamp.set("created", _filetime(named.get("created")))
    stamp.set("modified", _filetime(named.get("last_saved")))
    stamp.set("last_printed", _filetime(named.get("last_printed")))
    extra = {
        k: named.get(k)
        for k in ("title", "subject", "keywords", "comments", "manager", "category", "security", "pages")
    }
    meta.raw["summary"] = jsonable({k: v for k, v in extra.items() if v is not None})
    security = named.get("security")
    if isinstance(security, int) and security & 1:
        meta.findings.append(encrypted("ole", "SummaryInformation security flag: password protected"))


def _word_fib(ole: olefile.OleFileIO, meta: DocMetadata) -> None:
    with ole.openstream("WordDocument") as fh:
        fib = fh.read(32)
    if len(fib) < 12:
        return
    ident, nfib, _unused, lid, _pn, flags = struct.unpack("<HHHHHH", fib[:12])
    meta.raw["word_fib"] = {"ident": hex(ident), "nfib": nfib, "lid": lid}
    if lid in LCID_TAGS:
        meta.language = meta.language or LCID_TAGS[lid]
    if flags & 0x0100:
        meta.findings.append(encrypted("ole", "Word FIB fEncrypted flag"))


def _excel_filepass(ole: olefile.OleFileIO, meta: DocMetadata) -> None:
    name = "Workbook" if ole.exists("Workbook") else "Book"
    with ole.openstream(name) as fh:
        head = fh.read(64 * 1024)
    pos = 0
    # FILEPASS (0x2F) sits among the first records of the globals substream when encrypted.
    for _ in range(64):
        if pos + 4 > len(head):
            break
        rtype, length = struct.unpack("<HH", head[pos : pos + 4])
        if rtype == 0x002F:
            meta.findings.append(encrypted("ole", "Excel FILEPASS record"))
            return
        if rtype == 0x000A:  # EOF of the globals substream
            return
        pos += 4 + length
