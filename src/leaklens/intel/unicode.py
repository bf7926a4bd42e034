"""What a label looks like to a reader: its UTS #39 skeleton and the scripts it mixes.

Both tables are generated from ICU's Unicode data by `data/generate.py` and shipped in the
package (no ICU at run time): `confusables.tsv`, every code point that can pass for part of an
ASCII label with its lower-cased skeleton (Cyrillic "а" -> "a", "0" -> "o", "m" -> "rn", so that
"rn" and "m" meet), and `scripts.tsv`, the Script property as ranges.
"""

from __future__ import annotations

import bisect
import unicodedata
from functools import lru_cache
from importlib import resources

_DATA = resources.files("leaklens.intel") / "data"


@lru_cache(maxsize=1)
def confusables() -> dict[int, str]:
    """code point -> its skeleton (lower-cased), for every character confusable with a-z, 0-9 or "-"."""
    table: dict[int, str] = {}
    for line in (_DATA / "confusables.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            cp, sk = line.split("\t")
            table[int(cp, 16)] = sk
    return table


@lru_cache(maxsize=1)
def _ascii_table() -> dict[int, str]:
    return {cp: sk for cp, sk in confusables().items() if cp < 128}


def skeleton(label: str) -> str:
    """The label as a reader sees it: NFKC case-folded, each confusable replaced by its prototype."""
    if label.isascii():
        return label.lower().translate(_ascii_table())
    return unicodedata.normalize("NFKC", label.casefold()).translate(confusables())


@lru_cache(maxsize=1)
def _scripts() -> tuple[list[int], list[int], list[str]]:
    starts, ends, names = [], [], []
    for line in (_DATA / "scripts.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            a, b, n = line.split("\t")
            starts.append(int(a, 16))
            ends.append(int(b, 16))
            names.append(n)
    return starts, ends, names


_NAMES = {"Latn": "Latin", "Cyrl": "Cyrillic", "Grek": "Greek", "Armn": "Armenian", "Hebr": "Hebrew",
          "Arab": "Arabic", "Cher": "Cherokee", "Geor": "Georgian", "Hani": "Han", "Hira": "Hiragana",
          "Kana": "Katakana", "Hang": "Hangul", "Thai": "Thai", "Copt": "Coptic", "Glag": "Glagolitic"}  # fmt: skip


def script_of(ch: str) -> str | None:
    """The character's script (ISO 15924 code), None for Common and Inherited (digits, hyphen, marks)."""
    cp = ord(ch)
    if cp < 128:
        return "Latn" if ch.isalpha() else None
    starts, ends, names = _scripts()
    i = bisect.bisect_right(starts, cp) - 1
    return names[i] if i >= 0 and cp <= ends[i] else None


def scripts_of(label: str) -> list[str]:
    """The scripts the label's letters belong to, by name, in order of first appearance."""
    seen: dict[str, None] = {}
    for ch in label:
        s = script_of(ch)
        if s is not None:
            seen.setdefault(_NAMES.get(s, s), None)
    return list(seen)


def substitutions(label: str) -> list[dict[str, str]]:
    """Each character of the label that is not plain ASCII, with its name and what it passes for."""
    return [
        {"char": ch, "code": f"U+{ord(ch):04X}", "name": unicodedata.name(ch, "?"), "looks_like": skeleton(ch)}
        for ch in dict.fromkeys(label)
        if not ch.isascii()
    ]
