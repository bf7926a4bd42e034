"""The one reading of a message's header block, and the places where readers disagree.

A forger's best tool is a header block that two programs read differently: the DKIM
verifier checks one From while the mail program (or our own page) shows another
(Chen, Paxson and Jiang, "Composition Kills", USENIX Security 2020). So leaklens reads
a header block one way everywhere: ingest, the verifier's author check, the report and
the web page all take their fields from `read_block`, which follows RFC 5322 including
its obsolete syntax (§4.5: `From :` and `From<TAB>:` are From fields; unfolding comes
before parsing, so a field name folded before its colon is still that field).

Where the block is not plainly well formed (see `Irregularity`), other readers may see
other fields: DKIM's (RFC 6376, as dkimpy and `verify/rawmail` split it) and the Python
`email` package's (what many tools and mail archives use). `disagreement` then reports
every reader's fields so the finding can show them side by side. A well-formed block
(LF or CRLF line ends used consistently, every line a `name: value` field or a
continuation) reads the same to all of them by construction, so the comparison runs only
when something is irregular.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

# RFC 5322 ftext, then obsolete optional white space before the colon.
_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)([ \t]*):")
_DKIM_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+):")  # verify/rawmail's (and dkimpy's) rule
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


class Field:
    """One header field as RFC 5322 reads it: name without the obsolete blanks, raw value."""

    __slots__ = ("name", "value", "line", "key")  # tens per message, thousands of messages: kept cheap

    def __init__(self, name: str, value: bytes, line: int) -> None:
        self.name = name  # as written, minus any blanks before the colon
        self.value = value  # everything after the colon, continuation lines included, line ends kept
        self.line = line  # 1-based line of its first physical line
        self.key = name.lower()  # field names are case-insensitive

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.value!r}, {self.line})"


@dataclass(frozen=True)
class Irregularity:
    line: int
    kind: str  # obsolete_name, folded_name, leading_continuation, not_a_field, bare_cr, bare_lf, nul
    raw: bytes


IRREGULARITY_TEXT = {
    "obsolete_name": "blank space between the field name and its colon (RFC 5322 obsolete syntax)",
    "folded_name": "a field name folded onto the next line before its colon",
    "leading_continuation": "the block starts with a continuation line",
    "not_a_field": "a line that is neither a header field nor a continuation",
    "bare_cr": "a carriage return that does not end a line",
    "bare_lf": "a bare line feed in a block whose lines end with CRLF",
    "nul": "a NUL byte",
}


@dataclass
class HeaderBlock:
    fields: list[Field]
    irregular: list[Irregularity] = field(default_factory=list)
    envelope: bytes | None = None  # an mbox "From " line before the fields, if any

    def values(self, name: str) -> list[bytes]:
        key = name.lower()
        return [f.value for f in self.fields if f.key == key]

    def count(self, name: str) -> int:
        key = name.lower()
        return sum(1 for f in self.fields if f.key == key)

    def text(self, name: str) -> str | None:
        """The first field called `name`, unfolded, as text (UTF-8, else Latin-1)."""
        vals = self.values(name)
        return unfolded_text(vals[0]) if vals else None


_HEAD_END = re.compile(rb"\n\r?\n")  # a literal first byte: found by a fast scan


def head_of(raw: bytes) -> bytes:
    """The header block of a message: everything before the first empty line."""
    if raw.startswith((b"\r\n", b"\n")):
        return b""
    m = _HEAD_END.search(raw)  # the first line end followed by an empty line
    if m is None:
        return raw
    end = m.start()
    return raw[: end - 1] if end > 0 and raw[end - 1 : end] == b"\r" else raw[:end]


def unfolded_text(value: bytes) -> str:
    value = _FOLD.sub(b"", value).strip()
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


_FIELDS = re.compile(rb"^([\x21-\x39\x3b-\x7e]+):(.*(?:\n[ \t].*)*)", re.M)


def _plain(head: bytes) -> HeaderBlock | None:
    """The common, well-formed block read by one C-level regex pass; None when anything is irregular.

    Well formed: consistent line ends, no NUL, and the fields with their continuation lines
    cover the block from end to end (any other line would leave a gap between two matches).
    """
    if b"\x00" in head:
        return None
    crs = head.count(b"\r")
    if crs and (crs != head.count(b"\r\n") or crs != head.count(b"\n")):
        return None  # a bare CR, or line ends mixed
    fields = []
    line = pos = 0
    for m in _FIELDS.finditer(head):
        if m.start() != pos:
            return None
        pos = m.end() + 1
        value = m.group(2)
        if crs:
            if value.endswith(b"\r"):
                value = value[:-1]  # the CR before the next line's LF
            value = value.replace(b"\r\n", b"\n")
        if b"\n" in value:
            fields.append(Field(m.group(1).decode("ascii"), value.replace(b"\n", b"\r\n"), line + 1))
            line += 1 + value.count(b"\n")
        else:
            line += 1
            fields.append(Field(m.group(1).decode("ascii"), value, line))
    return HeaderBlock(fields) if pos == len(head) + 1 else None


def read_block(head: bytes) -> HeaderBlock:
    """RFC 5322's reading of a header block (without its terminating empty line). Never raises."""
    if not head:
        return HeaderBlock([])
    plain = _plain(head)
    return plain if plain is not None else careful_read(head)


