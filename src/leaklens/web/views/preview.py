"""Document preview: a PDF's pages, its layers (switchable) and its revisions side by side, and
images, always as PNGs leaklens drew (`preview`), never the file itself; office documents as the
pages of the PDF LibreOffice makes of them (`preview.office`) when it is installed, else (or when it
fails on the document) as the text read at ingest, with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from ... import preview
from ...investigate import verdict_view
from ...investigate.items import item_text
from ...preview import office
from .. import data

router = APIRouter(include_in_schema=False)
MAX_OFF = 200
# What a drawn page may do in the browser: be shown. Nothing it holds is a document the browser reads.
PNG_HEADERS = {
    "cache-control": "private, max-age=3600",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
}


def _stored(request: Request, item_id: str):
    case = request.app.state.pool.get()
    row = data.known_item(case, item_id)
    if row is None:
        raise HTTPException(404, "No such item.")
    if not row["sha256"] or not case.blobs.exists(row["sha256"]):
        raise HTTPException(404, "The original bytes of this item were not stored: nothing to preview.")
    return case, row


def parse_off(off: str | None) -> tuple[int, ...] | None:
    """The `off` parameter: None (absent: the document's own default view) or the hidden layers'
    indexes, comma-separated ("" hides none)."""
    if off is None:
        return None
    try:
        found = sorted({int(p) for p in off.split(",") if p.strip()})
    except ValueError:
        raise HTTPException(400, "off: layer numbers separated by commas, e.g. off=0,2") from None
    if any(i < 0 or i >= MAX_OFF for i in found):
        raise HTTPException(400, f"off: layer numbers from 0 to {MAX_OFF - 1}")
    return tuple(found)


def _describe(case, row) -> dict:
    if (row["size"] or 0) > preview.MAX_PREVIEW_BYTES:
        raise preview.PreviewError(f"the file is over {preview.MAX_PREVIEW_BYTES >> 20} MB: download it instead")
    return preview.describe(case.blobs.path(row["sha256"]), row["mime"], row["sha256"])


def _office_pdf(case, row):
    """The PDF LibreOffice made of an office item (cached in the case folder): what its pages are drawn from."""
    if (row["size"] or 0) > preview.MAX_PREVIEW_BYTES:
        raise preview.PreviewError(f"the file is over {preview.MAX_PREVIEW_BYTES >> 20} MB: download it instead")
    return office.pdf_of(case.root, case.blobs.path(row["sha256"]), row["sha256"], row["mime"])


@router.get("/items/{item_id}/preview/{page}.png")
def preview_png(
    request: Request,
    item_id: str,
    page: Annotated[int, Path(ge=1, le=100_000)],
    rev: Annotated[int | None, Query(ge=1, le=1000)] = None,
    off: str | None = None,
    dpi: Annotated[int, Query(ge=30, le=300)] = preview.VIEW_DPI,
) -> Response:
    case, row = _stored(request, item_id)
    kind = preview.kind_of(row["mime"])
    if kind not in ("pdf", "image") and not (kind == "office" and office.soffice()):
        raise HTTPException(404, "Only PDF pages, images and (with LibreOffice) office documents are drawn.")
    hidden = parse_off(off)
    try:
        if (row["size"] or 0) > preview.MAX_PREVIEW_BYTES:
            raise preview.PreviewError("the file is too large to draw")
        if kind == "office":
            # LibreOffice's PDF has no layers or revisions of the document's own: drawn as it is.
            png = preview.page_png(_office_pdf(case, row), preview.PDF, row["sha256"], page, dpi=dpi)
        else:
            png = preview.page_png(
                case.blobs.path(row["sha256"]), row["mime"], row["sha256"], page, revision=rev, off=hidden, dpi=dpi
            )
    except preview.PreviewError as exc:
        raise HTTPException(422, f"This page cannot be drawn: {exc}") from None
    return Response(png, media_type="image/png", headers=PNG_HEADERS)


def _png_url(item_id: str, page: int, *, rev: int | None = None, off: tuple[int, ...] | None = None,
             dpi: int | None = None) -> str:  # fmt: skip
    args = []
    if rev is not None:
        args.append(f"rev={rev}")
    if off is not None:
        args.append("off=" + ",".join(map(str, off)))
    if dpi is not None:
        args.append(f"dpi={dpi}")
    return f"/items/{item_id}/preview/{page}.png" + ("?" + "&".join(args) if args else "")


@router.get("/items/{item_id}/preview", response_class=HTMLResponse)
def preview_page(
    request: Request,
    item_id: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    compare: Annotated[int | None, Query(ge=1, le=1000)] = None,
    off: str | None = None,
    layers: str | None = None,  # set by the layers form: its ticked boxes are in `show`
    show: Annotated[list[int] | None, Query()] = None,
) -> HTMLResponse:
    case, row = _stored(request, item_id)
    kind = preview.kind_of(row["mime"])
    info, error, text, office_error = None, None, "", None
    hidden = parse_off(off)
    if kind in ("pdf", "image"):
        try:
            info = _describe(case, row)
            if info.get("error") and not info.get("pages"):
                error = info["error"]  # the file as it is cannot be read (its earlier revisions may)
        except preview.PreviewError as exc:
            error = str(exc)
    elif kind == "office" and office.soffice():
        try:
            info = preview.describe(_office_pdf(case, row), preview.PDF, row["sha256"])
            if not info.get("pages"):
                raise office.ConvertError(info.get("error") or "LibreOffice's PDF of it has no page")
        except preview.PreviewError as exc:  # the text below instead, with the reason
            info, office_error = None, str(exc)
    if kind == "office" or kind is None:
        text = item_text(case.db, row)
    if info and layers is not None:  # the form: every layer not ticked is hidden
        shown = set(show or ())
        hidden = tuple(lay["index"] for lay in info["layers"] if lay["index"] not in shown)
    pages = (info or {}).get("pages") or 0
    if pages and page > pages:
        raise HTTPException(404, f"No page {page}: the document has {pages}.")
    revisions = (info or {}).get("revisions") or []
    if compare is not None and not 1 <= compare <= len(revisions):
        raise HTTPException(404, f"No revision {compare}: the file has {max(len(revisions), 1)}.")
    # Each layer: hidden now? (the reader's choice, else the document's default view)
    layer_state = {
        lay["index"]: (lay["index"] in hidden) if hidden is not None else lay["hidden"]
        for lay in (info or {}).get("layers", [])
    }
    banner, recovered = verdict_view.banner_of(case.db, row)  # the verdict atop the preview, as on the item page
    return HTMLResponse(
        request.app.state.render.page(
            request,
            "preview.html",
            row=row,
            banner=banner,
            recovered=recovered,
            kind=kind,
            info=info,
            error=error,
            office_error=office_error,
            libreoffice=office.soffice() is not None,
            text=text,
            page=page,
            pages=pages,
            compare=compare,
            revisions=revisions,
            hidden=hidden,
            layer_state=layer_state,
            off_param=",".join(map(str, hidden)) if hidden is not None else None,
            png_url=_png_url,
        )
    )
