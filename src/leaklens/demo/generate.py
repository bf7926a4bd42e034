"""Generate the demo leak: a fictional campaign's mailboxes and documents, as published.

`generate_demo(out_dir)` writes, deterministically for a given seed:
- `horizon-leak.zip`: `mailboxes/<first.last>.mbox` (mboxo) per leaked
  mailbox, and `loose/*.eml` (two forged emails mixed into the dump);
- `documents.7z`: loose documents in folders, among them forged ones;
- `demo-keys.json`: the demo organisation's DKIM and ARC public keys, in
  leaklens' key-archive format;
- `MANIFEST.json`: what was planted and what leaklens should conclude about
  each item (see `DemoManifest`).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import content
from . import documents as docs
from .content import DocSpec
from .forgeries import (
    LooseDocument,
    contract_with_incremental_update,
    finance_folder,
    layered_bank_statement,
)
from .messages import PARIS, SHARED_DOC_META, Built, DocumentCache, MessageFactory, render, reply_subject
from .packing import write_7z, write_mbox, write_zip
from .people import (
    DOMAIN,
    EXTERNAL,
    LOOKALIKE_LOGIN_DOMAIN,
    LOOKALIKE_MAIL_DOMAIN,
    ORG_NAME,
    PHISHING_URL,
    STAFF,
)
from .planted import build_planted
from .signing import ORG_SIGNER, Signer, key_archive_json, outside_signer

PUBLISHED = datetime(2017, 5, 5, 20, 0, tzinfo=PARIS)
FIRST_DAY = datetime(2017, 2, 1, 8, 0, tzinfo=PARIS)
LAST_SEND = datetime(2017, 5, 5, 19, 0, tzinfo=PARIS)
TARGET_CONVERSATION_MESSAGES = 288

ZIP_NAME = "horizon-leak.zip"
SEVENZ_NAME = "documents.7z"
KEYS_NAME = "demo-keys.json"
MANIFEST_NAME = "MANIFEST.json"

# Outside domains whose mail is DKIM-signed with keys the archive lacks.
OUTSIDE_SIGNING_DOMAINS = {"lequotidien.example", "globalwire.example", "barometre-institut.example",
                           "mailbox.example"}
UNSIGNED_STAFF_SHARE = 0.08  # mail sent through the old relay, which did not sign

_MBOXO_AMBIGUOUS = re.compile(rb"^>+From ", re.MULTILINE)


@dataclass
class DemoManifest:
    """What the demo dump holds and what leaklens should say about it (also MANIFEST.json).

    `expect` lists each planted item (email, attachment or document) with
    `case`, `kind`, `path_hint` (the leaklens path chain of its container;
    emails add `mbox_index`, 0-based), `message_id`, `sha256`,
    `expected_verdict` and `expected_findings` (codes that must appear).
    `messages` lists every email with its expected verdict; `documents`
    every file of documents.7z.
    """

    seed: int
    published: str
    keys_file: str
    organisation: dict[str, Any]
    files: dict[str, str]  # file name in out_dir -> sha256
    mailboxes: dict[str, int]  # path hint of each mbox -> number of messages
    counts: dict[str, Any]
    expect: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def load(cls, path: Path) -> DemoManifest:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


# ------------------------------------------------------------ conversations


def _signer_for(sender_domain: str, rng: random.Random) -> Signer | None:
    if sender_domain == DOMAIN:
        return None if rng.random() < UNSIGNED_STAFF_SHARE else ORG_SIGNER
    if sender_domain in OUTSIDE_SIGNING_DOMAINS:
        return outside_signer(sender_domain)
    return None


def _expectation(built: Built) -> None:
    if built.signed_by == f"{ORG_SIGNER.domain}/{ORG_SIGNER.selector}":
        built.expected_verdict, built.expected_findings = "verified", ["dkim.pass"]
    elif built.signed_by:
        built.expected_verdict, built.expected_findings = "unverified", ["dkim.key_unavailable"]
    else:
        built.expected_verdict, built.expected_findings = "unverified", []


def _reply_delay(rng: random.Random) -> timedelta:
    return timedelta(minutes=rng.choice([rng.randint(4, 50), rng.randint(30, 240), rng.randint(240, 1500)]))


def conversations(factory: MessageFactory, rng: random.Random) -> list[Built]:
    out: list[Built] = []
    span = int((LAST_SEND - FIRST_DAY).total_seconds() // 60) - 600
    while len(out) < TARGET_CONVERSATION_MESSAGES:
        day = FIRST_DAY + timedelta(minutes=rng.randint(0, span))
        start = day.replace(hour=rng.randint(8, 21), minute=rng.randint(0, 59), second=rng.randint(0, 59))
        plan = content.draw_thread(rng, start)
        when, parent = start, None
        for msg in plan.messages:
            if when > LAST_SEND:
                break
            subject = plan.subject if parent is None else reply_subject(parent.subject)
            built = factory.build(
                msg.sender, msg.to, subject, msg.text, when,
                cc=msg.cc, lang=plan.lang, parent=parent, doc_specs=msg.docs,
                signer=_signer_for(msg.sender.domain, rng),
            )
            _expectation(built)
            out.append(built)
            parent = built
            when = when + _reply_delay(rng)
    return out


# ------------------------------------------------------------ loose documents


def authentic_documents(cache: DocumentCache, rng: random.Random) -> list[LooseDocument]:
    """Genuine campaign files in documents.7z (some the same bytes as attachments)."""
    out: list[LooseDocument] = []
    for spec in (content.PRESS_KIT, content.PROGRAMME):
        att = cache.attachment(spec, STAFF["press"], LAST_SEND, rng)
        out.append(LooseDocument(f"presse/{spec.filename}", att.data, SHARED_DOC_META[spec.key].modified,
                                 note="same bytes as an attachment of DKIM-signed emails"))
    speeches = [("Lyon", datetime(2017, 3, 17, 23, 40, tzinfo=PARIS)),
                ("Lille", datetime(2017, 4, 12, 9, 55, tzinfo=PARIS))]
    for city, modified in speeches:
        meta = docs.DocMeta(STAFF["speech"].name, modified - timedelta(days=9), modified, revision=11)
        paragraphs = (f"Discours de {city} - version finale", content.SPEECH_OPENINGS[0],
                      f"Ce soir à {city}, je veux vous parler du travail, de la dignité et de l'avenir.",
                      "Vive la République, et vive la France.")
        att = render(DocSpec("docx", f"Discours_{city}_final.docx", f"Discours {city}", paragraphs), meta)
        out.append(LooseDocument(f"discours/{att.filename}", att.data, modified))
    planning_rows = tuple((c, (FIRST_DAY + timedelta(days=7 * i + 3)).strftime("%d/%m/%Y"),
                           rng.choice(content.VENUES), rng.choice([1200, 2500, 4500, 8000]))
                          for i, c in enumerate(content.CITIES[:9]))
    meta = docs.DocMeta(STAFF["events"].name, datetime(2017, 1, 9, 10, 0, tzinfo=PARIS),
                        datetime(2017, 3, 30, 18, 12, tzinfo=PARIS), revision=23)
    data = docs.make_xlsx("Planning des meetings", ("Ville", "Date", "Salle", "Jauge"), planning_rows, meta)
    out.append(LooseDocument("evenements/Planning_meetings.xlsx", data, meta.modified))
    meta = docs.DocMeta(STAFF["director"].name, datetime(2017, 2, 2, 8, 30, tzinfo=PARIS),
                        datetime(2017, 2, 2, 9, 45, tzinfo=PARIS), revision=2)
    data = docs.make_docx("Organigramme de campagne",
                          [f"{p.name} - {p.role}" for p in STAFF.values()], meta)
    out.append(LooseDocument("Organigramme.docx", data, meta.modified))
    return out


# ------------------------------------------------------------ packing


def _mbox_hint(owner_mailbox: str) -> str:
    return f"{ZIP_NAME}!/mailboxes/{owner_mailbox}"


def _check_mbox_safe(built: Built) -> None:
    # mboxo cannot tell an original ">From " line from an escaped "From ";
    # the demo never writes one, so un-escaping is exact.
    if _MBOXO_AMBIGUOUS.search(built.raw):
        raise AssertionError(f"{built.message_id} has a '>From ' line; mboxo would be ambiguous")


def generate_demo(out_dir: Path, seed: int = 2017) -> DemoManifest:
    """Write the demo leak into `out_dir` (created if needed) and return its manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    cache = DocumentCache()
    factory = MessageFactory(rng, cache)

    emails = conversations(factory, rng) + build_planted(factory)
    for b in emails:
        _check_mbox_safe(b)

    by_box: dict[str, list[Built]] = defaultdict(list)
    loose_emails = [b for b in emails if b.loose_name]
    for b in emails:
        if not b.loose_name:
            by_box[b.owner.mailbox].append(b)
    for box in by_box.values():
        box.sort(key=lambda m: (m.delivered, m.message_id))

    zip_members: list[tuple[str, bytes, datetime]] = []
    locations: dict[str, tuple[str, int | None]] = {}
    for name in sorted(by_box):
        box = by_box[name]
        mbox = write_mbox((b.sender.address, b.delivered, b.raw) for b in box)
        zip_members.append((f"mailboxes/{name}", mbox, box[-1].delivered))
        for i, b in enumerate(box):
            locations[b.message_id] = (_mbox_hint(name), i)
    for b in sorted(loose_emails, key=lambda m: m.loose_name or ""):
        zip_members.append((f"loose/{b.loose_name}", b.raw, b.delivered))
        locations[b.message_id] = (f"{ZIP_NAME}!/loose/{b.loose_name}", None)
    zip_bytes = write_zip(zip_members)

    documents = (authentic_documents(cache, rng) + finance_folder(rng)
                 + [contract_with_incremental_update(), layered_bank_statement()])
    sevenz = write_7z([(d.path, d.data, d.modified) for d in documents])
    keys = key_archive_json()

    outputs = {ZIP_NAME: zip_bytes, SEVENZ_NAME: sevenz, KEYS_NAME: keys}
    for name, data in outputs.items():
        (out_dir / name).write_bytes(data)

    manifest = _manifest(seed, emails, documents, locations, by_box, outputs, cache)
    (out_dir / MANIFEST_NAME).write_bytes(manifest.to_json())
    return manifest


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(seed: int, emails: list[Built], documents: list[LooseDocument],
              locations: dict[str, tuple[str, int | None]], by_box: dict[str, list[Built]],
              outputs: dict[str, bytes], cache: DocumentCache) -> DemoManifest:
    expect: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for b in sorted(emails, key=lambda m: (m.date, m.message_id)):
        hint, index = locations[b.message_id]
        entry = {
            "message_id": b.message_id, "path_hint": hint, "mbox_index": index, "sha256": b.sha256,
            "date": b.date.isoformat(), "from": b.sender.address, "subject": b.subject,
            "signed_by": b.signed_by, "attachments": [a for a, _ in b.attachments],
            "expected_verdict": b.expected_verdict, "expected_findings": b.expected_findings,
        }
        messages.append(entry)
        if b.case:
            expect.append({"case": b.case, "kind": "email", **{k: entry[k] for k in (
                "path_hint", "mbox_index", "message_id", "sha256", "subject")},
                "expected_verdict": b.expected_verdict, "expected_findings": b.expected_findings,
                "note": b.note, **b.extra})
        for att in b.attachment_expect:
            expect.append({"case": att["case"], "kind": "attachment", "path_hint": hint,
                           "mbox_index": index, "message_id": b.message_id, "attachment": att["attachment"],
                           "sha256": att["sha256"], "expected_verdict": att["expected_verdict"],
                           "expected_findings": att["expected_findings"], "note": att["note"]})
    doc_entries = []
    for d in documents:
        entry = {"path_hint": f"{SEVENZ_NAME}!/{d.path}", "sha256": _sha(d.data), "case": d.case,
                 "expected_findings": d.expected_findings, "note": d.note}
        doc_entries.append(entry)
        if d.case:
            expect.append({"case": d.case, "kind": "document", "path_hint": entry["path_hint"],
                           "sha256": entry["sha256"], "expected_verdict": d.expected_verdict,
                           "expected_findings": d.expected_findings, "note": d.note})

    signed = Counter(b.signed_by is not None for b in emails)
    with_attachments = sum(1 for b in emails if b.attachments)
    counts = {
        "emails": len(emails),
        "emails_in_mailboxes": sum(len(v) for v in by_box.values()),
        "loose_emails": sum(1 for b in emails if b.loose_name),
        "signed_by_organisation": sum(1 for b in emails if b.signed_by == f"{DOMAIN}/{ORG_SIGNER.selector}"),
        "signed_by_unknown_keys": sum(
            1 for b in emails if b.signed_by and not b.signed_by.startswith(DOMAIN + "/")),
        "unsigned": signed[False],
        "with_attachments": with_attachments,
        "attachments": sum(len(b.attachments) for b in emails),
        "distinct_attachments": len({sha for b in emails for _, sha in b.attachments}),
        "threads_replies": sum(1 for b in emails if b.references),
        "documents": len(documents),
        "emails_by_expected_verdict": dict(sorted(Counter(b.expected_verdict for b in emails).items())),
        "planted_by_case": dict(sorted(Counter(e["case"] for e in expect).items())),
    }
    organisation = {
        "name": ORG_NAME,
        "domain": DOMAIN,
        "staff": [{"name": p.name, "address": p.address, "role": p.role} for p in STAFF.values()],
        "external": [{"name": p.name, "address": p.address, "role": p.role} for p in EXTERNAL.values()],
        "lookalike_domains": [LOOKALIKE_MAIL_DOMAIN, LOOKALIKE_LOGIN_DOMAIN],
        "phishing_url": PHISHING_URL,
    }
    return DemoManifest(
        seed=seed, published=PUBLISHED.isoformat(), keys_file=KEYS_NAME, organisation=organisation,
        files={name: _sha(data) for name, data in outputs.items()},
        mailboxes={_mbox_hint(name): len(box) for name, box in sorted(by_box.items())},
        counts=counts, expect=expect, messages=messages, documents=doc_entries,
    )
