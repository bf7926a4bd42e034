"""A raw MIME walker that keeps the original bytes of every entity.

``email`` parses headers well but forgets where each part's bytes were; an
embedded ``message/rfc822`` re-serialised by the library is no longer the
message that was signed. So the structure is walked here, on the raw bytes,
and the library is used only to read each entity's headers and decode leaf
payloads.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from ..model import Finding

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_PARSER = BytesHeaderParser(policy=compat32)
MAX_PARTS = 10_000
MAX_DEPTH = 50


@dataclass
class Entity:
    headers: Message
    body: bytes  # raw body bytes, transfer-encoded as in the message
    number: str  # "1", "1.2", ... like IMAP part numbers

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    @property
    def is_multipart(self) -> bool:
        return self.headers.get_content_maintype() == "multipart"


@dataclass
class Walk:
    leaves: list[Entity] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def split_headers(raw: bytes) -> tuple[bytes, bytes]:
    """Split an entity at its first blank line. No blank line: all headers, empty body."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", raw[2:] if raw.startswith(b"\r\n") else raw[1:]
    m = _HEADER_END.search(raw)
    if not m:
        return raw, b""
    return raw[: m.start()], raw[m.end() :]


def parse_entity(raw: bytes, number: str = "") -> Entity:
    head, body = split_headers(raw)
    return Entity(_PARSER.parsebytes(head + b"\n\n"), body, number)


def split_multipart(body: bytes, boundary: str) -> tuple[list[bytes], bool]:
    """Split a multipart body into raw parts; returns (parts, closed)."""
    b = re.escape(boundary.encode("utf-8", "surrogateescape"))
    delim = re.compile(rb"(?:\A|\r?\n)--" + b + rb"(--)?[ \t]*(?=\r?\n|\Z)")
    parts: list[bytes] = []
    start = None
    closed = False
    for m in delim.finditer(body):
        if start is not None:
            parts.append(body[start : m.start()])
        if m.group(1):
            closed = True
            break
        # The part starts after the delimiter line's line break.
        end = m.end()
        if body.startswith(b"\r\n", end):
            end += 2
        elif body.startswith(b"\n", end):
            end += 1
        start = end
    else:
        if start is not None:
            parts.append(body[start:])
    return parts, closed


def walk(raw: bytes) -> Walk:
    """Every leaf entity of a message, each with its raw body; defects as findings."""
    result = Walk()
    root = parse_entity(raw, "")
    _walk(root, result, 0)
    return result


def _walk(entity: Entity, result: Walk, depth: int) -> None:
    if not entity.is_multipart:
        result.leaves.append(entity)
        return
    boundary = entity.headers.get_boundary()
    where = entity.number or "message"
    if not boundary:
        result.findings.append(
            Finding(
                "mime.missing_boundary",
                "warning",
                "A multipart part declares no boundary; its content was read as one block of text.",
                {"part": where},
            )
        )
        result.leaves.append(Entity(entity.headers, entity.body, entity.number))
        return
    if depth >= MAX_DEPTH:
        result.findings.append(
            Finding(
                "mime.too_deep",
                "warning",
                "MIME nesting too deep; inner parts not read.",
                {"part": where, "depth": depth},
            )
        )
        return
    parts, closed = split_multipart(entity.body, boundary)
    if not parts:
        result.findings.append(
            Finding(
                "mime.boundary_not_found",
                "warning",
                "The multipart boundary never appears in the body; its content was read as one block of text.",
                {"part": where, "boundary": boundary},
            )
        )
        result.leaves.append(Entity(entity.headers, entity.body, entity.number))
        return
    if not closed:
        result.findings.append(
            Finding(
                "mime.unterminated",
                "info",
                "A multipart body has no closing boundary (the message may be truncated).",
                {"part": where},
            )
        )
    for i, part in enumerate(parts, 1):
        if len(result.leaves) >= MAX_PARTS:
            result.findings.append(
                Finding(
                    "mime.too_many_parts",
                    "warning",
                    "Too many MIME parts; the rest were not read.",
                    {"limit": MAX_PARTS},
                )
            )
            return
        number = f"{entity.number}.{i}" if entity.number else str(i)
        _walk(parse_entity(part, number), result, depth + 1)


_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")


def decode_payload(entity: Entity) -> tuple[bytes, list[Finding]]:
    """Undo the Content-Transfer-Encoding, tolerating the damage real dumps carry."""
    cte = (entity.headers.get("Content-Transfer-Encoding") or "").strip().lower()
    body = entity.body
    findings: list[Finding] = []
    if cte == "base64":
        cleaned = _B64_JUNK.sub(b"", body)
        data_part = cleaned.rstrip(b"=")
        try:
            return base64.b64decode(cleaned, validate=True), findings
        except (binascii.Error, ValueError):
            pass
        # Repair: drop stray characters and fix the padding, then say so.
        usable = data_part[: len(data_part) - len(data_part) % 4] if len(data_part) % 4 == 1 else data_part
        padded = usable + b"=" * (-len(usable) % 4)
        try:
            decoded = base64.b64decode(padded)
        except (binascii.Error, ValueError):
            decoded = b""
        findings.append(
            Finding(
                "mime.bad_base64",
                "warning",
                "A base64 part is damaged; what could be decoded was kept.",
                {"part": entity.number or "body", "encoded_bytes": len(body), "decoded_bytes": len(decoded)},
            )
        )
        return decoded, findings
    if cte == "quoted-printable":
        return quopri.decodestring(body), findings
    if cte and cte not in ("7bit", "8bit", "binary"):
        findings.append(
            Finding(
                "mime.unknown_encoding",
                "info",
                "Unknown Content-Transfer-Encoding; the part was kept as it is.",
                {"part": entity.number or "body", "encoding": cte},
            )
        )
    return body, findings
