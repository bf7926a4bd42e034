"""Every domain, URL, address, IP and attachment hash the case mentions, with where it was seen.

Read over the store interface, in a few bulk reads: the emails' fields and metadata (the links,
forms, Reply-To, Sender and Return-Path ingest keeps, `ingest/textformats/links.py`), their
verification records (Received hops, DKIM `d=`), the text of attachments and documents, and the
bytes of HTML attachments (their links and password forms). Nothing is fetched.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..addresses import addresses_in, parse_address_list
from ..case import Case
from ..ingest.textformats.links import links_and_forms
from ..store.base import ItemQuery
from .domains import host_of_url, ip_of_url, ips_in, split_host, urls_in

SENDER_PLACES = ("from", "reply_to", "sender", "return_path")
HTML_MIMES = ("text/html", "application/xhtml+xml")
MAX_HTML_BYTES = 8 << 20  # an HTML attachment larger than this is not read for links


@dataclass
class EmailIntel:
    """What the email-level checks read of one email."""

    id: str
    date: str | None
    senders: list[tuple[str, str, str]] = field(default_factory=list)  # (place, address, host)
    links: list[dict[str, Any]] = field(default_factory=list)  # {"href", "text", "where"}
    forms: list[dict[str, Any]] = field(default_factory=list)  # {..., "where"}


@dataclass
class Gathered:
    sightings: list[dict[str, Any]] = field(default_factory=list)
    emails: dict[str, EmailIntel] = field(default_factory=dict)

    def add(self, kind: str, value: str, item_id: str, place: str, date: str | None, domain: str | None) -> None:
        self.sightings.append(
            {"kind": kind, "value": value, "domain": domain, "item_id": item_id, "place": place, "date": date}
        )

    def host(self, host: str | None, item_id: str, place: str, date: str | None) -> str | None:
        """A host name seen (recorded with its registrable domain); returns that domain (None if not one)."""
        sp = _split_host(host) if host else None
        if sp is None or not sp.label:
            return None
        self.add("domain", sp.host, item_id, place, date, sp.registrable)
        return sp.registrable

    def url(self, url: str, item_id: str, place: str, date: str | None) -> None:
        low = url.lower()
        if low.startswith("mailto:"):
            for a in addresses_in(url[7:].split("?", 1)[0]):
                self.address(a, item_id, place, date)
            return
        if not low.startswith(("http://", "https://", "ftp://", "www.")):
            return  # relative links, anchors, cid: and data: carry no host
        host = host_of_url(url)
        reg = self.host(host, item_id, place, date)
        ip = ip_of_url(url)
        if ip:
            self.ip(ip, item_id, place, date)
        if reg or ip:
            self.add("url", url, item_id, place, date, reg)

    def address(self, address: str, item_id: str, place: str, date: str | None) -> str | None:
        local, _, host = address.rpartition("@")
        if not local:
            return None
        reg = self.host(host, item_id, place, date)
        if reg:
            self.add("email", address.lower(), item_id, place, date, reg)
        return host.lower()

    def ip(self, ip: str, item_id: str, place: str, date: str | None) -> None:
        try:
            if not ipaddress.ip_address(ip).is_global:
                return  # private, loopback, documentation ranges: nobody's infrastructure
        except ValueError:
            return
        self.add("ipv4", ip, item_id, place, date, None)


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1 << 16)
def _mailboxes(value: str) -> tuple[str, ...]:
    # Cached: a case's emails come from a few thousand senders, and parsing one costs ~60 us.
    parsed = parse_address_list(value)
    return tuple(m.address for m in parsed.mailboxes) or tuple(addresses_in(value))


# Cached: a case names the same hosts again and again (senders, Message-Ids, links); Split is immutable.
_split_host = functools.lru_cache(maxsize=1 << 16)(split_host)


def _hop_host(value: str | None) -> str | None:
    if not value:
        return None
    token = value.split()[0].strip("[]()<>;")
    return token or None


def gather(case: Case, *, verifications: Any = None) -> Gathered:
    """Everything the case mentions (`verifications`: the TableSpec of the emails' checks, if verified)."""
    db = case.db
    out = Gathered()
    fields = ("id", "email_from", "message_id", "date", "meta", "sha256")
    for item_id, sender, message_id, date, meta, sha in db.item_values(fields, ItemQuery(kind="email", state="stored")):
        meta = _json(meta) or {}
        if meta.get("has_html") and "links" not in meta and "forms" not in meta and sha:
            meta = {**meta, **_html_of_old_email(case, sha)}
        em = out.emails[item_id] = EmailIntel(item_id, date)
        for address in _mailboxes(sender) if sender else ():
            host = out.address(address, item_id, "from", date)
            if host:
                em.senders.append(("from", address, host))
        for place, value in (meta.get("senders") or {}).items():
            if place in SENDER_PLACES and isinstance(value, str):
                for address in _mailboxes(value):
                    host = out.address(address, item_id, place, date)
                    if host:
                        em.senders.append((place, address, host))
        if message_id and "@" in message_id:
            out.host(message_id.strip().strip("<>").rpartition("@")[2], item_id, "message_id", date)
        for link in meta.get("links") or ():
            if isinstance(link, dict) and isinstance(link.get("href"), str):
                out.url(link["href"], item_id, "image" if link.get("tag") == "img" else "link", date)
                em.links.append({**link, "where": item_id})
        for form in meta.get("forms") or ():
            if isinstance(form, dict):
                em.forms.append({**form, "where": item_id})
                out.url(str(form.get("action") or ""), item_id, "form", date)
        for ip in meta.get("ips") or ():
            out.ip(str(ip), item_id, "body", date)
    if verifications is not None:
        _received(case, out, verifications)
    _attachments(case, out)
    return out


def _html_of_old_email(case: Case, sha: str) -> dict[str, Any]:
    """The links and forms of an HTML email ingested before ingest kept them, read from its bytes (a
    case made by an earlier leaklens; an HTML body without any link costs this read too)."""
    from ..ingest import mime
    from ..ingest.textformats.charset import decode_text

    try:
        raw = case.blobs.read(sha)
    except (OSError, KeyError, ValueError):
        return {}
    links: list[dict[str, Any]] = []
    forms: list[dict[str, Any]] = []
    try:
        for leaf in mime.walk(raw).leaves:
            if leaf.headers.get_content_type() == "text/html":
                payload, _ = mime.decode_payload(leaf)
                text, _ = decode_text(payload, leaf.headers.get_content_charset())
                found, fs = links_and_forms(text)
                links.extend(found)
                forms.extend(fs)
    except Exception:  # noqa: BLE001 - a damaged old message gives what was read before the damage
        pass
    return {"links": links, "forms": forms}


def _received(case: Case, out: Gathered, verifications: Any) -> None:
    # Only the three columns read here: a whole row also carries the signatures' JSON, and reading
    # and decoding every column was a third of the step at 10,000 emails.
    ids, received, domains = case.db.table_values(verifications, ("item_id", "received", "domains"))
    for item_id, hops, signing in zip(ids, received, domains, strict=True):
        em = out.emails.get(item_id)
        if em is None:
            continue
        for hop in _json(hops) or ():
            if not isinstance(hop, dict):
                continue
            for key in ("from", "by"):
                host = _hop_host(hop.get(key))
                if host and not host.replace(".", "").isdigit():
                    out.host(host, em.id, "received", em.date)
            for ip in ips_in(str(hop.get("raw") or "")):
                out.ip(ip, em.id, "received", em.date)
        for d in _json(signing) or ():
            out.host(str(d), em.id, "dkim", em.date)


def _attachments(case: Case, out: Gathered) -> None:
    db = case.db
    fields = ("id", "parent", "sha256", "mime", "size", "kind")
    html: list[tuple[str, str | None, str]] = []
    parents: dict[str, str] = {}
    for kind in ("attachment", "document"):
        for item_id, parent, sha, mime, size, k in db.item_values(fields, ItemQuery(kind=kind, state="stored")):
            date = out.emails[parent].date if parent in out.emails else None
            if parent in out.emails:
                parents[item_id] = parent
            if sha and k == "attachment":
                out.add("sha256", sha, item_id, "attachment", date, None)
            if sha and (mime or "").split(";")[0] in HTML_MIMES and (size or 0) <= MAX_HTML_BYTES:
                html.append((item_id, parent, sha))
    for item_id, text in db.document_texts(("attachment", "document"), 0):
        parent = parents.get(item_id)
        date = out.emails[parent].date if parent else None
        for url in urls_in(text):
            out.url(url, item_id, "document", date)
    for item_id, parent, sha in html:
        try:
            data = case.blobs.read(sha)
        except (OSError, KeyError, ValueError):
            continue
        links, forms = links_and_forms(data)
        em = out.emails.get(parent or "")
        for link in links:
            out.url(link["href"], item_id, "attachment_link", em.date if em else None)
            if em is not None:
                em.links.append({**link, "where": item_id})
        for form in forms:
            out.url(form["action"], item_id, "attachment_form", em.date if em else None)
            if em is not None:
                em.forms.append({**form, "where": item_id})


def iter_hosts(g: Gathered) -> Iterator[str]:
    """Each host name seen, once (lower-case A-labels)."""
    return iter(dict.fromkeys(s["value"] for s in g.sightings if s["kind"] == "domain"))
