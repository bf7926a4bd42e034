"""The search query language and its execution, one for the CLI and the web app.

``budget "press release" from:alice to:bob kind:email after:2017-03-01 before:2017-05-01 ext:pdf``

Free words and ``"phrases"`` match the full text (subject, sender, recipients,
decoded body and attachment text, file names); ``field:value`` terms filter:
``from: to: kind: verdict: ext: source: after: before:``, and ``tag:``, ``signer:``
(a DKIM signing domain that validated), ``editor:`` (a document's author or last
editor), ``year:`` and ``finding:`` (a finding code). ``-`` before a word or a
filter excludes it. User text never reaches FTS5's own syntax: each term is
quoted, so a stray ``AND`` or ``*`` in a query is just a word.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..errors import UsageError

FILTERS = ("from", "to", "kind", "after", "before", "ext", "verdict", "source", "tag", "signer", "editor", "year",
           "finding")

# Derived values, as SQL over `items i`; filters here and the web's facets read the same expressions.
SENDER_DOMAIN = (
    "CASE WHEN INSTR(i.email_from, '@') > 0 THEN RTRIM(LOWER(TRIM("
    "SUBSTR(i.email_from, INSTR(i.email_from, '@') + 1))), '> ,;\"') END"
)
SIGNER_OF_FINDING = "LOWER(json_extract(f.evidence, '$.d'))"
SIGNER = (
    f"(SELECT {SIGNER_OF_FINDING} FROM findings f INDEXED BY findings_item"
    " WHERE f.item_id = i.id AND f.code = 'dkim.pass' LIMIT 1)"
)
EDITOR = "COALESCE(json_extract(i.meta, '$.document.last_modified_by'), json_extract(i.meta, '$.document.author'))"
YEAR = "SUBSTR(i.date, 1, 4)"
STORED = "i.state = 'stored'"  # the first clause of every where-clause
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
    if key == "before":
        return "i.date < ?", [_day(value, "before")]
    if key == "tag":
        return "EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND t.tag = ?)", [" ".join(v.split())]
    if key == "signer":
        # Evaluated once (the few valid-signature findings), not once per matching item.
        return f"i.id IN (SELECT f.item_id FROM findings f WHERE f.code = 'dkim.pass' AND {SIGNER_OF_FINDING} = ?)", [v]
    if key == "finding":
        return "i.id IN (SELECT f.item_id FROM findings f WHERE f.code = ?)", [v]
    if key == "editor":
        return f"{EDITOR} = ?", [value]
    if not re.fullmatch(r"\d{4}", value):  # year:
        raise UsageError(f"year: expects a year like 2017, got {value!r}")
    return f"{YEAR} = ?", [value]


def build_sql(q: Query) -> tuple[str, list[Any], bool]:
    """SQL over items (+ fts when there is text); returns (where-clause SQL, args, uses_fts)."""
    where: list[str] = [STORED]
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
HIT_COLUMNS = "i.id, i.path, i.kind, i.verdict, i.date, i.email_from, i.subject, i.name, i.ext, i.size"
SNIPPET = "snippet(fts, -1, '\x02', '\x03', ' … ', 12)"
BM25 = "bm25(fts, 4.0, 2.0, 1.0, 1.0, 2.0)"


def plan(text: str) -> tuple[str, str, list[Any], bool]:
    """(source, where, args, uses_fts) for a query."""
    where, args, uses_fts = build_sql(parse(text))
    # The full-text index goes first: left to itself, SQLite may walk every item and probe the
    # index once per item, which costs seconds at 100,000 items for a one-word query.
    source = "fts CROSS JOIN items i ON i.rowid = fts.rowid" if uses_fts else "items i"
    # Nearly every item is stored, so the state index selects nothing; the unary + keeps SQLite
    # from using it, leaving it free to walk the date index for "newest first" and stop early.
    where = where.replace(STORED, "+" + STORED, 1)
    return source, where, args, uses_fts


def order_by(sort: str, uses_fts: bool) -> str:
    if sort == "date":
        return "i.date IS NULL, i.date ASC, i.rowid"
    if sort == "-date" or not uses_fts:
        # = "i.date IS NULL, i.date DESC" (NULL sorts lowest, so last when descending), ties latest
        # found first: the order of the (date), (kind, date) and (ext, date) indexes read backwards.
        return "i.date DESC, i.rowid DESC"
    return f"{BM25}, i.rowid"


def hits(conn: sqlite3.Connection, text: str, *, limit: int, offset: int, sort: str) -> list[dict[str, Any]]:
    """One page of matching items, each with a snippet whose matches are wrapped in \\x02 ... \\x03."""
    source, where, args, uses_fts = plan(text)
    if uses_fts and sort == "relevance" and where == f"+{STORED} AND fts MATCH ?":
        return _ranked_words(conn, args[0], limit=limit, offset=offset)
    snippet = SNIPPET if uses_fts else "NULL"
    if where == f"+{STORED}" and order_by(sort, uses_fts).startswith("i.date DESC"):
        # Browsing everything, newest first: read a page of the date index, sort nothing.
        source = "items i INDEXED BY items_date"
    rows = conn.execute(
        f"SELECT {HIT_COLUMNS}, {snippet} AS snippet FROM {source} WHERE {where}"
        f" ORDER BY {order_by(sort, uses_fts)} LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [dict(r) for r in rows]


def _ranked_words(conn: sqlite3.Connection, match: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """Words only, by relevance: rank inside the full-text index, then read one page of items."""
    ranked = conn.execute(
        f"SELECT rowid, {SNIPPET} FROM fts WHERE fts MATCH ? ORDER BY {BM25}, rowid LIMIT ? OFFSET ?",
        [match, limit, offset],
    ).fetchall()
    if not ranked:
        return []
    marks = ",".join("?" * len(ranked))
    items = {
        r[0]: dict(r)
        for r in conn.execute(
            f"SELECT i.rowid AS rid, {HIT_COLUMNS} FROM items i WHERE i.rowid IN ({marks}) AND {STORED}",
            [rid for rid, _ in ranked],
        )
    }
    out = []
    for rid, snippet in ranked:
        hit = items.get(rid)
        if hit is not None:  # every indexed row is a stored item; a stray one is skipped, not shown
            hit.pop("rid")
            out.append({**hit, "snippet": snippet})
    return out


def count(conn: sqlite3.Connection, text: str) -> int:
    source, where, args, _ = plan(text)
    if where == f"+{STORED} AND fts MATCH ?":
        # Words only: the index holds stored items only, so it can count on its own (10x faster).
        return conn.execute("SELECT COUNT(*) FROM fts WHERE fts MATCH ?", args).fetchone()[0]
    return conn.execute(f"SELECT COUNT(*) FROM {source} WHERE {where}", args).fetchone()[0]


def search(
    conn: sqlite3.Connection, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
) -> tuple[int, list[dict[str, Any]]]:
    """Run a query: (total matches, one page of hits with a highlighted snippet)."""
    if sort not in SORTS:
        sort = "relevance"
    return count(conn, text), hits(conn, text, limit=limit, offset=offset, sort=sort)
