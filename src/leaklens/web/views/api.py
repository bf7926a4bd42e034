"""The JSON API under /api/ (schema at /openapi.json), for tests and scripts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from ...errors import LeaklensError
from ...investigate.items import findings_with_stage
from .. import data
from .. import query as webquery
from ..render import highlight, plain_snippet

router = APIRouter(prefix="/api", tags=["api"])


class TagIn(BaseModel):
    tag: str = Field(description="Tag name; stored lower-case with spaces collapsed.")


class NoteIn(BaseModel):
    body: str = Field(description="The note's text.")


def _case(request: Request):
    return request.app.state.pool.get()


def _need_item(request: Request, item_id: str):
    if data.known_item(_case(request), item_id) is None:
        raise HTTPException(404, "no such item")


@router.get("/session", summary="This session's CSRF token (send it as X-CSRF-Token on POST/DELETE)")
def session(request: Request) -> dict[str, Any]:
    return {"csrf_token": request.state.session.csrf, "authenticated": True}


@router.get("/summary", summary="Case figures: items by kind and verdict, verification, top senders and signers")
def summary(request: Request) -> dict[str, Any]:
    d = data.dashboard(_case(request))
    d["timeline"] = [{"day": day, "verdict": v, "emails": n} for day, v, n in d["timeline"]]
    return d


@router.get("/search", summary="Search with the `leaklens search` syntax (+ tag:, signer:, editor:, year:)")
def search(
    request: Request,
    q: str = "",
    sort: str = "relevance",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 25,
    facets: bool = True,
) -> dict[str, Any]:
    store = _case(request).db
    try:
        if facets:
            total, hits, facet_counts, complete = webquery.search_with_facets(
                store, q, limit=per_page, offset=(page - 1) * per_page, sort=sort
            )
        else:
            total, hits = webquery.run_search(store, q, limit=per_page, offset=(page - 1) * per_page, sort=sort)
            facet_counts, complete = {}, False
    except LeaklensError as exc:
        raise HTTPException(400, str(exc)) from None
    for h in hits:
        raw = h.pop("snippet")
        h["snippet"] = plain_snippet(raw) if raw else None
        h["snippet_html"] = str(highlight(raw)) if raw else None
    return {
        "query": q,
        "sort": sort,
        "page": page,
        "per_page": per_page,
        "total": total,
        "hits": hits,
        "facets": {k: [{"value": v, "count": n} for v, n in vals] for k, vals in facet_counts.items()},
        "facets_complete": complete,
    }


@router.get("/items/{item_id}", summary="One item: the report's ITEM plus thread, children, tags and notes")
def item(request: Request, item_id: str) -> dict[str, Any]:
    _need_item(request, item_id)
    d = data.item_detail(_case(request), item_id, render=False)
    assert d is not None
    out = dict(d["item"])
    out.update(
        findings=d["findings"],
        verification=d["verification"],
        children=d["children"],
        container=d["container"],
        thread=d["thread"],
        duplicates=d["duplicates"],
        tags=d["tags"],
        notes=d["notes"],
        document=d["document"],
    )
    return out


@router.get("/items/{item_id}/findings", summary="The item's findings with their evidence")
def findings(request: Request, item_id: str) -> list[dict[str, Any]]:
    _need_item(request, item_id)
    return findings_with_stage(_case(request).db, item_id)


@router.get("/tags", summary="Every tag with its number of items")
def tags(request: Request) -> list[dict[str, Any]]:
    return _case(request).db.all_tags()


@router.get("/tags/{tag}/items", summary="Items carrying a tag")
def tag_items(request: Request, tag: str) -> list[str]:
    return _case(request).db.tagged_item_ids(tag)


# response_model=None on the tag calls: FastAPI checks a sync route's return value against its
# annotation on another thread of the small pool (one per core, app.CONCURRENCY), so a tag
# queued twice behind every page (bench/load.py, 50 clients: twice a page's wait); for a
# dict[str, Any] that check proves nothing.
@router.post("/items/{item_id}/tags", status_code=201, summary="Tag an item", response_model=None)
def add_tag(request: Request, item_id: str, body: TagIn) -> dict[str, Any]:
    _need_item(request, item_id)
    db = _case(request).db
    tag = db.add_tag(item_id, body.tag)  # a bad tag: a 400 from the app's LeaklensError handler
    return {"tag": tag, "tags": db.tags_for(item_id)}


@router.delete("/items/{item_id}/tags/{tag}", summary="Remove a tag from an item", response_model=None)
def delete_tag(request: Request, item_id: str, tag: str) -> dict[str, Any]:
    _need_item(request, item_id)
    db = _case(request).db
    if not db.remove_tag(item_id, tag):
        raise HTTPException(404, "the item does not carry this tag")
    return {"tags": db.tags_for(item_id)}


@router.get("/items/{item_id}/notes", summary="Notes on an item")
def notes(request: Request, item_id: str) -> list[dict[str, Any]]:
    _need_item(request, item_id)
    return _case(request).db.notes_for(item_id)


@router.post("/items/{item_id}/notes", status_code=201, summary="Add a note to an item")
def add_note(request: Request, item_id: str, body: NoteIn) -> dict[str, Any]:
    _need_item(request, item_id)
    db = _case(request).db
    note_id = db.add_note(item_id, body.body)
    return {"id": note_id, "notes": db.notes_for(item_id)}


@router.delete("/items/{item_id}/notes/{note_id}", summary="Delete a note")
def delete_note(request: Request, item_id: str, note_id: int) -> dict[str, Any]:
    _need_item(request, item_id)
    if not _case(request).db.delete_note(item_id, note_id):
        raise HTTPException(404, "no such note on this item")
    return {"deleted": note_id}
