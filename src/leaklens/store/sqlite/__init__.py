"""The case store on SQLite: one file beside the blob folder, no service to run."""

from .database import ITEM_COLUMNS, Database, RangeIndex

SqliteStore = Database

__all__ = ["ITEM_COLUMNS", "Database", "RangeIndex", "SqliteStore"]
