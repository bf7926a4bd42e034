"""The Spread page: how the leak spread (timeline, first movers and hops, the largest cascade drawn,
amplifiers, coordination signals with their evidence), and one page per post. Every value a post
carries (text, names, links) is hostile until proven otherwise: it is escaped by the templates and
never made a live link; only the workbench's own pages are linked."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from ...spread.analyse import analyse
from ...spread.model import iso
from ...spread.table import POST_LINKS, POSTS, SPREAD_FILES, decode_row, parts
from .. import charts

router = APIRouter(include_in_schema=False)
_CACHE: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
_LOCK = threading.Lock()
CACHE_SIZE = 8


def _case(request: Request):
    return request.app.state.pool.get()


def _analysis(case, matches: tuple[str, ...]) -> dict[str, Any]:
    db = case.db
    # what the answer depends on: the posts, the links to items (both change only by spread ingest or verify)
    key = (str(case.root), matches, parts(db), db.count_rows(POSTS), db.count_rows(POST_LINKS))
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    a = analyse(case, list(matches))
    with _LOCK:
        _CACHE[key] = a
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return a


@router.get("/spread", response_class=HTMLResponse)
def spread_page(request: Request, match: list[str] = Query(default=[])) -> HTMLResponse:  # noqa: B008
    case = _case(request)
    matches = tuple(m.strip() for m in match if m.strip())[:10]
    have = case.db.table_columns(POSTS) and case.db.count_rows(POSTS)
    a = _analysis(case, matches) if have else None
    tree = ""
    if a and a["cascades"]["cascades"]:
        top = a["cascades"]["cascades"][0]
        labels = {}
        for uid in {u for e in top["edges"] for u in e[:2]}:
            row = case.db.get_row(POSTS, (uid,))
            if row:
                labels[uid] = row["author"] or row["author_id"] or uid
        tree = charts.cascade_svg([tuple(e) for e in top["edges"]], top["root"], labels)
    return HTMLResponse(
        request.app.state.render.page(
            request,
            "spread.html",
            a=a,
            matches=matches,
            files=case.db.table_rows(SPREAD_FILES) if have else [],
            timeline_svg=charts.posts_timeline_svg(a["timeline"]) if a else "",
            cascade_svg=tree,
        )
    )


@router.get("/spread/post", response_class=HTMLResponse)
def post_page(request: Request, uid: str) -> HTMLResponse:
    case = _case(request)
    if not case.db.table_columns(POSTS):
        raise HTTPException(404, "No posts in this case.")
    row = case.db.get_row(POSTS, (uid,))
    if row is None:
        raise HTTPException(404, "No such post.")
    row = decode_row(row)
    files = {r["sha256"]: r["name"] for r in case.db.table_rows(SPREAD_FILES)}
    origins = [
        {"file": files.get(o.partition(" ")[0], o.partition(" ")[0][:12]), "where": o.partition(" ")[2]}
        for o in row["origins"]
    ]
    links = []
    for r in case.db.table_rows(POST_LINKS, uid=uid):
        item = case.db.item(r["item_id"])
        links.append({**r, "name": item["name"] if item else "", "path": item["path"] if item else ""})
    refs = [
        (label, row[k], case.db.get_row(POSTS, (row[k],)) is not None)
        for k, label in (("repost_of", "Reposts"), ("quote_of", "Quotes"), ("reply_to", "Replies to"))
        if row[k]
    ]
    return HTMLResponse(
        request.app.state.render.page(
            request,
            "spread_post.html",
            p=row,
            time=iso(row["ts"]),
            created=iso(row["author_created"]),
            origins=origins,
            links=links,
            refs=refs,
        )
    )
