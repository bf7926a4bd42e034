"""Telephone numbers, validated against the numbering plans of the case's regions.

`phonenumbers`' own matcher reads 0.4 MB/s; a pattern proposes candidates first and only those
reach the library. A digit run is a phone number only when it is printed like one (international
prefix, or national grouping) or labelled as one: dates, GUIDs, invoice and order numbers, IBANs and
card numbers are digit runs too, and most of them parse as *some* valid number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .kinds import Context, Mention, kind

# A number as printed: an optional + or 00, then digits in groups separated by one space, dot, dash,
# slash or parentheses; 7 to 15 digits in all (E.164 allows 15).
_CANDIDATE = re.compile(
    r"(?<![\w+\-./])((?:\+|00)?\s?(?:\(\d{1,4}\)\s?)?\d{1,4}(?:[ .\-/]?(?:\(\d{1,4}\)|\d{1,5})){1,7})(?![\w\-/]|\.\d)"
)
_LABEL = re.compile(
    r"(?:t[ée]l(?:[ée]phone)?|phone|mobile|mob|portable|cell|fax|gsm|whatsapp|signal|tel|тел(?:ефон)?|моб|т\.)"
    r"\W{0,6}$",
    re.I,
)
# Labels of numbers that are not phones nor cards (orders, invoices, references, accounts).
NUMBER_LABEL = re.compile(
    r"(?:n[°o]|no\.|num(?:ber|éro)?|invoice|facture|order|commande|ref(?:erence|érence)?|réf|id|siret|siren|"
    r"tva|vat|iban|account|compte|dossier|ticket|case|счёт|счет|инн|№)\W{0,6}$",
    re.I,
)
_DATE_SHAPE = re.compile(r"^\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}$")


@kind("phone", "Telephone number valid in its numbering plan (international, or national for the case's regions)")
def find_phones(text: str, context: Context) -> Iterator[Mention]:
    import phonenumbers  # when first needed: its metadata is a large import

    for m in _CANDIDATE.finditer(text):
        printed = m.group(1).strip()
        digits = re.sub(r"\D", "", printed)
        if not 7 <= len(digits) <= 15 or _DATE_SHAPE.match(printed):
            continue
        start = m.start(1) + (len(m.group(1)) - len(m.group(1).lstrip()))
        before = text[max(0, start - 24) : start]
        if NUMBER_LABEL.search(before):
            continue
        international = printed.startswith(("+", "00"))
        grouped = bool(re.search(r"\d[ .\-/()]\d", printed)) and len(re.findall(r"\d+", printed)) >= 3
        labelled = bool(_LABEL.search(before))
        if not (international or grouped or labelled):
            continue  # a bare digit run: an order number as often as a phone
        number = _parse(printed, () if international else context.regions)
        if number is not None:
            value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            yield Mention("phone", value, start, start + len(printed))


def _parse(printed: str, regions: tuple[str, ...]):
    """The number as `phonenumbers` reads it in the first region where it is valid, else None."""
    import phonenumbers

    for region in regions or (None,):
        try:
            number = phonenumbers.parse(printed.replace("00", "+", 1) if printed.startswith("00") else printed, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None