def careful_read(head: bytes) -> HeaderBlock:
    """Line by line, noting every irregularity (what `read_block` does when the fast pass declines)."""
    block = HeaderBlock([])
    if not head:
        return block
    physical = head.split(b"\n")
    crlf = sum(1 for ln in physical[:-1] if ln.endswith(b"\r"))
    mixed = 0 < crlf < len(physical) - 1
    if b"\x00" in head:
        block.irregular.append(Irregularity(_line_of(physical, b"\x00"), "nul", b""))
    # Logical lines: a physical line plus the continuation lines that follow it.
    logical: list[tuple[int, list[bytes]]] = []
    for n, ln in enumerate(physical, 1):
        if ln.endswith(b"\r"):
            ln = ln[:-1]
        elif mixed and n < len(physical):
            block.irregular.append(Irregularity(n, "bare_lf", ln[:300]))
        if b"\r" in ln:
            block.irregular.append(Irregularity(n, "bare_cr", ln[:300]))
        if n == 1 and ln.startswith(b"From ") and not _FIELD.match(ln):
            # An mbox envelope line ("From sender date"), not a field: "From : x" is a From field.
            block.envelope = ln
            continue
        if ln[:1] in (b" ", b"\t"):
            if not logical:
                block.irregular.append(Irregularity(n, "leading_continuation", ln[:300]))
                continue
            logical[-1][1].append(ln)
        else:
            logical.append((n, [ln]))
    for n, lines in logical:
        first = lines[0]
        m = _FIELD.match(first)
        if m is None and len(lines) > 1 and b":" not in first:
            # Unfolding precedes parsing (RFC 5322 §2.2.3): "From" CRLF " : x" is a From field.
            m = _FIELD.match(b"".join(lines))
            if m is not None:
                block.irregular.append(Irregularity(n, "folded_name", b"\n".join(lines)[:300]))
                lines = [b"".join(lines)]
                first = lines[0]
        if m is None:
            block.irregular.append(Irregularity(n, "not_a_field", first[:300]))
            continue
        if m.group(2):
            block.irregular.append(Irregularity(n, "obsolete_name", first[:300]))
        value = first[m.end() :]
        if len(lines) > 1:
            value += b"\r\n" + b"\r\n".join(lines[1:])
        block.fields.append(Field(m.group(1).decode("ascii"), value, n))
    return block


def _line_of(physical: list[bytes], needle: bytes) -> int:
    return next((n for n, ln in enumerate(physical, 1) if needle in ln), 1)


# --- other readers, for the evidence of a disagreement --------------------------------------

_STDLIB = BytesHeaderParser(policy=compat32)


def dkim_reading(head: bytes) -> list[str]:
    """Field names as DKIM splits the block (RFC 6376; `verify/rawmail.parse_raw`'s rule)."""
    names: list[str] = []
    for i, ln in enumerate(re.split(rb"\r?\n", head)):
        if ln[:1] in (b" ", b"\t") or (i == 0 and ln.startswith(b"From ") and not _FIELD.match(ln)):
            continue
        m = _DKIM_FIELD.match(ln)
        if m is not None:
            names.append(m.group(1).decode("ascii"))
    return names


def python_email_reading(head: bytes) -> dict[str, Any]:
    """Field names as the Python `email` package reads the block, and where it thinks the body starts."""
    msg = _STDLIB.parsebytes(head + b"\n\n")
    body = msg.get_payload()
    return {
        "fields": [str(k) for k in msg.keys()],
        "defects": [type(d).__name__ for d in msg.defects],
        "body_starts_with": body[:200] if isinstance(body, str) and body.strip() else None,
    }


def disagreement(head: bytes, block: HeaderBlock | None = None) -> dict[str, Any] | None:
    """How each reader saw an irregular block, or None when the block is well formed."""
    block = block or read_block(head)
    if not block.irregular:
        return None
    ours = [f.name for f in block.fields]
    dkim = dkim_reading(head)
    py = python_email_reading(head)

    def froms(names: list[str]) -> int:
        return sum(1 for n in names if n.lower() == "from")

    return {
        "lines": [
            {"line": i.line, "what": IRREGULARITY_TEXT[i.kind], "raw": i.raw.decode("latin-1")}
            for i in block.irregular[:20]
        ],
        "readers": {
            "leaklens (RFC 5322 with obsolete syntax)": {"fields": ours, "from_fields": froms(ours)},
            "DKIM (RFC 6376, dkimpy)": {"fields": dkim, "from_fields": froms(dkim)},
            "Python email package": {**py, "from_fields": froms(py["fields"])},
        },
    }
