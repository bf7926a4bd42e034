"""The search query language, shared by the CLI and the web app.

``budget "press release" from:alice to:bob kind:email after:2017-03-01 before:2017-05-01 ext:pdf``

Free words and ``"phrases"`` match the full text (subject, sender, recipients,
decoded body and attachment text, file names); ``field:value`` terms filter.
User text never reaches FTS5's own syntax: each term is quoted, so a stray
``AND`` or ``*`` in a query is just a word.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..errors import UsageError

FILTERS = ("from", "to", "kind", "after", "before", "ext", "verdict", "source")
_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')


@dataclass
class Query:
    terms: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.terms and not self.filters and not self.excluded


def parse(text: str) -> Query:
    q = Query()
    for m in _TOKEN.finditer(text or ""):
        neg, key, phrase, word = m.groups()
        value = phrase if phrase is not None else word
        if key and key.lower() in FILTERS:
            # "-verdict:verified" excludes; kept apart as "-verdict".
            q.filters.setdefault(("-" if neg else "") + key.lower(), []).append(value)
            continue
        if key:  # "foo:bar" that is not a filter is just text
            value = f"{key}:{value}" if phrase is None else f"{key} {value}"
        if value and value.strip():
            (q.excluded if neg else q.terms).append(value)
    return q


def _fts_phrase(term: str) -> str:
    words = re.findall(r"\w+", term)
    if not words:
        return ""
    return '"' + " ".join(words) + '"'


def _day(value: str, name: str) -> str:
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise UsageError(f"{name}: expects a date like 2017-05-05, got {value!r}") from None


def _filter_sql(key: str, value: str) -> tuple[str, list[Any]]:
    v = value.lower()
    if key == "from":
        return "LOWER(i.email_from) LIKE ?", [f"%{v}%"]
    if key == "to":
        return "(LOWER(i.email_to) LIKE ? OR LOWER(i.email_cc) LIKE ?)", [f"%{v}%", f"%{v}%"]
    if key == "kind":
        return "i.kind = ?", [v]
    if key == "verdict":
        return "i.verdict = ?", [v]
    if key == "ext":
        return "i.ext = ?", [v.lstrip(".")]
    if key == "source":
        return "i.source = ?", [value]
    if key == "after":
        return "i.date >= ?", [_day(value, "after")]
    return "i.date < ?", [_day(value, "before")]  # before:


def build_sql(q: Query) -> tuple[str, list[Any], bool]:
    """SQL over items (+ fts when there is text); returns (where-clause SQL, args, uses_fts)."""
    where: list[str] = ["i.state = 'stored'"]
    args: list[Any] = []
    match = " AND ".join(p for p in (_fts_phrase(t) for t in q.terms) if p)
    excluded = [p for p in (_fts_phrase(t) for t in q.excluded) if p]
    if excluded and match:
        match += "".join(f" NOT {p}" for p in excluded)
    elif excluded:
        # FTS5 cannot match "everything but": exclude the matching rows instead.
        where.append("i.rowid NOT IN (SELECT rowid FROM fts WHERE fts MATCH ?)")
        args.append(" OR ".join(excluded))
    uses_fts = bool(match)
    if uses_fts:
        where.append("fts MATCH ?")
        args.append(match)
    for key, values in q.filters.items():
        negated = key.startswith("-")
        for value in values:
            sql, more = _filter_sql(key.lstrip("-"), value)
            # NULL (no sender, no date) counts as "not matching", so the negation keeps it.
            where.append(f"COALESCE(NOT ({sql}), 1)" if negated else sql)
            args += more
    return " AND ".join(where), args, uses_fts


SORTS = {"relevance", "date", "-date"}
# The full-text index first, then each match's item: the other way round, SQLite walks every item
# and probes the index for each (seconds at 100,000 items instead of milliseconds).
FTS_FIRST = "fts CROSS JOIN items i ON i.rowid = fts.rowid"


def search(
    conn: sqlite3.Connection,
    text: str,
    *,
    limit: int = 50,
    offset: int = 0,
    sort: str = "relevance",
    extra_where: str = "",
    extra_args: list[Any] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Run a query; returns (total matches, one page of hits with a highlighted snippet)."""
    q = parse(text)
    where, args, uses_fts = build_sql(q)
    if extra_where:
        where += f" AND ({extra_where})"
        args += extra_args or []
    source = FTS_FIRST if uses_fts else "items i"
    total = conn.execute(f"SELECT COUNT(*) FROM {source} WHERE {where}", args).fetchone()[0]
    if uses_fts:
        snippet = "snippet(fts, -1, '\x02', '\x03', ' … ', 12)"
    else:
        snippet = "NULL"
    if sort == "date":
        order = "i.date IS NULL, i.date ASC, i.rowid"
    elif sort == "-date" or not uses_fts:
        order = "i.date IS NULL, i.date DESC, i.rowid"
    else:
        order = "bm25(fts, 4.0, 2.0, 1.0, 1.0, 2.0), i.rowid"
    rows = conn.execute(
        f"SELECT i.id, i.path, i.kind, i.verdict, i.date, i.email_from, i.subject, i.name, i.ext, i.size,"
        f" {snippet} AS snippet FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return total, [dict(r) for r in rows]


def facet_counts(conn: sqlite3.Connection, text: str, column_sql: str) -> list[tuple[str, int]]:
    """Counts of a derived value over the matching items (for facets)."""
    q = parse(text)
    where, args, uses_fts = build_sql(q)
    source = FTS_FIRST if uses_fts else "items i"
    rows = conn.execute(
        f"SELECT {column_sql} AS v, COUNT(*) AS n FROM {source} WHERE {where} GROUP BY v ORDER BY n DESC LIMIT 30",
        args,
    ).fetchall()
    return [(r[0], r[1]) for r in rows if r[0] is not None]
