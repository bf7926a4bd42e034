"""Document metadata extraction: one module per format family, one entry point.

`extract_metadata(path, mime)` never raises for a bad file: a damaged document yields a
`doc.metadata_unreadable` finding, a password-protected one `ingest.encrypted`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from . import exif, odf, ole, ooxml, pdf, rtf
from .common import DocMetadata, DocRecord, unreadable

__all__ = ["DocMetadata", "DocRecord", "extract_metadata", "family_for"]

_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")

_MIME_FAMILIES = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/rtf": "rtf",
    "text/rtf": "rtf",
    "application/msword": "ole",
    "application/vnd.ms-excel": "ole",
    "application/vnd.ms-powerpoint": "ole",
    "application/vnd.ms-office": "ole",
    "application/x-ole-storage": "ole",
    "application/cdfv2": "ole",
    "application/x-cfb": "ole",
    "image/jpeg": "exif",
    "image/tiff": "exif",
    "image/png": "exif",
    "image/webp": "exif",
    "image/heic": "exif",
}

_EXTRACTORS = {
    "pdf": pdf.extract,
    "ooxml": ooxml.extract,
    "odf": odf.extract,
    "ole": ole.extract,
    "rtf": rtf.extract,
    "exif": exif.extract,
}


def family_for(mime: str, head: bytes = b"") -> str | None:
    """The extractor family for a sniffed MIME type, falling back on the file's magic bytes."""
    mime = (mime or "").split(";")[0].strip().lower()
    if mime.startswith("application/vnd.openxmlformats-officedocument.") or (
        mime.startswith("application/vnd.ms-") and mime.endswith("macroenabled.12")
    ):
        family: str | None = "ooxml"
    elif mime.startswith("application/vnd.oasis.opendocument."):
        family = "odf"
    else:
        family = _MIME_FAMILIES.get(mime)
    # Trust the bytes over the label: an "xlsx" that is an OLE container is an encrypted
    # package, an "application/octet-stream" may well be a PDF.
    if head.startswith(_OLE_MAGIC):
        return "ole"
    if family is None:
        if head.lstrip()[:5] == b"%PDF-" or b"%PDF-" in head[:1024]:
            return "pdf"
        if head.startswith(b"{\\rtf"):
            return "rtf"
        if (
            head[:3] == b"\xff\xd8\xff"
            or head[:8] == b"\x89PNG\r\n\x1a\n"
            or head[:4] in (b"II*\x00", b"MM\x00*")
        ):
            return "exif"
    return family


def extract_metadata(path: Path, mime: str) -> DocMetadata:
    """Read what a document says about its own making. Never raises for a bad file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(2048)
    except OSError as exc:
        meta = DocMetadata(family="unknown")
        meta.findings.append(unreadable("file", exc))
        return meta
    family = family_for(mime, head)
    if family is None and head.startswith(b"PK"):
        family = _zip_family(path)
    meta = DocMetadata(family=family or "unknown")
    if family is None:
        return meta
    try:
        _EXTRACTORS[family](path, meta)
    except RecursionError as exc:
        meta.findings.append(unreadable(family, exc))
    except Exception as exc:  # noqa: BLE001 - any parser failure on hostile input becomes a finding
        meta.findings.append(unreadable(family, exc))
    return meta


def _zip_family(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" in names:
        return "ooxml"
    if "meta.xml" in names or "mimetype" in names:
        return "odf"
    return None
