"""Who writes to whom: addresses by volume, and the pairs between them."""

from __future__ import annotations

import email.utils
import functools
from collections import Counter
from typing import Any

from ..store.base import CaseStore, ItemQuery
from .memo import remember


@functools.lru_cache(maxsize=65536)
def addresses(value: str | None) -> tuple[str, ...]:
    """The lower-cased addresses of a header value (From, To, Cc), in order."""
    if not value:
        return ()
    return tuple(a.lower() for _, a in email.utils.getaddresses([value]) if "@" in a)


def address_of(value: str | None) -> str | None:
    addrs = addresses(value)
    return addrs[0] if addrs else None


def correspondents(
    store: CaseStore,
    *,
    after: str | None = None,
    before: str | None = None,
    verdict: str | None = None,
    top: int = 40,
) -> dict[str, Any]:
    """The `top` addresses by emails sent and received (dates: `after` <= date < `before`), the
    pairs between them, and the 25 busiest sender -> recipient pairs. Shared: do not change it."""
    key = ("correspondents", after, before, verdict, top)
    return remember(store, key, lambda: _correspondents(store, after, before, verdict, top))


def _correspondents(
    store: CaseStore, after: str | None, before: str | None, verdict: str | None, top: int
) -> dict[str, Any]:
    where = ItemQuery(kind="email", state="stored", verdict=verdict or None, after=after or None, before=before or None)
    edges: Counter[tuple[str, str]] = Counter()
    volume: Counter[str] = Counter()
    emails = 0
    # The same header values repeat across a mailbox: counted by the store, each parsed once.
    for frm, to, cc, n in store.count_items_by(("email_from", "email_to", "email_cc"), where):
        sender = address_of(frm)
        if not sender:
            continue
        emails += n
        recipients = set(addresses(to)) | set(addresses(cc))
        recipients.discard(sender)
        volume[sender] += n
        for r in recipients:
            edges[(sender, r)] += n
            volume[r] += n
    nodes = [a for a, _ in volume.most_common(top)]
    keep = set(nodes)
    pair: Counter[tuple[str, str]] = Counter()
    for (a, b), n in edges.items():
        if a in keep and b in keep:
            pair[tuple(sorted((a, b)))] += n  # type: ignore[index]
    return {
        "emails": emails,
        "nodes": [(a, volume[a]) for a in nodes],
        "edges": [(a, b, n) for (a, b), n in pair.most_common()],
        "top_pairs": [{"from": a, "to": b, "emails": n} for (a, b), n in edges.most_common(25)],
    }
