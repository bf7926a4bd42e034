"""Pack the demo leak the way dumps are published: mboxes in a zip, documents in a 7z.

Every container is byte-reproducible: zip entries and 7z members carry fixed
times, and members are written in a fixed order.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import py7zr

_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)


def mbox_separator(envelope_sender: str, delivered: datetime) -> bytes:
    return f"From {envelope_sender} {delivered.astimezone(UTC).strftime('%a %b %d %H:%M:%S %Y')}\n".encode()


def mboxo_escape(message: bytes) -> bytes:
    """mboxo quoting: a body line starting with "From " gets a ">" (what mailbox.mbox does too)."""
    return _FROM_LINE.sub(b">From ", message)


def write_mbox(messages: Iterable[tuple[str, datetime, bytes]]) -> bytes:
    """An mboxo file from (envelope sender, delivery time, original message bytes).

    Each message ends with one LF; a blank line follows it before the next
    separator, as in the files mail clients write.
    """
    out = bytearray()
    for sender, delivered, raw in messages:
        if not raw.endswith(b"\n"):
            raw += b"\n"
        out += mbox_separator(sender, delivered) + mboxo_escape(raw) + b"\n"
    return bytes(out)


def write_zip(members: Sequence[tuple[str, bytes, datetime]]) -> bytes:
    """A deflated zip of (name, bytes, modification time) in the given order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in members:
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, so the mode bits above mean what they say
            zf.writestr(info, data)
    return buf.getvalue()


def write_7z(members: Sequence[tuple[str, bytes, datetime]]) -> bytes:
    """A 7z (LZMA2) of (name, bytes, modification time) in the given order."""
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as archive:
        for name, data, when in members:
            archive.writestr(data, name)
            # py7zr stamps members with the current time; pin them to the file's own.
            stamp = py7zr.helpers.ArchiveTimestamp.from_datetime(when.timestamp())
            entry = archive.header.files_info.files[-1]
            for key in ("creationtime", "lastwritetime", "lastaccesstime"):
                entry[key] = stamp
    return buf.getvalue()
