"""Work on many items at once from a search: tag or export the hits chosen (some, or all that
match), and batch search (a count per term of a list). Exports from a tag (/export) and from a
search are one code path (web/export.py's `Selection`). Every POST here carries the session's
CSRF token (the app's `csrf_guard`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from ...case import Case
from ...errors import LeaklensError, UsageError
from ...investigate.batch import batch_search, read_terms
from ...store.base import ItemQuery
from .. import export
from ..render import search_url

router = APIRouter(include_in_schema=False)

BULK_MAX = 10_000  # items one bulk action takes: past it, the search is to be narrowed first
EXPORT_FORMATS = ("json", "csv", "zip")


def _case(request: Request) -> Case:
    return request.app.state.pool.get()


def export_response(case: Case, selection: export.Selection, format: str) -> Response:
    """The download of a selection in one of EXPORT_FORMATS."""
    name = quote(selection.stem)
    if format == "json":
        return Response(
            export.as_json(case, selection),
            media_type="application/json",
            headers={"content-disposition": f'attachment; filename="{name}.json"'},
        )
    if format == "csv":
        return Response(
            export.as_csv(case, selection),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "zip":
        f = export.as_zip(case, selection)
        return StreamingResponse(
            iter(lambda: f.read(1 << 20), b""),
            media_type="application/zip",
            headers={"content-disposition": f'attachment; filename="{name}.zip"'},
        )
    raise HTTPException(400, "format: json, csv or zip")


def chosen_ids(case: Case, q: str, ids: list[str], everything: bool) -> list[str]:
    """The ids a bulk action is about: every match of `q` (`everything`), else those ticked that the
    case holds. UsageError when there are none, or more than BULK_MAX."""
    if everything:
        total = case.db.search_count(q) or 0
        if total > BULK_MAX:
            raise UsageError(f"{total:,} items match: a bulk action takes at most {BULK_MAX:,}; narrow the search")
        chosen = case.db.search_ids(q, limit=max(total, 1))
    else:
        wanted = list(dict.fromkeys(i for i in ids if i))[: BULK_MAX + 1]
        if len(wanted) > BULK_MAX:
            raise UsageError(f"a bulk action takes at most {BULK_MAX:,} items")
        held = {r["id"] for r in case.db.select_items(ItemQuery(ids=tuple(wanted)))} if wanted else set()
        chosen = [i for i in wanted if i in held]
    if not chosen:
        raise UsageError("no item chosen: tick some results, or “all matching”")
    return chosen


@router.post("/search/bulk")
def bulk(
    request: Request,
    action: Annotated[str, Form()],
    q: Annotated[str, Form()] = "",
    sort: Annotated[str, Form()] = "relevance",
    id: Annotated[list[str] | None, Form()] = None,  # noqa: A002 - the checkboxes' name
    all: Annotated[str, Form()] = "",  # noqa: A002 - "all matching"
    tag: Annotated[str, Form()] = "",
) -> Response:
    case = _case(request)
    ids = chosen_ids(case, q, id or [], all == "1")
    if action == "tag":
        tag_done = ""
        for item_id in ids:
            tag_done = case.db.add_tag(item_id, tag)  # a bad tag: one line, from the app's handler
        target = search_url(q, sort=sort, tagged=tag_done, n=len(ids))
        return RedirectResponse(target, status_code=303)
    if action in EXPORT_FORMATS:
        return export_response(case, export.of_search(q, ids), action)
    raise HTTPException(400, "action: tag, json, csv or zip")


@router.get("/search/batch", response_class=HTMLResponse)
def batch_form(request: Request) -> HTMLResponse:
    return HTMLResponse(request.app.state.render.page(request, "batch.html", terms="", rows=None, error=None))


@router.post("/search/batch", response_class=HTMLResponse)
def batch(request: Request, terms: Annotated[str, Form()] = "") -> HTMLResponse:
    rows, error = None, None
    try:
        listed = read_terms(terms.splitlines())
        if not listed:
            raise UsageError("no term: write one a line")
        rows = batch_search(_case(request).db, listed)
    except LeaklensError as exc:
        error = str(exc)
    page = request.app.state.render.page(request, "batch.html", terms=terms, rows=rows, error=error)
    return HTMLResponse(page, status_code=200 if error is None else 400)
