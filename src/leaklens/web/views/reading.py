"""Reading a dump the way it was kept: a container's members (sortable, paged) and a conversation
in order. The reads are investigate/'s (members, reading); this module only pages and renders."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ...case import Case
from ...investigate import verdict_view
from ...investigate.compare import compare
from ...investigate.members import SORTS, members
from ...investigate.reading import conversation, item_banner
from .. import data
from .item_verdict import split_unsigned

router = APIRouter()
PER_PAGE = 50


def _row(request: Request, item_id: str):
    row = data.known_item(request.app.state.pool.get(), item_id)
    if row is None:
        raise HTTPException(404, "No such item.")
    return row


def _members(request: Request, item_id: str, sort: str, desc: bool, page: int, per_page: int) -> dict:
    row = _row(request, item_id)
    if sort not in SORTS:
        raise HTTPException(400, f"sort: one of {', '.join(SORTS)}")
    return {"row": row, **members(request.app.state.pool.get().db, item_id, sort=sort, descending=desc,
                                  page=page, per_page=per_page)}  # fmt: skip


def members_url(item_id: str, *, sort: str = "found", desc: bool = False, page: int = 1) -> str:
    pairs = (("sort", sort), ("desc", "1" if desc else ""), ("page", page))
    args = {k: v for k, v in pairs if v not in ("", "found", 1)}
    return f"/items/{item_id}/members" + (f"?{urlencode(args)}" if args else "")


@router.get("/items/{item_id}/members", response_class=HTMLResponse, include_in_schema=False)
def members_page(
    request: Request,
    item_id: str,
    sort: str = "found",
    desc: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    m = _members(request, item_id, sort, desc, page, PER_PAGE)
    return HTMLResponse(
        request.app.state.render.page(request, "members.html", m=m, row=m["row"], sorts=SORTS, members_url=members_url)
    )


@router.get("/api/items/{item_id}/members")
def members_api(
    request: Request,
    item_id: str,
    sort: str = "found",
    desc: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = PER_PAGE,
) -> JSONResponse:
    """A container's direct members, a page at a time: sort by found, date, sender (the real address,
    never the display name), subject, verdict (worst first), name or size; `desc` reverses (members
    without the value stay last)."""
    m = _members(request, item_id, sort, desc, page, per_page)
    m.pop("row")
    return JSONResponse(m)


@router.get("/items/{item_id}/thread", response_class=HTMLResponse, include_in_schema=False)
def thread_page(request: Request, item_id: str) -> HTMLResponse:
    row = _row(request, item_id)
    if row["kind"] != "email":
        raise HTTPException(404, "Only an email has a conversation.")
    case = request.app.state.pool.get()
    c = conversation(case.db, row)
    for msg in c["messages"]:
        msg["signed"], msg["unsigned"], msg["unsigned_apart"] = _unsigned_tail(case, msg)
    return HTMLResponse(request.app.state.render.page(request, "thread.html", c=c, row=row))


def _unsigned_tail(case: Case, msg: dict) -> tuple[str, str, str]:
    """A message's text as (signed, unsigned beyond l=, unsigned that could not be placed in the
    text), marked as the item page marks it (verdict_view.unsigned_body_from, item_verdict.split_unsigned):
    appended text reads as unsigned in the conversation too, not only in the banner above it."""
    text = msg["text"]
    if msg["kind"] != "email" or not msg["sha256"] or not text:
        return text, "", ""
    signatures = verdict_view.signatures_of(case.db, msg["id"])
    # The bytes are read again only when a signature has l= (most messages: one read of the store).
    if not any(s.get("l") is not None for s in signatures) or not case.blobs.exists(msg["sha256"]):
        return text, "", ""
    raw = case.blobs.read(msg["sha256"])
    start = verdict_view.unsigned_body_from(raw, signatures)
    if start is None or start >= len(raw):
        return text, "", ""
    if msg["cut"]:  # the tail is past what the page shows of the text: said apart, as it reads
        return text, "", split_unsigned([], raw[start:])[1]
    [(signed, unsigned)], apart = split_unsigned([text], raw[start:])
    return signed, unsigned, apart


@router.get("/items/{item_id}/compare/{other_id}", response_class=HTMLResponse, include_in_schema=False)
def compare_page(request: Request, item_id: str, other_id: str) -> HTMLResponse:
    """`other_id` (the original: for an altered copy, the verified item its finding names) on the
    left, `item_id` on the right, their texts side by side with what changed marked."""
    copy, original = _row(request, item_id), _row(request, other_id)
    db = request.app.state.pool.get().db
    c = compare(db, original, copy)
    c.update(original_banner=item_banner(db, original), item_banner=item_banner(db, copy))
    return HTMLResponse(request.app.state.render.page(request, "compare.html", c=c, row=copy))
