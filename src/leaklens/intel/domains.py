"""Host names as leaklens compares them: A-labels, lower case, split at their public suffix.

The registrable domain is one label under the public suffix (RFC 7489 §3.2, as
`addresses.organisational_domain`), from the Public Suffix List bundled in tldextract, private
suffixes included, never downloaded. `addresses.organisational_domain` calls tldextract for one
domain at a time (about 200,000 a second); scoring a certificate-transparency list needs the
split at several times that, so the same list is read once here into sets and walked from the
right: two or three set look-ups per name.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

from ..addresses import _extractor, ascii_domain
from ..ingest.textformats.links import IPV4, URL, ips_in, urls_in

__all__ = [
    "IPV4",
    "URL",
    "ips_in",
    "urls_in",
    "Split",
    "split_host",
    "split_ascii",
    "unicode_label",
    "known_suffix",
    "host_of_url",
    "ip_of_url",
]
# A host inside a URL: after the scheme and any user:password@, up to the port or the path.
_URL_HOST = re.compile(r"(?i)^(?:[a-z][a-z0-9+.-]*://)?(?:[^/@?#]*@)?(\[[^\]]*\]|[^/:?#]+)")
_TRAILING = ".,;:!?)]}'\"»"


@dataclass(frozen=True, slots=True)
class Split:
    host: str  # A-labels, lower case, no final dot
    registrable: str  # label.suffix (the host itself when it is a public suffix or has no suffix rule)
    label: str  # the registrable label, A-label form ("" for a public suffix)
    suffix: str


@lru_cache(maxsize=1)
def _rules() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """(suffixes, wildcard parents, exceptions, every right-aligned tail of a rule), in A-labels."""
    rules, wild, exc, tails = set(), set(), set(), set()
    for rule in _extractor().tlds:
        try:
            r = rule.encode("idna").decode("ascii") if not rule.isascii() else rule
        except UnicodeError:
            r = ".".join(_alabel(p) for p in rule.split("."))
        r = r.lower()
        if r.startswith("*."):
            wild.add(r[2:])
            base = r[2:]
        elif r.startswith("!"):
            exc.add(r[1:])
            base = r[1:]
        else:
            rules.add(r)
            base = r
        labels = base.split(".")
        for i in range(len(labels)):
            tails.add(".".join(labels[i:]))
    return frozenset(rules), frozenset(wild), frozenset(exc), frozenset(tails)


def _alabel(label: str) -> str:
    if label.isascii() or label == "*" or label.startswith("!"):
        return label
    return "xn--" + label.encode("punycode").decode("ascii")


def split_host(host: str) -> Split | None:
    """The host's registrable domain and its parts; None when it is not a domain name (an IP, junk)."""
    h = host if host.isascii() and host.islower() and not host.endswith(".") else ascii_domain(host)
    if not h:
        return None
    return split_ascii(h)


def split_ascii(h: str) -> Split:
    """`split_host` for a host already in lower-case A-labels."""
    rules, wild, exc, tails = _rules()
    labels = h.split(".")
    n = len(labels)
    suffix_at = n  # index of the first label of the public suffix
    parent: str | None = None  # the tail one label shorter (a wildcard rule's parent)
    for i in range(n - 1, -1, -1):
        tail = labels[i] if parent is None else labels[i] + "." + parent
        if tail in exc:
            suffix_at = i + 1
            break
        if tail in rules:
            suffix_at = i
        wildcard = parent is not None and parent in wild
        if wildcard and i < suffix_at:
            suffix_at = i
        if tail not in tails and not wildcard:
            break
        parent = tail
    if suffix_at == n:
        # No rule (reserved names such as .example, .test, .local): the PSL's default rule "*".
        suffix_at = n - 1
    if suffix_at == 0:
        return Split(h, h, "", h)  # a public suffix is its own organisation
    suffix = ".".join(labels[suffix_at:])
    label = labels[suffix_at - 1]
    return Split(h, f"{label}.{suffix}", label, suffix)


def known_suffix(suffix: str) -> bool:
    """Whether the suffix is one of the Public Suffix List's (not the default rule's guess: file.txt)."""
    rules, wild, exc, _ = _rules()
    return suffix in rules or suffix.split(".", 1)[-1] in wild


def unicode_label(label: str) -> str:
    """An A-label decoded (xn--... to Unicode); the label itself when it is not one or is damaged."""
    if label.startswith("xn--"):
        try:
            return codecs.decode(label[4:].encode("ascii"), "punycode")
        except (UnicodeError, ValueError, IndexError):
            return label
    return label


def host_of_url(url: str) -> str | None:
    """The host of a URL (or of "www.example.org/..."), lower-case A-labels; None for an IP literal or junk."""
    m = _URL_HOST.match(url.strip())
    if not m:
        return None
    host = m.group(1).rstrip(_TRAILING).rstrip(".")
    if not host or host.startswith("[") or IPV4.fullmatch(host):
        return None
    return ascii_domain(host)


def ip_of_url(url: str) -> str | None:
    m = _URL_HOST.match(url.strip())
    if m and IPV4.fullmatch(m.group(1)):
        return m.group(1)
    return None
