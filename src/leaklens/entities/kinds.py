"""The registry of entity kinds: one declaration each, in the order a reader lists them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Mention:
    """One entity found in a text: its kind, its normalised value, and where it is."""

    kind: str
    value: str  # normalised: what equal mentions share (an IBAN without spaces, an amount in one form)
    start: int  # offsets in the text, in characters
    end: int

    def printed(self, text: str) -> str:
        return text[self.start : self.end]


@dataclass
class Context:
    """What finders know of the case beyond the text: where its people are, who they are."""

    regions: tuple[str, ...] = ("FR", "GB", "US", "RU")  # phone numbering plans to try, most likely first
    people: dict[str, str] = field(default_factory=dict)  # a correspondent's name or address -> their address
    _compiled: dict[str, object] = field(default_factory=dict, repr=False)  # finders' per-context caches


Finder = Callable[[str, Context], Iterator[Mention]]


@dataclass(frozen=True)
class Kind:
    name: str
    finder: Finder
    meaning: str
    masked: bool = False  # the value is never shown or stored whole (payment cards)


KINDS: dict[str, Kind] = {}


def kind(name: str, meaning: str, *, masked: bool = False) -> Callable[[Finder], Finder]:
    """Declare the decorated finder the one finder of entity kind `name`."""

    def declare(fn: Finder) -> Finder:
        if name in KINDS:
            raise ValueError(f"entity kind {name!r} declared twice")
        KINDS[name] = Kind(name, fn, meaning, masked)
        return fn

    return declare


def find_mentions(text: str, context: Context | None = None, kinds: tuple[str, ...] | None = None) -> list[Mention]:
    """Every validated mention in `text`, by position; where two overlap, the longer wins (an IBAN
    over the phone-like digits inside it, an e-mail address over its domain)."""
    context = context or Context()
    found: list[Mention] = []
    for name, k in KINDS.items():
        if kinds is None or name in kinds:
            found.extend(k.finder(text, context))
    found.sort(key=lambda m: (m.start, -(m.end - m.start), _RANK.get(m.kind, 99)))
    kept: list[Mention] = []
    for m in found:
        if kept and m.start < kept[-1].end and not _nests(kept[-1], m):
            continue  # overlaps a longer or earlier mention of another kind
        kept.append(m)
    return kept


# Mentions that may sit inside another: an e-mail address names a domain; a URL names a domain.
_NESTING = {("email", "domain"), ("url", "domain"), ("email", "person"), ("person", "email")}
_RANK = {k: i for i, k in enumerate(("iban", "card", "email", "url", "bic", "phone", "money", "date"))}


def _nests(outer: Mention, inner: Mention) -> bool:
    return (outer.kind, inner.kind) in _NESTING and inner.end <= outer.end


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """The mention with `width` characters either side, on one line, cut at word boundaries."""
    a, b = max(0, start - width), min(len(text), end + width)
    if a > 0:
        space = text.find(" ", a, start)
        a = space + 1 if space != -1 else a
    if b < len(text):
        space = text.rfind(" ", end, b)
        b = space if space != -1 else b
    out = " ".join(text[a:b].split())
    return ("…" if a > 0 else "") + out + ("…" if b < len(text) else "")


def not_after(pattern: re.Pattern[str], text: str, before: re.Pattern[str]) -> Iterator[re.Match[str]]:
    """`pattern`'s matches in `text` that do not follow a character `before` matches: the look-behind
    of a pattern that would otherwise start with it (and so be tried at every position of the text).
    A match refused is looked for again one character on, as the look-behind form would."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if m.start() and before.match(text, m.start() - 1):
            pos = m.start() + 1
            continue
        yield m
        pos = m.end() if m.end() > m.start() else m.start() + 1


def literal_pattern(words: Iterable[str]) -> str:
    """One regex for many literal names, as a trie: Python's `re` tries an alternation of literals one
    by one at every position, a trie shares their prefixes (thousands of correspondents, one pass)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            body = "(?:" + body + ")?"
        return body

    return build(trie)
