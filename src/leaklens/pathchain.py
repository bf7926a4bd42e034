"""Path chains: the string that locates an item, e.g. ``dump.zip!/inbox.mbox!/#42!/offer.pdf``.

Segments are joined with ``!/``. A segment is a file name, an archive member
name (which may itself contain ``/``), ``#N`` for the N-th message of a mailbox,
or an attachment's file name. Names come from attacker-made containers, so
encoding must be reversible for any string: ``%`` and a ``!`` that is followed
by ``/`` are percent-escaped, and control characters are escaped too so that a
path can always be printed on one line.
"""

from __future__ import annotations

import hashlib

SEP = "!/"


def _escape(segment: str) -> str:
    out = []
    n = len(segment)
    for i, ch in enumerate(segment):
        code = ord(ch)
        if ch == "%":
            out.append("%25")
        elif ch == "!" and i + 1 < n and segment[i + 1] == "/":
            out.append("%21")
        elif code < 0x20 or code == 0x7F:
            out.append(f"%{code:02X}")
        elif 0xD800 <= code <= 0xDFFF:
            # A lone surrogate (from surrogateescape-decoded bytes) cannot be stored as UTF-8.
            out.append(f"%u{code:04X}")
        else:
            out.append(ch)
    return "".join(out)


def _unescape(segment: str) -> str:
    out = []
    i = 0
    n = len(segment)
    while i < n:
        ch = segment[i]
        if ch == "%":
            if segment.startswith("%u", i) and i + 6 <= n:
                out.append(chr(int(segment[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(chr(int(segment[i + 1 : i + 3], 16)))
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def join(segments: list[str]) -> str:
    """Encode a list of segments into one path chain."""
    if not segments:
        raise ValueError("a path chain has at least one segment")
    return SEP.join(_escape(s) for s in segments)


def split(chain: str) -> list[str]:
    """Decode a path chain into its segments (inverse of :func:`join`)."""
    return [_unescape(s) for s in chain.split(SEP)]


def child(parent_chain: str, segment: str) -> str:
    return parent_chain + SEP + _escape(segment)


def item_id(chain: str) -> str:
    """A stable id: the same path in the same case always gets the same id."""
    return hashlib.sha256(chain.encode("utf-8")).hexdigest()[:20]
