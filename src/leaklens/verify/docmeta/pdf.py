"""PDF metadata with pikepdf: Info, XMP (with xmpMM:History), revisions, layers, active content.

Revisions are found from the raw bytes (each `startxref N %%EOF` closes one save); each
revision prefix is then opened on its own so that the objects an incremental update
rewrote can be listed, with the text of any page content it changed.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pikepdf

from .common import DateStamp, DocMetadata, clean_text, encrypted, jsonable, local, parse_iso, parse_xml

MAX_REVISION_BYTES = 64 * 1024 * 1024  # beyond this, revisions are counted but not compared
MAX_REVISIONS_COMPARED = 16
MAX_OBJECTS_COMPARED = 20_000
MAX_TEXT = 4000

_EOF = re.compile(rb"startxref\s+(\d+)\s*%%EOF[ \t]*(?:\r\n|\r|\n)?")
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(Z|[+-]\d{2}'?\d{2}?'?)?")

XMP_PREFIXES = {
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/pdf/1.3/": "pdf",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/xap/1.0/sType/ResourceRef#": "stRef",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/pdfx/1.3/": "pdfx",
    "http://www.aiim.org/pdfa/ns/id/": "pdfaid",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def parse_pdf_date(text: str | None) -> datetime | None:
    """`D:YYYYMMDDHHmmSS+HH'mm'`, tolerating the truncations real producers write."""
    if not text:
        return None
    m = _PDF_DATE.match(text.strip())
    if not m:
        return parse_iso(text)
    year, month, day, hour, minute, second, zone = m.groups()
    try:
        value = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    if not zone:
        return value
    if zone == "Z":
        return value.replace(tzinfo=UTC)
    digits = re.sub(r"\D", "", zone)
    try:
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return value.replace(tzinfo=timezone(-offset if zone[0] == "-" else offset))
    except ValueError:
        return value


def revision_ends(data: bytes | mmap.mmap) -> list[int]:
    """Offsets just past each `%%EOF` that closes a real xref (not one inside a stream)."""
    ends = []
    for m in _EOF.finditer(data):
        start = int(m.group(1))
        # A real startxref points back at an xref table or an xref-stream object. A linearized
        # file's first-page section points nowhere (0) or forward, and is not a revision.
        if 0 < start < m.start() and re.match(rb"\s*(xref|\d+\s+\d+\s+obj)", data[start : start + 40]):
            ends.append(m.end())
    return ends


def extract(path: Path, meta: DocMetadata) -> None:
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        meta.findings.append(encrypted("pdf", str(exc)[:200]))
        return
    with pdf:
        raw = meta.raw
        raw["pdf_version"] = pdf.pdf_version
        raw["pages"] = len(pdf.pages)
        raw["encrypted"] = bool(pdf.is_encrypted)
        raw["linearized"] = bool(pdf.is_linearized)
        _info(pdf, meta)
        _xmp(pdf, meta)
        _structure(pdf, raw)
        _fill_fields(meta)
    # Mapped rather than read: a dump's PDFs can be far larger than memory allows to copy.
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        _revisions(data, meta)


def _info(pdf: pikepdf.Pdf, meta: DocMetadata) -> None:
    info: dict[str, str] = {}
    try:
        items = list(pdf.docinfo.items())
    except (pikepdf.PdfError, AttributeError, TypeError):
        items = []
    for key, value in items[:100]:
        text = clean_text(_pdf_str(value), 2000)
        if text is not None:
            info[str(key).lstrip("/")] = text
    meta.raw["info"] = info
    lang = pdf.Root.get("/Lang")
    if lang is not None:
        meta.language = clean_text(_pdf_str(lang), 40)


def _pdf_str(value: Any) -> str:
    try:
        return str(value)
    except (UnicodeDecodeError, ValueError, TypeError):
        return repr(value)


def _xmp(pdf: pikepdf.Pdf, meta: DocMetadata) -> None:
    stream = pdf.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return
    root = parse_xml(stream.read_bytes()[: 8 * 1024 * 1024])
    if root is None:
        return
    props: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    for desc in root.iter(f"{{{_RDF}}}Description"):
        for attr, value in desc.attrib.items():
            name = _xmp_name(attr)
            if name:
                props[name] = clean_text(value, 2000)
        for child in desc:
            name = _xmp_name(child.tag)
            if not name:
                continue
            if name == "xmpMM:History":
                history.extend(_xmp_history(child))
            else:
                props[name] = _xmp_value(child)
    meta.raw["xmp"] = jsonable(props)
    if history:
        meta.raw["xmp_history"] = jsonable(history[:100])


def _xmp_name(tag: Any) -> str | None:
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    ns, name = tag[1:].split("}", 1)
    if ns == _RDF or ns.startswith("adobe:ns:meta"):
        return None
    return f"{XMP_PREFIXES.get(ns, ns)}:{name}"


def _xmp_value(el: Any) -> Any:
    items = [li for li in el.iter(f"{{{_RDF}}}li")]
    if items:
        values = [clean_text("".join(li.itertext()), 2000) for li in items]
        return [v for v in values if v]
    return clean_text("".join(el.itertext()), 2000)


def _xmp_history(el: Any) -> list[dict[str, Any]]:
    events = []
    for li in el.iter(f"{{{_RDF}}}li"):
        event: dict[str, Any] = {}
        for attr, value in li.attrib.items():
            if isinstance(attr, str) and attr.startswith("{") and not attr.startswith(f"{{{_RDF}}}"):
                event[local(attr)] = clean_text(value)
        for child in li.iter():
            if child is not li and local(child.tag) not in ("Description", "li") and child.text:
                event[local(child.tag)] = clean_text(child.text)
        if event:
            events.append(event)
    return events


def _structure(pdf: pikepdf.Pdf, raw: dict[str, Any]) -> None:
    root = pdf.Root
    ocprops = root.get("/OCProperties")
    if isinstance(ocprops, pikepdf.Dictionary):
        raw["ocg_layers"] = _layers(ocprops)
    try:
        raw["embedded_files"] = [str(name) for name in list(pdf.attachments.keys())[:100]]
    except (pikepdf.PdfError, KeyError, TypeError, ValueError):
        raw["embedded_files"] = []
    raw["javascript"] = _has_javascript(pdf)
    acro = root.get("/AcroForm")
    fields: list[dict[str, Any]] = []
    if isinstance(acro, pikepdf.Dictionary):
        _walk_fields(acro.get("/Fields"), "", fields, depth=0)
        raw["xfa"] = "/XFA" in acro
    raw["form_fields"] = [f["name"] for f in fields if f["type"] != "Sig"][:100]
    raw["signature_fields"] = [{"name": f["name"], "signed": f["signed"]} for f in fields if f["type"] == "Sig"][:50]


def _layers(ocprops: pikepdf.Dictionary) -> list[dict[str, Any]]:
    ocgs = ocprops.get("/OCGs")
    default = ocprops.get("/D")
    off: set[tuple[int, int]] = set()
    if isinstance(default, pikepdf.Dictionary) and isinstance(default.get("/OFF"), pikepdf.Array):
        off = {o.objgen for o in default.OFF if isinstance(o, pikepdf.Dictionary)}
    layers = []
    if isinstance(ocgs, pikepdf.Array):
        for ocg in list(ocgs)[:200]:
            if isinstance(ocg, pikepdf.Dictionary):
                name = clean_text(_pdf_str(ocg.get("/Name", "")), 200) or ""
                layers.append({"name": name, "hidden": ocg.objgen in off})
    return layers


_JS_KEY = re.compile(rb"/(?:JS|JavaScript)(?![A-Za-z0-9])")


def _has_javascript(pdf: pikepdf.Pdf) -> bool:
    """Any /JS action or JavaScript name tree, at any depth of any object's dictionary."""
    for i, obj in enumerate(pdf.objects):
        if i > MAX_OBJECTS_COMPARED:
            break
        try:
            if isinstance(obj, pikepdf.Stream):
                text = obj.stream_dict.unparse(resolved=True)
            elif isinstance(obj, pikepdf.Dictionary | pikepdf.Array):
                text = obj.unparse(resolved=True)
            else:
                continue
        except (pikepdf.PdfError, ValueError, TypeError, RuntimeError):
            continue
        if _JS_KEY.search(text):
            return True
    return False


