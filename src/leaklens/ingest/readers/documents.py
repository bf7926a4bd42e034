"""Leaf files: documents, images, text and anything else. Stored; text extracted where possible."""

from __future__ import annotations

from ..sniff import family
from ..text import extract_text
from .base import ReadContext, ReaderSpec, Source

_KIND_OF_FAMILY = {"document": "document", "image": "image"}


def read_leaf(src: Source, ctx: ReadContext) -> None:
    ctx.kind = _KIND_OF_FAMILY.get(family(src.mime), "other")
    result = extract_text(src.path, src.mime, max_chars=ctx.limits.max_text_chars)
    ctx.text = result.text
    ctx.text_status = result.status
    ctx.findings.extend(result.findings)


READERS = [ReaderSpec("leaf", ("*",), read_leaf, score=0)]
