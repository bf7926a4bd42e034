"""Amounts of money with their currency, in the number formats of English, French, German, Swiss and Russian."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from .kinds import Context, Mention, kind, literal_pattern

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
_BEFORE = re.compile(rf"(?<![\w$€£₽¥])(?P<cur>{_CUR})\s?(?P<num>{_NUM}){_SCALE}(?![\d\w])", re.I)
_AFTER = re.compile(rf"(?<![\d\w.,])(?P<num>{_NUM}){_SCALE}\s?(?P<cur>{_CUR})(?![\w])", re.I)
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
    for pattern in (_BEFORE, _AFTER):
        for m in pattern.finditer(text):
            amount = parse_amount(m["num"])
            code = _CURRENCIES.get(m["cur"].lower())
            if amount is None or code is None:
                continue
            if m["scale"]:
                amount *= _SCALES[m["scale"].lower()]
            yield Mention("money", f"{code} {amount.normalize():f}", m.start(), m.end())
