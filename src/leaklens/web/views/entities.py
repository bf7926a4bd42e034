"""The Entities pages (the most named accounts, phones, amounts, people, companies; one entity's page:
every item naming it, when, by whom) and a scan's page images. Thin over investigate/entities.py and
investigate/scans.py, the reads the CLI and the report share."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ...entities.kinds import KINDS
from ...investigate.entities import entity_page, kinds_count, top_entities
from ...ocr.pages import wants_ocr
from ...ocr.render import RenderError, page_png
from .. import data
from ..charts import count_bars_svg, timeline_svg

router = APIRouter()
KIND = r"^[a-z]{2,12}$"


def _case(request: Request):
    return request.app.state.pool.get()


def _kind_or_404(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        raise HTTPException(404, f"No entity kind {kind!r}.")
    return kind


@router.get("/entities", response_class=HTMLResponse, include_in_schema=False)
def entities_page(
    request: Request, kind: Annotated[str | None, Query(pattern=KIND)] = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> HTMLResponse:  # fmt: skip
    case = _case(request)
    kind = _kind_or_404(kind)
    kinds = kinds_count(case.db)
    bars = count_bars_svg([(k["kind"], k["distinct"], f"/entities?kind={k['kind']}") for k in kinds],
                          title="Distinct entities by kind")  # fmt: skip
    return HTMLResponse(request.app.state.render.page(
        request, "entities.html", kinds=kinds, kind=kind, top=top, kinds_svg=bars,
        entities=top_entities(case.db, kind=kind, top=top), meanings={k: v.meaning for k, v in KINDS.items()},
    ))  # fmt: skip


@router.get("/entities/{kind}/{value:path}", response_class=HTMLResponse, include_in_schema=False)
def entity_view(request: Request, kind: Annotated[str, Path(pattern=KIND)], value: str) -> HTMLResponse:
    _kind_or_404(kind)
    page = entity_page(_case(request).db, kind, value)
    if not page["mentions"]:
        raise HTTPException(404, "No item names this entity.")
    dated = [(i["date"], i["verdict"], 1) for i in page["items"] if i["date"]]
    chart = timeline_svg(dated, link=None) if dated else ""
    return HTMLResponse(request.app.state.render.page(request, "entity.html", e=page, timeline_svg=chart))


@router.get("/api/entities")
def entities_api(
    request: Request, kind: Annotated[str | None, Query(pattern=KIND)] = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> JSONResponse:  # fmt: skip
    """The most named entities (of one kind), with their mentions and items, and the counts by kind."""
    case = _case(request)
    kind = _kind_or_404(kind)
    return JSONResponse({"kinds": kinds_count(case.db), "entities": top_entities(case.db, kind=kind, top=top)})


@router.get("/api/entities/{kind}/{value:path}")
def entity_api(request: Request, kind: Annotated[str, Path(pattern=KIND)], value: str) -> JSONResponse:
    """One entity: every item naming it, with the words around each mention, its dates and senders."""
    _kind_or_404(kind)
    page = entity_page(_case(request).db, kind, value)
    if not page["mentions"]:
        raise HTTPException(404, "No item names this entity.")
    return JSONResponse(page)


@router.get("/items/{item_id}/pages/{page}.png", include_in_schema=False)
def scan_page(request: Request, item_id: str, page: Annotated[int, Path(ge=1, le=100_000)]) -> Response:
    """A scan's page, drawn by us as a plain PNG in a child process with a deadline (never the file itself)."""
    case = _case(request)
    row = data.known_item(case, item_id)
    if row is None or not row["sha256"] or not case.blobs.exists(row["sha256"]):
        raise HTTPException(404, "No such item, or its bytes were not stored.")
    if not wants_ocr(row["mime"]):  # the formats a scan comes in (never SVG: a document that can run code)
        raise HTTPException(404, "Only images and PDF pages are drawn.")
    try:
        png = page_png(case.blobs.path(row["sha256"]), row["mime"], page)
    except RenderError as exc:
        raise HTTPException(422, f"This page cannot be drawn: {exc}") from None
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=3600"})
