"""The web search: facets with a time budget and a cache, and the links that add or remove filters.

The query language and its execution are the library's (store/search.py), so the workbench
and `leaklens search` give the same results for the same text.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from typing import Any

from ..store import search as core
from ..store.search import _TOKEN, EDITOR, SENDER_DOMAIN, SIGNER, STORED, YEAR, count
from ..store.search import hits as _hits
from ..store.search import plan as _sql
from ..store.search import search as run_search

__all__ = ["FACETS", "run_search", "search_with_facets", "add_filter", "remove_filter", "active"]

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


def _quote(value: str) -> str:
    return f'"{value}"' if re.search(r"\s", value) else value


# Facet counts over a huge result set are the costly part of a search page. As in Datasette,
# they get a time budget: past it they are skipped (the page says so) rather than holding the
# page up. Results are remembered per query until the case changes, so paging stays fast.
FACET_BUDGET_S = float(os.environ.get("LEAKLENS_FACET_BUDGET_MS", "100")) / 1000
FACET_MAX_MATCHES = int(os.environ.get("LEAKLENS_FACET_MAX_MATCHES", "30000"))
FACET_CHECK_EVERY = 5000  # SQLite VM steps between two looks at the clock
FACET_CACHE_SIZE = int(os.environ.get("LEAKLENS_FACET_CACHE", "256"))
_cache: OrderedDict = OrderedDict()  # CacheKey -> Outcome
_cache_lock = threading.Lock()


Facets = dict[str, list[tuple[str, int]]]
Outcome = tuple[int, Facets, bool]  # (total, facets, facets complete?)


def search_with_facets(
    conn: sqlite3.Connection, text: str, *, limit: int, offset: int, sort: str, top: int = 12
) -> tuple[int, list[dict[str, Any]], Facets, bool]:
    """(total, one page of hits, facets, facets complete?): the total comes with the facets (it is
    the sum of their groups), or from a plain count when the facets ran out of time."""
    if sort not in core.SORTS:
        sort = "relevance"
    hits = _hits(conn, text, limit=limit, offset=offset, sort=sort)
    key = _cache_key(conn, text, top)
    outcome = _recall(key)
    if outcome is None:
        outcome = _outcome(conn, text, top)
        _remember(key, outcome)  # a skipped breakdown too: the next ask of this query is not kept waiting
    total, found, complete = outcome
    return total, hits, found, complete


def _outcome(conn: sqlite3.Connection, text: str, top: int) -> Outcome:
    cheap = _cheap_count(conn, text)
    if cheap is not None and cheap > FACET_MAX_MATCHES:
        # Certain to run out of time: do not spend the budget finding that out.
        return cheap, {}, False
    got = _facets_within_budget(conn, text, top=top)
    if got is None:
        return (cheap if cheap is not None else count(conn, text)), {}, False
    return got[0], got[1], True


def _cheap_count(conn: sqlite3.Connection, text: str) -> int | None:
    """The number of matches when the full-text index alone can tell (words only, or nothing)."""
    _, where, args, uses_fts = _sql(text)
    if where == f"+{STORED} AND fts MATCH ?":
        return conn.execute("SELECT COUNT(*) FROM fts WHERE fts MATCH ?", args).fetchone()[0]
    if where == f"+{STORED}":
        # Not "COUNT(*) FROM fts": FTS5 reads every row's content for that (~0.3 s at 100,000).
        return conn.execute(f"SELECT COUNT(*) FROM items i WHERE {STORED}").fetchone()[0]
    return None


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


CacheKey = tuple[str, tuple[Any, ...]]


def _cache_key(conn: sqlite3.Connection, text: str, top: int) -> CacheKey | None:
    if not FACET_CACHE_SIZE:
        return None
    try:
        return (f"{top}\x00{text}", fingerprint(conn))
    except sqlite3.OperationalError:  # no annotation tables (a case opened outside the app)
        return None


def _recall(key: CacheKey | None) -> Outcome | None:
    if key is None:
        return None
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    return None


def _remember(key: CacheKey | None, outcome: Outcome) -> None:
    if key is None:
        return
    with _cache_lock:
        _cache[key] = outcome
        while len(_cache) > FACET_CACHE_SIZE:
            _cache.popitem(last=False)


def _facets_within_budget(conn: sqlite3.Connection, text: str, *, top: int) -> tuple[int, Facets] | None:
    deadline = time.perf_counter() + FACET_BUDGET_S
    conn.set_progress_handler(lambda: 1 if time.perf_counter() > deadline else 0, FACET_CHECK_EVERY)
    try:
        return _compute_facets(conn, text, top=top)
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
        return None
    finally:
        conn.set_progress_handler(None, 0)


def _compute_facets(conn: sqlite3.Connection, text: str, *, top: int) -> tuple[int, Facets]:
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
