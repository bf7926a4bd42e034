"""An entity as a query names it (`entity:iban:FR76 3000 ...`), in the form the finders store it."""

from __future__ import annotations

import re

from .banking import mask_card
from .kinds import KINDS

QUERY_REGIONS = ("FR", "GB", "US", "RU")


def normalise(term: str) -> str:
    """"kind:value" with the value as stored (an IBAN compact and upper case, a phone in E.164, an
    address in lower case); ValueError for an unknown kind. A value that does not parse is kept as
    typed: it then simply matches nothing."""
    kind, sep, value = term.partition(":")
    kind = kind.strip().lower()
    value = value.strip()
    if not sep or kind not in KINDS or not value:
        raise ValueError(f"expects kind:value, the kind one of {', '.join(KINDS)} (e.g. iban:FR76300060000112...)")
    if kind in ("iban", "bic"):
        value = re.sub(r"[\s\-.]", "", value).upper()
    elif kind == "card":
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 12 and "*" not in value:
            value = mask_card(digits)  # cards are kept masked: a full number is asked by its mask
    elif kind == "phone":
        value = _e164(value)
    elif kind in ("email", "domain", "person"):
        value = value.lower()
    return f"{kind}:{value}"


def _e164(value: str) -> str:
    import phonenumbers

    for region in QUERY_REGIONS:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return value
