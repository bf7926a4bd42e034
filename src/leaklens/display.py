"""How the workbench, the HTML report and the CLI write a date, an evidence record and a
document's metadata for a reader: one place, so every page says the same thing the same way.

Dates: the store keeps every date as ISO 8601 in UTC (ingest converts a header's offset), but
pages printed `2017-05-03T14:02:00+00:00`, `2017-05-03 14:02` or `2017-05-03`, some with a
zone and some without, so a reader could not tell UTC from the sender's local time. `when`
writes every one as UTC, saying so. A value quoted from the item's own header (the Date field
in the headers table) is the leak's text and keeps its own offset: it is not passed here.

Evidence: DKIM findings keep `signature` as the 0-based position of the signature in the
header block. That value is stored in every case and read by the store's queries and by
verify/recover.py, so it is not renumbered; the reader sees the number the message uses
("#1" for the first), through `evidence_shown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

# Evidence keys holding a 0-based position that finding messages count from 1 ("signature #1").
ORDINAL_KEYS = frozenset({"signature"})

# Document metadata fields holding a date (verify/docmeta/common.py's DATE_FIELDS).
DOCUMENT_DATES = ("created", "modified", "last_printed")


def _parse(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def when(value: Any, precision: str = "minute") -> str:
    """`value` (an ISO 8601 text or a datetime) written in UTC with the zone named.

    `precision`: "minute" (2017-05-03 14:02 UTC), "second" (2017-05-03 14:02:09 UTC) or "day"
    (2017-05-03 UTC: the day in UTC, which can differ from the sender's day). A time without a
    zone is taken as UTC, as ingest takes it. Text that is not a date is returned as it is, so a
    damaged value is still shown rather than dropped.
    """
    parsed = _parse(value)
    if parsed is None:
        return "" if value is None else str(value)
    if not isinstance(parsed, datetime):
        return f"{parsed.isoformat()} UTC"
    moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    pattern = {"day": "%Y-%m-%d", "second": "%Y-%m-%d %H:%M:%S"}.get(precision, "%Y-%m-%d %H:%M")
    return f"{moment.strftime(pattern)} UTC"


def when_quoted(value: datetime) -> str:
    """A time read from the item's own header, for a finding message: in UTC like every other time,
    with the offset the header was written in when it is not UTC ("2017-05-02 07:00:00 UTC, written
    09:00:00 +02:00"), so two times in one sentence compare at a glance and the header still reads
    as the reader will find it."""
    shown = when(value, "second")
    offset = value.utcoffset() if value.tzinfo is not None else None
    if not offset:
        return shown
    written = value.isoformat(timespec="seconds")
    return f"{shown}, written {written[11:19]} {written[19:]}"


def evidence_shown(evidence: Any) -> Any:
    """A finding's evidence as a reader sees it: positions counted from 1, as in the message."""
    if not isinstance(evidence, Mapping):
        return evidence
    out = dict(evidence)
    for key in ORDINAL_KEYS & out.keys():
        value = out[key]
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = f"#{value + 1}"
    return out


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple | dict) and not _filled(value))


def _filled(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _filled(v) for k, v in value.items() if not _empty(v)}
    if isinstance(value, list | tuple):
        return [_filled(v) for v in value if not _empty(v)]
    return value


def document_fields(document: Any) -> Any:
    """A document's metadata record (DocMetadata.to_dict) as its panel shows it.

    Empty fields are left out: a list of "none" hid the few fields a file does carry. The record's
    own `findings` are left out too: they are what extraction noticed, already among the item's
    findings (verify/case_docs.py adds them), and an empty list there read "findings: none" on
    items whose Findings panel lists several. Dates are written in UTC; one the file gave without
    a zone says so.
    """
    if not isinstance(document, Mapping):
        return document
    raw = document.get("raw")
    naive = set(raw.get("naive_dates") or []) if isinstance(raw, Mapping) else set()
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "findings" or _empty(value):
            continue
        if key in DOCUMENT_DATES and isinstance(value, str):
            value = when(value, "second") + (" (no zone in the file, taken as UTC)" if key in naive else "")
        out[key] = _filled(value)
    return out


def header_text(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded, for a finding message to name."""
    # Imported here: the CLI imports this module at start, and the mail reader is not light.
    from .ingest.readers.email_reader import decode_header_value

    return decode_header_value(value)[0]


def quoted_header(value: str, limit: int = 200) -> str:
    """A header value as a finding message quotes it: RFC 2047 encoded words decoded, then quoted.

    A message reading `'=?utf-8?q?Facture_r=C3=A9gl=C3=A9e?='` told a reader nothing; the
    decoded text is what their mail program showed. The evidence keeps the raw value, so nothing
    is lost. Quoted as Python's repr does, so a control character reads as an escape (`\\x00`)
    in the plain-text message, and the page's leak markers show the rest.
    """
    return repr(header_text(value)[:limit])
