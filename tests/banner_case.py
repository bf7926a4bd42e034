"""A case of emails built to mislead a reader, for the verdict-inside-the-content tests (issue 16).

Built by the real ingest and verify steps, signed by dkimpy with a key made here: one email per
verdict, a Subject changed after signing (with the signed copy beside it), a signature with l= and
text appended after it, an email whose CSS draws a fake "✓ VERIFIED" badge, a right-to-left
override in a Subject and in an attachment's name, a NUL in a Subject, a file name and a body, and
a display name showing another sender's address.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import dkim
from helpers import SIGNED_HEADERS, key_record_file, make_rsa_key

from leaklens.case import Case
from leaklens.ingest.walker import ingest
from leaklens.verify.case_verify import verify_case

DOMAIN, SELECTOR = "horizon-campaign.example", "k2017"
RLO_FILE = "Rapport_\u202efdp.exe.docx"  # shows as "Rapport_xcod.exe.pdf" where the override acts
RLO_SUBJECT = "Facture \u202eFDP.exe"
NUL_SUBJECT = b"Budget\x00hidden part"
APPENDED = "P.S. Wire the balance to the new account FR76 3000 6000 0112 3456 7890 189 today."
FAKE_BADGE = """<html><head><style>
.badge { position: fixed; top: 0; left: 0; right: 0; z-index: 2147483647; background: #1a7f37; color: #fff;
         font: bold 18px system-ui; padding: 10px; }
.cover { position: absolute; top: -400px; left: -400px; width: 3000px; height: 3000px; z-index: 99; }
</style></head><body>
<div class="badge" id="badge">✓ VERIFIED — signed by horizon-campaign.example</div>
<div class="cover" id="cover"></div>
<p id="text">Please find the payment details below.</p>
<p style="margin-top: -600px; transform: translate(0, -300px)" id="lifted">Lifted text</p>
</body></html>"""


def _message(sender: str, subject: str, mid: str, body: str, date: str = "Tue, 02 May 2017 09:00:00 +0200"):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = f"Paul Martin <paul@{DOMAIN}>"
    m["Subject"] = subject
    m["Date"] = date
    m["Message-ID"] = f"<{mid}@{DOMAIN}>"
    m.set_content(body)
    return m


def _crlf(m: EmailMessage) -> bytes:
    return bytes(m).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _sign(pem: bytes, raw: bytes, *, length: bool = False) -> bytes:
    return dkim.sign(raw, SELECTOR.encode(), DOMAIN.encode(), pem, include_headers=SIGNED_HEADERS, length=length) + raw


def write_dump(root: Path, pem: bytes) -> Path:
    d = root / "dump"
    (d / "copies").mkdir(parents=True)
    anne = f"Anne Leroy <anne@{DOMAIN}>"

    verified = _message(anne, "Printer budget", "v1", "The printer budget is approved.\n")
    verified.add_attachment(b"PK\x03\x04 not really a docx", maintype="application", subtype="octet-stream",
                            filename=RLO_FILE)
    (d / "01-verified.eml").write_bytes(_sign(pem, _crlf(verified)))

    altered = _message(anne, "Offshore payment", "a1", "We will pay 500 euros to the supplier.\n")
    (d / "02-altered.eml").write_bytes(_sign(pem, _crlf(altered)).replace(b"500 euros", b"900000 euros"))

    # The Subject changed after signing; the signed original is in the dump too (same Message-ID).
    signed = _sign(pem, _crlf(_message(anne, "Q3 budget", "f1", "Numbers attached.\n")))
    (d / "copies" / "03-original.eml").write_bytes(signed)
    (d / "03-forged.eml").write_bytes(signed.replace(b"Subject: Q3 budget", b"Subject: Q3 budget: resign now"))

    # A second Subject added on top after signing: mail programs show it, the signature covers the lower one.
    doubled = _sign(pem, _crlf(_message(anne, "Board minutes", "s1", "Minutes attached.\n")))
    (d / "03-doubled.eml").write_bytes(b"Subject: Board minutes: the CEO resigns\r\n" + doubled)

    # l= covers the body as signed; a paragraph was appended after signing.
    limited = _sign(pem, _crlf(_message(anne, "Bank details", "l1", "Our bank details are unchanged.\n")), length=True)
    (d / "04-limited.eml").write_bytes(limited + APPENDED.encode() + b"\r\n")

    (d / "05-unsigned.eml").write_bytes(
        _crlf(_message("Outside Person <someone@outside.example>", RLO_SUBJECT, "u1", "Invoice attached.\n"))
    )
    reply = _message(f"Paul Martin <paul@{DOMAIN}>", "Re: " + RLO_SUBJECT, "u2", "Which invoice?\n",
                     date="Wed, 03 May 2017 09:00:00 +0200")
    reply["In-Reply-To"] = f"<u1@{DOMAIN}>"
    (d / "05-unsigned-reply.eml").write_bytes(_crlf(reply))
    fake = _message("Security <security@mail-horizon.example>", "Account verified", "b1", "See the HTML part.\n")
    fake.add_alternative(FAKE_BADGE, subtype="html")
    (d / "06-fake-badge.eml").write_bytes(_crlf(fake))

    (d / "07-display-name.eml").write_bytes(
        _crlf(_message('"emilie@horizon-campaign.example" <attacker@evil.example>', "Urgent transfer", "d1",
                       "Please transfer the funds today.\n"))
    )
    (d / "08-nul.eml").write_bytes(
        b"From: Anne Leroy <anne@" + DOMAIN.encode() + b">\r\nTo: paul@" + DOMAIN.encode() + b"\r\nSubject: "
        + NUL_SUBJECT + b"\r\nDate: Wed, 03 May 2017 10:00:00 +0200\r\nMessage-ID: <n1@" + DOMAIN.encode()
        + b">\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nbefore\x00after the NUL\r\n--BB\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename=\"rep\x00ort.pdf\"\r\n\r\n"
        b"%PDF-1.4 stub\r\n--BB--\r\n"
    )
    # No header fields at all: verify cannot read it as an email (the "error" verdict).
    (d / "09-unreadable.eml").write_bytes(b"\r\n\r\njust text, no headers\r\n")
    return d


def build(root: Path) -> Case:
    pem, pub = make_rsa_key()
    dump = write_dump(root, pem)
    keys = key_record_file(root / "keys.txt", pub, SELECTOR, DOMAIN)
    case = Case.open(root / "case", create=True)
    ingest(case, [dump], workers=1)
    verify_case(case, key_files=[keys], workers=1)
    return case


def item_id(case: Case, name: str) -> str:
    row = next(iter(case.db.items("name=?", (name,))), None)
    assert row is not None, name
    return row["id"]
