"""A conversation read in order: every message of an email's thread, oldest first, each with its
verdict, the one sentence that decided it, whom it answers and its text.

The thread is the one `threads` links (the same rule as the item page and verify/threads.py); the
text is what ingest read from each message (never re-parsed here), so a long thread reads quickly.
"""

from __future__ import annotations

from typing import Any

from ..store.base import CaseStore
from .items import Row, brief, item_text
from .threads import thread, thread_links
from .verdict_view import banner_of

MAX_MESSAGES = 100  # messages shown with their text; a longer thread lists the rest by link
MAX_MESSAGE_CHARS = 20_000


def item_banner(store: CaseStore, row: Row) -> dict[str, Any]:
    """The verdict banner every content panel opens with (verdict_view.banner_of), with "recovered"
    (an altered item's signed original, when recovered) for its badge."""
    b, recovered = banner_of(store, row)
    return {**b, "recovered": recovered}


def conversation(store: CaseStore, row: Row) -> dict[str, Any]:
    """{"messages": [...], "more": [...], "total"}: the thread around `row`, oldest first (undated
    last, then as found). Each message: brief fields, "depth", "current", "parent" (the id it
    answers, when it is in the thread), "banner" (item_banner), "text", "cut" (text shortened)."""
    t = thread(store, row)
    entries = t["tree"] or [{**brief(row), "depth": 0, "current": True}]
    parent_of = thread_links(store).parent
    in_thread = {e["id"] for e in entries}
    found = {e["id"]: n for n, e in enumerate(entries)}
    ordered = sorted(entries, key=lambda e: (e["date"] is None, e["date"] or "", found[e["id"]]))
    messages: list[dict[str, Any]] = []
    for e in ordered[:MAX_MESSAGES]:
        full = store.item(e["id"]) if e["id"] != row["id"] else row
        text = item_text(store, full) if full is not None else ""
        parent = parent_of.get(e["id"])
        messages.append(
            {
                **e,
                "parent": parent if parent in in_thread else None,
                "banner": item_banner(store, full if full is not None else row),
                "text": text[:MAX_MESSAGE_CHARS],
                "cut": len(text) > MAX_MESSAGE_CHARS,
            }
        )
    return {"messages": messages, "more": ordered[MAX_MESSAGES:], "total": len(ordered)}
