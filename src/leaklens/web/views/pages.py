"""The HTML pages: dashboard, search, item, correspondents, tags, login."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from ...errors import LeaklensError
from ...model import VERDICTS
from ...store import annotations
from .. import charts, data, export
from .. import query as webquery
from ..filenames import download_name
from ..sanitize import FRAME_CSS
from ..security import CONTENT_CSP
from . import bulk, item_verdict

router = APIRouter(include_in_schema=False)
PER_PAGE = 25


def _case(request: Request):
    return request.app.state.pool.get()


def _page(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
    return HTMLResponse(request.app.state.render.page(request, name, **ctx), status_code=status)


def _item_or_404(request: Request, item_id: str):
    row = data.known_item(_case(request), item_id)
    if row is None:
        raise HTTPException(404, "No such item.")
    return row


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    case = _case(request)
    d = data.dashboard(case)
    by_verdict = {v: d["summary"]["by_verdict"].get(v, 0) for v in VERDICTS}
    return _page(
        request,
        "dashboard.html",
        d=d,
        by_verdict=by_verdict,
        timeline_svg=charts.timeline_svg(d["timeline"]),
        verdict_svg=charts.verdict_bars_svg(by_verdict, link="/search?q="),
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str = "",
    sort: str = "relevance",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    tagged: str = "",  # after a bulk tag: what was tagged, said at the top
    n: Annotated[int, Query(ge=0)] = 1,
) -> HTMLResponse:
    case = _case(request)
    error = None
    total, hits, facets, facets_complete = 0, [], {}, True
    try:
        total, hits, facets, facets_complete = webquery.search_with_facets(
            case.db, q, limit=PER_PAGE, offset=(page - 1) * PER_PAGE, sort=sort
        )
    except LeaklensError as exc:
        error = str(exc)
    webquery.with_tags(case.db, hits)
    pages = max(1, math.ceil(total / PER_PAGE))
    return _page(
        request,
        "search.html",
        q=q,
        sort=sort,
        page=page,
        pages=pages,
        total=total,
        hits=hits,
        facets=facets,
        facets_complete=facets_complete,
        error=error,
        per_page=PER_PAGE,
        tagged=tagged,
        tagged_n=n,
        bulk_max=bulk.BULK_MAX,
    )


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: str) -> HTMLResponse:
    _item_or_404(request, item_id)
    case = _case(request)
    detail = data.item_detail(case, item_id)
    verdict = item_verdict.verdict_context(case, detail)
    return _page(request, "item.html", d=detail, it=detail["item"], row=detail["row"], v=verdict)


@router.get("/items/{item_id}/body.html")
def item_html_body(request: Request, item_id: str) -> Response:
    """The sanitised HTML body, for the sandboxed iframe only: its own CSP forbids scripts and fetches."""
    row = _item_or_404(request, item_id)
    case = _case(request)
    rendered = data.render_email(case, row, case.db.children(item_id)) if row["kind"] == "email" else {}
    body = rendered.get("html") or ""
    head = f'<!doctype html><html><head><meta charset="utf-8"><style>{FRAME_CSS}</style></head>'
    doc = f"{head}<body>{body}</body></html>"
    return Response(
        doc,
        media_type="text/html; charset=utf-8",
        headers={"content-security-policy": CONTENT_CSP, "x-frame-options": "SAMEORIGIN"},
    )


RAW_CHUNK = 1 << 20  # a download up to this size is sent in one piece, a larger one in pieces of it


@router.get("/items/{item_id}/raw")
def item_raw(request: Request, item_id: str) -> Response:
    """The original bytes, always as a download: never rendered by the browser."""
    row = _item_or_404(request, item_id)
    case = _case(request)
    if not row["sha256"] or not case.blobs.exists(row["sha256"]):
        raise HTTPException(404, "The original bytes of this item were not stored.")
    name = download_name(row)  # a real extension (.eml for a message), nothing hidden
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    sha = row["sha256"]
    headers = {
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "content-length": str(row["size"] or 0),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
    }
    if (row["size"] or 0) <= RAW_CHUNK:
        # Read here, in this request's thread: a streamed body takes a thread of the web's small
        # pool again for each chunk and for its end, queueing behind every page each time
        # (bench/load.py, 50 clients: downloads waited twice as long as pages).
        return Response(case.blobs.read(sha), media_type="application/octet-stream", headers=headers)

    def chunks():
        with case.blobs.open(sha) as f:
            while block := f.read(RAW_CHUNK):
                yield block

    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


@router.post("/items/{item_id}/tags")
def add_tag(request: Request, item_id: str, tag: Annotated[str, Form()]) -> RedirectResponse:
    _item_or_404(request, item_id)
    _case(request).db.add_tag(item_id, tag)
    return RedirectResponse(f"/items/{item_id}#notes", status_code=303)


@router.post("/items/{item_id}/tags/delete")
def delete_tag(request: Request, item_id: str, tag: Annotated[str, Form()]) -> RedirectResponse:
    _item_or_404(request, item_id)
    _case(request).db.remove_tag(item_id, tag)
    return RedirectResponse(f"/items/{item_id}#notes", status_code=303)


@router.post("/items/{item_id}/notes")
def add_note(request: Request, item_id: str, body: Annotated[str, Form()]) -> RedirectResponse:
    _item_or_404(request, item_id)
    _case(request).db.add_note(item_id, body)
    return RedirectResponse(f"/items/{item_id}#notes", status_code=303)


@router.post("/items/{item_id}/notes/{note_id}/delete")
def delete_note(request: Request, item_id: str, note_id: int) -> RedirectResponse:
    _item_or_404(request, item_id)
    _case(request).db.delete_note(item_id, note_id)
    return RedirectResponse(f"/items/{item_id}#notes", status_code=303)


@router.get("/correspondents", response_class=HTMLResponse)
def correspondents_page(
    request: Request, after: str = "", before: str = "", verdict: str = "", domain: str = ""
) -> HTMLResponse:
    for name, value in (("after", after), ("before", before)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise HTTPException(400, f"{name}: expects a date like 2017-05-05") from None
    if verdict and verdict not in VERDICTS:
        raise HTTPException(400, f"verdict: one of {', '.join(VERDICTS)}")
    domain = domain.strip().lstrip("@")
    if domain and (len(domain) > 253 or not re.fullmatch(r"[^\s@/<>\"]+", domain)):
        raise HTTPException(400, "domain: expects a domain name like example.org")
    g = data.correspondents(
        _case(request), after=after or None, before=before or None, verdict=verdict or None, domain=domain or None
    )
    # The legend's domains narrow the graph to one domain, keeping the dates and verdict chosen.
    kept = "".join(f"{k}={quote(v)}&" for k, v in (("after", after), ("before", before), ("verdict", verdict)) if v)
    by_domain = f"/correspondents?{kept}domain="
    return _page(
        request,
        "correspondents.html",
        g=g,
        svg=charts.correspondents_svg(g["nodes"], g["directed"], domain_link=by_domain),
        svg_narrow=charts.correspondents_svg(g["nodes"], g["directed"], numbered=True, domain_link=by_domain),
        after=after,
        before=before,
        verdict=verdict,
        domain=domain,
    )


@router.get("/tags", response_class=HTMLResponse)
def tags_page(request: Request) -> HTMLResponse:
    return _page(request, "tags.html", tags=_case(request).db.all_tags())


@router.get("/export")
def export_tag(request: Request, tag: str, format: str = "json") -> Response:
    case = _case(request)
    tag = annotations.normalise_tag(tag)
    return bulk.export_response(case, export.of_tag(case, tag), format)


# -- login ----------------------------------------------------------------------------------------
def _safe_next(target: str) -> str:
    # Only paths on this server: "//evil.example" or "https://..." would be an open redirect.
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _page(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
def login(request: Request, password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    guard = request.app.state.guard
    client = request.client.host if request.client else "?"
    wait = guard.throttle.retry_after(client)
    if wait > 0:
        return _page(
            request,
            "login.html",
            status=429,
            next=_safe_next(next),
            error=f"Too many failed attempts. Try again in {math.ceil(wait)} seconds.",
        )
    if not guard.check_secret(password):
        guard.throttle.failed(client)
        return _page(request, "login.html", status=401, next=_safe_next(next), error="Wrong password or token.")
    guard.throttle.succeeded(client)
    # A fresh session id on login: a session id planted before login is worth nothing after it.
    guard.sessions.drop(request.state.session.id)
    session = guard.sessions.new(authenticated=True)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.headers.append("set-cookie", guard.cookie_header(session, request.url.scheme == "https"))
    return resp


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    guard = request.app.state.guard
    guard.sessions.drop(request.state.session.id)
    resp = RedirectResponse("/login" if guard.auth_required else "/", status_code=303)
    resp.headers.append("set-cookie", f"{guard.cookie}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
    return resp
