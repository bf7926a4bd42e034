"""Reading JSON exports: one object per line (JSONL), or one JSON document, without letting one bad
line stop the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import Bad


def first_char(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return chr(text[0]) if text else ""


def objects(path: Path) -> Iterator[tuple[str, Any] | Bad]:
    """(where, value) for each JSON value in the file: each line of a JSONL file, or the whole document
    when the file is one JSON value spread over lines (pretty-printed). A line that does not parse is a Bad."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[" or (first == b"{" and not _one_object_per_line(head)):
        try:
            with open(path, encoding="utf-8-sig") as f:
                yield "document", json.load(f)
        except (ValueError, UnicodeDecodeError) as exc:
            yield Bad("document", f"not valid JSON: {exc}")
        return
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line:
                continue
            try:
                yield f"line {n}", json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                yield Bad(
                    f"line {n}",
                    f"not valid JSON ({str(exc)[:80]})"
                    + ("" if raw.endswith(b"\n") else "; the file ends mid-line (truncated)"),
                )


def _one_object_per_line(head: bytes) -> bool:
    """True when the first line is a complete JSON value (JSONL); a pretty-printed document's first line is not."""
    line = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0].strip()
    try:
        json.loads(line)
    except ValueError:
        # A first line longer than the head, or a truncated one: JSONL if it is long, a document if it is "{".
        return len(line) > 2
    return True
