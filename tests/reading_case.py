"""A case read "the way it was kept" (members pages, a conversation, download names), built by the
real ingest and verify steps: an mbox of DKIM-signed messages (one altered after signing, one
undated, one whose display name shows another address) and a zip holding a U+202E file name."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

from helpers import dkim_signed, key_record_file, make_rsa_key, thread_message

from leaklens.case import Case
from leaklens.ingest.walker import ingest
from leaklens.verify.case_verify import verify_case

DOMAIN, SELECTOR = "kept.example", "s2017"
RLO_NAME = "Rapport_\u202efdp.exe.docx"
N_PLAIN = 60  # mbox members past the first seven: more than one page of 50
N_FIRST = 7  # the thread (3), the undated, the display-name attack, the budget and its doctored forward


def _msg(sender: str, subject: str, date: str | None, mid: str, reply_to: str | None = None) -> EmailMessage:
    return thread_message(sender, f"board@{DOMAIN}", subject, date, mid, DOMAIN, reply_to)


def _mbox(messages: list[bytes]) -> bytes:
    out = b""
    for raw in messages:
        assert b"\nFrom " not in raw
        out += b"From sender@kept.example Mon May  1 09:00:00 2017\n" + raw.replace(b"\r\n", b"\n") + b"\n"
    return out


def build(root: Path, db: str | None = None) -> Case:
    pem, pub = make_rsa_key()
    sign = lambda m: dkim_signed(m, pem, SELECTOR, DOMAIN)  # noqa: E731
    msgs: list[bytes] = []
    first = _msg(f"Zoé Martin <zoe@{DOMAIN}>", "Budget 2017", "Tue, 02 May 2017 09:00:00 +0200", "t1")
    first.set_content("The budget is approved.\n")
    msgs.append(sign(first))
    reply = _msg(f"Bruno Alves <bruno@{DOMAIN}>", "Re: Budget 2017", "Tue, 02 May 2017 11:00:00 +0200", "t2", "t1")
    reply.set_content("Thanks, I will pay the printer.\n")
    msgs.append(sign(reply).replace(b"pay the printer", b"pay the offshore"))  # altered after signing
    last = _msg(f"Zoé Martin <zoe@{DOMAIN}>", "Re: Budget 2017", "Wed, 03 May 2017 08:00:00 +0200", "t3", "t2")
    last.set_content("Good.\n")
    msgs.append(sign(last))
    undated = _msg(f"Alice Aubert <alice@{DOMAIN}>", "No date at all", None, "u1")
    undated.set_content("Undated.\n")
    msgs.append(sign(undated))
    spoof = _msg(f'"aaa@{DOMAIN}" <zzz@evil.example>', "Display name attack", "Mon, 01 May 2017 07:00:00 +0200", "s1")
    spoof.set_content("Sent from elsewhere.\n")
    msgs.append(bytes(spoof))
    # A verified budget, and an unsigned forward carrying a copy with one figure changed: the
    # near-duplicate check finds the copy altered and names the verified one.
    budget = "".join(f"Line {k}: the {k}th item of the regional budget costs {1000 + k * 17} EUR.\n" for k in range(40))
    signed = _msg(f"Zoé Martin <zoe@{DOMAIN}>", "Budget annexe", "Thu, 04 May 2017 09:00:00 +0200", "b1")
    signed.set_content("The budget is attached.\n")
    signed.add_attachment(budget.encode(), maintype="text", subtype="plain", filename="budget.txt")
    msgs.append(sign(signed))
    forward = _msg(f"Someone <someone@{DOMAIN}>", "Fwd: Budget annexe", "Fri, 05 May 2017 09:00:00 +0200", "b2")
    forward.set_content("See the budget.\n")
    doctored = budget.replace("costs 1170 EUR", "costs 91170 EUR")
    assert doctored != budget
    forward.add_attachment(doctored.encode(), maintype="text", subtype="plain", filename="budget.txt")
    msgs.append(bytes(forward))
    for i in range(N_PLAIN):
        m = _msg(f"Clerk {i} <clerk{i:02d}@{DOMAIN}>", f"Notice {i:02d}", f"Mon, 08 May 2017 {i % 24:02d}:00:00 +0000",
                 f"n{i}")  # fmt: skip
        m.set_content(f"Notice number {i}.\n")
        msgs.append(sign(m))
    dump = root / "dump"
    dump.mkdir(parents=True)
    (dump / "board.mbox").write_bytes(_mbox(msgs))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(RLO_NAME, b"not really a document\n")
        z.writestr("notes.txt", b"plain notes\n")
    (dump / "files.zip").write_bytes(buf.getvalue())
    keys = root / "keys.txt"
    key_record_file(keys, pub, SELECTOR, DOMAIN)
    case = Case.open(root / "case", create=True, db=db)
    ingest(case, [dump], workers=1)
    verify_case(case, key_files=[keys], workers=1)
    return case


def item_named(case: Case, name: str) -> str:
    row = next(iter(case.db.items("name=?", (name,))), None)
    assert row is not None, name
    return row["id"]


def item_with_subject(case: Case, subject: str) -> str:
    row = next(iter(case.db.items("subject=?", (subject,))), None)
    assert row is not None, subject
    return row["id"]
