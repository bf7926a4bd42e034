"""Dates as printed in English, French and Russian text, kept only when the calendar has them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from .kinds import Context, Mention, kind, literal_pattern

_MONTHS = {
    # English, French (with and without accents), Russian (genitive, as dates print them)
    **{m: i + 1 for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                        "september", "october", "november", "december"))},
    **{m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                        "nov", "dec"))},
    **{m: i + 1 for i, m in enumerate(("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                                        "septembre", "octobre", "novembre", "décembre"))},
    "fevrier": 2, "aout": 8, "decembre": 12, "sept": 9,
    **{m: i + 1 for i, m in enumerate(("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                                        "сентября", "октября", "ноября", "декабря"))},
}  # fmt: skip
_MONTH = literal_pattern(_MONTHS)

_ISO = re.compile(r"(?<![\d\-])(\d{4})-(\d{2})-(\d{2})(?![\d])")
_NUMERIC = re.compile(r"(?<![\d./\-])(\d{1,2})([./])(\d{1,2})\2(\d{4})(?![\d./])")  # day first: fr, ru, en-GB
_DAY_MONTH = re.compile(rf"(?<!\w)(\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s+({_MONTH})\.?,?\s+(\d{{4}})(?!\d)", re.I)
_MONTH_DAY = re.compile(rf"(?<!\w)({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.I)


def _valid(y: int, m: int, d: int) -> str | None:
    if not 1900 <= y <= 2100:
        return None
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


@kind("date", "Calendar date (ISO, day/month/year, or with the month's name in English, French or Russian)")
def find_dates(text: str, context: Context) -> Iterator[Mention]:
    for m in _ISO.finditer(text):
        if value := _valid(int(m[1]), int(m[2]), int(m[3])):
            yield Mention("date", value, m.start(), m.end())
    for m in _NUMERIC.finditer(text):
        if value := _valid(int(m[4]), int(m[3]), int(m[1])):
            yield Mention("date", value, m.start(), m.end())
    for m in _DAY_MONTH.finditer(text):
        if value := _valid(int(m[3]), _MONTHS[m[2].lower()], int(m[1])):
            yield Mention("date", value, m.start(), m.end())
    for m in _MONTH_DAY.finditer(text):
        if value := _valid(int(m[3]), _MONTHS[m[1].lower()], int(m[2])):
            yield Mention("date", value, m.start(), m.end())
