"""A case with many correspondents for the correspondents graph, built by the real ingest and verify
steps: 34 people on 5 domains (some with very long addresses), a known number of messages per
direction, mail from the campaign's domain DKIM-signed (verified), one signed message altered, a
display-name attack and a right-to-left override in an address."""

from __future__ import annotations

import random
from email.message import EmailMessage
from pathlib import Path

from helpers import dkim_signed, key_record_file, make_rsa_key

from leaklens.case import Case
from leaklens.ingest.walker import ingest
from leaklens.verify.case_verify import verify_case

CAMPAIGN, SELECTOR = "horizon-campaign.example", "s2017"
DOMAINS = (CAMPAIGN, "press.example", "printshop.example", "mairie-de-quelque-part.example", "evil.example")
LONG = f"jean-baptiste.de-la-fontaine-martin@communication.{CAMPAIGN}"
ATTACKER = "attacker@evil.example"
BIDI = "rlo\u202emoc.liame@evil.example"
# Fixed pairs the tests count on: the random traffic never involves anne, paul or the long address.
ANNE, PAUL = f"anne@{CAMPAIGN}", f"paul@{CAMPAIGN}"
FIXED = [(ANNE, PAUL, "2017-05-02")] * 3 + [(PAUL, ANNE, "2017-05-03")] + [(LONG, ANNE, "2017-05-20")] * 2


def people() -> list[str]:
    out = [ANNE, PAUL, LONG]
    out += [f"staff{i:02d}.long-surname-number-{i}@{CAMPAIGN}" for i in range(8)]
    out += [f"journalist{i}@press.example" for i in range(9)]
    out += [f"orders{i}@printshop.example" for i in range(6)]
    out += [f"service.{i}@mairie-de-quelque-part.example" for i in range(6)]
    return out


def _message(sender: str, to: str, day: str, n: int) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = f"Message {n}"
    m["Date"] = _date(day)
    m["Message-ID"] = f"<g{n}@{CAMPAIGN}>"
    m.set_content(f"Body of message {n}.\n")
    return m


def _date(day: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(f"{day}T10:00:00+02:00"))


def write_dump(root: Path, pem: bytes) -> Path:
    d = root / "graph-dump"
    d.mkdir(parents=True)
    rng = random.Random(16)
    everyone = people()
    traffic = list(FIXED)
    for _ in range(120):
        a, b = rng.sample(everyone[3:], 2)
        traffic.append((a, b, f"2017-06-{rng.randint(1, 28):02d}"))
    for n, (a, b, day) in enumerate(traffic):
        m = _message(a, b, day, n)
        raw = dkim_signed(m, pem, SELECTOR, CAMPAIGN) if a.endswith(CAMPAIGN) else bytes(m)
        (d / f"{n:03d}.eml").write_bytes(raw)
    # Signed by the campaign, then changed: altered.
    m = _message(ANNE, "journalist0@press.example", "2017-05-04", 900)
    (d / "900.eml").write_bytes(dkim_signed(m, pem, SELECTOR, CAMPAIGN).replace(b"Body of", b"Forged"))
    # The display name shows a campaign address; the mailbox is the attacker's.
    m = _message(f'"{ANNE}" <{ATTACKER}>', PAUL, "2017-05-05", 901)
    (d / "901.eml").write_bytes(bytes(m))
    m = _message(BIDI, PAUL, "2017-05-06", 902)
    (d / "902.eml").write_bytes(bytes(m))
    return d


def build(root: Path, db: str | None = None) -> Case:
    pem, pub = make_rsa_key()
    dump = write_dump(root, pem)
    keys = key_record_file(root / "keys.txt", pub, SELECTOR, CAMPAIGN)
    case = Case.open(root / "case", create=True, db=db)
    ingest(case, [dump], workers=1)
    verify_case(case, key_files=[keys], workers=1)
    return case
