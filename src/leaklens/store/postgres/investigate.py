"""The reads of investigate/ on PostgreSQL (mirrors store/sqlite/investigate.py)."""

from __future__ import annotations


class PgInvestigateReads:
    """The investigate/ methods of the PostgreSQL store (mixed into `PostgresStore`)."""
