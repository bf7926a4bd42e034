"""People and organisations: the case's own correspondents found again in text, and companies by legal form."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .kinds import Context, Mention, kind, literal_pattern


def _fold(s: str) -> str:
    return " ".join(s.casefold().split())


def _people_pattern(context: Context) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    cached = context._compiled.get("people")
    if cached is None:
        # Names of two words or more: a first name alone ("Marc") names half the country.
        names = {_fold(n): a for n, a in context.people.items() if "@" not in n and len(n.split()) >= 2 and len(n) >= 5}
        # Names are matched as single-spaced words; a text wraps them over lines and doubles spaces.
        words = literal_pattern(names).replace("\\ ", r"\s+")
        pattern = re.compile(r"(?<!\w)(" + words + r")(?!\w)", re.I) if names else None
        cached = context._compiled["people"] = (pattern, names)
    return cached  # type: ignore[return-value]


@kind("person", "A correspondent of the case (a display name from the mail headers) named in a text; with the ner "
      "extra, also a name spaCy's recogniser finds in French text (value: the name as printed)")
def find_people(text: str, context: Context) -> Iterator[Mention]:
    pattern, names = _people_pattern(context)
    if pattern is None:
        return
    for m in pattern.finditer(text):
        address = names.get(_fold(m.group(1)))
        if address:
            yield Mention("person", address, m.start(1), m.end(1))


_FORMS = (
    r"S\.?A\.?S\.?U?|S\.?A\.?R\.?L\.?|S\.?A\.?|SCI|SNC|EURL|SE|Ltd\.?|Limited|LLC|L\.L\.C\.|LLP|Inc\.?|Corp\.?|"
    r"Corporation|PLC|plc|GmbH|AG|KG|BV|B\.V\.|NV|N\.V\.|S\.p\.A\.|SpA|S\.L\.|Sàrl|SARL|Oy|AB|A/S"
)
_WORD = r"(?:[A-Z0-9][\w&'’\-]*|&|de|du|des|et|and|of|the)"
_WESTERN = re.compile(rf"(?<![\w])((?:[A-Z][\w&'’\-]*)(?:[ \u00a0]{_WORD}){{0,4}},?[ \u00a0](?:{_FORMS}))(?![\w])")
_RUSSIAN = re.compile(r"(?<![\w])((?:ООО|ОАО|ЗАО|ПАО|АО|ИП)\s?[«\"“]([^»\"”\n]{2,60})[»\"”])")
_STOP = {"The", "A", "An", "Le", "La", "Les", "Un", "Une", "Dear", "Cher", "Chère", "From", "To", "De"}


@kind("org", "A company named with its legal form (SA, SAS, SARL, Ltd, LLC, Inc, GmbH, ООО, ...); with the ner "
      "extra, also an organisation spaCy's recogniser finds in French text")
def find_orgs(text: str, context: Context) -> Iterator[Mention]:
    for m in _WESTERN.finditer(text):
        name = m.group(1)
        first, _, rest = name.partition(" ")
        start = m.start(1)
        if first in _STOP and rest:
            start += len(first) + 1  # "The Acme Ltd" is Acme Ltd
            name = rest
        # "Acme Inc." and "Acme Inc" are one company; a sentence's full stop is not part of its name.
        yield Mention("org", " ".join(name.replace(",", " ").split()).rstrip("."), start, m.end(1))
    for m in _RUSSIAN.finditer(text):
        form = m.group(1).split("«")[0].split('"')[0].split("“")[0].strip()
        yield Mention("org", f"{form} «{m.group(2).strip()}»", m.start(1), m.end(1))
