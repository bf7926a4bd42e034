"""Text for the search index, from any stored file, with a status saying what happened.

``extract_text`` never raises: a damaged or locked file yields status
``failed`` and a finding, so one bad document cannot stop an ingest. The
per-format readers live in ``textformats/``; this module picks one by MIME
type and turns their outcome into a ``TextResult``.

Statuses: ``extracted``; ``empty`` (the format holds text but this file has
none, e.g. a scanned PDF); ``unsupported`` (stored without text: images,
legacy binary Office, unknown files); ``truncated`` (cut at a limit, with a
finding); ``failed`` (corrupt or encrypted, with a finding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Finding
from . import sniff
from .textformats import html, odf, ooxml, pdf, plain, rtf, xmltext
from .textformats.charset import decode_text
from .textformats.support import Cut, Failed, Full, Limits, Sink

__all__ = ["TextResult", "extract_text", "decode_text", "html_text", "rtf_text", "STATUSES"]

EXTRACTED, EMPTY, UNSUPPORTED, TRUNCATED, FAILED = "extracted", "empty", "unsupported", "truncated", "failed"
STATUSES = (EXTRACTED, EMPTY, UNSUPPORTED, TRUNCATED, FAILED)

DEFAULT_MAX_BYTES = 256 << 20


@dataclass
class TextResult:
    text: str | None
    status: str
    findings: list[Finding] = field(default_factory=list)


Extractor = Callable[[Path, Sink, Limits], list[Finding]]

_BY_MIME: dict[str, tuple[str, Extractor]] = {
    sniff.PDF: ("PDF", pdf.extract),
    sniff.DOCX: ("Word document", ooxml.extract_docx),
    sniff.XLSX: ("Excel workbook", ooxml.extract_xlsx),
    sniff.PPTX: ("PowerPoint presentation", ooxml.extract_pptx),
    sniff.HTML: ("HTML page", html.extract),
    "application/xhtml+xml": ("HTML page", html.extract),
    sniff.RTF: ("RTF document", rtf.extract),
    "text/rtf": ("RTF document", rtf.extract),
    sniff.XML: ("XML file", xmltext.extract),
    "text/xml": ("XML file", xmltext.extract),
    "application/json": ("text file", plain.extract),
}


def _extractor_for(mime: str) -> tuple[str, Extractor] | None:
    if mime in _BY_MIME:
        return _BY_MIME[mime]
    if mime.startswith("application/vnd.oasis.opendocument."):
        return ("OpenDocument file", odf.extract)
    if mime.startswith("text/"):
        return ("text file", plain.extract)
    return None


def extract_text(path: Path, mime: str, *, max_chars: int = 5_000_000,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> TextResult:
    """The text of the file at ``path``, read as ``mime`` (as returned by ``sniff``).

    ``max_chars`` caps the text kept; ``max_bytes`` caps the bytes read from the
    file or decompressed from any one part of a zip-based document.
    """
    mime = (mime or "").split(";", 1)[0].strip().lower()
    if mime == sniff.EMPTY:
        return TextResult("", EMPTY, [])
    chosen = _extractor_for(mime)
    if chosen is None:
        return TextResult(None, UNSUPPORTED, [])
    label, extractor = chosen
    sink = Sink(max_chars)
    findings: list[Finding] = []
    status = EXTRACTED
    try:
        findings.extend(extractor(Path(path), sink, Limits(max_chars, max_bytes)))
    except Full:
        status = TRUNCATED
        findings.append(Finding(
            "ingest.text_truncated", "info",
            f"The text of this {label} is longer than {max_chars:,} characters; "
            "only the beginning is searchable.",
            {"max_chars": max_chars},
        ))
    except Cut as cut:
        status = TRUNCATED
        findings.append(cut.finding)
    except Failed as exc:
        finding = Finding(exc.code, "warning", exc.message, {"mime": mime, **exc.evidence})
        return TextResult(None, FAILED, [finding])
    except RecursionError:
        return _failed(label, mime, "nesting too deep")
    except Exception as exc:  # any parser error on a hostile file is a finding, never a crash
        return _failed(label, mime, f"{type(exc).__name__}: {exc}")
    text = _tidy(sink.text())
    if not text.strip():
        if status == TRUNCATED and any(f.severity != "info" for f in findings):
            return TextResult(None, FAILED, findings)  # cut before any text: nothing was readable
        return TextResult("", EMPTY if status == EXTRACTED else status, findings)
    return TextResult(text, status, findings)


def _failed(label: str, mime: str, error: str) -> TextResult:
    error = " ".join(error.split())[:500]
    return TextResult(None, FAILED, [Finding(
        "ingest.text_failed", "warning",
        f"The text of this {label} could not be extracted; the file may be damaged.",
        {"mime": mime, "error": error},
    )])


def _tidy(text: str) -> str:
    """Line ends normalised, trailing blanks and runs of empty lines dropped, no lone surrogates.

    NUL is kept (issue 16: nothing from the leak is cut at a NUL; the PostgreSQL store escapes it,
    store/postgres/nul.py, and pages show it as a marker); lone surrogates cannot be encoded.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    blank = 0
    for line in text.split("\n"):
        line = line.rstrip()
        if line:
            blank = 0
        else:
            blank += 1
            if blank > 1:
                continue
        out.append(line)
    text = "\n".join(out).strip("\n")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def _from_memory(convert: Callable[[Sink], object], max_chars: int) -> str:
    sink = Sink(max_chars)
    try:
        convert(sink)
    except Full:
        pass
    except Exception:  # noqa: BLE001 - a damaged body yields what was read before the damage
        pass
    return _tidy(sink.text()).strip()


def html_text(markup: bytes | str, charset: str | None = None, *, max_chars: int = 5_000_000) -> str:
    """Visible text of an HTML body held in memory (email bodies, Outlook items). Never raises."""
    data = markup.encode("utf-8") if isinstance(markup, str) else markup
    return _from_memory(lambda sink: html.html_to_text(data, sink, "utf-8" if isinstance(markup, str) else charset),
                        max_chars)


def rtf_text(data: bytes, *, max_chars: int = 5_000_000) -> str:
    """Text of an RTF body held in memory (Outlook items). Never raises."""
    return _from_memory(lambda sink: rtf.rtf_to_text(data, sink), max_chars)
