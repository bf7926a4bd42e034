"""A scan as the workbench shows it: each page's OCR reading (status, confidence, text) beside its image."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ocr.pages import wants_ocr
from ..ocr.step import OCR_PAGES
from ..store.base import CaseStore


def scan_pages(store: CaseStore, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The item's pages as OCR read them, in order (none: not a scan, or not read yet)."""
    if not row["sha256"] or not wants_ocr(row["mime"]):
        return []
    pages = sorted(store.table_rows(OCR_PAGES, sha256=row["sha256"]), key=lambda r: r["page"])
    return [
        {"page": p["page"], "status": p["status"], "confidence": p["confidence"], "text": p["text"] or "",
         "error": p["error"], "viewable": p["status"] != "not-read"}
        for p in pages
    ]  # fmt: skip
