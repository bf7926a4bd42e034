"""The export formats `leaklens spread ingest` reads, declared once each in one registry.

A reader declares its name, what it reads (for `--help` and the docs), a `sniff` that scores the
start of a file (0: not mine), and `read`, which yields a `Post` for every post and a `Bad` for every
line, row or object that is not one (counted and reported, never fatal). The format is picked from
content, never from the file name alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..model import Bad, Post

HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Reader:
    name: str
    reads: str
    sniff: Callable[[bytes, str], int]  # (first bytes, file name) -> score, 0 = not this format
    read: Callable[[Path], Iterator[Post | Bad]]


READERS: dict[str, Reader] = {}
# The modules that declare readers (imported once, in this order).
READER_MODULES = (
    "leaklens.spread.readers.twitter",
    "leaklens.spread.readers.csvformats",
    "leaklens.spread.readers.fourchan",
    "leaklens.spread.readers.telegram",
)
_loaded = False


def reader(name: str, reads: str) -> Callable[[Callable], Callable]:
    """Declare a class-less reader: decorate its `read`; `sniff` is given by `sniffer`."""

    def declare(read: Callable[[Path], Iterator[Post | Bad]]) -> Callable:
        sniff = getattr(read, "sniff", None)
        if sniff is None:
            raise TypeError(f"reader {name} has no sniff")
        READERS[name] = Reader(name, reads, sniff, read)
        return read

    return declare


def sniffer(fn: Callable[[bytes, str], int]) -> Callable[[Callable], Callable]:
    def attach(read: Callable) -> Callable:
        read.sniff = fn  # type: ignore[attr-defined]
        return read

    return attach


def load() -> dict[str, Reader]:
    global _loaded
    if not _loaded:
        for m in READER_MODULES:
            importlib.import_module(m)
        _loaded = True
    return READERS


def pick(path: Path, head: bytes) -> Reader | None:
    """The reader that scores the file's first bytes highest (None: no reader knows it)."""
    best, score = None, 0
    for r in load().values():
        s = r.sniff(head, path.name)
        if s > score:
            best, score = r, s
    return best
