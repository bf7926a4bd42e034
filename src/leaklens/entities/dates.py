"""Dates as printed in English, French and Russian text, kept only when the calendar has them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from .kinds import Context, Mention, kind, literal_pattern, not_after

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

# Each pattern starts with what it consumes (a digit; the month's name) and looks behind only after
# it: a pattern that starts with a look-behind is tried at every position of the text, one that
# starts with a digit only where there is one (4x faster on a mixed text, the same matches).
_ISO = re.compile(r"(\d)(?<![\d\-]\d)(\d{3})-(\d{2})-(\d{2})(?![\d])")
# day first: fr, ru, en-GB
_NUMERIC = re.compile(r"(\d)(?<![\d./\-]\d)(\d?)([./])(\d{1,2})\3(\d{4})(?![\d./])")
_DAY_MONTH = re.compile(rf"(\d)(?<!\w\d)(\d?)(?:er|st|nd|rd|th)?\.?\s+({_MONTH})\.?,?\s+(\d{{4}})(?!\d)", re.I)
# Run on the lower-cased text, case-sensitive: an alternation of literals is then looked for by its
# first letters only (re.I tries it at every position); the word boundary before it is checked here.
_MONTH_DAY = re.compile(rf"({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)")
_MONTH_DAY_ANY_CASE = re.compile(rf"(?<!\w)({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.I)
_WORD = re.compile(r"\w")


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
        if value := _valid(int(m[1] + m[2]), int(m[3]), int(m[4])):
            yield Mention("date", value, m.start(), m.end())
    for m in _NUMERIC.finditer(text):
        if value := _valid(int(m[5]), int(m[4]), int(m[1] + m[2])):
            yield Mention("date", value, m.start(), m.end())
    for m in _DAY_MONTH.finditer(text):
        if value := _valid(int(m[4]), _MONTHS[m[3].lower()], int(m[1] + m[2])):
            yield Mention("date", value, m.start(), m.end())
    low = text.lower()
    if len(low) == len(text):  # positions in the lower-cased text are the text's
        found = not_after(_MONTH_DAY, low, _WORD)
    else:  # a character whose lower case is longer (İ): the slower pattern, on the text as it is
        found = _MONTH_DAY_ANY_CASE.finditer(text)
    for m in found:
        if value := _valid(int(m[3]), _MONTHS[m[1].lower()], int(m[2])):
            yield Mention("date", value, m.start(), m.end())
