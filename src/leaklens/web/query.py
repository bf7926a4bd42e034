"""The web search: `leaklens search` syntax plus filters that need the workbench's own data.

The shared language (store/search.py) is used as is; the web adds ``tag:``,
``signer:`` (a DKIM signing domain that validated), ``editor:`` (a document's
author or last editor), ``year:`` and ``finding:`` (a finding code, e.g.
``finding:dkim.body_hash_mismatch``). Those terms are taken out of the text and
become an ``extra_where`` clause, so the shared parser never sees them.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..store import search as core

WEB_FILTERS = ("tag", "signer", "editor", "year", "finding")
_TOKEN = re.compile(r'(-?)(?:(\w+):)?(?:"([^"]*)"?|(\S+))')

# Derived values, as SQL over `items i`; facets and filters read the same expressions.
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
STORED = "i.state = 'stored'"  # the first clause of every store.search where-clause

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
            # Evaluated once (the few valid-signature findings), not once per matching item.
            clause = (
                f"i.id IN (SELECT f.item_id FROM findings f WHERE f.code = 'dkim.pass' AND {SIGNER_OF_FINDING} = ?)"
            )
            args.append(value.lower())
        elif key == "finding":
            clause = "i.id IN (SELECT f.item_id FROM findings f WHERE f.code = ?)"
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


def _sql(text: str) -> tuple[str, str, list[Any], bool]:
    """(source, where, args, uses_fts) for the whole query, shared grammar plus web filters."""
    wq = split(text)
    where, args, uses_fts = core.build_sql(core.parse(wq.core_text))
    if wq.where:
        where += f" AND ({wq.where})"
        args += wq.args
    # The full-text index goes first: left to itself, SQLite may walk every item and probe the
    # index once per item, which costs seconds at 100,000 items for a one-word query.
    source = "fts CROSS JOIN items i ON i.rowid = fts.rowid" if uses_fts else "items i"
    # Nearly every item is stored, so the state index selects nothing; the unary + keeps SQLite
    # from using it, leaving it free to walk the date index for "newest first" and stop early.
    where = where.replace(STORED, "+" + STORED, 1)
    return source, where, args, uses_fts


def _order(sort: str, uses_fts: bool) -> str:
    # The same orders as `leaklens search` (store/search.py).
    if sort == "date":
        return "i.date IS NULL, i.date ASC, i.rowid"
    if sort == "-date" or not uses_fts:
        # = "i.date IS NULL, i.date DESC" (NULL sorts lowest, so last when descending), in a
        # form that the date index can serve.
        return "i.date DESC, i.rowid"
    return f"{BM25}, i.rowid"


HIT_COLUMNS = "i.id, i.path, i.kind, i.verdict, i.date, i.email_from, i.subject, i.name, i.ext, i.size"
SNIPPET = "snippet(fts, -1, '\x02', '\x03', ' … ', 12)"
BM25 = "bm25(fts, 4.0, 2.0, 1.0, 1.0, 2.0)"


def _hits(conn: sqlite3.Connection, text: str, *, limit: int, offset: int, sort: str) -> list[dict[str, Any]]:
    source, where, args, uses_fts = _sql(text)
    if uses_fts and sort == "relevance" and where == f"+{STORED} AND fts MATCH ?":
        return _ranked_words(conn, args[0], limit=limit, offset=offset)
    snippet = SNIPPET if uses_fts else "NULL"
    if where == f"+{STORED}" and _order(sort, uses_fts).startswith("i.date DESC"):
        # Browsing everything, newest first: read 25 entries of the date index, sort nothing.
        source = "items i INDEXED BY items_date"
    rows = conn.execute(
        f"SELECT i.id, i.path, i.kind, i.verdict, i.date, i.email_from, i.subject, i.name, i.ext, i.size,"
        f" {snippet} AS snippet FROM {source} WHERE {where} ORDER BY {_order(sort, uses_fts)} LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [dict(r) for r in rows]


def _ranked_words(conn: sqlite3.Connection, match: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """Words only, by relevance: rank inside the full-text index, then read 25 items (not 80,000)."""
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
    source, where, args, _ = _sql(text)
    if where == f"+{STORED} AND fts MATCH ?":
        # Words only: the index holds stored items only, so it can count on its own (10x faster).
        return conn.execute("SELECT COUNT(*) FROM fts WHERE fts MATCH ?", args).fetchone()[0]
    return conn.execute(f"SELECT COUNT(*) FROM {source} WHERE {where}", args).fetchone()[0]


def run_search(
    conn: sqlite3.Connection, text: str, *, limit: int, offset: int, sort: str
) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page of hits with snippets): the results of `leaklens search` for the same text."""
    if sort not in core.SORTS:
        sort = "relevance"
    return count(conn, text), _hits(conn, text, limit=limit, offset=offset, sort=sort)


