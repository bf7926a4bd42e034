"""What a file is, told from its bytes first and its name only as a tie-breaker.

Leaks rename files (``invoice.pdf.exe``), strip extensions, or carry the ones a
mail client invented, so the extension is trusted only when the content is
compatible with several types (plain text that could be CSV; an OLE container
whose directory lies beyond the first 64 KiB).

``sniff`` is called on every item, hundreds of thousands of times per dump: it
looks at fixed offsets, does bounded ``find``/``translate`` calls in C, and uses
no regular expressions. Containers (zip, OLE) are looked into only when the
whole file is in ``head`` or, via ``sniff_file``, on disk.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

import olefile

HEAD_SIZE = 64 * 1024

# -- MIME types this module returns ---------------------------------------------------
PDF = "application/pdf"
ZIP = "application/zip"
SEVEN_Z = "application/x-7z-compressed"
GZIP = "application/gzip"
BZIP2 = "application/x-bzip2"
XZ = "application/x-xz"
TAR = "application/x-tar"
RAR = "application/vnd.rar"
PST = "application/vnd.ms-outlook-pst"
MSG = "application/vnd.ms-outlook"
OLE = "application/x-ole-storage"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
EPUB = "application/epub+zip"
RTF = "application/rtf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
TIFF = "image/tiff"
BMP = "image/bmp"
WEBP = "image/webp"
SVG = "image/svg+xml"
HTML = "text/html"
XML = "application/xml"
EMAIL = "message/rfc822"
MBOX = "application/mbox"
TEXT = "text/plain"
EMPTY = "application/x-empty"
BINARY = "application/octet-stream"

_EXTENSIONS = {
    PDF: ".pdf", ZIP: ".zip", SEVEN_Z: ".7z", GZIP: ".gz", BZIP2: ".bz2", XZ: ".xz", TAR: ".tar",
    RAR: ".rar", PST: ".pst", MSG: ".msg", OLE: ".ole", DOC: ".doc", XLS: ".xls", PPT: ".ppt",
    DOCX: ".docx", XLSX: ".xlsx", PPTX: ".pptx", ODT: ".odt", ODS: ".ods", ODP: ".odp",
    "application/vnd.oasis.opendocument.graphics": ".odg", EPUB: ".epub", RTF: ".rtf",
    PNG: ".png", JPEG: ".jpg", GIF: ".gif", TIFF: ".tif", BMP: ".bmp", WEBP: ".webp", SVG: ".svg",
    HTML: ".html", XML: ".xml", EMAIL: ".eml", MBOX: ".mbox", TEXT: ".txt", "text/csv": ".csv",
    "text/tab-separated-values": ".tsv", "application/json": ".json", "text/markdown": ".md",
    "text/calendar": ".ics", "text/vcard": ".vcf", EMPTY: "", BINARY: ".bin",
}

_ARCHIVES = frozenset({ZIP, SEVEN_Z, GZIP, BZIP2, XZ, TAR, RAR})
_DOCUMENTS = frozenset({PDF, DOC, XLS, PPT, DOCX, XLSX, PPTX, ODT, ODS, ODP, EPUB, RTF, HTML, XML,
                        "application/json", "application/xhtml+xml"})
_FAMILY_OF = {EMAIL: "email", MSG: "email", MBOX: "mbox", PST: "pst"}


def family(mime: str) -> str:
    """One of ``email``, ``mbox``, ``archive``, ``document``, ``image``, ``pst``, ``other``."""
    mime = (mime or "").split(";", 1)[0].strip().lower()
    if mime in _FAMILY_OF:
        return _FAMILY_OF[mime]
    if mime in _ARCHIVES:
        return "archive"
    if mime in _DOCUMENTS or mime.startswith(("text/", "application/vnd.oasis.opendocument.")):
        return "document"
    if mime.startswith("image/"):
        return "image"
    return "other"


def extension_for(mime: str) -> str:
    """The usual extension (with its dot) for a MIME type; ``.bin`` when there is none."""
    mime = (mime or "").split(";", 1)[0].strip().lower()
    if mime in _EXTENSIONS:
        return _EXTENSIONS[mime]
    import mimetypes  # rare path: keep the import off the hot path

    return mimetypes.guess_extension(mime, strict=False) or ".bin"


# -- magic numbers at offset 0 (checked in order; longest prefixes first where they overlap)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # empty archive
    (b"PK\x07\x08", ZIP),  # spanned archive marker
    (b"7z\xbc\xaf\x27\x1c", SEVEN_Z),
    (b"\x1f\x8b", GZIP),
    (b"\xfd7zXZ\x00", XZ),
    (b"Rar!\x1a\x07", RAR),
    (b"!BDN", PST),
    (b"{\\rtf", RTF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"II+\x00", TIFF),  # BigTIFF
    (b"MM\x00+", TIFF),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_OLE_BY_EXTENSION = {".doc": DOC, ".dot": DOC, ".xls": XLS, ".xlt": XLS, ".ppt": PPT, ".pps": PPT,
                     ".pot": PPT, ".msg": MSG}
_OOXML_BY_EXTENSION = {".docx": DOCX, ".docm": DOCX, ".xlsx": XLSX, ".xlsm": XLSX, ".pptx": PPTX,
                       ".pptm": PPTX}
# Plain text is compatible with all of these; the extension decides between them.
_TEXT_BY_EXTENSION = {".csv": "text/csv", ".tsv": "text/tab-separated-values", ".eml": EMAIL,
                      ".mbox": MBOX, ".mbx": MBOX, ".htm": HTML, ".html": HTML, ".xhtml": HTML,
                      ".xml": XML, ".json": "application/json", ".md": "text/markdown",
                      ".ics": "text/calendar", ".vcf": "text/vcard", ".rtf": RTF}

_ODF_OR_EPUB = frozenset({ODT, ODS, ODP, EPUB, "application/vnd.oasis.opendocument.graphics"})


def _extension(name: str) -> str:
    return os.path.splitext(name)[1].lower() if name else ""


def sniff(head: bytes, name: str = "", size: int | None = None) -> str:
    """The MIME type of a file from its first bytes (up to 64 KiB) and, as a tie-breaker, its name.

    ``size`` is the file's full size if known; when ``head`` holds the whole file,
    zip and OLE containers are opened from it to tell Office formats apart.
    Never raises.
    """
    try:
        return _sniff(bytes(head[:HEAD_SIZE]), name or "", size, None)
    except Exception:  # a sniffer must answer for every input; the content wins when it can
        return BINARY


def sniff_file(path: Path, name: str = "") -> str:
    """The MIME type of the file at ``path``, looking inside zip and OLE containers on disk."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_SIZE)
            size = os.fstat(f.fileno()).st_size
            try:
                return _sniff(head, name or path.name, size, f)
            except Exception:
                return BINARY
    except OSError:
        return BINARY


