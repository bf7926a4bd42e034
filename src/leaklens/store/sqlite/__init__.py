"""The case store on SQLite: one file beside the blob folder, no service to run."""

from .database import ITEM_COLUMNS, Database, RangeIndex, open_database

SqliteStore = Database

__all__ = ["ITEM_COLUMNS", "Database", "RangeIndex", "SqliteStore", "open_database"]
