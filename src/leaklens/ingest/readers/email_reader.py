"""RFC 822 messages (.eml, mbox members, message/rfc822 parts, Maildir files).

The item's blob is the message exactly as found; this reader only reads it.
Body text goes to the search index; every other part becomes a child item
carrying its MIME metadata.
"""

from __future__ import annotations

import email.errors
import email.utils
from datetime import UTC, datetime
from email.header import Header, decode_header, make_header
from email.message import Message
from typing import Any

from ...model import Finding
from .. import mime
from ..text import decode_text, html_text
from ..textformats.links import MAX_LINKS, ips_in, links_and_forms, urls_in
from .base import ReadContext, ReaderSpec, Source

# Larger "emails" are stored as opaque files, with a finding. Parsing holds the message about four
# times (its bytes, the body and each part's slices, the decoded attachment): at 512 MB a worker
# grew to 1.9 GB; at this size it stays under 1 GB (bench/memory.py).
MAX_EMAIL_BYTES = 192 << 20


def decode_header_value(value: str | Header | None) -> tuple[str, list[Finding]]:
    """RFC 2047 words and raw 8-bit bytes decoded into text; never raises."""
    if value is None:
        return "", []
    findings: list[Finding] = []
    if isinstance(value, Header):
        # compat32 hands back raw 8-bit header bytes as a Header of charset unknown-8bit.
        value = "".join(
            chunk.encode("ascii", "surrogateescape").decode("ascii", "surrogateescape")
            if isinstance(chunk, str)
            else chunk.decode("ascii", "surrogateescape")
            for chunk, _ in decode_header(value)
        )
    if value.isascii():
        if "=?" not in value:  # nothing to decode: the common case
            return " ".join(value.split()), findings
    elif any(0xDC80 <= ord(c) <= 0xDCFF for c in value):
        # compat32 keeps raw 8-bit header bytes as surrogates; read them as UTF-8, else cp1252.
        raw = value.encode("ascii", "surrogateescape")
        text, _ = decode_text(raw, None)
        findings.append(
            Finding(
                "mime.8bit_header",
                "info",
                "A header contains raw 8-bit bytes (not RFC 2047 encoded).",
                {"raw": raw.decode("latin-1")[:200]},
            )
        )
        value = text
    try:
        decoded = str(make_header(decode_header(value)))
    except (LookupError, ValueError, UnicodeError, AssertionError, email.errors.CharsetError) as exc:
        # CharsetError: an encoded word naming a charset no codec could be (`=?u\xfff-8?q?...?=`).
        findings.append(
            Finding(
                "mime.bad_header_encoding",
                "info",
                "A header's encoded words could not be decoded; it is shown as written.",
                {"value": value[:200], "error": str(exc)[:200]},
            )
        )
        decoded = value
    return " ".join(decoded.split()), findings


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (LookupError, ValueError, UnicodeError, TypeError):
        name = None
    if name:
        name, _ = decode_header_value(str(name))
    return name or None


def _disposition(part: Message) -> str | None:
    return mime.header_str(part.get("Content-Disposition")).split(";")[0].strip().lower() or None


