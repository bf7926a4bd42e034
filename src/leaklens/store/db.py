"""Kept for imports written before the store had backends: the SQLite store lives in store/sqlite/."""

from .sqlite.database import ITEM_COLUMNS, Database, RangeIndex

__all__ = ["ITEM_COLUMNS", "Database", "RangeIndex"]
