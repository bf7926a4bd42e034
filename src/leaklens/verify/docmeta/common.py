"""The normalised metadata record every family extractor fills, and the helpers they share.

Extractors record facts only (names, dates, structure); judging them is the job of
`leaklens.verify.doc_checks`, which reads nothing but these records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from lxml import etree

from leaklens.model import Finding

DATE_FIELDS = ("created", "modified", "last_printed")
TEXT_FIELDS = (
    "author",
    "last_modified_by",
    "company",
    "application",
    "app_version",
    "producer",
    "creator_tool",
    "revision",
    "language",
    "template",
)

# Office apps zero-fill unset dates; those are "no date", not a date in 1601 or 1899.
_EARLIEST_REAL = datetime(1980, 1, 1, tzinfo=UTC)

# Parts of a container read into memory are capped, so a zip bomb cannot exhaust memory.
MAX_PART_BYTES = 32 * 1024 * 1024


@dataclass
class DocMetadata:
    """What a document says about its own making, normalised across formats."""

    family: str = ""
    author: str | None = None
    last_modified_by: str | None = None
    company: str | None = None
    application: str | None = None
    app_version: str | None = None
    producer: str | None = None
    creator_tool: str | None = None
    created: datetime | None = None
    modified: datetime | None = None
    last_printed: datetime | None = None
    revision: str | None = None
    codepage: int | None = None
    language: str | None = None
    template: str | None = None
    total_time: int | None = None  # minutes of editing, as the application counted them
    raw: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif f.name == "findings":
                value = [x.to_dict() for x in value]
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DocMetadata:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            value = d[f.name]
            if f.name in DATE_FIELDS and value:
                value = datetime.fromisoformat(value)
            elif f.name == "findings":
                value = [Finding.from_dict(x) for x in value or []]
            kwargs[f.name] = value
        return cls(**kwargs)

    def editors(self) -> list[tuple[str, str]]:
        """(field, value) pairs naming a person or organisation, for population checks."""
        return [
            (name, value)
            for name in ("author", "last_modified_by", "company")
            if (value := getattr(self, name))
        ]

    def naive(self, name: str) -> bool:
        """True when the file gave this date without a time zone (we assumed UTC)."""
        return name in self.raw.get("naive_dates", [])


@dataclass(frozen=True)
class DocRecord:
    """One document of a case as the population checks see it."""

    item_id: str
    group: str  # the folder or archive the document sits in
    meta: DocMetadata


def unreadable(family: str, exc: BaseException) -> Finding:
    return Finding(
        "doc.metadata_unreadable",
        "warning",
        f"The {family.upper()} file's metadata could not be read ({type(exc).__name__}); "
        "it may be damaged or not what its type claims.",
        {"family": family, "error": f"{type(exc).__name__}: {str(exc)[:300]}"},
    )


def encrypted(family: str, detail: str) -> Finding:
    return Finding(
        "ingest.encrypted",
        "warning",
        f"The {family.upper()} file is password-protected; its content and most metadata cannot be read.",
        {"family": family, "detail": detail},
    )


def clean_text(value: Any, limit: int = 500) -> str | None:
    """A stripped, printable string, or None for empty values."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", "").strip()
    text = "".join(ch for ch in text if ch.isprintable() or ch in "\t ")
    return text[:limit] or None


class DateStamp:
    """Collects a document's dates, remembering which came without a time zone."""

    def __init__(self, meta: DocMetadata) -> None:
        self.meta = meta

    def set(self, name: str, value: datetime | None) -> None:
        value = normalise_date(value, self.meta, name)
        if value is not None:
            setattr(self.meta, name, value)

    def note_offset(self, value: datetime | None) -> None:
        if value is not None and value.tzinfo is not None:
            offsets = self.meta.raw.setdefault("tz_offsets", [])
            label = format_offset(value.utcoffset())
            if label not in offsets:
                offsets.append(label)


def normalise_date(value: datetime | None, meta: DocMetadata, name: str) -> datetime | None:
    """Make a date timezone-aware (UTC when the file gave none, noting that) or drop it if unset."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
        naive = meta.raw.setdefault("naive_dates", [])
        if name not in naive:
            naive.append(name)
    if value < _EARLIEST_REAL:
        return None
    return value


def format_offset(offset: timedelta | None) -> str:
    if offset is None:
        return "?"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_ISO = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_iso(text: str | None) -> datetime | None:
    """W3CDTF / ISO 8601 as written by Office, ODF and XMP (any fraction length, optional zone)."""
    if not text:
        return None
    m = _ISO.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        value = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    if zone:
        return value.replace(tzinfo=_zone(zone))
    return value


def _zone(zone: str) -> timezone:
    if zone == "Z":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))


_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)


def parse_xml(data: bytes) -> etree._Element | None:
    """Parse untrusted XML without entities, DTDs or network; None if nothing usable."""
    try:
        root = etree.fromstring(data, _XML_PARSER)
    except etree.XMLSyntaxError:
        return None
    return root


def local(tag: Any) -> str:
    """Element name without its namespace."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def jsonable(value: Any, depth: int = 0) -> Any:
    """Turn parser output (bytes, datetimes, odd numbers) into plain JSON values."""
    if depth > 6:
        return None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return clean_text(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, list | tuple | set):
        return [jsonable(v, depth + 1) for v in list(value)[:200]]
    return clean_text(str(value))


# Windows LCIDs as found in RTF \deflang and the Word FIB; enough to name the usual languages.
LCID_TAGS = {
    1025: "ar-SA",
    1026: "bg-BG",
    1027: "ca-ES",
    1028: "zh-TW",
    1029: "cs-CZ",
    1030: "da-DK",
    1031: "de-DE",
    1032: "el-GR",
    1033: "en-US",
    1034: "es-ES",
    1035: "fi-FI",
    1036: "fr-FR",
    1037: "he-IL",
    1038: "hu-HU",
    1040: "it-IT",
    1041: "ja-JP",
    1042: "ko-KR",
    1043: "nl-NL",
    1044: "nb-NO",
    1045: "pl-PL",
    1046: "pt-BR",
    1048: "ro-RO",
    1049: "ru-RU",
    1050: "hr-HR",
    1051: "sk-SK",
    1053: "sv-SE",
    1054: "th-TH",
    1055: "tr-TR",
    1058: "uk-UA",
    1059: "be-BY",
    1060: "sl-SI",
    1061: "et-EE",
    1062: "lv-LV",
    1063: "lt-LT",
    1065: "fa-IR",
    1066: "vi-VN",
    1071: "mk-MK",
    1087: "kk-KZ",
    2052: "zh-CN",
    2057: "en-GB",
    2070: "pt-PT",
    2073: "ru-MD",
    3082: "es-ES",
    3084: "fr-CA",
    2060: "fr-BE",
    4108: "fr-CH",
    2055: "de-CH",
    3079: "de-AT",
    3098: "sr-Cyrl-CS",
    2074: "sr-Latn-CS",
    1068: "az-Latn-AZ",
    1079: "ka-GE",
    1067: "hy-AM",
}
