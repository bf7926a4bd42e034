"""Emails over time: how many were sent each day, by verdict."""

from __future__ import annotations

from ..store.base import CaseStore, ItemQuery

EMAILS = ItemQuery(kind="email", state="stored")


def email_timeline(store: CaseStore) -> list[tuple[str, str, int]]:
    """(day as YYYY-MM-DD, verdict, emails) for every day with a dated email."""
    return [
        (day, verdict, n) for day, verdict, n in store.count_items_by(("day", "verdict"), EMAILS) if day is not None
    ]