def _walk_fields(fields: Any, prefix: str, out: list[dict[str, Any]], depth: int) -> None:
    if not isinstance(fields, pikepdf.Array) or depth > 20 or len(out) > 500:
        return
    for f in fields:
        if not isinstance(f, pikepdf.Dictionary):
            continue
        part = clean_text(_pdf_str(f.get("/T", "")), 200) or ""
        name = f"{prefix}.{part}" if prefix and part else (part or prefix)
        kids = f.get("/Kids")
        if isinstance(kids, pikepdf.Array) and any("/T" in k for k in kids if isinstance(k, pikepdf.Dictionary)):
            _walk_fields(kids, name, out, depth + 1)
            continue
        ftype = str(f.get("/FT", "")).lstrip("/")
        out.append({"name": name, "type": ftype, "signed": "/V" in f})


def _fill_fields(meta: DocMetadata) -> None:
    info = meta.raw.get("info", {})
    xmp = meta.raw.get("xmp", {})
    stamp = DateStamp(meta)
    dc_creator = xmp.get("dc:creator")
    if isinstance(dc_creator, list):
        dc_creator = dc_creator[0] if dc_creator else None
    meta.author = info.get("Author") or dc_creator
    meta.application = info.get("Creator") or xmp.get("xmp:CreatorTool")
    meta.creator_tool = xmp.get("xmp:CreatorTool") or info.get("Creator")
    meta.producer = info.get("Producer") or xmp.get("pdf:Producer")
    info_created = parse_pdf_date(info.get("CreationDate"))
    info_modified = parse_pdf_date(info.get("ModDate"))
    xmp_created = parse_iso(xmp.get("xmp:CreateDate"))
    xmp_modified = parse_iso(xmp.get("xmp:ModifyDate"))
    for value in (info_created, info_modified, xmp_created, xmp_modified):
        stamp.note_offset(value)
    stamp.set("created", info_created or xmp_created)
    stamp.set("modified", info_modified or xmp_modified)


