"""Amounts of money with their currency, in the number formats of English, French, German, Swiss and Russian."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from .kinds import Context, Mention, kind, literal_pattern, not_after

# Currency as printed -> ISO 4217 code.
_CURRENCIES = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD",
    "£": "GBP", "gbp": "GBP", "chf": "CHF", "fr.": "CHF",
    "₽": "RUB", "rub": "RUB", "руб": "RUB", "руб.": "RUB", "рублей": "RUB", "рубля": "RUB", "рубль": "RUB",
    "¥": "JPY", "jpy": "JPY", "cny": "CNY", "usdt": "USDT", "btc": "BTC",
}  # fmt: skip
_CUR = literal_pattern(_CURRENCIES)
# A number: digits grouped by thousands with , . space, non-breaking space, thin space or ', then decimals.
_NUM = r"\d{1,3}(?:[,.\u00a0\u202f' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SCALE = r"(?:\s?(?P<scale>k|m|bn|million|millions|milliards?|billion|billions|млн|млрд|тыс\.?))?"
# As first written (and still used when lower-casing a text changes its length): each pattern starts
# with a look-behind, so the engine tries it at every position of the text.
_BEFORE_ANY_CASE = re.compile(rf"(?<![\w$€£₽¥])(?P<cur>{_CUR})\s?(?P<num>{_NUM}){_SCALE}(?![\d\w])", re.I)
_AFTER_ANY_CASE = re.compile(rf"(?<![\d\w.,])(?P<num>{_NUM}){_SCALE}\s?(?P<cur>{_CUR})(?![\w])", re.I)
# The same, starting with what they consume: the currency (on the lower-cased text, case-sensitive,
# so its literals are looked for by their first characters; the boundary before it checked in
# find_money) and the number's first digit (the look-behind after it). 2-4x faster, the same matches.
_NUM_FIRST_DIGIT = r"\d(?<![\d\w.,]\d)(?:\d{0,2}(?:[,.\u00a0\u202f' ]\d{3})+(?:[.,]\d{1,2})?|\d*(?:[.,]\d{1,2})?)"
_BEFORE = re.compile(rf"(?P<cur>{_CUR})\s?(?P<num>{_NUM}){_SCALE}(?![\d\w])")
_AFTER = re.compile(rf"(?P<num>{_NUM_FIRST_DIGIT}){_SCALE}\s?(?P<cur>{_CUR})(?![\w])")
_NOT_BEFORE_CURRENCY = re.compile(r"[\w$€£₽¥]")
_SCALES = {"k": 10**3, "тыс": 10**3, "тыс.": 10**3, "m": 10**6, "million": 10**6, "millions": 10**6, "млн": 10**6,
           "bn": 10**9, "billion": 10**9, "billions": 10**9, "milliard": 10**9, "milliards": 10**9, "млрд": 10**9}


def parse_amount(printed: str) -> Decimal | None:
    """The value of a printed number, whichever convention separates its thousands and decimals."""
    s = printed.replace("\u00a0", " ").replace("\u202f", " ").replace("'", " ")
    last_sep = max(s.rfind(","), s.rfind("."))
    decimals = ""
    if last_sep != -1 and len(s) - last_sep - 1 in (1, 2):
        decimals = s[last_sep + 1 :]
        s = s[:last_sep]
    digits = re.sub(r"[ ,.]", "", s)
    if not digits.isdigit():
        return None
    try:
        return Decimal(digits + ("." + decimals if decimals else ""))
    except InvalidOperation:
        return None


@kind("money", "Amount of money with its currency (symbol, ISO code or name)")
def find_money(text: str, context: Context) -> Iterator[Mention]:
    low = text.lower()
    if len(low) == len(text):  # positions in the lower-cased text are the text's
        found = itertools.chain(
            not_after(_BEFORE, low, _NOT_BEFORE_CURRENCY),
            _AFTER.finditer(low),
        )
    else:
        found = itertools.chain(_BEFORE_ANY_CASE.finditer(text), _AFTER_ANY_CASE.finditer(text))
    for m in found:
        amount = parse_amount(m["num"])
        code = _CURRENCIES.get(m["cur"].lower())
        if amount is None or code is None:
            continue
        if m["scale"]:
            amount *= _SCALES[m["scale"].lower()]
        yield Mention("money", f"{code} {amount.normalize():f}", m.start(), m.end())
