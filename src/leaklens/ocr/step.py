"""The OCR step: every scan of the case read once (by sha256), its text a text record of source "ocr"."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..case import case_blobs
from ..executor import DONE, TIMEOUT, Outcome, executor_for
from ..steps import Run, step
from ..store.base import CaseStore, Column, ItemQuery, TableSpec, TextRecord
from . import pages as page_images
from . import tesseract

if TYPE_CHECKING:
    from ..cluster import Cluster

ENGINE = "1"
OCR_PAGES = TableSpec(
    "ocr_pages",
    key=("sha256", "page"),
    columns=(
        Column("sha256", required=True),
        Column("page", "int", required=True),
        Column("engine", required=True),
        Column("langs", required=True),
        Column("status", required=True),  # ok, empty, text-layer, timeout, failed, not-read
        Column("confidence", "real"),
        Column("seconds", "real"),
        Column("text"),
        Column("error"),
    ),
    meaning="Each page of each scanned blob as Tesseract read it (or why not): status, mean word "
    "confidence (0-100), seconds, the text. Pages with a text layer are listed, not read.",
)
# A document's pages are each bounded by tesseract.PAGE_TIMEOUT; the whole job by this, against a
# renderer that never returns on a hostile PDF.
JOB_TIMEOUT = 3600.0
RETRY_BELOW = 90.0  # mean word confidence under which a page is read again, denoised (clean pages: 95+)

_W: dict[str, Any] = {}


def _init(case_root: str) -> None:
    _W["blobs"] = case_blobs(case_root)


def _read(job: tuple[str, str, str, float]) -> tuple[str, list[dict[str, Any]]]:
    sha, mime, langs, page_timeout = job
    rows = []
    try:
        for page in page_images.pages(_W["blobs"].path(sha), mime):
            if page.image is None:
                status = "text-layer" if page.note == "has a text layer" else "not-read"
                rows.append(_row(sha, page.number, langs, status, error=page.note))
                continue
            read = tesseract.recognise(page.image, langs, page_timeout)
            if read.status in ("ok", "empty") and (read.confidence or 0) < RETRY_BELOW:
                # A poor read is tried once more without the speckle; the surer of the two is kept.
                again = tesseract.recognise(page_images.denoised(page.image), langs, page_timeout)
                if again.status == "ok" and (again.confidence or 0) > (read.confidence or 0):
                    read = again
            rows.append(_row(sha, page.number, langs, read.status, read.confidence, read.seconds, read.text,
                             read.error))  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a damaged scan is a row saying so, the others go on
        rows.append(_row(sha, len(rows) + 1, langs, "failed", error=f"{type(exc).__name__}: {exc}"[:300]))
    return sha, rows


def _row(sha, page, langs, status, confidence=None, seconds=None, text=None, error=None) -> dict[str, Any]:
    return {"sha256": sha, "page": page, "engine": ENGINE, "langs": langs, "status": status,
            "confidence": confidence, "seconds": seconds, "text": text or None, "error": error or None}  # fmt: skip


def scans_to_read(store: CaseStore, *, force: bool = False) -> dict[str, list[tuple[str, str]]]:
    """sha256 -> [(item id, mime)] of the stored images and PDFs not read by this engine yet."""
    done = set() if force else {k[0] for k in store.table_keys(OCR_PAGES, engine=ENGINE)}
    todo: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item_id, sha, mime in store.item_values(("id", "sha256", "mime"), ItemQuery(state="stored")):
        if sha and page_images.wants_ocr(mime) and sha not in done:
            todo[sha].append((item_id, mime))
    return todo


def ocr_text(rows: list[dict[str, Any]]) -> tuple[str, float | None]:
    """The text of a scan's read pages, a form feed between pages (as pdftotext marks them), and the
    mean confidence of its pages weighted by their text."""
    read = [r for r in sorted(rows, key=lambda r: r["page"]) if r["status"] == "ok" and r["text"]]
    if not read:
        return "", None
    weight = sum(len(r["text"]) for r in read)
    conf = sum((r["confidence"] or 0) * len(r["text"]) for r in read) / weight
    return "\f".join(r["text"] for r in read), round(conf, 1)


def run_ocr(
    store: CaseStore,
    case_root: str,
    *,
    langs: str = tesseract.DEFAULT_LANGS,
    workers: int | None = None,
    force: bool = False,
    page_timeout: float = tesseract.PAGE_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
    cluster: Cluster | None = None,
) -> dict[str, Any]:
    """OCR every scan not read yet, one Tesseract per worker process (of `cluster`, if given); returns
    what happened."""
    if tesseract.binary() is None:
        return {"missing": "tesseract is not installed: scans are stored but not read (apt-get install tesseract-ocr)"}
    usable, absent = tesseract.usable_languages(langs)
    report: dict[str, Any] = {"langs": usable, "absent_langs": absent, "scans": 0, "pages": 0}
    if not usable:
        report["missing"] = f"no Tesseract data for {langs}: scans are not read"
        return report
    todo = scans_to_read(store, force=force)
    if not todo:
        return report
    jobs = [(sha, items[0][1], usable, page_timeout) for sha, items in sorted(todo.items())]
    workers = min(workers if workers is not None else (os.cpu_count() or 2), len(jobs))
    pool = executor_for(workers, setup=_init, setup_args=(case_root,), timeout=JOB_TIMEOUT, cluster=cluster)
    with pool:
        for n, out in enumerate(pool.map(_read, jobs, batch=1), 1):
            sha, rows = _rows_of(out, usable)
            store.begin()
            try:
                store.put_rows(OCR_PAGES, rows)
                text, conf = ocr_text(rows)
                if text:
                    store.put_texts(TextRecord(item_id, "ocr", text, conf) for item_id, _ in todo[sha])
            finally:
                store.commit()
            report["scans"] += 1
            report["pages"] += sum(1 for r in rows if r["status"] in ("ok", "empty"))
            if progress:
                progress(n, len(jobs))
    return report


def _rows_of(out: Outcome, langs: str) -> tuple[str, list[dict[str, Any]]]:
    if out.status == DONE:
        return out.result
    sha = out.job[0]
    status = "timeout" if out.status == TIMEOUT else "failed"
    return sha, [_row(sha, 1, langs, status, error=f"the reader {out.status}: {out.error}"[:300])]


@step("texts.ocr", group="texts", own_transactions=True)
def _ocr(run: Run) -> None:
    """Scans (images, PDF pages without a text layer) read by Tesseract."""
    if run.options.get("ocr") is False:
        run.results["texts.ocr"] = {"off": True}
        return
    run.results["texts.ocr"] = run_ocr(
        run.case.db,
        str(run.case.root),
        langs=run.options.get("ocr_lang") or tesseract.DEFAULT_LANGS,
        workers=run.workers,
        force=bool(run.options.get("force")),
        progress=run.options.get("ocr_progress"),
        cluster=run.cluster,
    )
