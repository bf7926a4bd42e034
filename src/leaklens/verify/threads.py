"""Thread forensics: a reply that misquotes its verified parent.

Forgers often fabricate a damning reply that "quotes" a real message; the quote
is where they slip. Replies are linked to parents by the one rule the thread view
shows too (investigate/threads.py: In-Reply-To, else the last of References); the
reply's quoted lines (``> ...``, one level deep) must appear, word for word, in the
parent's actual text (from the text store). Line re-wrapping and whitespace are
forgiven; changed words are not.
"""

from __future__ import annotations

import difflib
import re

from ..case import Case
from ..investigate.threads import EMAILS, LINK_FIELDS, link
from ..model import Finding
from ..store.base import CaseStore

_WORD = re.compile(r"\w+", re.UNICODE)
_ATTRIBUTION = re.compile(r"^(on .{0,200}wrote:|le .{0,200}a écrit\s*:|-+ ?original message ?-+)$", re.I)
MIN_WORDS = 4


def quoted_words(text: str) -> list[list[str]]:
    """Blocks of consecutive first-level quoted lines, as word lists."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(">") and not stripped.startswith(">>") and not stripped.startswith("> >"):
            inner = stripped[1:].strip()
            # The parent's own attribution of an older quote ("On ... wrote:") is dropped on both sides.
            if not _ATTRIBUTION.match(inner):
                current.extend(w.lower() for w in _WORD.findall(inner))
        else:
            if current:
                blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return [b for b in blocks if len(b) >= MIN_WORDS]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    first = needle[0]
    return any(haystack[i : i + n] == needle for i, w in enumerate(haystack) if w == first)


def unquoted(text: str) -> str:
    """What the writer of a message wrote: its text without quoted lines and attributions."""
    return "\n".join(
        ln for ln in text.splitlines() if not ln.lstrip().startswith(">") and not _ATTRIBUTION.match(ln.strip())
    )


def _own_text(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(unquoted(text))]


def quote_findings(case: Case) -> dict[str, list[Finding]]:
    """thread.quote_mismatch for each reply whose quote of its verified parent differs from it."""
    db = case.db
    emails = list(db.item_values((*LINK_FIELDS, "verdict"), EMAILS))
    verdict = {e[0]: e[-1] for e in emails}
    links = link(emails)  # the rule the thread view shows
    out: dict[str, list[Finding]] = {}
    for item_id, parent in links.parent.items():
        if verdict.get(parent) != "verified":
            continue
        parent_words = _own_text(_body(db, parent))
        if not parent_words:
            continue
        for block in quoted_words(_body(db, item_id)):
            if _contains(parent_words, block):
                continue
            diff = _diff(block, parent_words)
            out.setdefault(item_id, []).append(
                Finding(
                    "thread.quote_mismatch",
                    "warning",
                    "This reply quotes its parent message, but the quoted words differ from what the verified "
                    "parent actually says: the quote (or the reply) was edited.",
                    {"parent": parent, "quoted": " ".join(block)[:2000], "diff": diff},
                )
            )
            break
    return out


def _body(db: CaseStore, item_id: str) -> str:
    records = db.texts_for(item_id, "body")
    return records[0].text if records else ""


def _diff(quoted: list[str], parent: list[str]) -> list[dict[str, str]]:
    """Word-level differences between the quote and the closest passage of the parent."""
    sm = difflib.SequenceMatcher(a=parent, b=quoted, autojunk=False)
    match = sm.find_longest_match(0, len(parent), 0, len(quoted))
    start = max(0, match.a - match.b)
    region = parent[start : start + len(quoted) + 10]
    hunks = []
    for op, a0, a1, b0, b1 in difflib.SequenceMatcher(a=region, b=quoted, autojunk=False).get_opcodes():
        if op != "equal":
            hunks.append({"op": op, "parent": " ".join(region[a0:a1]), "quote": " ".join(quoted[b0:b1])})
    return hunks[:20]
