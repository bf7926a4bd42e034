"""Write RFC 5322 / MIME messages byte by byte, the way a mail client would.

Written by hand rather than with `email.generator` because the demo needs
exact control of every byte (DKIM signs them; random MIME boundaries would
break determinism) and wants the variety real dumps have: 7bit, quoted-
printable and base64 bodies, utf-8 and iso-8859-1, RFC 2047 subjects and
RFC 2231 file names. Lines end with LF, as they do in mbox files.
"""

from __future__ import annotations

import base64
import html
import quopri
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr

from .people import Person


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Body:
    text: str
    html: bool = False  # add a text/html alternative
    encoding: str = "auto"  # "auto", "7bit", "quoted-printable", "base64"
    charset: str = "utf-8"  # used when the text is not ASCII
    attachments: list[Attachment] = field(default_factory=list)


def address(person: Person) -> str:
    return formataddr((person.name, person.address), charset="utf-8")


def address_list(people: Sequence[Person]) -> str:
    return ",\n ".join(address(p) for p in people)


def encode_subject(subject: str) -> str:
    if subject.isascii():
        return subject
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\n")


def header_block(headers: Sequence[tuple[str, str]]) -> bytes:
    return "".join(f"{name}: {value}\n" for name, value in headers).encode("ascii")


def date_header(when: datetime) -> str:
    return format_datetime(when)


def _encode_text(text: str, encoding: str, charset: str) -> tuple[str, str, bytes]:
    """Return (charset, transfer-encoding, encoded bytes) for a text part."""
    if text.isascii() and encoding in ("auto", "7bit"):
        return "us-ascii", "7bit", text.encode("ascii")
    raw = text.encode(charset)
    if encoding == "base64":
        return charset, "base64", base64.encodebytes(raw)
    return charset, "quoted-printable", quopri.encodestring(raw)


def _text_part(text: str, subtype: str, encoding: str, charset: str) -> bytes:
    cs, cte, payload = _encode_text(text, encoding, charset)
    if not payload.endswith(b"\n"):
        payload += b"\n"
    head = f"Content-Type: text/{subtype}; charset=\"{cs}\"\nContent-Transfer-Encoding: {cte}\n\n"
    return head.encode("ascii") + payload


_URL = re.compile(r"https?://[^\s<>\"]+")


def _linkify(escaped: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def to_html(text: str) -> str:
    """A plausible HTML alternative of a plain-text body (quotes as blockquotes)."""
    out: list[str] = ["<html><head><meta charset=\"utf-8\"></head><body>"]
    quoted: list[str] = []

    def flush_quote() -> None:
        if quoted:
            out.append("<blockquote>" + "<br>\n".join(html.escape(q) for q in quoted) + "</blockquote>")
            quoted.clear()

    for para in text.split("\n\n"):
        lines = para.split("\n")
        if all(line.startswith(">") for line in lines):
            quoted.extend(line.lstrip("> ") for line in lines)
            continue
        flush_quote()
        out.append("<p>" + "<br>\n".join(_linkify(html.escape(line)) for line in lines) + "</p>")
    flush_quote()
    out.append("</body></html>")
    return "\n".join(out)


def _attachment_part(att: Attachment) -> bytes:
    if att.filename.isascii():
        name_params = f'name="{att.filename}"', f'filename="{att.filename}"'
    else:
        encoded = encode_rfc2231(att.filename, "utf-8")
        name_params = f"name*={encoded}", f"filename*={encoded}"
    head = (
        f"Content-Type: {att.content_type};\n {name_params[0]}\n"
        f"Content-Disposition: attachment;\n {name_params[1]}\n"
        "Content-Transfer-Encoding: base64\n\n"
    )
    return head.encode("ascii") + base64.encodebytes(att.data)


def _alternative(body: Body, boundary: str) -> bytes:
    return b"".join(
        [
            f"--{boundary}\n".encode(),
            _text_part(body.text, "plain", body.encoding, body.charset),
            f"\n--{boundary}\n".encode(),
            # HTML carries non-ASCII as utf-8 quoted-printable, like most clients
            _text_part(to_html(body.text), "html", "quoted-printable", "utf-8"),
            f"\n--{boundary}--\n".encode(),
        ]
    )


def body_bytes(body: Body, boundary_stem: str) -> tuple[list[tuple[str, str]], bytes]:
    """Return (MIME headers of the message, body bytes)."""
    alt_boundary = f"----=_Alt_{boundary_stem}"
    if body.html:
        alt_type = f'multipart/alternative;\n boundary="{alt_boundary}"'
        first_part = f"Content-Type: {alt_type}\n\n".encode() + _alternative(body, alt_boundary)
    else:
        first_part = _text_part(body.text, "plain", body.encoding, body.charset)

    if not body.attachments:
        if body.html:
            return [("Content-Type", alt_type)], _alternative(body, alt_boundary)
        head, _, payload = first_part.partition(b"\n\n")
        headers = [tuple(line.split(": ", 1)) for line in head.decode("ascii").split("\n")]
        return [(h[0], h[1]) for h in headers], payload

    outer = f"----=_Mixed_{boundary_stem}"
    pieces = [b"This is a multi-part message in MIME format.\n\n", f"--{outer}\n".encode(), first_part]
    for att in body.attachments:
        pieces.append(f"\n--{outer}\n".encode())
        pieces.append(_attachment_part(att))
    pieces.append(f"\n--{outer}--\n".encode())
    return [("Content-Type", f'multipart/mixed;\n boundary="{outer}"')], b"".join(pieces)


def compose(headers: Sequence[tuple[str, str]], body: Body, boundary_stem: str) -> bytes:
    """A complete message: `headers` (already encoded), MIME headers, a blank line, the body."""
    mime_headers, payload = body_bytes(body, boundary_stem)
    return header_block([*headers, ("MIME-Version", "1.0"), *mime_headers]) + b"\n" + payload
