"""Addresses on the net: e-mail addresses, URLs, and the registrable domains they name."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..addresses import organisational_domain
from .kinds import Context, Mention, kind

_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]{1,64}@((?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}))(?![\w-])")
_URL = re.compile(r"\b((?:https?|ftp)://([^\s/?#<>\"'\\]+)[^\s<>\"'\\]*)", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"»”’"


@kind("email", "E-mail address")
def find_emails(text: str, context: Context) -> Iterator[Mention]:
    for m in _EMAIL.finditer(text):
        yield Mention("email", m.group(1).lower(), m.start(1), m.end(1))


@kind("url", "Web address (http, https, ftp)")
def find_urls(text: str, context: Context) -> Iterator[Mention]:
    for m in _URL.finditer(text):
        url = m.group(1)
        cut = len(url.rstrip(_TRAILING))
        if url[:cut].count("(") > url[:cut].count(")") and url[cut:cut + 1] == ")":
            cut += 1  # a parenthesis the URL opened itself (Wikipedia's links)
        yield Mention("url", url[:cut], m.start(1), m.start(1) + cut)


@kind("domain", "Registrable domain of an e-mail address or URL (public suffix list, offline)")
def find_domains(text: str, context: Context) -> Iterator[Mention]:
    for pattern, group in ((_EMAIL, 2), (_URL, 2)):
        for m in pattern.finditer(text):
            host = m.group(group).rsplit("@", 1)[-1].split(":", 1)[0].rstrip(_TRAILING).lower()
            domain = organisational_domain(host)
            if domain and "." in domain:
                yield Mention("domain", domain, m.start(group), m.start(group) + len(host))
