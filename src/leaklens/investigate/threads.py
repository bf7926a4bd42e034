"""Threads: the one rule that links a reply to its parent, and the conversation around an email.

The rule (used by the thread view and by verify/threads.py, which checks a reply's quotes against
its parent): the parent is named by the Message-IDs in In-Reply-To or, when that header names none,
by the last of References; the first of those that is the Message-ID of a stored email gives the
parent, the first such email found. A reply threaded only by References is therefore shown under
the parent it is checked against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..store.base import CaseStore, ItemQuery
from .items import Row, brief
from .memo import remember

_MSGID = re.compile(r"<[^<>\s]+>")
THREAD_LIMIT = 300  # entries of the reply tree shown
MAX_ANCESTORS = 50
EMAILS = ItemQuery(kind="email", state="stored")
LINK_FIELDS = ("id", "message_id", "in_reply_to", "refs")


def message_ids(value: str | None) -> list[str]:
    """The Message-IDs (``<...>``) in a header value, in order."""
    return _MSGID.findall(value or "")


def parent_ids(in_reply_to: str | None, references: str | None) -> list[str]:
    """The Message-IDs that may name a reply's parent, in order of preference."""
    return message_ids(in_reply_to) or message_ids(references)[-1:]


@dataclass
class ThreadLinks:
    """Who replies to whom among a case's emails, by item id."""

    parent: dict[str, str] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # in the order the replies were found


def link(emails: Iterable[tuple[Any, ...]]) -> ThreadLinks:
    """Link replies to parents by the rule above. `emails`: (id, message_id, in_reply_to, refs, ...)
    of every email that may take part, in the order they were found."""
    emails = list(emails)
    by_msgid: dict[str, str] = {}
    for e in emails:
        for mid in message_ids(e[1]):
            by_msgid.setdefault(mid, e[0])
    links = ThreadLinks()
    for e in emails:
        if not (e[2] or e[3]):
            continue
        parent = next((by_msgid[m] for m in parent_ids(e[2], e[3]) if m in by_msgid), None)
        if parent is None or parent == e[0]:
            continue
        links.parent[e[0]] = parent
        links.children.setdefault(parent, []).append(e[0])
    return links


def thread_links(store: CaseStore) -> ThreadLinks:
    """The links of every stored email of the case (computed once per state of the case)."""
    return remember(store, ("thread_links",), lambda: link(store.item_values(LINK_FIELDS, EMAILS)))


def _rows(store: CaseStore, ids: list[str]) -> dict[str, Row]:
    return {r["id"]: r for r in store.select_items(ItemQuery(ids=tuple(ids)))} if ids else {}


def _by_date(rows: Iterable[Row]) -> list[Row]:
    """Oldest first, undated first, then in the order found (as SQL's ORDER BY date, rowid)."""
    return sorted(rows, key=lambda r: (r["date"] is not None, r["date"] or ""))


def _children(store: CaseStore, links: ThreadLinks, item_id: str) -> list[Row]:
    ids = links.children.get(item_id, [])
    got = _rows(store, ids)
    return _by_date(got[i] for i in ids if i in got)


def thread(store: CaseStore, row: Row) -> dict[str, Any]:
    """The conversation around an email: its ancestors, its direct replies, and the reply tree from
    the oldest ancestor found, depth-first as a mail client shows it."""
    empty: dict[str, Any] = {"ancestors": [], "tree": [], "replies": []}
    if row["kind"] != "email" or not (row["message_id"] or row["in_reply_to"] or row["refs"]):
        return empty
    links = thread_links(store)
    up: list[str] = []
    seen = {row["id"]}
    cur = row["id"]
    while (parent := links.parent.get(cur)) is not None and parent not in seen and len(up) < MAX_ANCESTORS:
        seen.add(parent)
        up.insert(0, parent)
        cur = parent
    rows = _rows(store, up)
    ancestors = [rows[i] for i in up if i in rows]
    replies = [brief(r) for r in _children(store, links, row["id"])]
    root = ancestors[0] if ancestors else row
    tree: list[dict[str, Any]] = []
    stack: list[tuple[Row, int]] = [(root, 0)]
    visited: set[str] = set()
    while stack and len(tree) < THREAD_LIMIT:
        node, depth = stack.pop()
        if node["id"] in visited:
            continue
        visited.add(node["id"])
        tree.append({**brief(node), "depth": depth, "current": node["id"] == row["id"]})
        stack.extend((c, depth + 1) for c in reversed(_children(store, links, node["id"])))
    if len(tree) <= 1:
        tree = []
    return {"ancestors": [brief(a) for a in ancestors], "tree": tree, "replies": replies}
