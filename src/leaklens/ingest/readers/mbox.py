"""mbox files, split by offsets so that each message keeps its own bytes.

Separators are ``From `` lines at the start of the file or after a blank line
(or, without the blank line, a full envelope line ``From addr Www Mmm dd
hh:mm:ss yyyy``). The empty line that writers put after every message (before
the next separator, and at the end of the file) belongs to the mbox, not to the
message, and is dropped.

Quoting: writers of mboxo and mboxrd files prefix body lines that start with
``From `` with ``>``, which changes the bytes a DKIM signature covers. leaklens
undoes one level (``>From `` -> ``From ``, ``>>From `` -> ``>From ``: the mboxrd
rule, which for mboxo files restores every escaped line). The mbox file itself
is stored untouched, and each message records how many lines were unquoted.
"""

from __future__ import annotations

import itertools
import mmap
import re
from collections.abc import Iterator

from ...model import Finding
from .base import ReadContext, ReaderSpec, Source

_ENVELOPE = re.compile(
    rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? +\S+ +\d+ +\d\d?:\d\d(?::\d\d)? ",
)
_QUOTED = re.compile(rb"(?m)^>(>*From )")


def is_separator(buf: bytes | mmap.mmap, start: int, end: int) -> bool:
    if start == 0:
        return True
    # Preceded by an empty line?
    if buf[max(0, start - 2) : start] == b"\n\n" or buf[max(0, start - 4) : start] == b"\r\n\r\n":
        return True
    return _ENVELOPE.match(bytes(buf[start : min(end, start + 200)])) is not None


_FROM_LINE = re.compile(rb"\nFrom ")


def _from_lines(buf: bytes | mmap.mmap) -> Iterator[tuple[int, int]]:
    """(start, end) of every line beginning with 'From ' (a literal regex: faster than find() here)."""
    starts = (m.start() + 1 for m in _FROM_LINE.finditer(buf))
    if buf[:5] == b"From ":
        starts = itertools.chain((0,), starts)
    for pos in starts:
        end = buf.find(b"\n", pos)
        end = len(buf) if end < 0 else end
        yield pos, end - 1 if end > pos and buf[end - 1 : end] == b"\r" else end


def split_offsets(buf: bytes | mmap.mmap) -> Iterator[tuple[int, int, int]]:
    """Yield (separator_start, message_start, message_end) for every message.

    One message at a time, as the separators are found: a mailbox of a million messages is
    never held as a list of them.
    """
    previous: tuple[int, int] | None = None  # the last separator found: (its start, its message's start)
    for start, end in _from_lines(buf):
        if is_separator(buf, start, end):
            line_end = end
            if buf[line_end : line_end + 1] == b"\r":
                line_end += 1
            if buf[line_end : line_end + 1] == b"\n":
                line_end += 1
            if previous is not None:
                yield _message(buf, *previous, start)
            previous = (start, line_end)
    if previous is not None:
        yield _message(buf, *previous, len(buf))


def _message(buf: bytes | mmap.mmap, sep_start: int, msg_start: int, end: int) -> tuple[int, int, int]:
    # Writers follow every message (the last one too) with an empty line.
    if end - msg_start >= 4 and buf[end - 4 : end] == b"\r\n\r\n":
        end -= 2
    elif end - msg_start >= 2 and buf[end - 2 : end] == b"\n\n":
        end -= 1
    return sep_start, msg_start, end


def unquote(message: bytes) -> tuple[bytes, int]:
    """Undo one level of ``>From `` quoting; returns the bytes and the lines changed."""
    if b">From " not in message:  # the common case, checked in C
        return message, 0
    return _QUOTED.subn(rb"\1", message)


def split_messages(data: bytes) -> list[bytes]:
    """All messages of an mbox held in memory, unquoted (used by tests and the demo)."""
    return [unquote(data[s:e])[0] for _, s, e in split_offsets(data)]


def read_mbox(src: Source, ctx: ReadContext) -> None:
    ctx.kind = "archive"
    if src.size == 0:
        return
    with open(src.path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        count = 0
        if buf[:5] != b"From ":
            first = buf.find(b"\nFrom ")
            ctx.finding(
                "mbox.leading_garbage",
                "warning",
                "Bytes before the first 'From ' line were not a message.",
                bytes=first + 1 if first >= 0 else len(buf),
            )
        released = 0
        for sep_start, start, end in split_offsets(buf):
            count += 1
            if start - released > RELEASE_BYTES:
                released = _release(buf, released, start)
            envelope = bytes(buf[sep_start:start]).rstrip(b"\r\n").decode("utf-8", "replace")
            ctx.add_slice(
                f"#{count}",
                start,
                end,
                transform="mboxrd",
                kind="email",
                hints={"mbox_envelope": envelope, "mbox_offset": start},
            )
    ctx.metadata["messages"] = count
    ctx.text_status = "none"


RELEASE_BYTES = 16 << 20


def _release(buf: mmap.mmap, start: int, upto: int) -> int:
    """Unmap the pages of ``buf`` between ``start`` and ``upto`` that the split has read.

    The file's pages a scan touched stay resident in this process (they count in its RSS) until
    the mapping is closed: a 4 GB mailbox would hold 4 GB. Dropping them costs nothing (they stay
    in the page cache; a later read of one faults it in again, unchanged). Returns where the
    released region ends (page-aligned).
    """
    upto -= upto % mmap.PAGESIZE
    if upto > start and hasattr(buf, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        buf.madvise(mmap.MADV_DONTNEED, start, upto - start)
    return max(start, upto)


def cut_message(data: bytes) -> tuple[bytes, list[Finding]]:
    """An mbox member's bytes as sent: one level of '>From ' quoting undone, and said so."""
    message, unquoted = unquote(data)
    if not unquoted:
        return message, []
    return message, [
        Finding(
            "ingest.mbox_unquoted",
            "info",
            "Lines escaped as '>From ' by the mbox format were restored to 'From ' (as originally sent).",
            {"lines": unquoted, "rule": "mboxrd: one leading '>' removed from '>*From ' lines"},
        )
    ]


READERS = [ReaderSpec("mbox", ("application/mbox",), read_mbox)]
