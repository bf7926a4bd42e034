"""PDF text via PDFium: every page, in order, pages separated by a form feed."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium

from ...model import Finding
from .support import Failed, Limits, Sink

# PDFium's FPDF_GetLastError codes that mean "locked", not "broken".
_PASSWORD, _SECURITY = 4, 6


def extract(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) in (_PASSWORD, _SECURITY):
            raise Failed("ingest.encrypted", "This PDF is password-protected; its text could not be read.",
                         format="pdf", error=str(exc)) from None
        raise Failed("ingest.text_failed", "This PDF is damaged or not a PDF; its text could not be read.",
                     format="pdf", error=str(exc)) from None
    try:
        for index in range(len(doc)):
            page = doc[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
            finally:
                page.close()
            if index:
                sink.add("\f")
            sink.add(text.replace("\r\n", "\n").replace("\r", "\n"))
    finally:
        doc.close()
    return []
