"""Image metadata with Pillow: EXIF (camera, software, dates, GPS) and PNG text chunks."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from .common import DateStamp, DocMetadata, clean_text, jsonable

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_BASE_TAGS = {
    271: "make",
    272: "model",
    305: "software",
    306: "datetime",
    315: "artist",
    33432: "copyright",
    270: "description",
    316: "host_computer",
}
_EXIF_TAGS = {
    36867: "datetime_original",
    36868: "datetime_digitized",
    36880: "offset_time",
    36881: "offset_time_original",
    42033: "body_serial",
    42036: "lens_model",
    42032: "owner",
    37510: "user_comment_present",
}


def parse_exif_date(text: str | None, offset: str | None) -> datetime | None:
    """EXIF `YYYY:MM:DD HH:MM:SS`, with the OffsetTime tag when the camera wrote one."""
    if not text:
        return None
    try:
        value = datetime.strptime(text.strip()[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if offset and len(offset) >= 6 and offset[0] in "+-":
        try:
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            return value.replace(tzinfo=timezone(-delta if offset[0] == "-" else delta))
        except ValueError:
            return value
    return value


def extract(path: Path, meta: DocMetadata) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as img:
            meta.raw["format"] = img.format
            meta.raw["size"] = list(img.size)
            exif = img.getexif()
            text_chunks = {str(k): v for k, v in (img.info or {}).items() if isinstance(v, str)}
            values: dict[str, Any] = {}
            for tag, name in _BASE_TAGS.items():
                if tag in exif:
                    values[name] = exif[tag]
            sub = exif.get_ifd(_EXIF_IFD)
            for tag, name in _EXIF_TAGS.items():
                if tag in sub:
                    values[name] = sub[tag] if tag != 37510 else True
            gps = exif.get_ifd(_GPS_IFD)
    values = {k: (clean_text(v, 300) if isinstance(v, str | bytes) else v) for k, v in values.items()}
    meta.raw["exif"] = jsonable(values)
    if gps:
        meta.raw["gps"] = _gps(gps)
    if text_chunks:
        meta.raw["text_chunks"] = {k: clean_text(v, 500) for k, v in list(text_chunks.items())[:50]}
    meta.author = values.get("artist") or clean_text(text_chunks.get("Author"))
    meta.application = values.get("software") or clean_text(text_chunks.get("Software"))
    meta.raw["camera"] = " ".join(x for x in (values.get("make"), values.get("model")) if x) or None
    stamp = DateStamp(meta)
    original = parse_exif_date(values.get("datetime_original"), values.get("offset_time_original"))
    changed = parse_exif_date(values.get("datetime"), values.get("offset_time"))
    for value in (original, changed):
        stamp.note_offset(value)
    stamp.set("created", original or parse_exif_date(values.get("datetime_digitized"), None))
    stamp.set("modified", changed)


def _gps(gps: dict[int, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        lat = _degrees(gps.get(2), gps.get(1))
        lon = _degrees(gps.get(4), gps.get(3))
        if lat is not None and lon is not None:
            out["latitude"], out["longitude"] = round(lat, 6), round(lon, 6)
        if 6 in gps:
            out["altitude"] = float(gps[6])
        if 29 in gps:
            out["date"] = clean_text(gps[29])
    except (TypeError, ValueError, ZeroDivisionError):
        pass
    return out


def _degrees(dms: Any, ref: Any) -> float | None:
    if not dms or len(dms) != 3:
        return None
    value = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if isinstance(ref, str) and ref.strip().upper() in ("S", "W"):
        value = -value
    return value if value == value else None
