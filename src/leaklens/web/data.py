"""What the workbench pages and API show, read from a case: dashboard figures, one item in full,
the correspondents graph. Plain dicts, so pages, API and the HTML report share them.
"""

from __future__ import annotations

import base64
import copy
import email.utils
import functools
import json
import re
import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

from ..case import Case
from ..ingest import mime
from ..ingest.readers.email_reader import decode_header_value
from ..ingest.textformats.charset import decode_text
from ..model import Finding
from ..report.items import item_dict, summary
from ..store import annotations
from ..verify.recover import explanation
from .sanitize import sanitise_html

ITEM_ID = re.compile(r"^[0-9a-f]{20}$")
MAX_PARSE_BYTES = 64 << 20  # larger emails are offered as a download, not rendered
MAX_BODY_CHARS = 400_000
MAX_INLINE_IMAGE = 2 << 20
THREAD_LIMIT = 300
MAX_CHILDREN = 500  # an archive of 10,000 files lists its first 500 here


def valid_id(item_id: str) -> bool:
    return bool(ITEM_ID.match(item_id or ""))


def known_item(case: Case, item_id: str) -> sqlite3.Row | None:
    """The item's row; None for an unknown or malformed id (ids come from URLs anyone can type)."""
    return case.db.item(item_id) if valid_id(item_id) else None


