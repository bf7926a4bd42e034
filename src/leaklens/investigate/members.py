"""A container read the way it was kept: the members of a mailbox, archive or email, sortable and paged.

A mailbox of 100,000 messages is listed a page at a time: the few columns a list sorts by are read for
every member (tuples, one query through the store's parent index, kept until the case changes), sorted
here, and only the page's rows are read in full. Sorting here rather than in SQL lets the sender sort
by the real address of the From field (never its display name, which an attacker writes) on every
backend alike.
"""

from __future__ import annotations

from typing import Any

from ..addresses import mailbox_addresses
from ..store.base import CaseStore, ItemQuery
from .items import Row, brief
from .memo import remember

# The columns a list sorts by, read for every member.
_SORT_FIELDS = ("id", "name", "kind", "verdict", "subject", "date", "email_from", "size")
# What a reader looks at first when the verdicts are sorted: what is proven wrong, then doubtful.
WORST_FIRST = ("altered", "suspicious", "error", "unverified", "verified")
SORTS = {
    "found": "as found",
    "date": "date",
    "sender": "sender address",
    "subject": "subject",
    "verdict": "verdict (worst first)",
    "name": "name",
    "size": "size",
}
MAX_PER_PAGE = 200


def sender_address(value: str | None) -> str:
    """The real address of the first mailbox of a From field, lower case ("" when none can be read):
    what a list shows and sorts as the sender, whatever the display name claims."""
    found = mailbox_addresses(value)  # the one reading of a From field (cached by value)
    return found[0] if found else ""


def _value(sort: str, t: tuple[Any, ...], position: int) -> Any:
    """The sorted value of a member's columns (None: it has none)."""
    _, name, _, verdict, subject, date, sender, size = t
    if sort == "date":
        return date
    if sort == "sender":
        return sender_address(sender) or None
    if sort == "subject":
        return (subject or "").casefold() or None
    if sort == "verdict":
        return WORST_FIRST.index(verdict) if verdict in WORST_FIRST else len(WORST_FIRST)
    if sort == "name":
        return (name or "").casefold() or None
    if sort == "size":
        return size
    return position


def _ordered(store: CaseStore, container_id: str, sort: str) -> tuple[list[str], list[str]]:
    """(ids of the members with the sorted value, in its order; ids of those without, as found)."""

    def compute() -> tuple[list[str], list[str]]:
        valued: list[tuple[Any, int, str]] = []
        without: list[str] = []
        for position, t in enumerate(store.item_values(_SORT_FIELDS, ItemQuery(parent=container_id))):
            value = _value(sort, t, position)
            if value is None:
                without.append(t[0])
            else:
                valued.append((value, position, t[0]))
        valued.sort()  # ties in the order found
        return [v[2] for v in valued], without

    return remember(store, ("members", container_id, sort), compute)


def members(
    store: CaseStore, container_id: str, *, sort: str = "found", descending: bool = False, page: int = 1,
    per_page: int = 50,
) -> dict[str, Any]:  # fmt: skip
    """One page of the container's direct members: {"total", "page", "pages", "per_page", "sort",
    "descending", "members": [brief + "sender", "state"...]}. An unknown sort is the order found;
    members without the sorted value (undated, no sender) come last in either direction, as a mail
    client lists them."""
    sort = sort if sort in SORTS else "found"
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    valued, without = _ordered(store, container_id, sort)
    total = len(valued) + len(without)
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    lo, hi = (page - 1) * per_page, page * per_page
    if descending:
        # Slices of the reversed list without copying 100,000 ids a page.
        n = len(valued)
        wanted = [valued[n - 1 - i] for i in range(lo, min(hi, n))] + without[max(0, lo - n) : max(0, hi - n)]
    else:
        n = len(valued)
        wanted = valued[lo:hi] + without[max(0, lo - n) : max(0, hi - n)]
    rows = {r["id"]: r for r in store.select_items(ItemQuery(ids=tuple(wanted)))} if wanted else {}
    return {
        "total": total,
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "sort": sort,
        "descending": descending,
        "members": [_member(rows[i]) for i in wanted if i in rows],
    }


def _member(row: Row) -> dict[str, Any]:
    return {**brief(row), "sender": sender_address(row["email_from"]), "state": row["state"]}
