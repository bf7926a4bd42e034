"""NUL in PostgreSQL text (issue 16): its text type cannot hold U+0000, and a hostile Subject, file
name, address or body can carry one. Nothing from the leak may be cut or changed in the store, so
every str goes in through a reversible escape and comes back out of it, here and only here:

- in: `StrDumper` / `StrBinaryDumper`, registered on every connection the store opens (`register`),
  so parameters, COPY rows and the values of a search alike (a LIKE or `=` against an escaped column
  matches because its value is escaped the same way);
- out: the store's row factories (`decoder`), which every read goes through; a text loader would do
  it too, but a Python loader is called for each value and tripled the cost of a bulk read, where
  a look at the text columns of a row costs a few percent.

The escape: NUL becomes ESC + ONE, ESC itself ESC + ESC, with ESC and ONE two Unicode noncharacters
(U+FDD0, U+FDD1: "reserved for internal use", never assigned, so a leak almost never holds them and
pays nothing). Every other character is itself, so a substring search for anything but the two
noncharacters matches the escaped text exactly where it matches the original. What differs from
SQLite inside SQL only: a NUL sorts high rather than first, and length() counts the escape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.types.string import StrBinaryDumper as _BinaryDumper
from psycopg.types.string import StrDumperUnknown as _TextDumper

ESC = "\ufdd0"
ONE = "\ufdd1"
_ESC2 = ESC + ESC
_NUL = ESC + ONE
TEXT_OIDS = frozenset({25, 1043, 1042, 19})  # text, varchar, bpchar, name: the values a row decodes


def escape(value: str) -> str:
    """`value` as PostgreSQL text can hold it (no NUL), reversibly."""
    if "\x00" in value or ESC in value:  # the fast path: both tests run at C speed
        return value.replace(ESC, _ESC2).replace("\x00", _NUL)
    return value


def unescape(value: str) -> str:
    """The string `escape` was given. Pairs are read left to right: splitting on ESC ESC first finds
    each escaped ESC at the start of its pair (a pair never ends with ESC but for ESC ESC itself)."""
    if ESC not in value:
        return value
    return ESC.join(part.replace(_NUL, "\x00") for part in value.split(_ESC2))


class StrDumper(_TextDumper):
    """psycopg's default str dumper (text format, unknown oid), escaping first."""

    def dump(self, obj: str) -> bytes:
        return escape(obj).encode(self._encoding)


class StrBinaryDumper(_BinaryDumper):
    """psycopg's binary str dumper (COPY in binary, `%b` placeholders), escaping first."""

    def dump(self, obj: str) -> bytes:
        return escape(obj).encode(self._encoding)


def register(conn: psycopg.Connection) -> None:
    """Escape every str this connection sends."""
    conn.adapters.register_dumper(str, StrDumper)
    conn.adapters.register_dumper(str, StrBinaryDumper)


def decoder(cursor: Any) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """For a cursor's result, the function that gives back a row's values unescaped (the same tuple
    when no text column holds ESC, the usual case), or None when the result has no text column."""
    desc = cursor.description
    texts = [n for n, col in enumerate(desc or ()) if col.type_code in TEXT_OIDS]
    if not texts:
        return None

    def decode(values: Sequence[Any]) -> Sequence[Any]:
        for n in texts:
            v = values[n]
            if v is not None and ESC in v:
                return tuple(unescape(x) if x.__class__ is str else x for x in values)
        return values

    return decode