# -- dashboard ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=65536)
def _addresses(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(a.lower() for _, a in email.utils.getaddresses([value]) if "@" in a)


def address_of(value: str | None) -> str | None:
    addrs = _addresses(value)
    return addrs[0] if addrs else None


_memo: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_memo_lock = threading.Lock()


def _remember(case: Case, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    """Case-wide figures (a second at 100,000 items) are kept until the case changes."""
    full = (*key, case.db.search_fingerprint())
    with _memo_lock:
        if full in _memo:
            _memo.move_to_end(full)
            return _memo[full]
    value = compute()
    with _memo_lock:
        _memo[full] = value
        while len(_memo) > 32:
            _memo.popitem(last=False)
    return value


def dashboard(case: Case) -> dict[str, Any]:
    """The dashboard's figures (a copy: callers may change it)."""
    return copy.deepcopy(_remember(case, ("dashboard",), lambda: _dashboard(case)))


def _dashboard(case: Case) -> dict[str, Any]:
    conn = case.db.conn
    s = summary(case)
    emails = conn.execute("SELECT COUNT(*) FROM items WHERE kind='email' AND state='stored'").fetchone()[0]
    verified_emails = conn.execute(
        "SELECT COUNT(*) FROM items WHERE kind='email' AND state='stored' AND verdict='verified'"
    ).fetchone()[0]
    dkim_checked = s.get("verification", {}).get("checked", 0)
    timeline = conn.execute(
        "SELECT SUBSTR(date, 1, 10) AS d, verdict, COUNT(*) FROM items WHERE kind='email' AND state='stored'"
        " AND date IS NOT NULL GROUP BY d, verdict"
    ).fetchall()
    senders: Counter[str] = Counter()
    for value, n in conn.execute(
        "SELECT email_from, COUNT(*) FROM items WHERE kind='email' AND state='stored'"
        " AND email_from IS NOT NULL AND email_from != '' GROUP BY email_from"
    ):
        addr = address_of(value) or value
        senders[addr] += n
    signers = [
        {"domain": r[0], "emails": r[1]}
        for r in conn.execute(
            "SELECT LOWER(json_extract(f.evidence, '$.d')) AS d, COUNT(DISTINCT f.item_id) FROM findings f"
            " WHERE f.code = 'dkim.pass' AND d IS NOT NULL GROUP BY d ORDER BY 2 DESC, d LIMIT 10"
        )
    ]
    duplicated = [
        dict(r)
        for r in conn.execute(
            "SELECT sha256, COUNT(*) AS copies, MIN(name) AS name, MIN(id) AS id, MAX(size) AS size"
            " FROM items"
            " WHERE parent IS NOT NULL AND kind != 'email' AND state = 'stored' AND sha256 IS NOT NULL"
            " GROUP BY sha256 HAVING COUNT(*) > 1 ORDER BY copies DESC, name LIMIT 10"
        )
    ]
    # The latest warning of each kind, with how many items carry it: a list of 40 identical
    # "key unavailable" lines would hide the one altered email.
    latest = []
    for code, severity, items, last in conn.execute(
        "SELECT code, severity, COUNT(DISTINCT item_id), MAX(rowid) AS last FROM findings"
        " WHERE severity IN ('warning', 'critical') GROUP BY code, severity ORDER BY last DESC LIMIT 10"
    ).fetchall():
        r = conn.execute(
            "SELECT f.item_id, f.message, i.name, i.subject, i.verdict, i.kind FROM findings f"
            " JOIN items i ON i.id = f.item_id WHERE f.rowid = ?",
            (last,),
        ).fetchone()
        if r is not None:
            entry = {**dict(r), "code": code, "severity": severity, "items": items}
            if r["verdict"] == "altered":
                entry["recovered"] = recovered(conn, r["item_id"])
            latest.append(entry)
    return {
        "summary": s,
        "emails": emails,
        "verified_emails": verified_emails,
        "dkim_checked": dkim_checked,
        "timeline": [(r[0], r[1], r[2]) for r in timeline],
        "top_senders": [{"address": a, "emails": n} for a, n in senders.most_common(10)],
        "top_signing_domains": signers,
        "duplicated_attachments": duplicated,
        "latest_findings": latest,
        "tags": annotations.all_tags(conn),
    }


# -- one item -------------------------------------------------------------------------------------
def recovered(conn: sqlite3.Connection, item_id: str) -> dict[str, Any] | None:
    """For an altered item whose every proven change has its signed original recovered: how (else None)."""
    return explanation(as_findings(findings_with_stage(conn, item_id)))


def as_findings(rows: list[dict[str, Any]]) -> list[Finding]:
    return [Finding(f["code"], f["severity"], f["message"], f["evidence"]) for f in rows]


def findings_with_stage(conn: sqlite3.Connection, item_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT stage, code, severity, message, evidence FROM findings WHERE item_id=?"
        " ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, rowid",
        (item_id,),
    )
    out = []
    for r in rows:
        try:
            evidence = json.loads(r[4])
        except ValueError:
            evidence = {"raw": r[4]}
        out.append({"stage": r[0], "code": r[1], "severity": r[2], "message": r[3], "evidence": evidence})
    return out


def _ids_in(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        if ITEM_ID.match(value):
            found.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _ids_in(v, found)
    elif isinstance(value, list):
        for v in value:
            _ids_in(v, found)


def related_items(conn: sqlite3.Connection, findings: list[dict[str, Any]], own_id: str) -> dict[str, dict[str, Any]]:
    """Items named in findings' evidence (near-duplicate groups, the verified email, the quoted parent)."""
    ids: set[str] = set()
    for f in findings:
        _ids_in(f["evidence"], ids)
    ids.discard(own_id)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {
        r["id"]: dict(r)
        for r in conn.execute(
            f"SELECT id, name, kind, verdict, subject, date FROM items WHERE id IN ({marks})", sorted(ids)
        )
    }


def _brief(row: sqlite3.Row) -> dict[str, Any]:
    return {
        k: row[k]
        for k in (
            "id",
            "name",
            "kind",
            "verdict",
            "subject",
            "date",
            "email_from",
            "size",
            "mime",
            "sha256",
            "path",
        )
    }


def thread(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    """The conversation around an email: its ancestors and the reply tree from the oldest one found."""
    if row["kind"] != "email" or not (row["message_id"] or row["in_reply_to"]):
        return {"ancestors": [], "tree": [], "replies": []}
    ancestors: list[dict[str, Any]] = []
    seen = {row["id"]}
    cur = row
    while cur["in_reply_to"] and len(ancestors) < 50:
        parent = conn.execute(
            "SELECT * FROM items WHERE message_id=? AND kind='email' AND state='stored' ORDER BY rowid LIMIT 1",
            (cur["in_reply_to"],),
        ).fetchone()
        if parent is None or parent["id"] in seen:
            break
        seen.add(parent["id"])
        ancestors.insert(0, _brief(parent))
        cur = parent
    replies = (
        [
            _brief(r)
            for r in conn.execute(
                "SELECT * FROM items WHERE in_reply_to=? AND kind='email' AND state='stored' ORDER BY date, rowid",
                (row["message_id"],),
            )
        ]
        if row["message_id"]
        else []
    )
    # The tree below the oldest ancestor, depth-first, so it reads like a mail client's thread view.
    root = cur
    tree: list[dict[str, Any]] = []
    stack = [(root, 0)]
    visited: set[str] = set()
    while stack and len(tree) < THREAD_LIMIT:
        node, depth = stack.pop()
        if node["id"] in visited:
            continue
        visited.add(node["id"])
        tree.append({**_brief(node), "depth": depth, "current": node["id"] == row["id"]})
        if node["message_id"]:
            children = conn.execute(
                "SELECT * FROM items WHERE in_reply_to=? AND kind='email' AND state='stored'"
                " ORDER BY date DESC, rowid DESC",
                (node["message_id"],),
            ).fetchall()
            stack.extend((c, depth + 1) for c in children)
    if len(tree) <= 1:
        tree = []
    return {"ancestors": ancestors, "tree": tree, "replies": replies}


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


def render_email(case: Case, row: sqlite3.Row, children: list[sqlite3.Row]) -> dict[str, Any]:
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


def _cid_map(case: Case, children: list[sqlite3.Row]):
    """Inline images (cid:) become data: URIs of the attachment's own bytes, so nothing is fetched."""
    images: dict[str, sqlite3.Row] = {}
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


def indexed_text(conn: sqlite3.Connection, row: sqlite3.Row) -> str:
    r = conn.execute("SELECT body FROM fts WHERE rowid=?", (row["rowid"],)).fetchone()
    return (r[0] or "")[:MAX_BODY_CHARS] if r else ""


def item_detail(case: Case, item_id: str, *, render: bool = True) -> dict[str, Any] | None:
    conn = case.db.conn
    row = case.db.item(item_id)
    if row is None:
        return None
    findings = findings_with_stage(conn, item_id)
    judged = as_findings(findings)
    base = item_dict(row, judged)
    children = case.db.children(item_id)
    container = case.db.item(row["parent"]) if row["parent"] else None
    verification = None
    try:
        v = conn.execute(
            "SELECT checked, verdict, summary, keys_used, keys_missing FROM verifications WHERE item_id=?",
            (item_id,),
        ).fetchone()
        if v:
            verification = {
                "checked": v[0],
                "verdict": v[1],
                "summary": v[2],
                "keys_used": json.loads(v[3]),
                "keys_missing": json.loads(v[4]),
            }
    except sqlite3.OperationalError:  # the case was never verified
        pass
    duplicates = (
        [
            _brief(r)
            for r in conn.execute(
                "SELECT * FROM items WHERE sha256=? AND id != ? AND state='stored' ORDER BY rowid LIMIT 50",
                (row["sha256"], item_id),
            )
        ]
        if row["sha256"]
        else []
    )
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
        "verification": verification,
        "children": [
            {**_brief(c), "hints": json.loads(c["hints"]) if c["hints"] else {}} for c in children[:MAX_CHILDREN]
        ],
        "children_total": len(children),
        "container": _brief(container) if container is not None else None,
        "thread": thread(conn, row),
        "duplicates": duplicates,
        "related": related_items(conn, findings, item_id),
        "document": meta.get("document") if isinstance(meta, dict) else None,
        "meta": {k: v for k, v in meta.items() if k != "document"} if isinstance(meta, dict) else {},
        "tags": annotations.tags_for(conn, item_id),
        "notes": annotations.notes_for(conn, item_id),
        "email": None,
        "text": "",
    }
    if render:
        if row["kind"] == "email" and row["state"] == "stored":
            detail["email"] = render_email(case, row, children)
        if not (detail["email"] and detail["email"]["text"]):
            detail["text"] = indexed_text(conn, row)
    return detail


# -- correspondents -------------------------------------------------------------------------------
def correspondents(
    case: Case,
    *,
    after: str | None = None,
    before: str | None = None,
    verdict: str | None = None,
    top: int = 40,
) -> dict[str, Any]:
    key = ("correspondents", after, before, verdict, top)
    return _remember(case, key, lambda: _correspondents(case, after, before, verdict, top))


def _correspondents(case: Case, after: str | None, before: str | None, verdict: str | None, top: int) -> dict[str, Any]:
    where = ["kind='email'", "state='stored'"]
    args: list[Any] = []
    if after:
        where.append("date >= ?")
        args.append(after)
    if before:
        where.append("date < ?")
        args.append(before)
    if verdict:
        where.append("verdict = ?")
        args.append(verdict)
    edges: Counter[tuple[str, str]] = Counter()
    volume: Counter[str] = Counter()
    emails = 0
    # The same header values repeat across a mailbox: group them in SQL, parse each once.
    for frm, to, cc, n in case.db.conn.execute(
        f"SELECT email_from, email_to, email_cc, COUNT(*) FROM items WHERE {' AND '.join(where)} GROUP BY 1, 2, 3",
        args,
    ):
        sender = address_of(frm)
        if not sender:
            continue
        emails += n
        recipients = set(_addresses(to)) | set(_addresses(cc))
        recipients.discard(sender)
        volume[sender] += n
        for r in recipients:
            edges[(sender, r)] += n
            volume[r] += n
    nodes = [a for a, _ in volume.most_common(top)]
    keep = set(nodes)
    pair: Counter[tuple[str, str]] = Counter()
    for (a, b), n in edges.items():
        if a in keep and b in keep:
            pair[tuple(sorted((a, b)))] += n  # type: ignore[index]
    return {
        "emails": emails,
        "nodes": [(a, volume[a]) for a in nodes],
        "edges": [(a, b, n) for (a, b), n in pair.most_common()],
        "top_pairs": [{"from": a, "to": b, "emails": n} for (a, b), n in edges.most_common(25)],
    }