def _sniff(head: bytes, name: str, size: int | None, f: BinaryIO | None) -> str:
    if not head:
        return EMPTY
    whole = len(head) == size if size is not None else len(head) < HEAD_SIZE
    if f is None and whole:
        f = io.BytesIO(head)
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            if mime == ZIP:
                return _zip_type(head, f, name)
            return mime
    if head.startswith(_OLE_MAGIC):
        return _ole_type(head, f, name)
    if head.startswith(b"BZh") and len(head) > 3 and 0x31 <= head[3] <= 0x39:
        return BZIP2
    if _tar(head):
        return TAR
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"BM") and _plausible_bmp(head, size):
        return BMP
    return _text_type(head, name, whole)


# -- containers -------------------------------------------------------------------------

def _zip_type(head: bytes, f: BinaryIO | None, name: str) -> str:
    """Office Open XML, OpenDocument, EPUB or a plain zip.

    The local headers in ``head`` usually answer (ODF requires ``mimetype`` to be
    the first, stored member); the central directory is read only when they don't.
    """
    names, mimetype = _local_zip_names(head)
    answer = _zip_type_from_names(names, mimetype)
    if answer is not None:
        return answer
    if f is not None:
        try:
            answer = _zip_type_from_directory(f)
        except Exception:  # corrupt or truncated: the local headers were all we could read
            answer = None
        if answer is not None:
            return answer
    return ZIP