def _revisions(data: bytes | mmap.mmap, meta: DocMetadata) -> None:
    raw = meta.raw
    ends = revision_ends(data)
    raw["revisions"] = max(len(ends), 1)
    tail_len = len(data) - ends[-1] if ends else 0
    # Trailing whitespace and NULs are padding, not data; beyond 1 MiB the exact figure hardly matters.
    raw["bytes_after_last_eof"] = (
        len(data[ends[-1] :].strip(b"\x00\r\n\t \x0c")) if 0 < tail_len <= 1 << 20 else tail_len
    )
    if len(ends) < 2 or len(data) > MAX_REVISION_BYTES:
        return
    skipped = max(0, len(ends) - (MAX_REVISIONS_COMPARED + 1))
    ends = ends[skipped:]
    snapshots = [_snapshot(data[:end]) for end in ends]
    changes = []
    producers = []
    for i, snap in enumerate(snapshots):
        producers.append(snap["producer"] if snap else None)
        if i == 0 or snap is None or snapshots[i - 1] is None:
            continue
        changes.append(_compare(snapshots[i - 1], snap, skipped + i + 1))
    raw["revision_changes"] = changes
    raw["revision_producers"] = producers


def _snapshot(prefix: bytes) -> dict[str, Any] | None:
    """The objects of one revision, each as a digest, plus the text of its content streams."""
    try:
        pdf = pikepdf.open(io.BytesIO(prefix))
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError):
        return None
    with pdf:
        content_ids = set()
        for page in pdf.pages:
            contents = page.obj.get("/Contents")
            items = contents if isinstance(contents, pikepdf.Array) else [contents]
            for c in items:
                if isinstance(c, pikepdf.Stream) and c.is_indirect:
                    content_ids.add(c.objgen)
        objects: dict[tuple[int, int], str] = {}
        kinds: dict[tuple[int, int], str] = {}
        texts: dict[tuple[int, int], str] = {}
        for i, obj in enumerate(pdf.objects):
            if i > MAX_OBJECTS_COMPARED:
                break
            # pikepdf yields None for a slot a damaged xref left empty, and a plain int, bool or str
            # for an object that is a bare scalar (it has no identity left to compare by).
            if not isinstance(obj, pikepdf.Object) or not obj.is_indirect:
                continue
            kind, digest, text = _describe(obj, obj.objgen in content_ids)
            if kind in ("XRef", "ObjStm"):
                continue
            objects[obj.objgen] = digest
            kinds[obj.objgen] = kind
            if text:
                texts[obj.objgen] = text
        producer = None
        try:
            producer = clean_text(_pdf_str(pdf.docinfo.get("/Producer")), 300) if "/Producer" in pdf.docinfo else None
        except (pikepdf.PdfError, AttributeError):
            pass
        return {"objects": objects, "kinds": kinds, "texts": texts, "producer": producer}


