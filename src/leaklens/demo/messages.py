"""Turn a planned email into the bytes a leaked mailbox would hold.

Adds what real mail carries: Message-ID, threading headers, a quoted parent,
a client header, the DKIM signature made at the sender's submission server,
and the Received hops of its journey, with consistent times.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from . import documents as docs
from .content import DocSpec
from .mime import Attachment, Body, address, address_list, compose, date_header, encode_subject
from .people import DOMAIN, ORG_NAME, Person
from .signing import Signer, dkim_sign

PARIS = ZoneInfo("Europe/Paris")

MAILERS = [
    ("X-Mailer", "Microsoft Outlook 16.0"),
    ("User-Agent",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:45.0) Gecko/20100101 Thunderbird/45.8.0"),
    ("X-Mailer", "iPhone Mail (14D27)"),
    ("User-Agent", "Roundcube Webmail/1.2.4"),
]


@dataclass
class Built:
    """One generated email and what the demo expects leaklens to say about it."""

    raw: bytes
    message_id: str
    subject: str
    text: str
    sender: Person
    to: list[Person]
    cc: list[Person]
    date: datetime
    delivered: datetime
    owner: Person  # whose leaked mailbox holds it
    lang: str
    references: list[str]
    signed_by: str | None = None  # "domain/selector"
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (filename, sha256)
    expected_verdict: str = "unverified"
    expected_findings: list[str] = field(default_factory=list)
    case: str | None = None  # set on planted messages
    note: str = ""
    # expectations about this message's attachments: {"attachment", "case", "expected_...", "note"}
    attachment_expect: list[dict] = field(default_factory=list)
    loose_name: str | None = None  # published as a loose .eml instead of inside a mailbox
    extra: dict = field(default_factory=dict)  # more manifest fields for planted messages

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()


class DocumentCache:
    """Writes attachments once per key so repeated attachments share their bytes."""

    def __init__(self) -> None:
        self._by_key: dict[str, Attachment] = {}
        self.written: list[tuple[DocSpec, Attachment]] = []

    def attachment(self, spec: DocSpec, author: Person, sent: datetime, rng: random.Random) -> Attachment:
        if spec.key and spec.key in self._by_key:
            return self._by_key[spec.key]
        if spec.key:
            meta = SHARED_DOC_META[spec.key]
        else:
            created = sent - timedelta(days=rng.randint(1, 12), minutes=rng.randint(0, 600))
            modified = sent - timedelta(minutes=rng.randint(4, 240))
            company = ORG_NAME if author.is_staff else author.domain.split(".")[0].replace("-", " ").title()
            meta = docs.DocMeta(author.name, created, modified, company=company, revision=rng.randint(1, 9))
        att = render(spec, meta)
        if spec.key:
            self._by_key[spec.key] = att
        self.written.append((spec, att))
        return att


SHARED_DOC_META: dict[str, docs.DocMeta] = {
    "press-kit": docs.DocMeta("Camille Rousseau", datetime(2017, 1, 18, 15, 2, tzinfo=PARIS),
                              datetime(2017, 1, 27, 11, 40, tzinfo=PARIS), revision=6),
    "programme": docs.DocMeta("Thomas Lefèvre", datetime(2016, 12, 5, 9, 30, tzinfo=PARIS),
                              datetime(2017, 1, 30, 19, 5, tzinfo=PARIS), revision=14),
}


def render(spec: DocSpec, meta: docs.DocMeta) -> Attachment:
    if spec.kind == "pdf":
        return Attachment(spec.filename, docs.PDF_MIME, docs.make_pdf(spec.title, spec.paragraphs, meta))
    if spec.kind == "docx":
        return Attachment(spec.filename, docs.DOCX_MIME, docs.make_docx(spec.title, spec.paragraphs, meta))
    if spec.kind == "xlsx":
        data = docs.make_xlsx(spec.title, spec.header, spec.rows, meta, total_column=spec.total_column)
        return Attachment(spec.filename, docs.XLSX_MIME, data)
    raise ValueError(f"unknown document kind {spec.kind!r}")


def quote_intro(parent: Built, lang: str) -> str:
    when = parent.date.astimezone(PARIS)
    who = f"{parent.sender.name} <{parent.sender.address}>"
    if lang == "fr":
        return f"Le {when.strftime('%d/%m/%Y à %H:%M')}, {who} a écrit :"
    return f"On {when.strftime('%a, %d %b %Y at %H:%M')}, {who} wrote:"


def quoted(text: str) -> str:
    # "> " + line (never ">" + line) keeps quoted "From " lines from looking
    # like mboxo-escaped ones, so un-escaping the mbox is exact.
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith(("re:", "aw:")) else f"Re: {subject}"


def _host(person: Person) -> str:
    return "smtp." + person.domain


def _fmt(dt: datetime, zone: ZoneInfo | None) -> str:
    return date_header(dt.astimezone(zone) if zone else dt.astimezone(UTC))


class MessageFactory:
    def __init__(self, rng: random.Random, cache: DocumentCache) -> None:
        self.rng = rng
        self.cache = cache
        self._counter = 0

    def _hex(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789ABCDEF") for _ in range(n))

    def message_id(self, sender: Person, when: datetime) -> str:
        self._counter += 1
        stamp = when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        return f"<{stamp}.{self._counter:04d}.{self._hex(8).lower()}@{_host(sender)}>"

    def build(
        self,
        sender: Person,
        to: list[Person],
        subject: str,
        text: str,
        date: datetime,
        *,
        cc: list[Person] | None = None,
        lang: str = "en",
        parent: Built | None = None,
        doc_specs: list[DocSpec] | None = None,
        attachments: list[Attachment] | None = None,
        signer: Signer | None = None,
        length_tag: bool = False,
        html: bool | None = None,
        encoding: str | None = None,
        owner: Person | None = None,
        transit: bool = True,
    ) -> Built:
        """Build one message; `transit=False` stops after the sender's server signed it."""
        rng = self.rng
        cc = cc or []
        atts = list(attachments or [])
        for spec in doc_specs or []:
            atts.append(self.cache.attachment(spec, sender, date, rng))
        full_text = text
        references: list[str] = []
        if parent is not None:
            full_text = f"{text}\n\n{quote_intro(parent, lang)}\n{quoted(parent.text)}"
            references = [*parent.references, parent.message_id][-6:]
        if html is None:
            html = rng.random() < 0.3
        if encoding is None:
            if full_text.isascii():
                encoding = "base64" if rng.random() < 0.08 else "7bit"
            else:
                encoding = "base64" if rng.random() < 0.35 else "quoted-printable"
        charset = "utf-8"
        if not full_text.isascii() and lang == "fr" and rng.random() < 0.3:
            try:
                full_text.encode("iso-8859-1")
                charset = "iso-8859-1"
            except UnicodeEncodeError:
                pass
        msgid = self.message_id(sender, date)
        headers: list[tuple[str, str]] = [("From", address(sender)), ("To", address_list(to))]
        if cc:
            headers.append(("Cc", address_list(cc)))
        headers += [("Subject", encode_subject(subject)), ("Date", date_header(date)), ("Message-ID", msgid)]
        if references:
            headers += [("In-Reply-To", references[-1]), ("References", "\n ".join(references))]
        headers.append(rng.choice(MAILERS))
        body = Body(full_text, html=html, encoding=encoding, charset=charset, attachments=atts)
        raw = compose(headers, body, f"{self._counter:04d}_{self._hex(12)}")

        staff_rcpts = [p for p in [*to, *cc] if p.is_staff]
        if owner is None:
            owner = staff_rcpts[0] if staff_rcpts else sender
        submitted = date + timedelta(seconds=rng.randint(1, 4))
        raw = self._submission_hop(sender, submitted) + raw
        signed_by = None
        if signer is not None:
            raw = dkim_sign(raw, signer, submitted, length=length_tag)
            signed_by = f"{signer.domain}/{signer.selector}"
        delivered = submitted
        if transit:
            delivered, hops = self._transit_hops(sender, owner, submitted)
            raw = hops + raw
        return Built(
            raw=raw, message_id=msgid, subject=subject, text=full_text, sender=sender, to=list(to),
            cc=list(cc), date=date, delivered=delivered, owner=owner, lang=lang, references=references,
            signed_by=signed_by,
            attachments=[(a.filename, hashlib.sha256(a.data).hexdigest()) for a in atts],
        )

    # ------------------------------------------------------------ Received

    def _submission_hop(self, sender: Person, when: datetime) -> bytes:
        client = f"198.51.100.{self.rng.randint(2, 250)}"
        zone = PARIS if sender.domain == DOMAIN else None
        return (
            f"Received: from [10.0.{self.rng.randint(0, 9)}.{self.rng.randint(2, 250)}] "
            f"(unknown [{client}])\n\tby {_host(sender)} (Postfix) with ESMTPSA id {self._hex(11)};\n"
            f"\t{_fmt(when, zone)}\n"
        ).encode("ascii")

    def _transit_hops(self, sender: Person, owner: Person, submitted: datetime) -> tuple[datetime, bytes]:
        """Hops after submission, newest first; returns (delivery time, header bytes)."""
        rng = self.rng
        relay_time = submitted + timedelta(seconds=rng.randint(1, 3))
        deliver_time = relay_time + timedelta(seconds=rng.randint(0, 2))
        if not owner.is_staff:
            raise ValueError("a demo mailbox owner must be staff")
        if owner is sender:
            # The sender's own copy: it left through the outbound relay.
            hop = (
                f"Received: from {_host(sender)} ({_host(sender)} [192.0.2.10])\n"
                f"\tby out1.{DOMAIN} (Postfix) with ESMTPS id {self._hex(11)};\n"
                f"\t{_fmt(relay_time, PARIS)}\n"
            )
            return relay_time, hop.encode("ascii")
        src_ip = "192.0.2.10" if sender.domain == DOMAIN else f"203.0.113.{rng.randint(2, 250)}"
        relay = (
            f"Received: from {_host(sender)} ({_host(sender)} [{src_ip}])\n"
            f"\tby mx1.{DOMAIN} (Postfix) with ESMTPS id {self._hex(11)}\n"
            f"\tfor <{owner.address}>; {_fmt(relay_time, PARIS)}\n"
        )
        delivery = (
            f"Received: from mx1.{DOMAIN} (mx1.{DOMAIN} [192.0.2.25])\n"
            f"\tby mail.{DOMAIN} (Dovecot) with LMTP id {self._hex(16).lower()}\n"
            f"\tfor <{owner.address}>; {_fmt(deliver_time, PARIS)}\n"
        )
        return deliver_time, (delivery + relay).encode("ascii")