def _zip_type_from_names(names: list[str], mimetype: bytes | None) -> str | None:
    if mimetype is not None:
        declared = mimetype.strip().decode("ascii", "replace")
        if declared in _ODF_OR_EPUB or declared.startswith("application/vnd.oasis.opendocument."):
            return declared
    if "[Content_Types].xml" in names:
        for n in names:
            if n.startswith("word/"):
                return DOCX
            if n.startswith("xl/"):
                return XLSX
            if n.startswith("ppt/"):
                return PPTX
    return None


def _local_zip_names(head: bytes) -> tuple[list[str], bytes | None]:
    """Member names from the local file headers that fit in ``head``; stops at the first it cannot skip."""
    names: list[str] = []
    mimetype: bytes | None = None
    pos = 0
    end = len(head)
    while pos + 30 <= end and head.startswith(b"PK\x03\x04", pos) and len(names) < 200:
        flags, method = struct.unpack_from("<HH", head, pos + 6)
        csize, = struct.unpack_from("<I", head, pos + 18)
        nlen, xlen = struct.unpack_from("<HH", head, pos + 26)
        raw_name = head[pos + 30: pos + 30 + nlen]
        names.append(raw_name.decode("utf-8", "replace"))
        data = pos + 30 + nlen + xlen
        if raw_name == b"mimetype" and len(names) == 1 and method == 0 and csize <= 200:
            mimetype = head[data: data + csize]
        if flags & 0x08 or csize == 0xFFFFFFFF:
            break  # sizes live in a data descriptor (or zip64): the next header cannot be located
        pos = data + csize
    return names, mimetype


_MAX_DIRECTORY_ENTRIES = 20_000  # Office/ODF files have dozens; big archives are just zips


def _zip_type_from_directory(f: BinaryIO) -> str | None:
    f.seek(0, os.SEEK_END)
    size = f.tell()
    tail_len = min(size, 65_557)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    eocd = tail.rfind(b"PK\x05\x06")
    if eocd < 0 or eocd + 22 > len(tail):
        return None
    entries, = struct.unpack_from("<H", tail, eocd + 10)
    if entries > _MAX_DIRECTORY_ENTRIES:
        return None
    f.seek(0)
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        mimetype = None
        if "mimetype" in names:
            info = zf.getinfo("mimetype")
            if info.file_size <= 200 and not info.flag_bits & 0x1:
                with zf.open(info) as m:
                    mimetype = m.read(200)
    return _zip_type_from_names(names, mimetype)


_OLE_STREAM_HINTS = (
    ("WordDocument".encode("utf-16-le"), DOC),
    ("Workbook".encode("utf-16-le"), XLS),
    ("Book\x00".encode("utf-16-le"), XLS),
    ("PowerPoint Document".encode("utf-16-le"), PPT),
    ("__substg1.0_".encode("utf-16-le"), MSG),
)
_ENCRYPTED_PACKAGE = "EncryptedPackage"


def _ole_type(head: bytes, f: BinaryIO | None, name: str) -> str:
    """Word, Excel, PowerPoint, Outlook message or another OLE compound file."""
    if f is not None:
        try:
            f.seek(0)
            ole = olefile.OleFileIO(f)
            try:
                top = {entry[0] for entry in ole.listdir(streams=True, storages=True) if entry}
            finally:
                ole.close()
            return _ole_type_from_streams(top, name)
        except Exception:  # corrupt compound file: fall back to what the head shows
            pass
    # Directory entries hold UTF-16 names; in small files they sit inside the head.
    for needle, mime in _OLE_STREAM_HINTS:
        if needle in head:
            return mime
    return _OLE_BY_EXTENSION.get(_extension(name), OLE)


