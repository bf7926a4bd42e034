"""RTF `{\\info ...}` group, codepage (`\\ansicpg`), default language (`\\deflang`) and generator."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from .common import LCID_TAGS, DateStamp, DocMetadata, clean_text

MAX_HEAD = 4 * 1024 * 1024  # the info group sits in the header; the body is not needed
MAX_INFO = 256 * 1024

_TOKEN = re.compile(rb"\\'([0-9a-fA-F]{2})|\\([a-zA-Z]+)(-?\d+)? ?|\\(.)|([{}])|([^\\{}\r\n]+)|[\r\n]+", re.S)
_TEXT_DESTS = {
    b"author": "author",
    b"operator": "last_modified_by",
    b"company": "company",
    b"title": "title",
    b"subject": "subject",
    b"keywords": "keywords",
    b"doccomm": "comments",
    b"manager": "manager",
    b"category": "category",
    b"hlinkbase": "hlinkbase",
}
_DATE_DESTS = {b"creatim": "created", b"revtim": "modified", b"printim": "last_printed"}
_NUM_DESTS = {
    b"version": "version",
    b"vern": "internal_version",
    b"edmins": "edmins",
    b"nofpages": "pages",
    b"nofwords": "words",
    b"id": "id",
}


def extract(path: Path, meta: DocMetadata) -> None:
    with path.open("rb") as fh:
        head = fh.read(MAX_HEAD)
    if not head.lstrip().startswith(b"{\\rtf"):
        raise ValueError("not an RTF file (no {\\rtf header)")
    cp_match = re.search(rb"\\ansicpg(\d+)", head[:4096])
    codepage = int(cp_match.group(1)) if cp_match else 1252
    meta.codepage = codepage
    lang = re.search(rb"\\deflang(\d+)", head[:4096])
    if lang:
        meta.raw["deflang"] = int(lang.group(1))
        meta.language = LCID_TAGS.get(int(lang.group(1)))
    gen = re.search(rb"\{\\\*\\generator ([^;}]*)", head[:65536])
    if gen:
        meta.application = clean_text(gen.group(1).decode("latin-1"), 300)
    start = head.find(b"{\\info")
    if start < 0:
        return
    info = _group(head, start)[:MAX_INFO]
    stamp = DateStamp(meta)
    raw_info: dict[str, object] = {}
    for dest, body in _subgroups(info):
        if dest in _TEXT_DESTS:
            name = _TEXT_DESTS[dest]
            text = clean_text(_decode(body, codepage))
            if name in ("author", "last_modified_by", "company"):
                setattr(meta, name, text)
            elif text:
                raw_info[name] = text
        elif dest in _DATE_DESTS:
            stamp.set(_DATE_DESTS[dest], _date(body))
        elif dest in _NUM_DESTS:
            m = re.match(rb"\\?" + dest + rb"(-?\d+)", body)
            if m:
                raw_info[_NUM_DESTS[dest]] = int(m.group(1))
    meta.raw["info"] = raw_info
    if "version" in raw_info:
        meta.revision = str(raw_info["version"])
    if isinstance(raw_info.get("edmins"), int):
        meta.total_time = int(raw_info["edmins"])  # type: ignore[arg-type]


def _group(data: bytes, start: int) -> bytes:
    """The bytes of the balanced `{...}` group starting at `start`."""
    depth = 0
    i = start
    while i < len(data):
        c = data[i]
        if c == 0x5C:  # backslash escapes the next byte
            i += 2
            continue
        if c == 0x7B:
            depth += 1
        elif c == 0x7D:
            depth -= 1
            if depth == 0:
                return data[start : i + 1]
        i += 1
    return data[start:]


def _subgroups(info: bytes) -> list[tuple[bytes, bytes]]:
    """(destination control word, content after it) for each direct child group of \\info."""
    out = []
    i = 1
    while True:
        i = info.find(b"{", i)
        if i < 0:
            break
        if i > 0 and info[i - 1] == 0x5C:
            i += 1
            continue
        group = _group(info, i)
        m = re.match(rb"\{(?:\\\*)?\\([a-zA-Z]+)(?=[^a-zA-Z])", group)
        if m:
            body = group[m.end() :].rstrip(b"}")
            if m.group(1) in _DATE_DESTS or m.group(1) in _NUM_DESTS:
                body = group[1:].rstrip(b"}").lstrip(b"\\*")
            out.append((m.group(1), body.lstrip(b" ")))
        i += max(len(group), 1)
    return out


def _decode(body: bytes, codepage: int) -> str:
    codec = "utf-8" if codepage == 65001 else f"cp{codepage}"
    try:
        b"".decode(codec)
    except LookupError:
        codec = "cp1252"
    out: list[str] = []
    pending = bytearray()
    skip = 0

    def flush() -> None:
        if pending:
            out.append(pending.decode(codec, "replace"))
            pending.clear()

    for m in _TOKEN.finditer(body):
        hexbyte, word, arg, sym, brace, text = m.groups()
        if skip and (hexbyte or text):
            if text and len(text) > skip:
                text = text[skip:]
                skip = 0
            else:
                skip -= 1 if hexbyte else len(text or b"")
                skip = max(skip, 0)
                continue
        if hexbyte:
            pending.append(int(hexbyte, 16))
        elif word == b"u" and arg:
            flush()
            out.append(chr(int(arg) % 0x10000))
            skip = 1  # RTF's default \uc1: one fallback character follows
        elif sym in (b"\\", b"{", b"}"):
            pending.extend(sym)
        elif text:
            pending.extend(text)
        elif word == b"tab":
            pending.extend(b" ")
    flush()
    return "".join(out)


def _date(body: bytes) -> datetime | None:
    parts = {k.decode(): int(v) for k, v in re.findall(rb"\\(yr|mo|dy|hr|min|sec)(\d+)", body)}
    try:
        return datetime(
            parts["yr"],
            parts.get("mo", 1),
            parts.get("dy", 1),
            parts.get("hr", 0),
            parts.get("min", 0),
            parts.get("sec", 0),
        )
    except (KeyError, ValueError, OverflowError):
        return None
