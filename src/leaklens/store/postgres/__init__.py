"""The case store on PostgreSQL: one database per case, shared by several leaklens processes at once."""

from .database import PgRangeIndex, PostgresStore, open_postgres

__all__ = ["PgRangeIndex", "PostgresStore", "open_postgres"]
