"""Who writes to whom: addresses by volume, and the pairs between them."""

from __future__ import annotations

import email.utils
import functools
from collections import Counter
from typing import Any

from ..addresses import mailbox_addresses
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
    domain: str | None = None,
    top: int = 40,
) -> dict[str, Any]:
    """The `top` addresses by emails sent and received (dates: `after` <= date < `before`), the
    pairs between them, and the 25 busiest sender -> recipient pairs. Shared: keys are only added.

    `domain` keeps the links with at least one end in that domain (or a subdomain of it): a reporter
    asking "who does horizon-campaign.example talk to" wants its outside contacts too. `directed` is
    the same links one per direction (sender -> recipient), for a graph with arrows; `people` the
    nodes in order with the emails each sent and received (all of them, not only within the top); `domains` the
    domains seen before the domain filter, busiest first, for the filter form. Addresses are the
    real mailboxes (addresses.mailbox_addresses), never a display name that looks like one."""
    dom = (domain or "").strip().lower().lstrip("@") or None
    key = ("correspondents", after, before, verdict, dom, top)
    return remember(store, key, lambda: _correspondents(store, after, before, verdict, dom, top))


def in_domain(address: str, domain: str) -> bool:
    """Whether `address` is at `domain` or one of its subdomains (lower case both)."""
    host = address.rpartition("@")[2]
    return host == domain or host.endswith("." + domain)


def _correspondents(
    store: CaseStore, after: str | None, before: str | None, verdict: str | None, domain: str | None, top: int
) -> dict[str, Any]:
    where = ItemQuery(kind="email", state="stored", verdict=verdict or None, after=after or None, before=before or None)
    edges: Counter[tuple[str, str]] = Counter()
    volume: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    received: Counter[str] = Counter()
    domains: Counter[str] = Counter()
    emails = 0
    # The same header values repeat across a mailbox: counted by the store, each parsed once.
    for frm, to, cc, n in store.count_items_by(("email_from", "email_to", "email_cc"), where):
        senders = mailbox_addresses(frm)
        if not senders:
            continue
        sender = senders[0]
        recipients = set(mailbox_addresses(to)) | set(mailbox_addresses(cc))
        recipients.discard(sender)
        for a in (sender, *recipients):
            domains[a.rpartition("@")[2]] += n
        if domain is not None:
            if in_domain(sender, domain):
                pass  # all of its recipients, inside or outside
            else:
                recipients = {r for r in recipients if in_domain(r, domain)}
                if not recipients:
                    continue
        emails += n
        volume[sender] += n
        sent[sender] += n
        for r in recipients:
            edges[(sender, r)] += n
            volume[r] += n
            received[r] += n
    nodes = [a for a, _ in volume.most_common(top)]
    keep = set(nodes)
    pair: Counter[tuple[str, str]] = Counter()
    directed: list[tuple[str, str, int]] = []
    for (a, b), n in edges.items():
        if a in keep and b in keep:
            pair[tuple(sorted((a, b)))] += n  # type: ignore[index]
            directed.append((a, b, n))
    directed.sort(key=lambda e: (-e[2], e[0], e[1]))
    return {
        "emails": emails,
        "nodes": [(a, volume[a]) for a in nodes],
        "edges": [(a, b, n) for (a, b), n in pair.most_common()],
        "directed": directed,
        "people": [{"address": a, "sent": sent[a], "received": received[a]} for a in nodes],
        "top_pairs": [{"from": a, "to": b, "emails": n} for (a, b), n in edges.most_common(25)],
        "domains": [d for d, _ in domains.most_common(50)],
        "domain": domain,
    }
