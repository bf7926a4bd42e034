"""OpenDocument (odt, ods, odp): meta.xml, and the manifest for encryption."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .common import DateStamp, DocMetadata, clean_text, encrypted, local, parse_iso, parse_xml
from .ooxml import read_part

_DURATION = re.compile(r"^-?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$")
_XLINK = "http://www.w3.org/1999/xlink"


def duration_minutes(text: str | None) -> int | None:
    """ISO 8601 duration (`PT1H2M3S`, `P1DT2H`) as whole minutes."""
    m = _DURATION.match((text or "").strip())
    if not m or not any(m.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
    return int(days * 1440 + hours * 60 + minutes + seconds / 60)


def extract(path: Path, meta: DocMetadata) -> None:
    with zipfile.ZipFile(path) as zf:
        manifest = read_part(zf, "META-INF/manifest.xml") or b""
        if b"encryption-data" in manifest:
            meta.findings.append(encrypted("odf", "META-INF/manifest.xml declares encrypted entries"))
        mimetype = read_part(zf, "mimetype")
        if mimetype:
            meta.raw["odf_mimetype"] = clean_text(mimetype, 200)
        data = read_part(zf, "meta.xml")
    root = parse_xml(data) if data else None
    if root is None:
        return
    stamp = DateStamp(meta)
    user_defined: dict[str, str | None] = {}
    stats: dict[str, str] = {}
    for el in root.iter():
        name = local(el.tag)
        text = clean_text(el.text)
        if name == "initial-creator":
            meta.author = text
        elif name == "creator":
            meta.last_modified_by = text
        elif name == "generator":
            meta.application = text
        elif name == "language":
            meta.language = text
        elif name == "editing-cycles":
            meta.revision = text
        elif name == "editing-duration":
            meta.total_time = duration_minutes(text)
        elif name == "printed-by":
            meta.raw["printed_by"] = text
        elif name == "template":
            meta.template = clean_text(el.get(f"{{{_XLINK}}}title") or el.get(f"{{{_XLINK}}}href"))
        elif name == "user-defined" and len(user_defined) < 200:
            key = clean_text(_attr(el, "name"), 200)
            if key:
                user_defined[key] = text
        elif name == "document-statistic":
            stats = {local(k): v for k, v in el.attrib.items()}
        elif name in ("creation-date", "date", "print-date"):
            value = parse_iso(text)
            stamp.note_offset(value)
            target = {"creation-date": "created", "date": "modified", "print-date": "last_printed"}[name]
            stamp.set(target, value)
        elif name in ("title", "subject", "keyword", "description"):
            meta.raw.setdefault("odf", {})[name] = text
    if user_defined:
        meta.raw["custom"] = user_defined
    if stats:
        meta.raw["statistics"] = stats


def _attr(el: object, name: str) -> str | None:
    for key, value in el.attrib.items():  # type: ignore[attr-defined]
        if local(key) == name:
            return value
    return None