def read_email(src: Source, ctx: ReadContext) -> None:
    ctx.kind = "email"
    if src.size > MAX_EMAIL_BYTES:
        ctx.finding("ingest.too_large", "warning", "Message too large to parse; stored as is.", size=src.size)
        return
    raw = src.read_bytes()
    if b"\x00" in raw:
        ctx.finding(
            "mime.nul_bytes",
            "warning",
            "The message contains NUL bytes, which no mail system sends.",
            count=raw.count(b"\x00"),
        )
    walked = mime.walk(raw)
    ctx.findings.extend(walked.findings)
    headers = walked.root.headers
    for defect in headers.defects:
        ctx.finding("mime.defect", "info", "The message headers are malformed.", defect=type(defect).__name__)

    fields: dict[str, Any] = {}
    for key, header in (("from", "From"), ("to", "To"), ("cc", "Cc"), ("subject", "Subject")):
        values = headers.get_all(header) or []
        texts = []
        for v in values:
            text, fnd = decode_header_value(v)
            texts.append(text)
            ctx.findings.extend(fnd)
        fields[key] = ", ".join(texts)
    date_raw = mime.header_str(headers.get("Date")) or None  # a Header object when it holds 8-bit bytes
    date = parse_date(date_raw)
    if date_raw and date is None:
        ctx.finding("mime.bad_date", "info", "The Date header cannot be read as a date.", value=date_raw[:200])
    fields["date"] = date.isoformat() if date else None
    for key, header in (
        ("message_id", "Message-ID"),
        ("in_reply_to", "In-Reply-To"),
        ("references", "References"),
    ):
        v = headers.get(header)
        fields[key] = " ".join(str(v).split()) if v else None
    ctx.email = fields

    texts: list[str] = []
    html_texts: list[str] = []
    names: list[str] = []
    n_attachment = 0
    for leaf in walked.leaves:
        part = leaf.headers
        # Each header is parsed once per part: these lookups were a tenth of ingest time.
        ctype = part.get_content_type()
        filename = _filename(part)
        disposition = _disposition(part)
        if ctype == "message/rfc822":
            payload, fnd = mime.decode_payload(leaf)
            ctx.findings.extend(fnd)
            n_attachment += 1
            name = filename or f"part-{leaf.number or 1}.eml"
            ctx.add_child(name, data=payload, hints=_hints(part, leaf, ctype, filename, disposition), kind="email")
            names.append(name)
            continue
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            payload, fnd = mime.decode_payload(leaf)
            ctx.findings.extend(fnd)
            text, fnd = decode_text(payload, part.get_content_charset())
            ctx.findings.extend(fnd)
            (html_texts if ctype == "text/html" else texts).append(text)
            continue
        payload, fnd = mime.decode_payload(leaf)
        ctx.findings.extend(fnd)  # a damaged encoding is a fact about the message's structure
        n_attachment += 1
        name = filename or f"part-{leaf.number or 1}"
        names.append(name)
        ctx.add_child(name, data=payload, hints=_hints(part, leaf, ctype, filename, disposition), kind="attachment")
    # Prefer the plain-text alternative; fall back to the HTML's visible text.
    body = "\n\n".join(t for t in texts if t.strip())
    if not body and html_texts:
        body = "\n\n".join(html_text(h) for h in html_texts)
    # Where the body points, which visible text drops (intel/ reads them: lookalikes, link text, forms).
    links: list[dict[str, Any]] = []
    forms: list[dict[str, Any]] = []
    for h in html_texts:
        found, fs = links_and_forms(h)
        links.extend(found)
        forms.extend(fs)
    seen = {x["href"] for x in links}
    links.extend({"href": u, "text": None} for t in texts for u in urls_in(t) if u not in seen)
    if links:
        ctx.metadata["links"] = links[:MAX_LINKS]
    if forms:
        ctx.metadata["forms"] = forms
    ips = ips_in(body)
    if ips:
        ctx.metadata["ips"] = ips
    senders = {}
    for key, header in (("reply_to", "Reply-To"), ("sender", "Sender"), ("return_path", "Return-Path")):
        v = headers.get(header)
        if v:
            senders[key] = " ".join(str(v).split())[:500]
    if senders:
        ctx.metadata["senders"] = senders
    ctx.text = body[: ctx.limits.max_text_chars]
    ctx.text_status = "extracted" if body.strip() else "empty"
    ctx.metadata.update(
        {
            "attachments": n_attachment,
            "attachment_names": names[:200],
            "has_html": bool(html_texts),
            "header_count": len(headers),
        }
    )


def _hints(
    part: Message, leaf: mime.Entity, ctype: str, filename: str | None, disposition: str | None
) -> dict[str, Any]:
    cid = part.get("Content-ID")
    return {
        "content_type": ctype,
        "filename": filename,
        "content_id": " ".join(str(cid).split()) if cid else None,
        "disposition": disposition,
        "mime_part": leaf.number or "1",
        "transfer_encoding": mime.header_str(part.get("Content-Transfer-Encoding")).strip().lower() or None,
    }


READERS = [ReaderSpec("email", ("message/rfc822",), read_email)]
