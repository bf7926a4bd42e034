"""Search on SQLite: the query language of `leaklens.query` as SQL over `items` and the FTS5 index.

Each declared filter has its where-clause in `FILTER_SQL` and each declared facet its grouping
expression in `FACET_SQL` (a test holds them to the declaration). User text never reaches FTS5's
own syntax: each term is quoted, so a stray ``AND`` or ``*`` in a query is just a word.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from ...query import FACETS, SORTS, Query, parse
from ..base import Facets

# Derived values, as SQL over `items i`; filters and facets read the same expressions.
SENDER_DOMAIN = (
    "CASE WHEN INSTR(i.email_from, '@') > 0 THEN RTRIM(LOWER(TRIM("
    "SUBSTR(i.email_from, INSTR(i.email_from, '@') + 1))), '> ,;\"') END"
)
# The expression of migration 1's findings_signer index: the same text, so the index serves it.
SIGNER_OF_FINDING = "LOWER(json_extract(f.evidence, '$.d'))"
SIGNER = (
    f"(SELECT {SIGNER_OF_FINDING} FROM findings f INDEXED BY findings_item"
    " WHERE f.item_id = i.id AND f.code = 'dkim.pass' LIMIT 1)"
)
EDITOR = "COALESCE(json_extract(i.meta, '$.document.last_modified_by'), json_extract(i.meta, '$.document.author'))"
YEAR = "SUBSTR(i.date, 1, 4)"
STORED = "i.state = 'stored'"  # the first clause of every where-clause

Clause = tuple[str, list[Any]]

# filter name -> (normalised value -> where-clause over `items i`, its arguments)
FILTER_SQL: dict[str, Callable[[str], Clause]] = {
    "verdict": lambda v: ("i.verdict = ?", [v]),
    "kind": lambda v: ("i.kind = ?", [v]),
    "from": lambda v: ("LOWER(i.email_from) LIKE ?", [f"%{v}%"]),
    "to": lambda v: ("(LOWER(i.email_to) LIKE ? OR LOWER(i.email_cc) LIKE ?)", [f"%{v}%", f"%{v}%"]),
    # Evaluated once (the few valid-signature findings), not once per matching item.
    "signer": lambda v: (
        f"i.id IN (SELECT f.item_id FROM findings f WHERE f.code = 'dkim.pass' AND {SIGNER_OF_FINDING} = ?)",
        [v],
    ),
    "editor": lambda v: (f"{EDITOR} = ?", [v]),
    "year": lambda v: (f"{YEAR} = ?", [v]),
    "after": lambda v: ("i.date >= ?", [v]),
    "before": lambda v: ("i.date < ?", [v]),
    "ext": lambda v: ("i.ext = ?", [v]),
    "source": lambda v: ("i.source = ?", [v]),
    "tag": lambda v: ("EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id AND t.tag = ?)", [v]),
    "finding": lambda v: ("i.id IN (SELECT f.item_id FROM findings f WHERE f.code = ?)", [v]),
}

# facet name -> the value an item is counted under (NULL or '': not counted)
FACET_SQL: dict[str, str] = {
    "verdict": "i.verdict",
    "kind": "i.kind",
    "from": SENDER_DOMAIN,
    "signer": SIGNER,
    "editor": EDITOR,
    "year": YEAR,
    "ext": "i.ext",
}


def _fts_phrase(term: str) -> str:
    words = re.findall(r"\w+", term)
    if not words:
        return ""
    return '"' + " ".join(words) + '"'


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
    for c in q.conditions():
        sql, more = FILTER_SQL[c.filter.name](c.value)
        # NULL (no sender, no date) counts as "not matching", so the negation keeps it.
        where.append(f"COALESCE(NOT ({sql}), 1)" if c.negated else sql)
        args += more
    return " AND ".join(where), args, uses_fts


HIT_COLUMNS = "i.id, i.path, i.kind, i.verdict, i.date, i.email_from, i.subject, i.name, i.ext, i.size"
SNIPPET = "snippet(fts, -1, '\x02', '\x03', ' … ', 12)"
BM25 = "bm25(fts, 4.0, 2.0, 1.0, 1.0, 2.0)"
WORDS_ONLY = f"+{STORED} AND fts MATCH ?"  # the where-clause of a query of words and phrases only
EVERYTHING = f"+{STORED}"  # ... of the empty query


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
    if uses_fts and sort == "relevance" and where == WORDS_ONLY:
        return _ranked_words(conn, args[0], limit=limit, offset=offset)
    snippet = SNIPPET if uses_fts else "NULL"
    if where == EVERYTHING and order_by(sort, uses_fts).startswith("i.date DESC"):
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
    if where == WORDS_ONLY:
        # Words only: the index holds stored items only, so it can count on its own (10x faster).
        return conn.execute("SELECT COUNT(*) FROM fts WHERE fts MATCH ?", args).fetchone()[0]
    return conn.execute(f"SELECT COUNT(*) FROM {source} WHERE {where}", args).fetchone()[0]


def cheap_count(conn: sqlite3.Connection, text: str) -> int | None:
    """The number of matches when an index alone can tell (words only, or nothing), else None."""
    _, where, args, _ = plan(text)
    if where == WORDS_ONLY:
        return conn.execute("SELECT COUNT(*) FROM fts WHERE fts MATCH ?", args).fetchone()[0]
    if where == EVERYTHING:
        # Not "COUNT(*) FROM fts": FTS5 reads every row's content for that (~0.3 s at 100,000).
        return conn.execute(f"SELECT COUNT(*) FROM items i WHERE {STORED}").fetchone()[0]
    return None


def search(
    conn: sqlite3.Connection, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
) -> tuple[int, list[dict[str, Any]]]:
    """Run a query: (total matches, one page of hits with a highlighted snippet)."""
    if sort not in SORTS:
        sort = "relevance"
    return count(conn, text), hits(conn, text, limit=limit, offset=offset, sort=sort)


# SQLite VM steps between two looks at the clock while facets are counted.
CHECK_EVERY = 5000


def facets(conn: sqlite3.Connection, text: str, *, top: int, budget_s: float) -> tuple[int, Facets] | None:
    """(total, facets) within `budget_s` seconds, or None when they would take longer."""
    if budget_s <= 0:
        return None  # spent before it began
    deadline = time.perf_counter() + budget_s
    # SQLite interrupts the statement when the handler returns non-zero.
    conn.set_progress_handler(lambda: 1 if time.perf_counter() > deadline else 0, CHECK_EVERY)
    try:
        return _facets(conn, text, top=top)
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
        return None
    finally:
        conn.set_progress_handler(None, 0)


def _facets(conn: sqlite3.Connection, text: str, *, top: int) -> tuple[int, Facets]:
    source, where, args, _ = plan(text)
    names = [f.name for f in FACETS]
    exprs = ", ".join(FACET_SQL[n] for n in names)
    cols = ", ".join(str(k + 1) for k in range(len(names)))
    # One pass: group by every facet at once, then add up each facet's margins here. (The signing
    # domain is looked up per match through the findings index: cheaper than a second full-text pass.)
    rows = conn.execute(f"SELECT {exprs}, COUNT(*) FROM {source} WHERE {where} GROUP BY {cols}", args).fetchall()
    counters: dict[str, dict[str, int]] = {n: {} for n in names}
    total = 0
    for r in rows:
        n = r[-1]
        total += n
        for k, name in enumerate(names):
            v = r[k]
            if v not in (None, ""):
                c = counters[name]
                c[str(v)] = c.get(str(v), 0) + n
    return total, {name: sorted(counters[name].items(), key=lambda kv: (-kv[1], kv[0]))[:top] for name in names}


def fingerprint(conn: sqlite3.Connection) -> tuple[Any, ...]:
    """Which case, and its state: new items, new findings (every re-check inserts afresh) or tags
    change it. In-place edits of an item's columns alone would not; no step makes them."""
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    state = conn.execute(
        "SELECT (SELECT MAX(rowid) FROM items), (SELECT MAX(rowid) FROM findings),"
        " (SELECT COUNT(*) FROM findings WHERE rowid > (SELECT MAX(rowid) - 1000 FROM findings)),"
        " (SELECT COUNT(*) FROM item_tags), (SELECT MAX(rowid) FROM item_tags)"
    ).fetchone()
    return (path, *state)


class SearchMixin:
    """The search methods of the SQLite store (mixed into `Database`)."""

    conn: sqlite3.Connection

    def search(
        self, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
    ) -> tuple[int, list[dict[str, Any]]]:
        """(total matches, one page of hits with a highlighted snippet), in the language of leaklens.query."""
        return search(self.conn, text, limit=limit, offset=offset, sort=sort)

    def search_hits(
        self, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
    ) -> list[dict[str, Any]]:
        return hits(self.conn, text, limit=limit, offset=offset, sort=sort if sort in SORTS else "relevance")

    def search_count(self, text: str, *, only_if_cheap: bool = False) -> int | None:
        return cheap_count(self.conn, text) if only_if_cheap else count(self.conn, text)

    def search_facets(self, text: str, *, top: int, budget_s: float) -> tuple[int, Facets] | None:
        return facets(self.conn, text, top=top, budget_s=budget_s)

    def search_fingerprint(self) -> tuple[Any, ...]:
        return fingerprint(self.conn)
