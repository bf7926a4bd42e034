"""Text nodes of an arbitrary XML file, in document order.

Unlike Office parts, a plain XML file may legitimately carry a DTD, so it is
parsed into a tree with entity resolution off: a billion-laughs entity stays
an unexpanded reference node, whose name is not text.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ...model import Finding
from .support import Limits, Sink, read_capped, too_large_file


def extract(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    with open(path, "rb") as f:
        data, more = read_capped(f, limits.max_bytes)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             remove_comments=True, remove_pis=True, recover=True)
    root = etree.fromstring(data, parser)  # recover=True: a cut file still yields its beginning
    if root is not None:
        _walk(root, sink)
    if more:
        raise too_large_file(limits.max_bytes)
    return []


def _walk(root: etree._Element, sink: Sink) -> None:
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        el, closing = stack.pop()
        if closing:
            if not sink.ends_with_space():
                sink.add("\n")
            if el.tail:
                sink.add(el.tail)
            continue
        if not isinstance(el.tag, str):  # entity references, comments
            if el.tail:
                sink.add(el.tail)
            continue
        if el.text:
            sink.add(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
