"""Bank accounts and payment cards: IBAN, BIC, card numbers, each kept only with valid check digits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from .kinds import Context, Mention, kind
from .phones import NUMBER_LABEL


@cache
def _schwifty():
    # Imported when first needed: its bank registry costs a quarter of a second, which a search or
    # `leaklens --help` (they read the entity kinds, not the finders) need not pay.
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException
    from schwifty.registry import get_iban_spec

    return IBAN, BIC, SchwiftyException, get_iban_spec

# A country code, two check digits, then 11 to 30 letters or digits in any printed grouping: compact,
# in groups of four (spaces, non-breaking or thin spaces, dashes, dots), or wrapped over a line break.
# Aleph's pattern reads only the compact form (0 of 3 grouped IBANs found).
_SEP = r"[ \u00a0\u202f\-.]?(?:\r?\n[ \t]*)?"
# The look-behind comes after the first letter (and the first digit for cards): a pattern that starts
# with one is tried at every position of the text, one that starts with a letter or digit only there
# (3-4x faster, the same matches: tests/test_entities_patterns.py).
_IBAN = re.compile(rf"([A-Z](?<![A-Za-z0-9][A-Z])[A-Z]{_SEP}\d{_SEP}\d(?:{_SEP}[A-Za-z0-9]){{11,30}})")
_ALNUM = re.compile(r"[A-Za-z0-9]")


def _iban_length(country: str) -> int | None:
    _, _, SchwiftyException, get_iban_spec = _schwifty()
    try:
        return get_iban_spec(country).iban_length
    except (KeyError, SchwiftyException):
        return None


@kind("iban", "International bank account number (ISO 13616), with valid check digits and length")
def find_ibans(text: str, context: Context) -> Iterator[Mention]:
    IBAN, _, SchwiftyException, _ = _schwifty()
    for m in _IBAN.finditer(text):
        want = _iban_length(m.group(1)[:2])
        if want is None:
            continue
        # The candidate may run on into the next word ("... 189 EUR"): take exactly the country's length.
        chars = [(c.start(), c.group()) for c in _ALNUM.finditer(m.group(1))]
        if len(chars) < want:
            continue
        compact = "".join(c for _, c in chars[:want]).upper()
        end = m.start(1) + chars[want - 1][0] + 1
        if end < len(text) and text[end].isalnum():
            continue  # glued to more letters or digits: not an IBAN's end
        try:
            IBAN(compact)
        except (SchwiftyException, ValueError):
            continue
        yield Mention("iban", compact, m.start(1), end)


_BIC = re.compile(r"(?<![A-Za-z0-9])([A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)(?![A-Za-z0-9])")
_BIC_LABEL = re.compile(r"(?:BIC|SWIFT|Swift|bic|swift)\W{0,12}$")


@kind("bic", "Bank identifier code (ISO 9362): a bank the registry knows, or a valid code labelled BIC/SWIFT")
def find_bics(text: str, context: Context) -> Iterator[Mention]:
    _, BIC, SchwiftyException, _ = _schwifty()
    for m in _BIC.finditer(text):
        code = m.group(1)
        # Eight capitals are often just a word ("BUSINESS" parses as a bank in Niger): keep a code the
        # bank registry knows, or one the text labels as a BIC.
        labelled = bool(_BIC_LABEL.search(text, max(0, m.start() - 14), m.start()))
        try:
            bic = BIC(code)
            known = bic.exists
        except (SchwiftyException, ValueError):
            continue
        if known or labelled:
            yield Mention("bic", code, m.start(1), m.end(1))


_CARD = re.compile(r"(\d(?<![\d.,\-]\d)(?:[ \-]?\d){12,18})(?![\d\-]|[.,]\d)")
# Issuer prefixes of the networks printed on cards (ISO/IEC 7812 IIN ranges), and their lengths.
_NETWORKS = (
    (re.compile(r"4"), (13, 16, 19)),  # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), (16,)),  # Mastercard
    (re.compile(r"3[47]"), (15,)),  # American Express
    (re.compile(r"6(?:011|5|4[4-9])"), (16, 19)),  # Discover
    (re.compile(r"35(?:2[89]|[3-8])"), (16, 19)),  # JCB
    (re.compile(r"3(?:0[0-5]|[689])"), (14, 16, 19)),  # Diners
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask_card(digits: str) -> str:
    """A card number as it may be shown: its first six and last four digits (PCI DSS)."""
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


@kind("card", "Payment card number: a card network's prefix and length, Luhn-valid; always shown masked", masked=True)
def find_cards(text: str, context: Context) -> Iterator[Mention]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        seps = set(re.sub(r"\d", "", m.group(1)))
        if len(seps) > 1 or len(set(digits)) < 2:
            continue  # mixed separators, or 0000 0000 ...: not a printed card
        if not any(p.match(digits) and len(digits) in lengths for p, lengths in _NETWORKS):
            continue
        if NUMBER_LABEL.search(text, max(0, m.start(1) - 24), m.start(1)):
            continue  # "order 30569309025904": an order or invoice number, Luhn-valid one time in ten
        if luhn_ok(digits):
            yield Mention("card", mask_card(digits), m.start(1), m.end(1))
