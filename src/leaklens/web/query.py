"""The web search: facets with a time budget and a cache, and the links that add or remove filters.

The query language is `leaklens.query` and it runs in the store (`case.db.search_*`), so the
workbench and `leaklens search` give the same results for the same text. What is decided here
is the page's policy: how long facets may take, when not to try, and what is remembered.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

from ..query import FACETS, FILTERS, SORT_LABELS, SORTS, TOKEN, quote
from ..store.base import CaseStore, Facets

__all__ = [
    "FACETS",
    "FILTERS",
    "SORT_LABELS",
    "run_search",
    "with_tags",
    "search_with_facets",
    "add_filter",
    "remove_filter",
    "active",
]


def with_tags(store: CaseStore, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each hit with the tags it carries now (`tags`): shown on the result, as the item page shows them."""
    for hit in hits:
        hit["tags"] = store.tags_for(hit["id"])
    return hits


def run_search(
    store: CaseStore, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page of hits): what `leaklens search` runs."""
    return store.search(text, limit=limit, offset=offset, sort=sort)


# Facet counts over a huge result set are the costly part of a search page. As in Datasette,
# they get a time budget: past it they are skipped (the page says so) rather than holding the
# page up. Results are remembered per query until the case changes, so paging stays fast.
FACET_BUDGET_S = float(os.environ.get("LEAKLENS_FACET_BUDGET_MS", "100")) / 1000
FACET_MAX_MATCHES = int(os.environ.get("LEAKLENS_FACET_MAX_MATCHES", "30000"))
FACET_CACHE_SIZE = int(os.environ.get("LEAKLENS_FACET_CACHE", "256"))
_cache: OrderedDict = OrderedDict()  # CacheKey -> Outcome
_cache_lock = threading.Lock()


Outcome = tuple[int, Facets, bool]  # (total, facets, facets complete?)


def search_with_facets(
    store: CaseStore, text: str, *, limit: int, offset: int, sort: str, top: int = 12
) -> tuple[int, list[dict[str, Any]], Facets, bool]:
    """(total, one page of hits, facets, facets complete?): the total comes with the facets (it is
    the sum of their groups), or from a plain count when the facets ran out of time."""
    if sort not in SORTS:
        sort = "relevance"
    key = _cache_key(store, text, top)
    outcome = _recall(key)
    if outcome is not None:  # the total is known: the page alone (a ranking's top skips what cannot reach it)
        hits = store.search_hits(text, limit=limit, offset=offset, sort=sort)
    else:  # the hits and their total in one pass over the matches, then the facets (the store keeps the count)
        total, hits = store.search(text, limit=limit, offset=offset, sort=sort)
        key = _cache_key(store, text, top)  # again: that search may have brought the index up to date
        outcome = _outcome(store, text, top, total)
        _remember(key, outcome)  # a skipped breakdown too: the next ask of this query is not kept waiting
    total, found, complete = outcome
    return total, hits, found, complete


def _outcome(store: CaseStore, text: str, top: int, total: int) -> Outcome:
    if total > FACET_MAX_MATCHES:
        # Certain to run out of time: do not spend the budget finding that out.
        return total, {}, False
    got = _compute_facets(store, text, top=top)
    if got is None:
        return total, {}, False
    return got[0], got[1], True


def _compute_facets(store: CaseStore, text: str, *, top: int) -> tuple[int, Facets] | None:
    return store.search_facets(text, top=top, budget_s=FACET_BUDGET_S)


CacheKey = tuple[str, tuple[Any, ...]]


def _cache_key(store: CaseStore, text: str, top: int) -> CacheKey | None:
    if not FACET_CACHE_SIZE:
        return None
    return (f"{top}\x00{text}", store.search_fingerprint(text))


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


def _terms(key: str, value: str) -> set[str]:
    """The ways the filter term for one facet value can be typed."""
    value = FILTERS[key].facet_value(value) if key in FILTERS else value
    return {f"{key}:{value}", f'{key}:"{value}"'}


def add_filter(text: str, key: str, value: str) -> str:
    """The query text with one more filter term (used by facet links)."""
    value = FILTERS[key].facet_value(value) if key in FILTERS else value
    term = f"{key}:{quote(value)}"
    if term in (text or "").split():
        return text
    return f"{text} {term}".strip()


def remove_filter(text: str, key: str, value: str) -> str:
    drop = _terms(key, value)
    return " ".join(m.group(0) for m in TOKEN.finditer(text or "") if m.group(0) not in drop)


def active(text: str, key: str, value: str) -> bool:
    terms = _terms(key, value)
    return any(m.group(0) in terms for m in TOKEN.finditer(text or ""))
