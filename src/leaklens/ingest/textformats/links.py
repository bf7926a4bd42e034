"""Where a body points: the link targets and forms of HTML, the URLs written in text.

Visible text (html.py) drops every href, and a phishing email's evidence is its link targets:
the domain an anchor's text names and the one its href goes to, a password form posting to
another host. They are kept at ingest in the item's metadata (`links`, `forms`), capped, never
fetched, and read by intel/ (lookalike domains, link-text mismatches, credential forms).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .charset import decode_text

MAX_LINKS = 200  # per item: a newsletter has dozens, a hostile page may have millions
MAX_FORMS = 20
MAX_URL = 2000
MAX_TEXT = 200

# A URL in text: a scheme and a host, or "www." and a host, up to the first character a URL cannot
# hold unescaped. The punctuation that ends a sentence is taken off by `urls_in`.
URL = re.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`{}|\\^\[\]]+")
_TRAILING = ".,;:!?)]}'\"»"
IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.]\d)")


def ips_in(text: str, limit: int = MAX_LINKS) -> list[str]:
    """The IPv4 addresses written in a text, in order, each once."""
    if text.count(".") < 3:
        return []
    return list(dict.fromkeys(m.group(0) for m in IPV4.finditer(text)))[:limit]


def urls_in(text: str, limit: int = MAX_LINKS) -> list[str]:
    """The URLs written in a text, in order, each once, without the punctuation that ends a sentence."""
    seen: dict[str, None] = {}
    if "://" not in text and "www." not in text.lower():
        return []
    for m in URL.finditer(text):
        u = m.group(0).rstrip(_TRAILING)[:MAX_URL]
        if u not in seen:
            seen[u] = None
            if len(seen) >= limit:
                break
    return list(seen)


def _text_of(el: etree._Element) -> str:
    return " ".join("".join(el.itertext()).split())[:MAX_TEXT]


Links = list[dict[str, Any]]


def links_and_forms(markup: bytes | str, charset: str | None = None) -> tuple[Links, Links]:
    """(links, forms) of an HTML document. Links: {"href", "text"} of each anchor and area with an href (and
    {"href", "text": None, "tag": "img"} of each remote image);
    forms: {"action", "method", "password", "fields"} of each form with a password field. Never raises."""
    try:
        if isinstance(markup, bytes):
            markup, _ = decode_text(markup, charset)
        if "<" not in markup:
            return [], []
        parser = etree.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)
        root = etree.fromstring(markup.encode("utf-8", "replace"), parser)
    except (etree.LxmlError, ValueError, UnicodeError):
        return [], []
    if root is None:
        return [], []
    links: list[dict[str, Any]] = []
    forms: list[dict[str, Any]] = []
    for el in root.iter("a", "area", "form", "img"):
        if el.tag == "img":  # remote images (tracking pixels) name hosts too; never fetched
            src = (el.get("src") or "").strip()
            if src.lower().startswith(("http://", "https://")) and len(links) < MAX_LINKS:
                links.append({"href": src[:MAX_URL], "text": None, "tag": "img"})
            continue
        if el.tag == "form":
            fields = [i for i in el.iter("input") if isinstance(i.tag, str)]
            if len(forms) < MAX_FORMS and any((i.get("type") or "").strip().lower() == "password" for i in fields):
                forms.append({
                    "action": (el.get("action") or "").strip()[:MAX_URL],
                    "method": (el.get("method") or "get").strip().lower()[:10],
                    "password": True,
                    "fields": [(i.get("name") or i.get("type") or "")[:60] for i in fields][:20],
                })  # fmt: skip
            continue
        href = (el.get("href") or "").strip()
        if href and len(links) < MAX_LINKS:
            text = _text_of(el) if el.tag == "a" else (el.get("alt") or "")[:MAX_TEXT]
            links.append({"href": href[:MAX_URL], "text": text})
    return links, forms
