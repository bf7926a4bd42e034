"""Kept for imports written before search moved: the query language is `leaklens.query`, its SQLite
implementation `store/sqlite/search.py` (reached through the store: `case.db.search(...)`)."""

from ..query import FILTERS, SORTS, Query, parse
from .sqlite.search import (
    EDITOR,
    SENDER_DOMAIN,
    SIGNER,
    STORED,
    YEAR,
    build_sql,
    count,
    hits,
    order_by,
    plan,
    search,
)

__all__ = [
    "EDITOR", "FILTERS", "SENDER_DOMAIN", "SIGNER", "SORTS", "STORED", "YEAR", "Query",
    "build_sql", "count", "hits", "order_by", "parse", "plan", "search",
]  # fmt: skip
