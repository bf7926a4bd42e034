"""Office Open XML (docx, xlsx, pptx and their macro/template variants), read with zipfile + lxml.

Besides the declared properties (docProps/core.xml, app.xml, custom.xml) this records the
package's own fingerprints: which suite wrote the workbook structure, the zip entry
timestamps, the number of Word save sessions (rsids) and the editing language.
"""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .common import (
    MAX_PART_BYTES,
    DateStamp,
    DocMetadata,
    clean_text,
    local,
    parse_iso,
    parse_xml,
)

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_RSID_ATTR = re.compile(rb'w:rsid\w*="([0-9A-Fa-f]{8})"')


def read_part(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART_BYTES:
        return None
    with zf.open(info) as fh:
        return fh.read(MAX_PART_BYTES)


def extract(path: Path, meta: DocMetadata) -> None:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        raw = meta.raw
        raw["package"] = _package_kind(names)
        _core(zf, meta)
        _app(zf, meta)
        _custom(zf, raw)
        _zip_fingerprint(zf, raw)
        _structure(zf, names, meta)
        raw["macros"] = any(n.lower().endswith("vbaproject.bin") for n in names)
        _external_targets(zf, names, raw)


def _package_kind(names: list[str]) -> str:
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "ooxml"


def _children(zf: zipfile.ZipFile, name: str) -> dict[str, Any]:
    """Direct children of a part's root, by local name (text, or the element for nested ones)."""
    data = read_part(zf, name)
    root = parse_xml(data) if data else None
    out: dict[str, Any] = {}
    if root is None:
        return out
    for child in root:
        key = local(child.tag)
        if key and key not in out:
            out[key] = child
    return out


def _text(el: Any) -> str | None:
    return clean_text("".join(el.itertext())) if el is not None else None


def _core(zf: zipfile.ZipFile, meta: DocMetadata) -> None:
    core = _children(zf, "docProps/core.xml")
    stamp = DateStamp(meta)
    meta.author = _text(core.get("creator"))
    meta.last_modified_by = _text(core.get("lastModifiedBy"))
    meta.revision = _text(core.get("revision"))
    meta.language = _text(core.get("language"))
    for field_name, key in (
        ("created", "created"),
        ("modified", "modified"),
        ("last_printed", "lastPrinted"),
    ):
        value = parse_iso(_text(core.get(key)))
        stamp.note_offset(value)
        stamp.set(field_name, value)
    extra = {
        k: _text(v)
        for k, v in core.items()
        if k in ("title", "subject", "keywords", "category", "description", "contentStatus", "identifier")
    }
    meta.raw["core"] = {k: v for k, v in extra.items() if v}


def _app(zf: zipfile.ZipFile, meta: DocMetadata) -> None:
    app = _children(zf, "docProps/app.xml")
    meta.application = _text(app.get("Application"))
    meta.app_version = _text(app.get("AppVersion"))
    meta.company = _text(app.get("Company"))
    meta.template = _text(app.get("Template"))
    total = _text(app.get("TotalTime"))
    if total and total.isdigit():
        meta.total_time = int(total)
    extra = {
        k: _text(app.get(k)) for k in ("Manager", "DocSecurity", "Pages", "Words", "Characters", "Lines")
    }
    meta.raw["app"] = {k: v for k, v in extra.items() if v}


def _custom(zf: zipfile.ZipFile, raw: dict[str, Any]) -> None:
    data = read_part(zf, "docProps/custom.xml")
    root = parse_xml(data) if data else None
    if root is None:
        return
    props = {}
    for prop in root:
        name = clean_text(prop.get("name"), 200)
        if name:
            props[name] = clean_text("".join(prop.itertext()), 1000)
        if len(props) >= 200:
            break
    raw["custom"] = props


def _zip_fingerprint(zf: zipfile.ZipFile, raw: dict[str, Any]) -> None:
    # Microsoft Office stores every part with the zero DOS date (1980-01-01); other writers
    # usually stamp the real save time, which then dates the last rewrite of the package.
    stamps = set()
    for info in zf.infolist()[:5000]:
        try:
            stamps.add(datetime(*info.date_time, tzinfo=UTC))
        except ValueError:
            continue
    real = sorted(s for s in stamps if s.year > 1980)
    raw["zip_entries"] = len(zf.infolist())
    if not real:
        raw["zip_timestamps"] = "zeroed"
    else:
        raw["zip_timestamps"] = {"min": real[0].isoformat(), "max": real[-1].isoformat()}


def _structure(zf: zipfile.ZipFile, names: list[str], meta: DocMetadata) -> None:
    raw = meta.raw
    if raw["package"] == "xlsx":
        wb = _children(zf, "xl/workbook.xml")
        fv = wb.get("fileVersion")
        app_name = fv.get("appName") if fv is not None else None
        if app_name:
            raw["workbook_app"] = app_name
            family = {"xl": "microsoft", "Calc": "libreoffice"}.get(app_name)
            if family:
                raw["structure_app"] = {
                    "family": family,
                    "evidence": f"xl/workbook.xml fileVersion appName={app_name}",
                }
        calc = wb.get("calcPr")
        if calc is not None and calc.get("calcId"):
            raw["calc_id"] = calc.get("calcId")
    elif raw["package"] == "docx":
        settings = read_part(zf, "word/settings.xml")
        root = parse_xml(settings) if settings else None
        rsids: set[str] = set()
        if root is not None:
            for el in root.iter(f"{{{_W}}}rsid", f"{{{_W}}}rsidRoot"):
                val = el.get(f"{{{_W}}}val")
                if val:
                    rsids.add(val.upper())
        if not rsids:
            doc = read_part(zf, "word/document.xml") or b""
            rsids = {m.upper() for m in (x.decode() for x in _RSID_ATTR.findall(doc))}
        raw["rsid_count"] = len(rsids)
        styles = read_part(zf, "word/styles.xml")
        sroot = parse_xml(styles) if styles else None
        if sroot is not None:
            for lang in sroot.iter(f"{{{_W}}}lang"):
                langs = {k: lang.get(f"{{{_W}}}{k}") for k in ("val", "eastAsia", "bidi")}
                raw["editing_languages"] = {k: v for k, v in langs.items() if v}
                if not meta.language and langs.get("val"):
                    meta.language = langs["val"]
                break


def _external_targets(zf: zipfile.ZipFile, names: list[str], raw: dict[str, Any]) -> None:
    targets = []
    for name in names:
        if not name.endswith(".rels") or len(targets) >= 20:
            continue
        root = parse_xml(read_part(zf, name) or b"")
        if root is None:
            continue
        for rel in root:
            if rel.get("TargetMode") == "External":
                targets.append(
                    {
                        "part": name,
                        "type": (rel.get("Type") or "").rsplit("/", 1)[-1],
                        "target": clean_text(rel.get("Target"), 500),
                    }
                )
    if targets:
        raw["external_targets"] = targets[:20]
