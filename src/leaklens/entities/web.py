"""Addresses on the net: e-mail addresses, URLs, and the registrable domains they name."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..addresses import organisational_domain
from .kinds import Context, Mention, kind, not_after

_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]{1,64}@((?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}))(?![\w-])")
_URL_ANY_CASE = re.compile(r"\b((?:https?|ftp)://([^\s/?#<>\"'\\]+)[^\s<>\"'\\]*)", re.IGNORECASE)
# On the lower-cased text, case-sensitive and without the leading \b (checked in _urls): the engine
# then looks for "h" and "f" only, not tries the pattern at every position (2.4x faster).
_URL = re.compile(r"((?:https?|ftp)://([^\s/?#<>\"'\\]+)[^\s<>\"'\\]*)")
_WORD = re.compile(r"\w")
_TRAILING = ".,;:!?)]}'\"»”’"


def _emails(text: str) -> Iterator[re.Match[str]]:
    return _EMAIL.finditer(text) if "@" in text else iter(())  # most texts have none: one scan in C


def _urls(text: str) -> Iterator[re.Match[str]]:
    """_URL_ANY_CASE's matches, their groups read from `text` (found in its lower-cased copy)."""
    if "://" not in text:
        return
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer (İ): positions would differ
        yield from _URL_ANY_CASE.finditer(text)
        return
    for m in not_after(_URL, low, _WORD):  # at a word's start: the \b of _URL_ANY_CASE
        yield _URL_ANY_CASE.match(text, m.start()) or m  # the same span, the text's own case


@kind("email", "E-mail address")
def find_emails(text: str, context: Context) -> Iterator[Mention]:
    for m in _emails(text):
        yield Mention("email", m.group(1).lower(), m.start(1), m.end(1))


@kind("url", "Web address (http, https, ftp)")
def find_urls(text: str, context: Context) -> Iterator[Mention]:
    for m in _urls(text):
        url = m.group(1)
        cut = len(url.rstrip(_TRAILING))
        if url[:cut].count("(") > url[:cut].count(")") and url[cut:cut + 1] == ")":
            cut += 1  # a parenthesis the URL opened itself (Wikipedia's links)
        yield Mention("url", url[:cut], m.start(1), m.start(1) + cut)


@kind("domain", "Registrable domain of an e-mail address or URL (public suffix list, offline)")
def find_domains(text: str, context: Context) -> Iterator[Mention]:
    for matches, group in ((_emails(text), 2), (_urls(text), 2)):
        for m in matches:
            host = m.group(group).rsplit("@", 1)[-1].split(":", 1)[0].rstrip(_TRAILING).lower()
            domain = organisational_domain(host)
            if domain and "." in domain:
                yield Mention("domain", domain, m.start(group), m.start(group) + len(host))
