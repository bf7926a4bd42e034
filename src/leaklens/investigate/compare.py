"""Two items' texts side by side, what changed marked: an altered copy against the verified original
its `dup.altered_copy` finding names, or any two items a reader picks.

Lines are aligned first (difflib, as `diff` does), then the words of each changed pair of lines, so a
one-figure edit inside a paragraph is shown as that figure, not as the whole paragraph replaced.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ..store.base import CaseStore
from .items import Row, brief, item_text

MAX_LINES = 5000  # lines of each text compared; beyond, the page says the rest was not
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)

Segment = tuple[str, bool]  # (text, changed)


def _words(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    ta, tb = _TOKENS.findall(a), _TOKENS.findall(b)
    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        same = op == "equal"
        if i2 > i1:
            left.append(("".join(ta[i1:i2]), not same))
        if j2 > j1:
            right.append(("".join(tb[j1:j2]), not same))
    return left, right


def side_by_side(original: str, copy: str) -> dict[str, Any]:
    """{"rows": [{"op": equal|replace|delete|insert, "left": [Segment], "right": [Segment]}],
    "changed": rows that differ, "cut": True when a text was longer than MAX_LINES lines}."""
    a, b = original.splitlines(), copy.splitlines()
    cut = len(a) > MAX_LINES or len(b) > MAX_LINES
    a, b = a[:MAX_LINES], b[:MAX_LINES]
    rows: list[dict[str, Any]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            rows.extend({"op": op, "left": [(a[i], False)], "right": [(b[j], False)]}
                        for i, j in zip(range(i1, i2), range(j1, j2), strict=True))  # fmt: skip
            continue
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            la = left[k] if k < len(left) else None
            rb = right[k] if k < len(right) else None
            if la is not None and rb is not None:
                lw, rw = _words(la, rb)
                rows.append({"op": "replace", "left": lw, "right": rw})
            elif la is not None:
                rows.append({"op": "delete", "left": [(la, True)], "right": []})
            else:
                rows.append({"op": "insert", "left": [], "right": [(rb or "", True)]})
    return {"rows": rows, "changed": sum(r["op"] != "equal" for r in rows), "cut": cut}


def reference_of(findings: list[dict[str, Any]]) -> str | None:
    """The verified original a `dup.altered_copy` finding compared the item with (None: none)."""
    for f in findings:
        ev = f.get("evidence")
        if f["code"] == "dup.altered_copy" and isinstance(ev, dict) and isinstance(ev.get("reference"), str):
            return ev["reference"]
    return None


def compare(store: CaseStore, original: Row, copy: Row) -> dict[str, Any]:
    """The two items (brief) and their texts side by side, `original` on the left."""
    return {
        "original": brief(original),
        "item": brief(copy),  # not "copy": a template reads c.copy as dict.copy
        **side_by_side(item_text(store, original), item_text(store, copy)),
    }
