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
LINK_FIELDS = ("id", "message_id", "in_reply_to", "refs", "date")


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
    # Each email's replies, oldest first (undated first, then as found), as a mail client lists them.
    children: dict[str, list[str]] = field(default_factory=dict)


def link(emails: Iterable[tuple[Any, ...]]) -> ThreadLinks:
    """Link replies to parents by the rule above. `emails`: (id, message_id, in_reply_to, refs, date,
    ...) of every email that may take part, in the order they were found."""
    emails = list(emails)
    by_msgid: dict[str, str] = {}
    for e in emails:
        for mid in message_ids(e[1]):
            by_msgid.setdefault(mid, e[0])
    links = ThreadLinks()
    when: dict[str, tuple[bool, str]] = {}
    for e in emails:
        if not (e[2] or e[3]):
            continue
        parent = next((by_msgid[m] for m in parent_ids(e[2], e[3]) if m in by_msgid), None)
        if parent is None or parent == e[0]:
            continue
        links.parent[e[0]] = parent
        links.children.setdefault(parent, []).append(e[0])
        when[e[0]] = (e[4] is not None, e[4] or "")
    for replies in links.children.values():
        replies.sort(key=when.__getitem__)  # stable: as found within a date
    return links


def thread_links(store: CaseStore) -> ThreadLinks:
    """The links of every stored email of the case (computed once per state of its items)."""
    return remember(store, ("thread_links",), lambda: link(store.item_values(LINK_FIELDS, EMAILS)), items_only=True)


def thread(store: CaseStore, row: Row) -> dict[str, Any]:
    """The conversation around an email: its ancestors, its direct replies, and the reply tree from
    the oldest ancestor found, depth-first as a mail client shows it."""
    if row["kind"] != "email" or not (row["message_id"] or row["in_reply_to"] or row["refs"]):
        return {"ancestors": [], "tree": [], "replies": []}
    links = thread_links(store)
    up: list[str] = []
    seen = {row["id"]}
    cur = row["id"]
    while (parent := links.parent.get(cur)) is not None and parent not in seen and len(up) < MAX_ANCESTORS:
        seen.add(parent)
        up.insert(0, parent)
        cur = parent
    replies = links.children.get(row["id"], [])
    # The tree below the oldest ancestor, walked in memory; the items shown are read at once.
    tree: list[tuple[str, int]] = []
    stack = [(cur, 0)]
    visited: set[str] = set()
    while stack and len(tree) < THREAD_LIMIT:
        node, depth = stack.pop()
        if node in visited:
            continue
        visited.add(node)
        tree.append((node, depth))
        stack.extend((c, depth + 1) for c in reversed(links.children.get(node, ())))
    if len(tree) <= 1:
        tree = []
    wanted = {*up, *replies, *(n for n, _ in tree)} - {row["id"]}
    rows = {r["id"]: r for r in store.select_items(ItemQuery(ids=tuple(wanted)))} if wanted else {}
    rows[row["id"]] = row
    return {
        "ancestors": [brief(rows[i]) for i in up if i in rows],
        "tree": [{**brief(rows[n]), "depth": d, "current": n == row["id"]} for n, d in tree if n in rows],
        "replies": [brief(rows[i]) for i in replies if i in rows],
    }
