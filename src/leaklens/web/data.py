"""What the workbench pages and API show of a case: the dashboard (the shared figures plus the
case's tags), one item in full with its email rendered from the original bytes, the correspondents.

The reads are investigate/'s (shared with the HTML report and the CLI); this module adds what only
a browser needs: headers decoded, bodies sanitised, inline images made data: URIs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from ..case import Case
from ..ingest import mime
from ..ingest.readers.email_reader import decode_header_value
from ..ingest.textformats.charset import decode_text
from ..investigate import figures
from ..investigate.correspondents import correspondents as _correspondents
from ..investigate.entities import item_entities, item_languages
from ..investigate.items import (
    ITEM_ID,
    as_findings,
    brief,
    copies,
    findings_with_stage,
    item_dict,
    item_text,
    related_items,
)
from ..investigate.scans import scan_pages
from ..investigate.threads import thread
from ..verify.recover import explanation
from .sanitize import sanitise_html

MAX_PARSE_BYTES = 64 << 20  # larger emails are offered as a download, not rendered
MAX_BODY_CHARS = 400_000
MAX_INLINE_IMAGE = 2 << 20
MAX_CHILDREN = 500  # an archive of 10,000 files lists its first 500 here

Row = Mapping[str, Any]


def valid_id(item_id: str) -> bool:
    return bool(ITEM_ID.match(item_id or ""))


def known_item(case: Case, item_id: str) -> Row | None:
    """The item's row; None for an unknown or malformed id (ids come from URLs anyone can type)."""
    return case.db.item(item_id) if valid_id(item_id) else None


def dashboard(case: Case) -> dict[str, Any]:
    """The dashboard's figures and the case's tags (a copy: callers may change it)."""
    return {**figures.dashboard(case), "tags": case.db.all_tags()}


def correspondents(
    case: Case,
    *,
    after: str | None = None,
    before: str | None = None,
    verdict: str | None = None,
    domain: str | None = None,
    top: int = 40,
) -> dict[str, Any]:
    return _correspondents(case.db, after=after, before=before, verdict=verdict, domain=domain, top=top)


# -- one item -------------------------------------------------------------------------------------
def _decoded_headers(headers: Any) -> list[tuple[str, str]]:
    out = []
    for name, value in headers.items():
        text, _ = decode_header_value(value)
        out.append((str(name), text))
    return out


def _is_body(leaf: mime.Entity) -> bool:
    part = leaf.headers
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    try:
        has_name = bool(part.get_filename())
    except (LookupError, ValueError, UnicodeError, TypeError):
        has_name = False
    return part.get_content_type() in ("text/plain", "text/html") and disposition != "attachment" and not has_name


def render_email(case: Case, row: Row, children: list[Row]) -> dict[str, Any]:
    """Headers, text bodies and the sanitised HTML body, re-read from the original bytes."""
    out: dict[str, Any] = {"headers": [], "text": [], "html": None, "too_large": False}
    if not row["sha256"] or not case.blobs.exists(row["sha256"]):
        return out
    if (row["size"] or 0) > MAX_PARSE_BYTES:
        out["too_large"] = True
        return out
    raw = case.blobs.read(row["sha256"])
    root = mime.parse_entity(raw)
    out["headers"] = _decoded_headers(root.headers)
    html_parts: list[str] = []
    for leaf in mime.walk(raw).leaves:
        if not _is_body(leaf):
            continue
        payload, _ = mime.decode_payload(leaf)
        text, _ = decode_text(payload, leaf.headers.get_content_charset())
        if leaf.content_type == "text/html":
            html_parts.append(text)
        elif text.strip():
            out["text"].append(text[:MAX_BODY_CHARS])
    if html_parts:
        by_cid = _cid_map(case, children)
        out["html"] = "\n<hr>\n".join(sanitise_html(h[: MAX_BODY_CHARS * 4], cid_resolver=by_cid) for h in html_parts)
    return out


def _cid_map(case: Case, children: list[Row]):
    """Inline images (cid:) become data: URIs of the attachment's own bytes, so nothing is fetched."""
    images: dict[str, Row] = {}
    for c in children:
        try:
            hints = json.loads(c["hints"]) if c["hints"] else {}
        except ValueError:
            hints = {}
        cid = (hints.get("content_id") or "").strip().strip("<>")
        ctype = hints.get("content_type") or c["mime"] or ""
        if cid and ctype.startswith("image/") and c["sha256"]:
            images[cid] = c

    def resolve(cid: str) -> str | None:
        c = images.get(cid.strip().strip("<>"))
        if c is None or (c["size"] or 0) > MAX_INLINE_IMAGE or not case.blobs.exists(c["sha256"]):
            return None
        hints = json.loads(c["hints"]) if c["hints"] else {}
        ctype = (hints.get("content_type") or c["mime"] or "image/png").lower()
        return f"data:{ctype};base64," + base64.b64encode(case.blobs.read(c["sha256"])).decode()

    return resolve


def item_detail(case: Case, item_id: str, *, render: bool = True) -> dict[str, Any] | None:
    db = case.db
    row = db.item(item_id)
    if row is None:
        return None
    findings = findings_with_stage(db, item_id)
    judged = as_findings(findings)
    base = item_dict(row, judged)
    children = db.children(item_id)
    container = db.item(row["parent"]) if row["parent"] else None
    meta = json.loads(row["meta"]) if row["meta"] else {}
    explained = explanation(judged) if row["verdict"] == "altered" else None
    if explained is not None:
        # The finding that explains the change leads: it says what the critical mismatch means here.
        findings.sort(key=lambda f: f["code"] != "dkim.original_recovered")
    detail: dict[str, Any] = {
        "item": base,
        "row": dict(row),
        "recovered": explained,
        "findings": findings,
        "verification": db.verification_of(item_id),
        "children": [
            {**brief(c), "hints": json.loads(c["hints"]) if c["hints"] else {}} for c in children[:MAX_CHILDREN]
        ],
        "children_total": len(children),
        # What the parts are, stated at the top: a container is read in the light of what it holds.
        "children_verdicts": _verdict_counts(children),
        "container": brief(container) if container is not None else None,
        "thread": thread(db, row),
        "duplicates": copies(db, row),
        "related": related_items(db, findings, item_id),
        "document": meta.get("document") if isinstance(meta, dict) else None,
        "meta": {k: v for k, v in meta.items() if k != "document"} if isinstance(meta, dict) else {},
        "tags": db.tags_for(item_id),
        "notes": db.notes_for(item_id),
        "entities": item_entities(db, item_id),
        "languages": item_languages(db, item_id),
        "scan": scan_pages(db, row),
        "email": None,
        "text": "",
    }
    if render:
        if row["kind"] == "email" and row["state"] == "stored":
            detail["email"] = render_email(case, row, children)
        if not (detail["email"] and detail["email"]["text"]):
            detail["text"] = item_text(db, row)
    return detail


_VERDICT_ORDER = ("altered", "suspicious", "error", "verified", "unverified")


def _verdict_counts(children: list[Row]) -> list[tuple[str, int]]:
    """(verdict, how many direct parts have it), the worst first; settled parts only."""
    counts: dict[str, int] = {}
    for c in children:
        if c["state"] != "pending":
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    return [(v, counts[v]) for v in _VERDICT_ORDER if counts.get(v)]