def _ole_type_from_streams(top: set[str], name: str) -> str:
    if "WordDocument" in top:
        return DOC
    if "Workbook" in top or "Book" in top:
        return XLS
    if "PowerPoint Document" in top:
        return PPT
    if any(s.startswith("__substg1.0_") for s in top):
        return MSG
    if _ENCRYPTED_PACKAGE in top:
        # A password-protected .docx/.xlsx/.pptx is an OLE file holding the encrypted zip.
        return _OOXML_BY_EXTENSION.get(_extension(name), OLE)
    return OLE


# -- archives without a magic at offset 0 --------------------------------------------------

def _tar(head: bytes) -> bool:
    """A tar header: ``ustar`` at 257 in a binary block, or (pre-POSIX tar) a checksum that adds up."""
    if len(head) < 512:
        return False
    if head[257:262] == b"ustar" and b"\x00" in head[:512]:
        return True
    if head[0] == 0:
        return False
    field = head[148:156].replace(b"\x00", b" ").strip()
    if not field or field.strip(b"01234567"):
        return False
    stored = int(field, 8)
    block = head[:512]
    unsigned = sum(block) - sum(block[148:156]) + 8 * 32
    if stored == unsigned:
        return True
    signed = unsigned - 2 * sum(b for b in block if b > 127)
    return stored == signed


def _plausible_bmp(head: bytes, size: int | None) -> bool:
    """``BM`` alone is two letters of text; the header's fields must agree too."""
    if len(head) < 26:
        return False
    file_size, reserved, offset, dib = struct.unpack_from("<IIII", head, 2)
    if reserved != 0 or dib not in (12, 40, 52, 56, 64, 108, 124) or not 14 + dib <= offset:
        return False
    return size is None or file_size in (0, size)


# -- text ---------------------------------------------------------------------------------

_EMAIL_KEY_HEADERS = frozenset({
    b"from", b"to", b"subject", b"date", b"received", b"message-id", b"return-path",
    b"delivered-to", b"mime-version", b"x-received", b"dkim-signature", b"arc-seal",
    b"authentication-results", b"x-original-to", b"sender", b"reply-to", b"cc", b"in-reply-to",
})
# RFC 5322 field names: printable ASCII except the colon.
_FTEXT = bytes(c for c in range(33, 127) if c != 0x3A)
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27)) + b"\x7f"
_WS = b" \t\r\n\x0c"
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<div",
                b"<table", b"<title", b"<style", b"<meta", b"<p>", b"<p ", b"<br", b"<h1", b"<font")
_TAG_END = b" \t\r\n>/"


_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xef\xbb\xbf")


def may_be_mailbox(data: bytes) -> bool:
    """Whether :func:`sniff` could call these bytes a mailbox: it needs a 'From ' line first
    (after blank lines), so anything else can skip sniffing when it is known to be a message."""
    if data.startswith(_BOMS):
        return True
    head = data[:4096].lstrip(b"\r\n")
    return not head or head.startswith(b"From ")


def _text_type(head: bytes, name: str, whole: bool) -> str:
    data = head
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return _by_extension(TEXT, name)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 with a BOM: look at it as UTF-8 so the same checks apply.
        codec = "utf-16-le" if head[0] == 0xFF else "utf-16-be"
        body = head[2: len(head) - (len(head) % 2)]
        data = body.decode(codec, "replace").encode("utf-8")
    elif head.startswith(b"\xef\xbb\xbf"):
        data = head[3:]
    # NUL bytes rule out text, but not mail: a message with a NUL in its body is still a message.
    binary = b"\x00" in data

    start = 0
    while start < len(data) and data[start] in b"\r\n":
        start += 1
    if data.startswith(b"From ", start) and _looks_like_mbox(data, start, whole):
        return MBOX
    if _looks_like_headers(data, start, whole, min_headers=2):
        return EMAIL
    late = _pdf_late(head)
    if late:
        return late
    if binary:
        return BINARY
    markup = _markup_type(data)
    if markup:
        return markup
    if _looks_like_text(data, whole):
        return _by_extension(TEXT, name)
    return BINARY


