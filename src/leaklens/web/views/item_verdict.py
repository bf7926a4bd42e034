"""What the item page shows of the verdict inside the content (issue 16): the banner at the top of
each content panel, the headers marked signed or not, the body's tail beyond `l=`, the parts' and
copies' verdicts, the title's warning.

The judging is investigate/verdict_view's (shared with the report and the CLI); this module only
re-reads the message's bytes, as the page already does for its headers and bodies, to find where the
unsigned tail starts in the text the page shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...case import Case
from ...ingest import mime
from ...investigate import verdict_view
from ..data import MAX_PARSE_BYTES, _decoded_headers

# How much of an unsigned tail the page shows when it cannot place it in a text part.
MAX_TAIL_CHARS = 20_000


def _read_headers(case: Case, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Another email's decoded headers, in order (for what a signed copy's headers read)."""
    if not row["sha256"] or (row["size"] or 0) > MAX_PARSE_BYTES or not case.blobs.exists(row["sha256"]):
        return []
    return _decoded_headers(mime.parse_entity(case.blobs.read(row["sha256"])).headers)


def _nl(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_unsigned(texts: list[str], tail: bytes) -> tuple[list[tuple[str, str]], str]:
    """Each text part as (signed, unsigned), and the tail as text when no part ends with it.

    A text part whose decoded text ends with the tail's bytes (read as UTF-8, as a plain 7bit or
    8bit body is) is split where the tail starts; a tail in another part, after the last boundary or
    transfer-encoded cannot be placed in the text shown, and is given back to be shown apart."""
    wanted = _nl(tail.decode("utf-8", "replace")).rstrip()
    parts = [(_nl(t), "") for t in texts]
    if not wanted.strip():
        return parts, ""  # blank lines only: nothing a reader could be misled by (still said in the banner)
    for i in range(len(parts) - 1, -1, -1):
        text = parts[i][0].rstrip()
        if text.endswith(wanted):
            cut = len(text) - len(wanted)
            parts[i] = (parts[i][0][:cut], parts[i][0][cut:])
            return parts, ""
    return parts, wanted[:MAX_TAIL_CHARS]


def verdict_context(case: Case, detail: Mapping[str, Any]) -> dict[str, Any]:
    """What item.html draws of the verdict: {"banner", "title_warning", "headers", "texts",
    "unsigned_tail", "unsigned_bytes", "unsigned_blank", "summary"} (headers None for a non-email)."""
    row = detail["row"]
    findings = detail["findings"]
    out: dict[str, Any] = {
        "banner": verdict_view.banner(row, findings, detail["verification"], detail["recovered"]),
        "headers": None,
        "texts": [(t, "") for t in (detail["email"] or {}).get("text") or []],
        "unsigned_tail": "",
        "unsigned_bytes": 0,
        "unsigned_blank": False,
        "changed": {},
    }
    email = detail["email"]
    if row["kind"] == "email" and email and email["headers"]:
        signatures = verdict_view.signatures_of(case.db, row["id"])
        changed = verdict_view.changed_headers(
            case.db, row, email["headers"], findings, lambda other: _read_headers(case, other)
        )
        out["changed"] = changed
        out["headers"] = verdict_view.header_marks(email["headers"], signatures, changed)
        # The bytes are read again only when a signature has l= (a large email is read once otherwise).
        limited = any(sig.get("l") is not None for sig in signatures)
        raw = case.blobs.read(row["sha256"]) if limited and case.blobs.exists(row["sha256"]) else b""
        start = verdict_view.unsigned_body_from(raw, signatures) if raw else None
        if start is not None and start < len(raw):
            out["unsigned_bytes"] = len(raw) - start
            out["unsigned_blank"] = not raw[start:].strip()  # nothing to mark: said so, not promised
            out["texts"], out["unsigned_tail"] = split_unsigned(email["text"], raw[start:])
    out["title_warning"] = verdict_view.title_warning(row, findings, out["changed"])
    out["summary"] = verdict_view.parent_summary(
        verdict_view.part_counts(case.db, row["id"]) if detail["children_total"] else [],
        verdict_view.copy_verdicts(case.db, row),
        kind=row["kind"],
    )
    return out
