"""The phishing findings of one email, from what `gather` read of it and the case's lookalikes.

- ``intel.lookalike_sender``: From, Reply-To, Sender or Return-Path on a lookalike domain;
- ``intel.lookalike_link``: a link (body, HTML attachment) to a lookalike domain;
- ``intel.link_text_mismatch``: a link whose visible text is a URL or domain name of another
  registrable domain than its target (the text says paypal.com, the href goes elsewhere);
- ``intel.credential_form``: a password form (in the body or an HTML attachment) posting to a
  site outside the sender's own domain.

All are heuristics (codes.py): on an email a valid aligned signature proves, they are notes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..model import Finding
from .domains import host_of_url, known_suffix, split_host
from .gather import EmailIntel
from .lookalike import Match

PLACES = {"from": "From", "reply_to": "Reply-To", "sender": "Sender", "return_path": "Return-Path"}
MAX_EXAMPLES = 5
# Visible text that is itself a URL or a domain name (nothing else around it).
_TEXT_HOST = re.compile(
    r"(?i)^\s*(?:(?:https?|ftp)://)?((?:[a-z0-9\u00a0-\uffff-]+\.)+[a-z\u00a0-\uffff0-9-]{2,})\.?(?:[/:?#]\S*)?\s*$"
)


def _registrable(host: str | None) -> str | None:
    sp = split_host(host) if host else None
    return sp.registrable if sp and sp.label else None


def _why(m: Match) -> str:
    return f"{m.shown}, a lookalike of {m.target} ({', '.join(m.techniques)})"


def _match_evidence(m: Match) -> dict[str, Any]:
    return {"domain": m.domain, "shown": m.shown, "target": m.target, "techniques": m.techniques,
            "score": m.score, "technique_evidence": m.evidence}  # fmt: skip


def _owner(own: set[str | None]) -> str:
    return f"the sender's domain ({', '.join(sorted(d for d in own if d))})" if own else "the sender's domain"


def text_domain(text: str | None) -> str | None:
    """The registrable domain a link's visible text names, when the text is a URL or a domain name."""
    if not text or "." not in text or len(text) > 300:
        return None
    m = _TEXT_HOST.match(text)
    if not m:
        return None
    sp = split_host(m.group(1))
    return sp.registrable if sp and sp.label and known_suffix(sp.suffix) else None


def email_findings(em: EmailIntel, lookalikes: Mapping[str, Match]) -> list[Finding]:
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for place, address, host in em.senders:
        reg = _registrable(host)
        m = lookalikes.get(reg or "")
        if m is None or (place, reg) in seen:
            continue
        seen.add((place, reg))
        out.append(Finding(
            "intel.lookalike_sender", "warning",
            f"The {PLACES.get(place, place)} address {address} is on {_why(m)}.",
            {"place": place, "address": address, **_match_evidence(m)},
        ))  # fmt: skip
    linked: dict[str, list[str]] = {}
    mismatches: list[dict[str, Any]] = []
    for link in em.links:
        href = link.get("href") or ""
        if not href.lower().startswith(("http://", "https://", "ftp://", "www.")):
            continue
        reg = _registrable(host_of_url(href))
        if reg in lookalikes:
            linked.setdefault(reg, []).append(href)
        shown = text_domain(link.get("text"))
        if reg and shown and shown != reg:
            mismatches.append({"text": link.get("text"), "href": href, "text_domain": shown, "href_domain": reg,
                               "where": link.get("where")})  # fmt: skip
    for reg, urls in linked.items():
        m = lookalikes[reg]
        urls = list(dict.fromkeys(urls))
        out.append(Finding(
            "intel.lookalike_link", "warning",
            f"Links to {_why(m)}: {urls[0]}" + (f" and {len(urls) - 1} more." if len(urls) > 1 else "."),
            {"urls": urls[:MAX_EXAMPLES], "links": len(urls), **_match_evidence(m)},
        ))  # fmt: skip
    if mismatches:
        first = mismatches[0]
        out.append(Finding(
            "intel.link_text_mismatch", "warning",
            f"A link shows {first['text_domain']} but goes to {first['href_domain']}"
            + (f" ({len(mismatches)} such links)." if len(mismatches) > 1 else "."),
            {"links": mismatches[:MAX_EXAMPLES], "count": len(mismatches)},
        ))  # fmt: skip
    own = {_registrable(h) for p, _, h in em.senders if p == "from"} - {None}
    for form in em.forms:
        action = (form.get("action") or "").strip()
        if not action.lower().startswith(("http://", "https://")):
            continue  # a relative action posts nowhere from a stored file
        reg = _registrable(host_of_url(action))
        if reg is None or reg in own:
            continue
        m = lookalikes.get(reg)
        out.append(Finding(
            "intel.credential_form", "warning",
            f"A password form posts to {action}" + (f" on {_why(m)}." if m else f", outside {_owner(own)}."),
            {"action": action, "action_domain": reg, "method": form.get("method"), "fields": form.get("fields"),
             "where": form.get("where"), **({"lookalike": _match_evidence(m)} if m else {})},
        ))  # fmt: skip
    return out