def _by_extension(content_type: str, name: str) -> str:
    return _TEXT_BY_EXTENSION.get(_extension(name), content_type)


def _pdf_late(head: bytes) -> str | None:
    # Readers accept junk before the header within the first KiB; so do forgers.
    return PDF if head.find(b"%PDF-", 0, 1024) >= 0 else None


def _looks_like_mbox(data: bytes, start: int, whole: bool) -> bool:
    eol = data.find(b"\n", start, start + 1000)
    if eol < 0:
        return False
    words = data[start + 5: eol].split()
    if len(words) < 2 or not any(48 <= c <= 57 for c in b"".join(words[1:])):
        return False  # ``From <sender> <date>``: the date has digits
    return _looks_like_headers(data, eol + 1, whole, min_headers=1)


def _looks_like_headers(data: bytes, pos: int, whole: bool, min_headers: int) -> bool:
    """RFC 5322 header lines up to a blank line, with at least one field a mail carries.

    A few damaged lines (a NUL or a space inside a field name, a line without a colon) do not
    stop a block that is otherwise plainly a message's: a forger's odd line must not make the
    message skip verification; the verifier reports it (headers.ambiguous).
    """
    count = known = damaged = 0
    end = len(data)
    while pos < end:
        eol = data.find(b"\n", pos)
        complete = eol >= 0
        if not complete:
            eol = end
        line = data[pos:eol]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            break
        if line[0] in b" \t":
            if count == 0:
                return False
        else:
            colon = line.find(b":", 0, 200)
            if colon <= 0 and not complete:
                # A head cut mid-line may end in half a field name.
                return (not whole and count >= min_headers and known > 0
                        and not line.translate(None, _FTEXT) and damaged <= _MAX_DAMAGED)
            if colon <= 0 or line[:colon].translate(None, _FTEXT):
                damaged += 1
                if damaged > _MAX_DAMAGED:
                    return False
                pos = eol + 1
                continue
            field_name = line[:colon]
            count += 1
            if field_name.lower() in _EMAIL_KEY_HEADERS:
                known += 1
        pos = eol + 1
    if damaged:
        return count >= max(min_headers, 3 * damaged, 3) and known >= 2
    return count >= min_headers and known > 0


_MAX_DAMAGED = 2


def _markup_type(data: bytes) -> str | None:
    pos = _skip_space(data, 0)
    declared_xml = False
    # Skip an XML declaration, processing instructions and comments before the first tag.
    for _ in range(16):
        if data.startswith(b"<?", pos):
            declared_xml = declared_xml or data.startswith(b"<?xml", pos)
            terminator = b"?>"
        elif data.startswith(b"<!--", pos):
            terminator = b"-->"
        else:
            break
        close = data.find(terminator, pos, pos + 4096)
        if close < 0:
            return XML if declared_xml else None
        pos = _skip_space(data, close + len(terminator))
    start = data[pos: pos + 16].lower()
    for prefix in _HTML_STARTS:
        if start.startswith(prefix):
            after = start[len(prefix): len(prefix) + 1]
            if prefix.endswith((b">", b" ")) or not after or after in _TAG_END:
                return HTML
    if start.startswith(b"<svg") and start[4:5] in (b"", *(bytes([c]) for c in _TAG_END)):
        return SVG
    if declared_xml or start.startswith(b"<!doctype"):
        return XML
    return None


def _skip_space(data: bytes, pos: int) -> int:
    end = min(len(data), pos + 4096)
    while pos < end and data[pos] in _WS:
        pos += 1
    return pos


def _looks_like_text(data: bytes, whole: bool) -> bool:
    # Text (UTF-8 or an 8-bit charset) has almost no control characters.
    controls = len(data) - len(data.translate(None, _CONTROL))
    return controls * 100 <= len(data)