def _describe(obj: Any, is_content: bool) -> tuple[str, str, str]:
    try:
        if isinstance(obj, pikepdf.Stream):
            d = obj.stream_dict
            kind = str(d.get("/Type", d.get("/Subtype", ""))).lstrip("/") or "stream"
            if is_content:
                kind = "content"
            raw = obj.read_raw_bytes()
            digest = hashlib.sha1(d.unparse(resolved=True) + raw).hexdigest()
            text = ""
            if is_content or kind == "Form":
                text = content_text(obj.read_bytes())
            return kind, digest, text
        kind = ""
        if isinstance(obj, pikepdf.Dictionary):
            kind = str(obj.get("/Type", obj.get("/FT", obj.get("/Subtype", "")))).lstrip("/")
        return kind or type(obj).__name__, hashlib.sha1(obj.unparse(resolved=True)).hexdigest(), ""
    except (pikepdf.PdfError, ValueError, TypeError, RuntimeError):
        return "unreadable", "unreadable", ""


_LITERAL = re.compile(rb"\(((?:\\.|[^\\)])*)\)", re.S)


def content_text(data: bytes) -> str:
    """The literal strings a content stream shows, in order (enough to see a changed amount)."""
    parts: list[str] = []
    for m in _LITERAL.finditer(data[:2_000_000]):
        parts.append(_unescape(m.group(1)))
        if sum(len(p) for p in parts) > MAX_TEXT:
            break
    return " ".join(p for p in parts if p.strip())[:MAX_TEXT]


def _unescape(s: bytes) -> str:
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == 0x5C and i + 1 < len(s):
            n = s[i + 1]
            mapped = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}.get(n)
            if mapped is not None:
                out.append(mapped)
                i += 2
            elif 0x30 <= n <= 0x37:
                j = i + 1
                while j < len(s) and j < i + 4 and 0x30 <= s[j] <= 0x37:
                    j += 1
                out.append(int(s[i + 1 : j], 8) & 0xFF)
                i = j
            else:
                out.append(n)
                i += 2
        else:
            out.append(c)
            i += 1
    return out.decode("latin-1")


def _compare(old: dict[str, Any], new: dict[str, Any], number: int) -> dict[str, Any]:
    old_objs, new_objs = old["objects"], new["objects"]
    changed = sorted(k for k in new_objs if k in old_objs and old_objs[k] != new_objs[k])
    added = sorted(k for k in new_objs if k not in old_objs)
    removed = sorted(k for k in old_objs if k not in new_objs)
    text_changes = []
    for key in changed + added:
        new_text = new["texts"].get(key, "")
        old_text = old["texts"].get(key, "")
        if new_text != old_text:
            text_changes.append({"object": key[0], "old_text": old_text, "new_text": new_text})
    return {
        "revision": number,
        "changed": [k[0] for k in changed][:500],
        "added": [k[0] for k in added][:500],
        "removed": [k[0] for k in removed][:500],
        "kinds": sorted({new["kinds"].get(k, "") for k in changed + added} - {""}),
        "text_changes": text_changes[:50],
        "producer": new["producer"],
    }
