"""The reads and writes of verification (verify/) on PostgreSQL (mirrors store/sqlite/verify.py)."""

from __future__ import annotations


class PgVerifyQueries:
    """The verify/ methods of the PostgreSQL store (mixed into `PostgresStore`)."""
