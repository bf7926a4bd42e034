"""Visible text of HTML: no script, style or head, nothing fetched.

The charset comes from a BOM, a ``<meta charset>`` in the first KiB, strict
UTF-8, or Windows-1252, in that order; the document is then handed to
libxml2 as UTF-8 so that a lying ``<meta>`` cannot make it decode twice.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ...model import Finding
from .charset import decode_text
from .plain import trim_partial_character
from .support import Limits, Sink, read_capped, too_large_file

_INVISIBLE = frozenset({"script", "style", "head", "template", "title", "noembed", "object", "iframe", "svg"})
_BLOCKS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "thead", "tbody", "tfoot",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "aside", "header", "footer", "nav", "main",
    "blockquote", "pre", "address", "figure", "figcaption", "hr", "form", "fieldset", "caption", "body",
})
_CELLS = frozenset({"td", "th"})


def extract(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    with open(path, "rb") as f:
        data, more = read_capped(f, limits.max_bytes)
    if more:
        data = trim_partial_character(data)
    findings = html_to_text(data, sink, _meta_charset(data[:2048]))
    if more:
        raise too_large_file(limits.max_bytes)
    return findings


def html_to_text(data: bytes, sink: Sink, charset: str | None = None) -> list[Finding]:
    """Write the visible text of an HTML document (bytes) into ``sink``."""
    text, findings = decode_text(data, charset)
    if not text.strip():
        return findings
    parser = etree.HTMLParser(encoding="utf-8", no_network=True, remove_comments=True, remove_pis=True,
                              huge_tree=False, default_doctype=False)
    root = etree.fromstring(text.encode("utf-8", "replace"), parser)
    if root is None:
        return findings
    _walk(root, sink)
    return findings


def _walk(root: etree._Element, sink: Sink) -> None:
    # Iterative: hostile documents nest thousands deep.
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        el, closing = stack.pop()
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if closing:
            if tag in _BLOCKS:
                sink.add("\n")
            elif tag in _CELLS:
                sink.add("\t")
            if el.tail:
                sink.add(_squash(el.tail, sink))
            continue
        if tag in _INVISIBLE or not isinstance(el.tag, str):
            if el.tail:
                sink.add(_squash(el.tail, sink))
            continue
        if tag in _BLOCKS and tag != "br" and not sink.ends_with_space():
            sink.add("\n")
        if el.text:
            sink.add(el.text if tag == "pre" else _squash(el.text, sink))
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))


def _squash(text: str, sink: Sink) -> str:
    """Collapse whitespace as a browser does; keep one space between words across elements."""
    words = text.split()
    if not words:
        return "" if sink.ends_with_space() else " "
    out = " ".join(words)
    if text[0].isspace() and not sink.ends_with_space():
        out = " " + out
    if text[-1].isspace():
        out += " "
    return out


def _meta_charset(head: bytes) -> str | None:
    lower = head.lower()
    at = lower.find(b"charset=")
    if at < 0:
        return None
    value = lower[at + 8: at + 48].lstrip(b"\"' ")
    end = 0
    while end < len(value) and value[end:end + 1] not in b"\"' ;>/\t\r\n":
        end += 1
    label = value[:end].decode("ascii", "ignore")
    return label or None
