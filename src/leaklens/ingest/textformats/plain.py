"""Plain text files (and CSV, Markdown...): decoded, never refused."""

from __future__ import annotations

from pathlib import Path

from ...model import Finding
from .charset import decode_text
from .support import Limits, Sink, read_capped, too_large_file


def extract(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    # At most 4 bytes per character in UTF-8: no need to read further than that.
    cap = min(limits.max_bytes, limits.max_chars * 4 + 4)
    with open(path, "rb") as f:
        data, more = read_capped(f, cap)
    if more:
        data = trim_partial_character(data)
    text, findings = decode_text(data)
    sink.add(text)
    if more:
        raise too_large_file(cap)
    return findings


def trim_partial_character(data: bytes) -> bytes:
    """Drop a UTF-8 sequence cut by the read limit, so the rest still decodes as UTF-8."""
    end = len(data)
    back = end
    while back > 0 and end - back < 4 and 0x80 <= data[back - 1] <= 0xBF:
        back -= 1
    if back > 0 and data[back - 1] >= 0xC0:
        return data[: back - 1]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") and end % 2:
        return data[:-1]
    return data
