"""Dates and amounts found by the fast patterns are those the plain formulation finds (the reference, here)."""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.entities.dates import _MONTH, _MONTHS, _valid, find_dates
from leaklens.entities.kinds import Context

# The patterns as first written: each starts with its look-behind (tried at every position).
_ISO = re.compile(r"(?<![\d\-])(\d{4})-(\d{2})-(\d{2})(?![\d])")
_NUMERIC = re.compile(r"(?<![\d./\-])(\d{1,2})([./])(\d{1,2})\2(\d{4})(?![\d./])")
_DAY_MONTH = re.compile(rf"(?<!\w)(\d{{1,2}})(?:er|st|nd|rd|th)?\.?\s+({_MONTH})\.?,?\s+(\d{{4}})(?!\d)", re.I)
_MONTH_DAY = re.compile(rf"(?<!\w)({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.I)


def reference(text: str) -> list[tuple[str, int, int]]:
    out = []
    for m in _ISO.finditer(text):
        if v := _valid(int(m[1]), int(m[2]), int(m[3])):
            out.append((v, m.start(), m.end()))
    for m in _NUMERIC.finditer(text):
        if v := _valid(int(m[4]), int(m[3]), int(m[1])):
            out.append((v, m.start(), m.end()))
    for m in _DAY_MONTH.finditer(text):
        if v := _valid(int(m[3]), _MONTHS[m[2].lower()], int(m[1])):
            out.append((v, m.start(), m.end()))
    for m in _MONTH_DAY.finditer(text):
        if v := _valid(int(m[3]), _MONTHS[m[1].lower()], int(m[2])):
            out.append((v, m.start(), m.end()))
    return out


PIECES = ["2017", "-", "05", "/", ".", "3", "12", " ", ",", "1er", "th", "May", "mai", "MAI", "Décembre", "мая",
          "sept", "x", "İ", "é", "\n", "2016-02-29", "31/04/2017", "1 mai 2017", "May 5, 2017", "0"]  # fmt: skip


@settings(max_examples=1200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map("".join))
def test_fast_date_patterns_find_what_the_plain_ones_find(text):
    assert [(m.value, m.start, m.end) for m in find_dates(text, Context())] == reference(text)


MONEY_PIECES = ["1", "250", " ", "1 250,00", ",", ".", "00", "EUR", "eur", "Euros", "$", "€", "£", "₽", "руб.",
                "M", "k", "bn", "millions", "млн", "x", "İ", "3.5", "12,000.50", "CHF",
                "fr.", "\u00a0", "'", "USD"]  # fmt: skip


@settings(max_examples=1200, deadline=None)
@given(st.lists(st.sampled_from(MONEY_PIECES), max_size=16).map("".join))
def test_fast_money_patterns_find_what_the_plain_ones_find(text):
    from leaklens.entities import money

    def plain(t):
        out = []
        for m in itertools.chain(money._BEFORE_ANY_CASE.finditer(t), money._AFTER_ANY_CASE.finditer(t)):
            amount, code = money.parse_amount(m["num"]), money._CURRENCIES.get(m["cur"].lower())
            if amount is not None and code is not None:
                amount *= money._SCALES[m["scale"].lower()] if m["scale"] else 1
                out.append((f"{code} {amount.normalize():f}", m.start(), m.end()))
        return out

    assert [(m.value, m.start, m.end) for m in money.find_money(text, Context())] == plain(text)


_SEP = r"[ \u00a0\u202f\-.]?(?:\r?\n[ \t]*)?"
_PLAIN = {  # as first written, each starting with its look-behind (or \b and re.I)
    "iban": re.compile(rf"(?<![A-Za-z0-9])([A-Z]{{2}}{_SEP}\d{_SEP}\d(?:{_SEP}[A-Za-z0-9]){{11,30}})"),
    "card": re.compile(r"(?<![\d.,\-])(\d(?:[ \-]?\d){12,18})(?![\d\-]|[.,]\d)"),
    "url": re.compile(r"\b((?:https?|ftp)://([^\s/?#<>\"'\\]+)[^\s<>\"'\\]*)", re.IGNORECASE),
}  # fmt: skip
WEB_PIECES = ["FR76", " ", "3000", "6000", "0112", "\n", "x", "4111", "1111", "-", "1", "HTTPS://", "http://",
              "ftp://", "Ex.FR", "/a?b", "a", "İ", "é", "@", ".", ",", "DE", "89", "0"]  # fmt: skip


@settings(max_examples=1200, deadline=None)
@given(st.lists(st.sampled_from(WEB_PIECES), max_size=24).map("".join))
def test_fast_bank_and_url_patterns_match_where_the_plain_ones_do(text):
    from leaklens.entities import banking, web

    assert [m.span(1) for m in banking._IBAN.finditer(text)] == [m.span(1) for m in _PLAIN["iban"].finditer(text)]
    assert [m.span(1) for m in banking._CARD.finditer(text)] == [m.span(1) for m in _PLAIN["card"].finditer(text)]
    assert [(m.span(1), m.span(2), m[1]) for m in web._urls(text)] == [
        (m.span(1), m.span(2), m[1]) for m in _PLAIN["url"].finditer(text)
    ]
