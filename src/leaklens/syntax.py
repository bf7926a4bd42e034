"""The Lucene-style grammar of a search, as Aleph and Datashare users type it, as a tree.

``(virement OR transfer) AND NOT draft "bank account"~3 budg* virment~ from:alice -kind:email``

- words and ``"phrases"`` next to each other must all match (AND is the default, as in Aleph);
- ``OR``, ``AND``, ``NOT`` (upper case: in lower case they are words), ``-`` and ``+`` before a
  term, parentheses to group;
- ``"a b"~5``: the words of the phrase at most 5 positions apart;
- ``budg*``: words starting with ``budg`` (``*`` and ``?`` inside a word: any letters, one letter);
- ``virment~`` (``~1``, ``~2``): words at most 2 (1, 2) edits away;
- ``name:value`` and ``name:"a value"`` with a declared filter (leaklens.query.FILTERS).

Anything it cannot read is a `UsageError` that says what and where, never a silent empty answer.
This module knows no filter and no index: `parse_tree` is handed the filter names, and
store/index/translate.py turns the tree into index queries.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from .errors import UsageError

MAX_EDITS = 2  # what tantivy's (and Lucene's) fuzzy queries allow
MAX_SLOP = 1000


@dataclass(frozen=True)
class Word:
    """A typed word: plain (matched stemmed too), a pattern with * or ?, or fuzzy (`edits`)."""

    text: str
    edits: int = 0
    pattern: bool = False  # holds * or ?


@dataclass(frozen=True)
class Phrase:
    text: str
    slop: int = 0


@dataclass(frozen=True)
class Field:
    """``name:value`` with a declared filter (the value as typed)."""

    name: str
    value: str


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Word | Phrase | Field | Not | And | Or

# Tokens: ( ) , a "phrase" with its optional ~N, a run of anything else.
_TOKEN = re.compile(
    r"""\s*(?:(?P<open>\()|(?P<close>\))
    |(?P<phrase>"(?P<body>[^"]*)(?P<end>"?)(?:~(?P<slop>\S*))?)
    |(?P<word>[^\s()"]+(?:"[^"]*"?)?))""",
    re.X,
)
_FIELD = re.compile(r"(?P<name>[A-Za-z_]\w*):(?P<rest>.*)", re.S)
_FUZZY = re.compile(r"(?P<base>.+?)~(?P<n>\d*)$")


@dataclass
class _Tokens:
    text: str
    items: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, text, position)
    at: int = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.at] if self.at < len(self.items) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.items[self.at]
        self.at += 1
        return tok


def _tokens(text: str) -> _Tokens:
    out = _Tokens(text)
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break  # only spaces left
        start = m.start(m.lastgroup) if m.lastgroup else pos
        if m["open"]:
            out.items.append(("(", "(", start))
        elif m["close"]:
            out.items.append((")", ")", start))
        elif m["phrase"] is not None:
            if not m["end"]:
                raise UsageError(f'a phrase opened at character {start + 1} is not closed: add the closing "')
            out.items.append(("phrase", m["phrase"], start))
        elif m["word"]:
            out.items.append(("word", m["word"], start))
        pos = m.end()
    return out


def parse_tree(text: str, filters: Collection[str]) -> Node | None:
    """The tree of `text` (None: nothing typed); UsageError for what it cannot read."""
    toks = _tokens(text or "")
    if not toks.items:
        return None
    node = _or(toks, filters)
    rest = toks.peek()
    if rest is not None:  # only a ")" stops the top level early
        raise UsageError(f"a ) at character {rest[2] + 1} closes no (: remove it or add a ( before")
    return node


def _or(toks: _Tokens, filters: Collection[str]) -> Node:
    parts = [_and(toks, filters)]
    while (tok := toks.peek()) is not None and tok[:2] == ("word", "OR"):
        toks.take()
        if toks.peek() is None or toks.peek()[0] == ")":
            raise UsageError(f"OR at character {tok[2] + 1} needs a term after it (virement OR transfer)")
        parts.append(_and(toks, filters))
    return parts[0] if len(parts) == 1 else Or(tuple(parts))


def _and(toks: _Tokens, filters: Collection[str]) -> Node:
    parts: list[Node] = []
    while (tok := toks.peek()) is not None and tok[0] != ")" and tok[:2] != ("word", "OR"):
        if tok[:2] == ("word", "AND"):
            toks.take()
            if not parts:
                raise UsageError(f"AND at character {tok[2] + 1} needs a term before it (virement AND banque)")
            nxt = toks.peek()
            if nxt is None or nxt[0] == ")" or nxt[:2] in (("word", "OR"), ("word", "AND")):
                raise UsageError(f"AND at character {tok[2] + 1} needs a term after it (virement AND banque)")
            continue
        parts.append(_unary(toks, filters))
    if not parts:
        tok = toks.peek()
        if tok is not None and tok[:2] == ("word", "OR"):
            raise UsageError(f"OR at character {tok[2] + 1} needs a term before it (virement OR transfer)")
        where = f"at character {tok[2] + 1}" if tok else "at the end"
        raise UsageError(f"empty group {where}: put a term between ( and )")
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _unary(toks: _Tokens, filters: Collection[str]) -> Node:
    kind, text, pos = toks.peek()  # type: ignore[misc]
    if kind == "word" and text == "NOT":
        toks.take()
        nxt = toks.peek()
        if nxt is None or nxt[0] == ")" or nxt[:2] in (("word", "OR"), ("word", "AND")):
            raise UsageError(f"NOT at character {pos + 1} needs a term after it (NOT draft)")
        return Not(_unary(toks, filters))
    if kind == "word" and text[0] in "-+" and len(text) > 1:
        toks.items[toks.at] = ("word", text[1:], pos + 1)
        inner = _unary(toks, filters)
        return Not(inner) if text[0] == "-" else inner
    if kind == "word" and text in "-+":  # "- (a OR b)": the sign of the group after it
        toks.take()
        nxt = toks.peek()
        if nxt is None or nxt[0] != "(":
            raise UsageError(f"a lone {text} at character {pos + 1}: write it against its word (-draft)")
        inner = _unary(toks, filters)
        return Not(inner) if text == "-" else inner
    if kind == "(":
        toks.take()
        node = _or(toks, filters)
        close = toks.peek()
        if close is None or close[0] != ")":
            raise UsageError(f"the ( at character {pos + 1} is not closed: add a )")
        toks.take()
        return node
    toks.take()
    if kind == "phrase":
        return _phrase(text, pos)
    return _word(text, pos, filters)


_PHRASE = re.compile(r'"(?P<body>[^"]*)"(?:~(?P<slop>\S*))?', re.S)


def _phrase(token: str, pos: int) -> Phrase:
    m = _PHRASE.fullmatch(token)
    assert m is not None  # the tokenizer matched the same shape
    body, slop = m["body"], m["slop"]
    if not body.strip():
        raise UsageError(f'an empty phrase "" at character {pos + 1}: put words between the quotes')
    if slop is None:
        return Phrase(body)
    if not slop.isdigit() or int(slop) > MAX_SLOP:
        raise UsageError(f'"{body}"~{slop}: after ~ comes how many words apart, e.g. "{body}"~5')
    return Phrase(body, int(slop))


def _word(text: str, pos: int, filters: Collection[str]) -> Node:
    m = _FIELD.fullmatch(text)
    if m and m["name"].lower() in filters:
        value = m["rest"]
        if value.startswith('"'):
            value = value[1:-1] if value.endswith('"') and len(value) > 1 else value[1:]
        if not value.strip():
            raise UsageError(f"{m['name']}: at character {pos + 1} needs a value ({m['name']}:value)")
        return Field(m["name"].lower(), value)
    if m and m["rest"] and m["name"].isalpha() and not m["rest"].startswith("/"):
        # "title:x" reads as a filter to an Aleph user: say so, rather than search the words.
        raise UsageError(
            f"{m['name']}: is not a filter (the filters: {', '.join(sorted(filters))}); "
            f'to search the text itself, put it in quotes: "{text}"'
        )
    if text.startswith(("*", "?")):
        raise UsageError(f"{text}: a word cannot start with {text[0]} (put at least one letter before it: budg*)")
    fz = _FUZZY.fullmatch(text)
    if fz and not any(c in fz["base"] for c in "*?"):
        n = int(fz["n"]) if fz["n"] else MAX_EDITS
        if n > MAX_EDITS:
            raise UsageError(f"{text}: at most {MAX_EDITS} edits after ~ ({fz['base']}~{MAX_EDITS})")
        return Word(fz["base"], edits=n) if n else Word(fz["base"])
    if "~" in text and text.endswith("~"):
        raise UsageError(f'{text}: ~ goes after a word (virment~) or a phrase ("a b"~5)')
    return Word(text, pattern=any(c in text for c in "*?"))


def positive_text(node: Node | None) -> list[Word | Phrase]:
    """The words and phrases a match is asked to have (not those under NOT): ranking and snippets."""
    if node is None:
        return []
    if isinstance(node, Word | Phrase):
        return [node]
    if isinstance(node, And | Or):
        return [u for n in node.nodes for u in positive_text(n)]
    return []
