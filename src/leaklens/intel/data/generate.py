"""Make `confusables.tsv` and `scripts.tsv` from ICU's copy of the Unicode data (not run by leaklens).

    pip install pyicu   # builds against the system's libicu (Debian: libicu-dev)
    python src/leaklens/intel/data/generate.py

`confusables.tsv`: every code point whose UTS #39 skeleton (ICU's SpoofChecker, which compiles
Unicode's confusables.txt), lower-cased, is made only of the skeletons of a-z, 0-9 and "-": the
characters that can pass for part of an ASCII domain label. One line each: the code point in hex
and that skeleton. ASCII characters whose skeleton is another one ("0" -> "o", "1" -> "l",
"m" -> "rn") are listed too.

`scripts.tsv`: the Unicode Script property as ranges (start, end in hex, ISO 15924 short name),
Common and Inherited left out: what mixed-script detection reads.

ICU, not a Python package, is the source because it carries the whole of confusables.txt and
Scripts.txt for its Unicode version, which is written in the files' first line.
"""

from __future__ import annotations

import string
from pathlib import Path

import icu  # type: ignore[import-not-found]

HERE = Path(__file__).parent
ASCII = string.ascii_lowercase + string.digits + "-"


def main() -> None:
    sc = icu.SpoofChecker()
    alphabet = set("".join(sc.getSkeleton(0, c).lower() for c in ASCII))
    head = f"# UTS #39 skeletons, lower-cased (ICU {icu.ICU_VERSION}, Unicode {icu.UNICODE_VERSION}); generate.py\n"
    lines = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        sk = sc.getSkeleton(0, ch).lower()
        if sk == ch or not sk or not set(sk) <= alphabet:
            continue
        if ch.isascii() and ch not in ASCII:
            continue  # upper case and punctuation never stand in a lower-cased domain label
        lines.append(f"{cp:x}\t{sk}\n")
    (HERE / "confusables.tsv").write_text(head + "".join(lines), encoding="utf-8")

    ranges: list[list] = []
    for cp in range(0x110000):
        name = icu.Script.getScript(cp).getShortName()
        if name in ("Zyyy", "Zinh", "Zzzz"):
            continue
        if ranges and ranges[-1][2] == name and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp, name])
    head = f"# Unicode Script property (ICU {icu.ICU_VERSION}, Unicode {icu.UNICODE_VERSION}); generate.py\n"
    body = "".join(f"{a:x}\t{b:x}\t{n}\n" for a, b, n in ranges)
    (HERE / "scripts.tsv").write_text(head + body, encoding="utf-8")
    print(f"{len(lines)} confusables, {len(ranges)} script ranges")


if __name__ == "__main__":
    main()
