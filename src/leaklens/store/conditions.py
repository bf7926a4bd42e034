"""An `ItemQuery` as an SQL condition, for every backend: the one translation, the dialect as arguments.

Each backend differs only in its placeholder, in how it binds a list of ids, and in its literal for
"every item"; the fields a query narrows, and how, are written once here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..model import FAILED, PENDING, SKIPPED, STORED
from .base import ItemQuery

STATES = (PENDING, STORED, SKIPPED, FAILED)

IdsClause = Callable[[Sequence[str]], tuple[str, list[Any]]]


def item_condition(q: ItemQuery, *, mark: str, ids: IdsClause, everything: str) -> tuple[str, list[Any]]:
    """The SQL condition of `q` and its arguments (`everything` when it selects every item)."""
    parts: list[str] = []
    args: list[Any] = []
    if q.state in STATES:
        # Written out, not bound: a partial index (items_pending) serves only a literal state (and a
        # bound value makes SQLite plan the statement again at every run, 60 us each).
        parts.append(f"state = '{q.state}'")
    elif q.state is not None:
        parts.append(f"state = {mark}")
        args.append(q.state)
    for name in ("kind", "verdict", "sha256", "parent"):
        value = getattr(q, name)
        if value is not None:
            parts.append(f"{name} = {mark}")
            args.append(value)
    if q.settled:
        parts.append("state <> 'pending'")
    if q.after is not None:
        parts.append(f"date >= {mark}")
        args.append(q.after)
    if q.before is not None:
        parts.append(f"date < {mark}")
        args.append(q.before)
    if q.ids is not None:
        clause, more = ids(q.ids)
        parts.append(clause)
        args.extend(more)
    return " AND ".join(parts) or everything, args
