"""The case's document population: who edited, with what, in which script, codepage and zone.

Outlier checks judge a document against this population rather than against fixed rules,
and the report's `population` section (and `leaklens people`) prints it.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

from leaklens.verify.docmeta.common import DocRecord

_SCRIPT_PREFIXES = (
    ("LATIN", "Latin"),
    ("CYRILLIC", "Cyrillic"),
    ("GREEK", "Greek"),
    ("ARABIC", "Arabic"),
    ("HEBREW", "Hebrew"),
    ("CJK", "Han"),
    ("HIRAGANA", "Japanese"),
    ("KATAKANA", "Japanese"),
    ("HANGUL", "Hangul"),
    ("THAI", "Thai"),
    ("ARMENIAN", "Armenian"),
    ("GEORGIAN", "Georgian"),
    ("DEVANAGARI", "Devanagari"),
)

# Windows/Mac codepages by the script they encode; Unicode codepages (1200, 65001) are neutral.
_CODEPAGE_SCRIPTS = {
    437: "Latin",
    850: "Latin",
    852: "Latin",
    1250: "Latin",
    1252: "Latin",
    1254: "Latin",
    1257: "Latin",
    1258: "Latin",
    10000: "Latin",
    28591: "Latin",
    28592: "Latin",
    855: "Cyrillic",
    866: "Cyrillic",
    1251: "Cyrillic",
    10007: "Cyrillic",
    20866: "Cyrillic",
    28595: "Cyrillic",
    737: "Greek",
    1253: "Greek",
    28597: "Greek",
    862: "Hebrew",
    1255: "Hebrew",
    720: "Arabic",
    1256: "Arabic",
    874: "Thai",
    932: "Japanese",
    936: "Han",
    950: "Han",
    949: "Hangul",
}

_LANGUAGE_SCRIPTS = {
    "ru": "Cyrillic",
    "uk": "Cyrillic",
    "be": "Cyrillic",
    "bg": "Cyrillic",
    "mk": "Cyrillic",
    "kk": "Cyrillic",
    "ky": "Cyrillic",
    "tg": "Cyrillic",
    "mn": "Cyrillic",
    "el": "Greek",
    "ar": "Arabic",
    "fa": "Arabic",
    "ur": "Arabic",
    "he": "Hebrew",
    "yi": "Hebrew",
    "zh": "Han",
    "ja": "Japanese",
    "ko": "Hangul",
    "th": "Thai",
    "hy": "Armenian",
    "ka": "Georgian",
    "hi": "Devanagari",
}


def script_of(text: str | None) -> str | None:
    """The writing system most of a name's letters belong to (None when it has no letters)."""
    counts: Counter[str] = Counter()
    for ch in text or "":
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        for prefix, script in _SCRIPT_PREFIXES:
            if name.startswith(prefix):
                counts[script] += 1
                break
        else:
            counts["Other"] += 1
    return counts.most_common(1)[0][0] if counts else None


def codepage_script(codepage: int | None) -> str | None:
    return _CODEPAGE_SCRIPTS.get(codepage) if codepage is not None else None


def language_script(tag: str | None) -> str | None:
    if not tag:
        return None
    primary = tag.replace("_", "-").split("-")[0].lower()
    if primary in ("und", "zxx", "mul", "mis"):  # undetermined / no linguistic content
        return None
    if tag.lower().startswith("sr-cyrl"):
        return "Cyrillic"
    return _LANGUAGE_SCRIPTS.get(primary, "Latin" if primary.isalpha() and len(primary) in (2, 3) else None)


def normalise_name(value: str | None) -> str | None:
    if not value:
        return None
    return " ".join(value.split()) or None


def _ranked(counter: Counter[Any], limit: int = 100) -> list[dict[str, Any]]:
    # Ties by value, not by which document was read first: the order items were written differs
    # between two runs with several workers (or on a cluster), the report must not.
    ranked = sorted(counter.items(), key=lambda vn: (-vn[1], str(vn[0])))[:limit]
    return [{"value": v, "count": n} for v, n in ranked]


def population_summary(docs: Iterable[DocRecord]) -> dict[str, Any]:
    """Counts over the case's documents; each list is [{"value", "count"}] most common first.

    Counts are of documents (a name that is both author and last editor of a file counts once
    under `editors`)."""
    editors: Counter[str] = Counter()
    authors: Counter[str] = Counter()
    last_by: Counter[str] = Counter()
    companies: Counter[str] = Counter()
    applications: Counter[str] = Counter()
    producers: Counter[str] = Counter()
    codepages: Counter[int] = Counter()
    languages: Counter[str] = Counter()
    zones: Counter[str] = Counter()
    scripts: Counter[str] = Counter()
    families: Counter[str] = Counter()
    total = 0
    for rec in docs:
        meta = rec.meta
        total += 1
        families[meta.family or "unknown"] += 1
        names = {n for n in (normalise_name(meta.author), normalise_name(meta.last_modified_by)) if n}
        editors.update(names)
        scripts.update({s for s in (script_of(n) for n in names) if s})
        if a := normalise_name(meta.author):
            authors[a] += 1
        if b := normalise_name(meta.last_modified_by):
            last_by[b] += 1
        if c := normalise_name(meta.company):
            companies[c] += 1
        if meta.application:
            applications[meta.application] += 1
        if meta.producer:
            producers[meta.producer] += 1
        if meta.codepage is not None:
            codepages[meta.codepage] += 1
        if meta.language:
            languages[meta.language] += 1
        zones.update(set(meta.raw.get("tz_offsets", [])))
    return {
        "documents": total,
        "families": _ranked(families),
        "editors": _ranked(editors),
        "authors": _ranked(authors),
        "last_modified_by": _ranked(last_by),
        "companies": _ranked(companies),
        "applications": _ranked(applications),
        "producers": _ranked(producers),
        "codepages": _ranked(codepages),
        "languages": _ranked(languages),
        "time_zones": _ranked(zones),
        "scripts": _ranked(scripts),
    }