# Facet counts over a huge result set are the costly part of a search page. As in Datasette,
# they get a time budget: past it they are skipped (the page says so) rather than holding the
# page up. Results are remembered per query until the case changes, so paging stays fast.
FACET_BUDGET_S = float(os.environ.get("LEAKLENS_FACET_BUDGET_MS", "100")) / 1000
FACET_MAX_MATCHES = int(os.environ.get("LEAKLENS_FACET_MAX_MATCHES", "30000"))
FACET_CHECK_EVERY = 5000  # SQLite VM steps between two looks at the clock
FACET_CACHE_SIZE = int(os.environ.get("LEAKLENS_FACET_CACHE", "256"))
_cache: OrderedDict[tuple[str, tuple[Any, ...]], tuple[int, dict[str, list[tuple[str, int]]]]] = OrderedDict()
_cache_lock = threading.Lock()


def search_with_facets(
    conn: sqlite3.Connection, text: str, *, limit: int, offset: int, sort: str, top: int = 12
) -> tuple[int, list[dict[str, Any]], dict[str, list[tuple[str, int]]], bool]:
    """(total, one page of hits, facets, facets complete?): the total comes with the facets (it is
    the sum of their groups), or from a plain count when the facets ran out of time."""
    if sort not in core.SORTS:
        sort = "relevance"
    hits = _hits(conn, text, limit=limit, offset=offset, sort=sort)
    cheap = _cheap_count(conn, text)
    if cheap is not None and cheap > FACET_MAX_MATCHES and _cached(conn, text, top) is None:
        # Certain to run out of time: do not spend the budget finding that out.
        return cheap, hits, {}, False
    got = _facets(conn, text, top=top)
    if got is None:
        return (cheap if cheap is not None else count(conn, text)), hits, {}, False
    return got[0], hits, got[1], True


def _cheap_count(conn: sqlite3.Connection, text: str) -> int | None:
    """The number of matches when the full-text index alone can tell (words only, or nothing)."""
    _, where, args, uses_fts = _sql(text)
    if where == f"+{STORED} AND fts MATCH ?":
        return conn.execute("SELECT COUNT(*) FROM fts WHERE fts MATCH ?", args).fetchone()[0]
    if where == f"+{STORED}":
        # Not "COUNT(*) FROM fts": FTS5 reads every row's content for that (~0.3 s at 100,000).
        return conn.execute(f"SELECT COUNT(*) FROM items i WHERE {STORED}").fetchone()[0]
    return None


def facets(conn: sqlite3.Connection, text: str, *, top: int = 12) -> dict[str, list[tuple[str, int]]]:
    """Counts of every facet's values over the items matching the query ({} if out of time)."""
    got = _facets(conn, text, top=top)
    return got[1] if got else {}


def fingerprint(conn: sqlite3.Connection) -> tuple[Any, ...]:
    # Which case, and its state: new items, new findings (every re-check inserts afresh) or tags
    # change these. In-place edits of an item's columns alone would not; no step makes them.
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    state = conn.execute(
        "SELECT (SELECT MAX(rowid) FROM items), (SELECT MAX(rowid) FROM findings),"
        " (SELECT COUNT(*) FROM findings WHERE rowid > (SELECT MAX(rowid) - 1000 FROM findings)),"
        " (SELECT COUNT(*) FROM item_tags), (SELECT MAX(rowid) FROM item_tags)"
    ).fetchone()
    return (path, *state)


def _cache_key(conn: sqlite3.Connection, text: str, top: int) -> tuple[str, tuple[Any, ...]] | None:
    if not FACET_CACHE_SIZE:
        return None
    try:
        return (f"{top}\x00{text}", fingerprint(conn))
    except sqlite3.OperationalError:  # no annotation tables (a case opened outside the app)
        return None


def _cached(conn: sqlite3.Connection, text: str, top: int) -> tuple[int, dict[str, list[tuple[str, int]]]] | None:
    key = _cache_key(conn, text, top)
    if key is None:
        return None
    with _cache_lock:
        return _cache.get(key)


def _facets(conn: sqlite3.Connection, text: str, *, top: int) -> tuple[int, dict[str, list[tuple[str, int]]]] | None:
    key = _cache_key(conn, text, top)
    if key is not None:
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key]
    deadline = time.perf_counter() + FACET_BUDGET_S
    conn.set_progress_handler(lambda: 1 if time.perf_counter() > deadline else 0, FACET_CHECK_EVERY)
    try:
        got = _compute_facets(conn, text, top=top)
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
        return None
    finally:
        conn.set_progress_handler(None, 0)
    if key is not None:
        with _cache_lock:
            _cache[key] = got
            while len(_cache) > FACET_CACHE_SIZE:
                _cache.popitem(last=False)
    return got


def _compute_facets(conn: sqlite3.Connection, text: str, *, top: int) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    source, where, args, _ = _sql(text)
    names = list(FACETS)
    exprs = ", ".join(FACETS[n][1] for n in names)
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
