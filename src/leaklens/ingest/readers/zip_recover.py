"""Recover members of a zip whose central directory is missing (a truncated download).

The central directory sits at the end of a zip, so a cut-off file loses it;
each member's local header and data are still there, in order.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from ...model import Finding
from .archive_names import clean_member_name, unsafe_name_findings
from .base import BudgetExceeded, ReadContext

_LOCAL = b"PK\x03\x04"
_HEADER = struct.Struct("<4sHHHHHIIIHH")


def scan_local_headers(path: Path, ctx: ReadContext) -> int:
    data = path.read_bytes() if path.stat().st_size < (2 << 30) else b""
    pos = data.find(_LOCAL)
    recovered = 0
    while 0 <= pos and pos + _HEADER.size <= len(data):
        (_, _ver, flags, method, _t, _d, _crc, csize, usize, nlen, xlen) = _HEADER.unpack_from(data, pos)
        name_start = pos + _HEADER.size
        raw_name = data[name_start : name_start + nlen]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        start = name_start + nlen + xlen
        nxt = data.find(_LOCAL, start + 1)
        if name.endswith("/"):
            pos = nxt
            continue
        label = clean_member_name(name)
        findings = unsafe_name_findings(name)
        if flags & 0x1:
            ctx.skip_child(
                label,
                "encrypted member",
                findings=[
                    *findings,
                    Finding(
                        "ingest.encrypted",
                        "warning",
                        "This member is encrypted; its content cannot be read.",
                        {"member": name},
                    ),
                ],
            )
            pos = nxt
            continue
        # With a data descriptor (flag 8) the sizes are unknown here: read up to the next header.
        end = start + csize if not flags & 0x8 and csize else (nxt if nxt > 0 else len(data))
        chunk = data[start:end]
        try:
            if method == 0:
                payload = chunk
                complete = not flags & 0x8 and len(chunk) == csize
            elif method == 8:
                d = zlib.decompressobj(-15)
                payload = d.decompress(chunk, ctx.limits.max_item_bytes)
                complete = d.eof
            else:
                ctx.fail_child(label, f"compression method {method} cannot be recovered", findings=findings)
                pos = nxt
                continue
        except zlib.error as exc:
            ctx.fail_child(label, f"damaged data: {exc}", findings=findings)
            pos = nxt
            continue
        if not complete:
            findings = [
                *findings,
                Finding(
                    "ingest.truncated",
                    "warning",
                    "This member was cut off; only its start was recovered.",
                    {"member": name, "recovered_bytes": len(payload)},
                ),
            ]
        try:
            ctx.add_child(
                label,
                stream=io.BytesIO(payload),
                compressed_size=max(len(chunk), 1),
                declared_size=usize or None,
                findings=findings,
                hints={"member_name": name},
            )
            recovered += 1
        except BudgetExceeded:
            raise
        pos = nxt
    return recovered
