"""The web search: `leaklens search` syntax plus filters that need the workbench's own data.

The shared language (store/search.py) is used as is; the web adds ``tag:``,
``signer:`` (a DKIM signing domain that validated), ``editor:`` (a document's
author or last editor) and ``year:``. Those terms are taken out of the text and
become an ``extra_where`` clause, so the shared parser never sees them.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..store import search as core

WEB_FILTERS = ("tag", "signer", "editor", "year")
_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')

# Derived values, as SQL over `items i`; facets and filters read the same expressions.
SENDER_DOMAIN = (
    "CASE WHEN INSTR(i.email_from, '@') > 0 THEN RTRIM(LOWER(TRIM("
    "SUBSTR(i.email_from, INSTR(i.email_from, '@') + 1))), '> ,;\"') END"
)
SIGNER = (
    "(SELECT LOWER(json_extract(f.evidence, '$.d')) FROM findings f"
    " WHERE f.item_id = i.id AND f.code = 'dkim.pass' LIMIT 1)"
)
EDITOR = (
    "COALESCE(json_extract(i.meta, '$.document.last_modified_by'), json_extract(i.meta, '$.document.author'))"
)
YEAR = "SUBSTR(i.date, 1, 4)"

FACETS: dict[str, tuple[str, str]] = {
    # name -> (label, SQL expression)
    "verdict": ("Verdict", "i.verdict"),
    "kind": ("Kind", "i.kind"),
    "from": ("Sender domain", SENDER_DOMAIN),
    "signer": ("Signing domain (DKIM)", SIGNER),
    "editor": ("Document editor", EDITOR),
    "year": ("Year", YEAR),
    "ext": ("File type", "i.ext"),
}


@dataclass
class WebQuery:
    text: str  # what the user typed, whole
    core_text: str  # the part the shared language reads
    where: str = ""
    args: list[Any] = field(default_factory=list)
    web_filters: dict[str, list[str]] = field(default_factory=dict)


def _quote(value: str) -> str:
    return f'"{value}"' if re.search(r"\s", value) else value


def split(text: str) -> WebQuery:
    """Separate the web-only filters from the rest of the query."""
    kept: list[str] = []
    clauses: list[str] = []
    args: list[Any] = []
    filters: dict[str, list[str]] = {}
    for m in _TOKEN.finditer(text or ""):
        neg, key, phrase, word = m.groups()
        if not key or key.lower() not in WEB_FILTERS:
            kept.append(m.group(0))
            continue
        key = key.lower()
        value = (phrase if phrase is not None else word or "").strip()
        if not value:
            continue
        filters.setdefault(key, []).append(("-" if neg else "") + value)
        if key == "tag":
            clause = "EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND t.tag = ?)"
            args.append(" ".join(value.split()).lower())
        elif key == "signer":
            clause = (
                "EXISTS (SELECT 1 FROM findings f WHERE f.item_id = i.id AND f.code = 'dkim.pass'"
                " AND LOWER(json_extract(f.evidence, '$.d')) = ?)"
            )
            args.append(value.lower())
        elif key == "editor":
            clause = f"{EDITOR} = ?"
            args.append(value)
        else:
            if not re.fullmatch(r"\d{4}", value):
                raise UsageError(f"year: expects a year like 2017, got {value!r}")
            clause = f"{YEAR} = ?"
            args.append(value)
        clauses.append(f"NOT COALESCE({clause}, 0)" if neg else clause)
    return WebQuery(
        text=text or "", core_text=" ".join(kept), where=" AND ".join(clauses), args=args, web_filters=filters
    )


def run_search(
    conn: sqlite3.Connection, text: str, *, limit: int, offset: int, sort: str
) -> tuple[int, list[dict[str, Any]]]:
    wq = split(text)
    if sort not in core.SORTS:
        sort = "relevance"
    return core.search(
        conn,
        wq.core_text,
        limit=limit,
        offset=offset,
        sort=sort,
        extra_where=wq.where,
        extra_args=list(wq.args),
    )


def facets(conn: sqlite3.Connection, text: str, *, top: int = 12) -> dict[str, list[tuple[str, int]]]:
    """Counts of every facet's values over the items matching the query."""
    wq = split(text)
    q = core.parse(wq.core_text)
    where, args, uses_fts = core.build_sql(q)
    if wq.where:
        where += f" AND ({wq.where})"
        args += wq.args
    source = "items i JOIN fts ON fts.rowid = i.rowid" if uses_fts else "items i"
    out: dict[str, list[tuple[str, int]]] = {}
    for name, (_, expr) in FACETS.items():
        rows = conn.execute(
            f"SELECT {expr} AS v, COUNT(*) AS n FROM {source} WHERE {where}"
            " GROUP BY v ORDER BY n DESC, v LIMIT ?",
            [*args, top + 1],
        ).fetchall()
        out[name] = [(str(r[0]), r[1]) for r in rows if r[0] not in (None, "")][:top]
    return out


def add_filter(text: str, key: str, value: str) -> str:
    """The query text with one more filter term (used by facet links)."""
    if key == "from":
        value = "@" + value
    term = f"{key}:{_quote(value)}"
    if term in (text or "").split():
        return text
    return f"{text} {term}".strip()


def remove_filter(text: str, key: str, value: str) -> str:
    if key == "from":
        value = "@" + value
    drop = {f"{key}:{value}", f'{key}:"{value}"'}
    return " ".join(m.group(0) for m in _TOKEN.finditer(text or "") if m.group(0) not in drop)


def active(text: str, key: str, value: str) -> bool:
    if key == "from":
        value = "@" + value
    return any(m.group(0) in (f"{key}:{value}", f'{key}:"{value}"') for m in _TOKEN.finditer(text or ""))
