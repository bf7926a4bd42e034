"""Split raw message bytes into header fields and body exactly the way DKIM sees them.

dkimpy's own parser gives up on the whole message at the first header line it cannot
read; leaked mail is often damaged, so this one keeps going and reports what it skipped.
The output has dkimpy's shape (a list of [name, value] with values ending in CRLF, and
a CRLF-joined body) so dkimpy's canonicalisation and hashing can run on it unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leaklens.headerblock import HeaderBlock
from leaklens.verify.canon import crlf_lines

_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+):")
_LINES = re.compile(rb"\r?\n")
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


@dataclass
class RawMail:
    headers: list[list[bytes]]
    body: bytes
    skipped_lines: list[tuple[int, bytes]] = field(default_factory=list)

    def values(self, name: str) -> list[bytes]:
        """Values of all fields called `name`, top to bottom, unfolded."""
        lname = name.lower().encode()
        return [unfold(v) for n, v in self.headers if n.lower() == lname]

    def count(self, name: str) -> int:
        counts = self.__dict__.get("_counts")
        if counts is None:  # asked a dozen times per message: count every name once
            counts = self.__dict__["_counts"] = {}
            for n, _ in self.headers:
                key = n.lower()
                counts[key] = counts.get(key, 0) + 1
        return counts.get(name.lower().encode(), 0)

    def first_text(self, name: str) -> str | None:
        vals = self.values(name)
        return as_text(vals[0]) if vals else None


def unfold(value: bytes) -> bytes:
    return _FOLD.sub(b"", value).strip()


def as_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def parse_raw(message: bytes) -> RawMail:
    """Never raises: lines that are neither a field nor a continuation are skipped and listed."""
    headers: list[list[bytes]] = []
    skipped: list[tuple[int, bytes]] = []
    end = re.search(rb"\n\r?\n", b"\n" + message)  # a line end, then an empty line: the block's end
    lines = _LINES.split(message if end is None else message[: end.start()])  # the body is not split
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line) == 0:
            i += 1
            break
        if line[0] in (0x09, 0x20):
            if headers:
                headers[-1][1] += line + b"\r\n"
            else:
                skipped.append((i + 1, line))
        else:
            m = _NAME.match(line)
            if m is not None:
                headers.append([m.group(1), line[m.end(0) :] + b"\r\n"])
            elif not (i == 0 and line.startswith(b"From ")):
                # mbox separator lines are expected; anything else is damage worth reporting.
                skipped.append((i + 1, line))
        i += 1
    return RawMail(headers, b"" if end is None else crlf_lines(message[end.end() - 1 :]), skipped)


_BLOCK_END = re.compile(rb"\n\r?\n")


def from_block(message: bytes, head: bytes, block: HeaderBlock) -> RawMail:
    """DKIM's view built from the one reading of a well-formed block, without splitting it again.

    For a block with no irregularity (and no envelope line) DKIM and RFC 5322 read the same
    fields, so this equals `parse_raw(message)` (tests/test_rawmail_block.py checks it); an
    irregular block must go through `parse_raw`, whose reading may differ.
    """
    if block.irregular or block.envelope is not None or not head:
        return parse_raw(message)
    headers = [[f.name.encode("ascii"), f.value + b"\r\n"] for f in block.fields]
    end = _BLOCK_END.search(message, len(head))
    return RawMail(headers, b"" if end is None else crlf_lines(message[end.end() :]))
