"""Case-wide proof (issue 10): what one item's proof says about others, and what the case says about one.

Real messages signed by dkimpy with fresh RSA keys, real documents (python-docx, reportlab,
pikepdf, OLE2 property sets), the real ingest and `leaklens verify` pipeline:
- proof travels with bytes (`dkim.identical_to_verified`);
- the vehicle of an altered item is not neutral (`dup.carries_altered`);
- an unsigned message from a domain that signs its relayed mail (`dkim.expected_signature_missing`);
- heuristics never override proof (document and population findings are notes on verified items).
"""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import dkim
import pytest
from helpers import GMAIL, SIGNED_HEADERS, build_case, codes, make_rsa_key, rows
from test_docmeta_formats import append_incremental_update, make_doc, make_docx, make_pdf

from leaklens.verify.case_keys import import_into_case
from leaklens.verify.case_proof import SIGNING_RATE, wilson_lower
from leaklens.verify.case_verify import check_documents, propagate, verify_case
from leaklens.verify.verdict import is_heuristic

SIGNS, ESP, FEW = "signs.example", "esp.example", "few.example"
SELECTOR = "s2017"
MARCH = datetime(2017, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys():
    return {"main": make_rsa_key(), "esp": make_rsa_key(), "lost": make_rsa_key()}


def keyfile(path: Path, keys, domains=(SIGNS, FEW, "campagne.example", "sofia.example")) -> Path:
    """Zone-file records: the main key for `domains`, the ESP's key, the main key in testing mode
    (t=y) under selector "trial"; never the "lost" key."""
    lines = [f'{SELECTOR}._domainkey.{d}. IN TXT "v=DKIM1; k=rsa; p={keys["main"][1]}"' for d in domains]
    lines.append(f'{SELECTOR}._domainkey.{ESP}. IN TXT "v=DKIM1; k=rsa; p={keys["esp"][1]}"')
    lines.append(f'trial._domainkey.{SIGNS}. IN TXT "v=DKIM1; k=rsa; t=y; p={keys["main"][1]}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def message(sender: str, mid: str, when: datetime, text: str, *, attachments=(), subject="Note",
            reply_to: str | None = None) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "desk@newsroom.example"
    m["Subject"] = subject
    m["Date"] = format_datetime(when)
    m["Message-ID"] = f"<{mid}>"
    if reply_to:
        m["In-Reply-To"] = f"<{reply_to}>"
    m.set_content(text)
    for data, maintype, subtype, filename in attachments:
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return m


def crlf(m: EmailMessage | bytes) -> bytes:
    data = m if isinstance(m, bytes) else bytes(m)
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def sign(data: bytes, pem: bytes, domain: str, selector: str = SELECTOR) -> bytes:
    return dkim.sign(data, selector.encode(), domain.encode(), pem, include_headers=SIGNED_HEADERS) + data


def relayed(data: bytes, when: datetime, host: str = "mail.signs.example") -> bytes:
    """The Received headers of a message relayed from its sender's server to the newsroom's, then delivered."""
    stamp = format_datetime(when + timedelta(seconds=4))
    return (
        f"Received: from mx.newsroom.example (mx.newsroom.example [192.0.2.25])\r\n"
        f"\tby imap.newsroom.example with LMTP id d41; {stamp}\r\n"
        f"Received: from {host} ({host} [198.51.100.7])\r\n"
        f"\tby mx.newsroom.example (Postfix) with ESMTPS id 3wB7Q; {stamp}\r\n"
    ).encode() + data


def submitted(data: bytes, when: datetime) -> bytes:
    """Only the client's authenticated submission: the copy a sender's own mailbox keeps."""
    return (
        f"Received: from [10.0.0.5] (unknown [198.51.100.4])\r\n"
        f"\tby mail.signs.example (Postfix) with ESMTPSA id 9QX; {format_datetime(when)}\r\n"
    ).encode() + data


def forward(sender: str, mid: str, when: datetime, inner: bytes) -> bytes:
    """An email forwarding `inner` as a message/rfc822 attachment, its bytes untouched."""
    head = (
        f"From: {sender}\r\nTo: desk@newsroom.example\r\nSubject: Fwd: note\r\nDate: {format_datetime(when)}\r\n"
        f"Message-ID: <{mid}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fwd-1\"\r\n\r\n"
    )
    return (
        (head + "--fwd-1\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n--fwd-1\r\nContent-Type: message/rfc822\r\n"
         "Content-Disposition: attachment; filename=\"note.eml\"\r\n\r\n").encode()
        + inner
        + b"\r\n--fwd-1--\r\n"
    )


def item(case, suffix: str) -> dict:
    (row,) = rows(case, "path LIKE ?", ("%" + suffix,))
    return row


def findings_of(case, item_id: str, code: str) -> list:
    return [f for f in case.db.findings_for(item_id) if f.code == code]


def snapshot(case) -> list:
    conn = case.db.conn
    found = conn.execute("SELECT item_id, stage, code, severity, message, evidence FROM findings")
    return sorted(map(tuple, found)) + [tuple(r) for r in conn.execute("SELECT id, verdict FROM items ORDER BY id")]


def again(case) -> None:
    """The case-wide steps once more, on their own, as a later `verify` runs them."""
    case.db.begin()
    propagate(case)
    case.db.commit()
    check_documents(case, workers=1)


DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


# --- proof travels with bytes --------------------------------------------------------------------


def test_proof_travels_with_bytes(tmp_path, keys, backend):
    pem = keys["main"][0]
    d = tmp_path / "dump"
    (d / "loose").mkdir(parents=True)
    when = MARCH + timedelta(days=13)
    pdf = make_pdf(tmp_path / "ledger.pdf", created=when - timedelta(days=9), modified=when - timedelta(days=9))
    # An anomaly the document checks flag (a later revision rewrote page content): suspicious on an
    # unproven copy, a note on a proven one.
    append_incremental_update(pdf, "1,250.00", "91,250.00")
    ledger = pdf.read_bytes()
    other = make_pdf(tmp_path / "other.pdf", created=when, modified=when, lines=("Another invoice", "12.00 EUR"))
    att = [(ledger, "application", "pdf", "ledger.pdf")]
    for n in (1, 2):
        mail = message(f"anne@{SIGNS}", f"s{n}@{SIGNS}", when + timedelta(hours=n), "The ledger.", attachments=att)
        (d / f"signed{n}.eml").write_bytes(relayed(sign(crlf(mail), pem, SIGNS), when))
    unsigned = message("paul@elsewhere.example", "u1@elsewhere.example", when, "Forwarding the ledger.",
                       attachments=att)
    (d / "unsigned.eml").write_bytes(crlf(unsigned))
    (d / "loose" / "ledger.pdf").write_bytes(ledger)
    (d / "loose" / "other.pdf").write_bytes(other.read_bytes())
    case = build_case(tmp_path, d, db=backend)  # on SQLite and on PostgreSQL

    verify_case(case, workers=1)
    loose = item(case, "loose/ledger.pdf")
    # Nothing proves any copy yet, and copies never prove each other.
    assert loose["verdict"] == "suspicious" and "dkim.identical_to_verified" not in codes(case, loose["id"])
    assert not case.db.conn.execute("SELECT 1 FROM findings WHERE code='dkim.identical_to_verified'").fetchall()

    import_into_case(case, keyfile(tmp_path / "keys.txt", keys))
    verify_case(case, workers=1)
    proven = {item(case, f"signed{n}.eml!/ledger.pdf")["id"]: item(case, f"signed{n}.eml")["id"] for n in (1, 2)}
    loose = item(case, "loose/ledger.pdf")
    assert loose["verdict"] == "verified"
    (f,) = findings_of(case, loose["id"], "dkim.identical_to_verified")
    ev = f.evidence
    assert ev["verified_copies"] == 2 and ev["verified_copy"] in proven
    assert ev["verified_email"] == proven[ev["verified_copy"]] and ev["sha256"] == loose["sha256"]
    assert ev["verified_path"] == item(case, ev["verified_path"])["path"] and ev["verified_path"] in f.message
    # The copy carried by an unsigned email is verified through the same bytes; the email is not.
    carried = item(case, "unsigned.eml!/ledger.pdf")
    assert carried["verdict"] == "verified" and "dkim.identical_to_verified" in codes(case, carried["id"])
    assert item(case, "unsigned.eml")["verdict"] == "unverified"
    other_row = item(case, "loose/other.pdf")
    assert "dkim.identical_to_verified" not in codes(case, other_row["id"])
    # The document check cannot take the proof back: on every proven copy its anomaly is a note.
    for row in (loose, carried, *(item(case, f"signed{n}.eml!/ledger.pdf") for n in (1, 2))):
        (note,) = findings_of(case, row["id"], "doc.incremental_update")
        assert note.severity == "info" and "Shown as a note" in note.message
        assert note.evidence["effect"] == "suspicious" and note.evidence["note_on_verified"] is True

    before = snapshot(case)
    verify_case(case, workers=1)
    assert snapshot(case) == before
    again(case)
    assert snapshot(case) == before


# --- the vehicle of an altered item --------------------------------------------------------------

BUDGET = (
    "Budget prévisionnel du deuxième trimestre 2017. Meetings et déplacements : 1 250 000 EUR. "
    "Impression et affichage : 420 000 EUR. Numérique et sondages : 310 000 EUR. Total : 1 980 000 EUR, "
    "dans le respect du plafond légal fixé par la commission des comptes de campagne pour cette élection."
)


def test_the_vehicle_of_an_altered_item_is_suspicious(tmp_path, keys, backend):
    pem = keys["main"][0]
    d = tmp_path / "dump"
    d.mkdir()
    when = MARCH + timedelta(days=5)
    made = {"author": "Julien Moreau", "last_by": "Julien Moreau", "created": when - timedelta(days=3),
            "modified": when - timedelta(hours=2)}
    real = make_docx(tmp_path / "real.docx", text=BUDGET, **made).read_bytes()
    doctored = make_docx(tmp_path / "fake.docx", text=BUDGET.replace("1 250 000", "12 500 000"), **made).read_bytes()
    original = message(f"julien@{SIGNS}", f"b1@{SIGNS}", when, "Le budget.", attachments=[(real, *DOCX, "budget.docx")])
    (d / "original.eml").write_bytes(relayed(sign(crlf(original), pem, SIGNS), when))
    carrier = message("jl@mailbox.example", "c1@mailbox.example", when + timedelta(days=20), "Voici le budget.",
                      attachments=[(doctored, *DOCX, "budget.docx")])
    (d / "carrier.eml").write_bytes(crlf(carrier))
    # The doctored copy again, inside a zip inside another unsigned email: found through the container.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("dossier/budget.docx", doctored)
    zipped = message("jl@mailbox.example", "c2@mailbox.example", when + timedelta(days=21), "Le dossier.",
                     attachments=[(buf.getvalue(), "application", "zip", "dossier.zip")])
    (d / "zipped.eml").write_bytes(crlf(zipped))
    # A signed message changed after signing, forwarded by a verified email and by an unsigned one.
    note = crlf(sign(crlf(message(f"anne@{SIGNS}", f"n1@{SIGNS}", when, "We will pay 500 euros.")), pem, SIGNS))
    tampered = note.replace(b"500 euros", b"900 euros")
    fwd = crlf(forward(f"anne@{SIGNS}", f"f1@{SIGNS}", when + timedelta(days=1), tampered))
    (d / "verified-forward.eml").write_bytes(relayed(sign(fwd, pem, SIGNS), when))
    (d / "unsigned-forward.eml").write_bytes(forward("x@other.example", "f2@other.example", when, tampered))
    case = build_case(tmp_path, d, db=backend)  # on SQLite and on PostgreSQL
    import_into_case(case, keyfile(tmp_path / "keys.txt", keys))
    verify_case(case, workers=1)

    assert item(case, "original.eml")["verdict"] == "verified"
    fake = item(case, "carrier.eml!/budget.docx")
    assert fake["verdict"] == "altered" and "dup.altered_copy" in codes(case, fake["id"])
    row = item(case, "carrier.eml")
    assert row["verdict"] == "suspicious"
    (f,) = findings_of(case, row["id"], "dup.carries_altered")
    assert f.evidence["count"] == 1 and f.evidence["altered"][0]["id"] == fake["id"]
    assert f.evidence["altered"][0]["reasons"] == ["dup.altered_copy"] and "budget.docx" in f.message

    in_zip = item(case, "dossier/budget.docx")
    assert in_zip["verdict"] == "altered"
    (g,) = findings_of(case, item(case, "zipped.eml")["id"], "dup.carries_altered")
    assert [a["id"] for a in g.evidence["altered"]] == [in_zip["id"]]
    assert item(case, "zipped.eml")["verdict"] == "suspicious"
    # The zip is no email: it carries the copy but is no vehicle of its own.
    assert "dup.carries_altered" not in codes(case, item(case, "zipped.eml!/dossier.zip")["id"])

    inner = rows(case, "kind='email' AND parent=?", (item(case, "unsigned-forward.eml")["id"],))
    assert [r["verdict"] for r in inner] == ["altered"]
    (h,) = findings_of(case, item(case, "unsigned-forward.eml")["id"], "dup.carries_altered")
    assert "dkim.body_hash_mismatch" in h.evidence["altered"][0]["reasons"]
    # Never on a verified email, even one that carries an altered message.
    verified_fwd = item(case, "verified-forward.eml")
    assert verified_fwd["verdict"] == "verified" and "dup.carries_altered" not in codes(case, verified_fwd["id"])
    assert [r["verdict"] for r in rows(case, "kind='email' AND parent=?", (verified_fwd["id"],))] == ["altered"]

    before = snapshot(case)
    verify_case(case, workers=1)
    again(case)
    assert snapshot(case) == before


# --- a domain that signs its mail ----------------------------------------------------------------

SIGNED_IN_MARCH = 200  # with five unsigned messages in the window, enough for the rule (197 would do)
COPIED = 30  # of those, also kept in a second mailbox: the same message, counted once


@pytest.fixture(scope="module")
def signing_case(tmp_path_factory, keys, module_backend):
    tmp = tmp_path_factory.mktemp("signing")
    pem, esp_pem, lost_pem = keys["main"][0], keys["esp"][0], keys["lost"][0]
    d = tmp / "dump"
    for sub in ("inbox", "copies", "odd"):
        (d / sub).mkdir(parents=True)
    for i in range(SIGNED_IN_MARCH):
        when = MARCH + timedelta(hours=4 * i)
        raw = relayed(sign(crlf(message(f"staff{i % 7}@{SIGNS}", f"m{i}@{SIGNS}", when, f"Update {i}.")), pem, SIGNS),
                      when)
        (d / "inbox" / f"m{i}.eml").write_bytes(raw)
        if i < COPIED:
            (d / "copies" / f"m{i}.eml").write_bytes(raw)
    mid_march = MARCH + timedelta(days=19)

    def put(name: str, data: bytes) -> None:
        (d / "odd" / name).write_bytes(data)

    forged = crlf(message(f"Treasurer <treasurer@{SIGNS}>", "forged@x.example", mid_march, "Transfer 90,000."))
    put("forged.eml", relayed(forged, mid_march))
    lost = sign(crlf(message(f"anne@{SIGNS}", "lost@x.example", mid_march, "Old key.")), lost_pem, SIGNS, "lost")
    put("unverifiable.eml", relayed(lost, mid_march))
    third = sign(crlf(message(f"news@{SIGNS}", "esp@x.example", mid_march, "Newsletter.")), esp_pem, ESP)
    put("third-party.eml", relayed(third, mid_march, host="out.esp.example"))
    broken = sign(crlf(message(f"anne@{SIGNS}", "broken@x.example", mid_march, "Pay 500 euros.")), pem, SIGNS)
    put("altered.eml", relayed(broken.replace(b"500 euros", b"900 euros"), mid_march))
    # Validly signed by the domain with a key in testing mode: proves nothing, yet not "missing" either.
    trial = sign(crlf(message(f"anne@{SIGNS}", "trial@x.example", mid_march, "Trial.")), pem, SIGNS, "trial")
    put("testing-key.eml", relayed(trial, mid_march))
    # Never relayed between servers: a sender's own copy, a draft. Their signature is not expected.
    put("sent-copy.eml", submitted(crlf(message(f"anne@{SIGNS}", "sent@x.example", mid_march, "Sent.")), mid_march))
    put("draft.eml", crlf(message(f"anne@{SIGNS}", "draft@x.example", mid_march, "Draft.")))
    # Relayed and unsigned, but months after the period the case shows the domain signing.
    autumn = datetime(2017, 9, 12, 10, 0, tzinfo=UTC)
    put("september.eml", relayed(crlf(message(f"anne@{SIGNS}", "sep@x.example", autumn, "Later.")), autumn))
    # A domain with three signed messages: three signed messages do not make a rule.
    for i in range(3):
        raw = sign(crlf(message(f"a@{FEW}", f"few{i}@{FEW}", mid_march, "Hi.")), pem, FEW)
        put(f"few{i}.eml", relayed(raw, mid_march, host=f"mail.{FEW}"))
    put("few-unsigned.eml", relayed(crlf(message(f"a@{FEW}", "fewu@x.example", mid_march, "Hi.")), mid_march,
                                    host=f"mail.{FEW}"))
    case = build_case(tmp, d, db=module_backend)  # on SQLite and on PostgreSQL
    import_into_case(case, keyfile(tmp / "keys.txt", keys))
    verify_case(case, workers=2)
    yield case
    case.close()


def test_unsigned_mail_from_a_domain_that_signs(signing_case):
    case = signing_case
    flagged = {
        r["path"].rsplit("/", 1)[-1]
        for r in rows(case, "id IN (SELECT item_id FROM findings WHERE code='dkim.expected_signature_missing')")
    }
    assert flagged == {"forged.eml", "unverifiable.eml", "third-party.eml"}
    forged = item(case, "odd/forged.eml")
    assert forged["verdict"] == "suspicious"
    (f,) = findings_of(case, forged["id"], "dkim.expected_signature_missing")
    ev = f.evidence
    # The same message in two mailboxes counts once: the signed ones and the five unsigned relayed ones.
    assert (ev["domain"], ev["messages"], ev["signed"], ev["unsigned"]) == (SIGNS, SIGNED_IN_MARCH + 5,
                                                                           SIGNED_IN_MARCH, 5)
    assert ev["period"] == {"from": "2017-02", "to": "2017-04"}
    assert ev["rate"] == round(SIGNED_IN_MARCH / (SIGNED_IN_MARCH + 5), 4)
    assert SIGNING_RATE <= ev["rate_lower_bound"] < ev["rate"] and ev["signatures"] == []
    assert f"{SIGNED_IN_MARCH} of the {SIGNED_IN_MARCH + 5} messages" in f.message
    assert "2017-02 to 2017-04" in f.message and "carries no DKIM signature" in f.message

    (u,) = findings_of(case, item(case, "odd/unverifiable.eml")["id"], "dkim.expected_signature_missing")
    assert u.evidence["signatures"] == [{"d": SIGNS, "s": "lost", "result": "key_unavailable"}]
    assert f"lost._domainkey.{SIGNS}" in u.message
    (t,) = findings_of(case, item(case, "odd/third-party.eml")["id"], "dkim.expected_signature_missing")
    assert f"carries no {SIGNS} signature (only: {ESP})" in t.message
    # Its own signature broken, the altered message is judged by that; the rest are not expected to be signed.
    assert item(case, "odd/altered.eml")["verdict"] == "altered"
    trial = item(case, "odd/testing-key.eml")
    assert "dkim.testing_key" in codes(case, trial["id"]) and trial["verdict"] == "unverified"
    for name in ("sent-copy.eml", "draft.eml", "september.eml", "few-unsigned.eml"):
        assert item(case, f"odd/{name}")["verdict"] == "unverified", name


def test_signing_rule_is_idempotent_and_needs_evidence(signing_case):
    case = signing_case
    before = snapshot(case)
    again(case)
    assert snapshot(case) == before
    # The bound behind "at least 95%": all of 51 signed messages is not enough, 52 is; 3 of 3 is far from it.
    assert wilson_lower(51, 51) < SIGNING_RATE <= wilson_lower(52, 52)
    assert wilson_lower(3, 3) < 0.6 and wilson_lower(0, 0) == 0.0
    # A domain whose mail is unsigned one time in twelve (the demo's old relay) never makes a rule.
    assert wilson_lower(131, 137) < SIGNING_RATE


def test_case_steps_are_set_based(tmp_path, keys):
    """propagate's queries do not grow with the case: no per-item query in a loop."""
    pem = keys["main"][0]

    def statements(n: int) -> int:
        d = tmp_path / f"dump{n}"
        d.mkdir()
        for i in range(n):
            when = MARCH + timedelta(hours=i)
            pdf = make_pdf(tmp_path / f"p{n}-{i}.pdf", created=when, modified=when, lines=(f"Invoice {i}",))
            m = message(f"a@{SIGNS}", f"{n}-{i}@{SIGNS}", when, "Invoice.",
                        attachments=[(pdf.read_bytes(), "application", "pdf", "invoice.pdf")])
            (d / f"m{i}.eml").write_bytes(relayed(sign(crlf(m), pem, SIGNS), when))
        (d / "unsigned.eml").write_bytes(relayed(crlf(message(f"x@{SIGNS}", f"u{n}@x", MARCH, "?")), MARCH))
        case = build_case(tmp_path, d, name=f"case{n}")
        import_into_case(case, keyfile(tmp_path / "keys.txt", keys))
        verify_case(case, workers=1)
        seen: list[str] = []
        case.db.conn.set_trace_callback(seen.append)
        try:
            again(case)
        finally:
            case.db.conn.set_trace_callback(None)
        # Writes go through executemany (traced once per row), SQLite traces triggers' statements ("-- ...")
        # and traces a DELETE ... RETURNING again for each row it returns when a trigger fires on it (the
        # search queue's): the distinct statements leaklens issues must not grow with the case.
        return len({s for s in seen if not s.lstrip().upper().startswith(("INSERT", "UPDATE", "--"))})

    assert statements(3) == statements(12)


# --- heuristics never override proof -------------------------------------------------------------

FRENCH = ["Claire Martin", "Paul Durand", "Sophie Lefèvre", "Thomas Bernard", "Émilie Rousseau"]


def test_heuristics_never_override_proof(tmp_path, keys, backend):
    pem = keys["main"][0]
    org = "campagne.example"
    d = tmp_path / "dump"
    (d / "loose").mkdir(parents=True)
    (d / "gmail.eml").write_bytes((GMAIL / "meeting-for-coffee.eml").read_bytes())
    base = datetime(2017, 2, 1, 9, 0, tzinfo=UTC)
    # Thirty French and English messages of a campaign, half of them carrying Word documents
    # written on Western (1252) machines by the team: the population the outliers stand out from.
    for i in range(30):
        when = base + timedelta(days=i, hours=i % 7)
        who = FRENCH[i % 5]
        atts = []
        if i % 2 == 0:
            doc = make_doc(tmp_path / f"note{i}.doc", author=who, last_by=FRENCH[(i + 1) % 5],
                           created=when - timedelta(days=4), modified=when - timedelta(hours=3),
                           lid=0x040C if i % 4 else 0x0409)
            atts.append((doc.read_bytes(), "application", "msword", f"note{i}.doc"))
        text = ("Bonjour, voici le compte rendu de la réunion d'équipe." if i % 3 else
                "Hello, here are the minutes of the team meeting.")
        raw = crlf(message(f"{who} <team{i % 5}@{org}>", f"c{i}@{org}", when, text, attachments=atts))
        (d / f"campagne{i}.eml").write_bytes(relayed(sign(raw, pem, org), when, host=f"mail.{org}"))
    sent = datetime(2017, 3, 20, 10, 0, tzinfo=UTC)
    # A Bulgarian Word document (Cyrillic editor, codepage 1251) in a signed email, as in the real
    # case of issue 10, and the same bytes loose in the dump.
    bulgarian = make_doc(tmp_path / "bg.doc", author="Иван Петров", last_by="Иван Петров", created=sent - timedelta(
        days=6), modified=sent - timedelta(days=1), codepage=1251, lid=0x0402, company="Фирма").read_bytes()
    raw = crlf(message("Ivan <ivan@sofia.example>", "bg1@sofia.example", sent, "Здравейте, документът.",
                       attachments=[(bulgarian, "application", "msword", "dogovor.doc")]))
    (d / "bulgarian.eml").write_bytes(relayed(sign(raw, pem, "sofia.example"), sent, host="mail.sofia.example"))
    (d / "loose" / "dogovor.doc").write_bytes(bulgarian)
    # Another Bulgarian document that nothing proves: the population check still judges it.
    other_bg = make_doc(tmp_path / "bg2.doc", author="Мария Иванова", last_by="Мария Иванова",
                        created=sent - timedelta(days=9), modified=sent - timedelta(days=8), codepage=1251,
                        lid=0x0402).read_bytes()
    (d / "unsigned-bg.eml").write_bytes(crlf(message("m@else.example", "bg2@else.example", sent, "Документ.",
                                                     attachments=[(other_bg, "application", "msword", "b.doc")])))
    # Saved two days after its signed email was sent: a clock discrepancy, not an alteration.
    late = make_docx(tmp_path / "late.docx", author="Claire Martin", last_by="Claire Martin",
                     created=sent - timedelta(days=3), modified=sent + timedelta(days=2)).read_bytes()
    raw = crlf(message(f"Claire <team0@{org}>", f"late@{org}", sent, "Le document.",
                       attachments=[(late, *DOCX, "late.docx")]))
    (d / "late-signed.eml").write_bytes(relayed(sign(raw, pem, org), sent, host=f"mail.{org}"))
    # A late document in an email nothing proves: either the copy or the email's date is false. (The
    # same bytes as the signed one would be proven by them, whatever the email carrying them says.)
    late2 = make_docx(tmp_path / "late2.docx", author="Claire Martin", last_by="Claire Martin", text="Autre note.",
                      created=sent - timedelta(days=3), modified=sent + timedelta(days=2)).read_bytes()
    raw = crlf(message("Claire <claire@else.example>", "late2@else.example", sent, "Le document.",
                       attachments=[(late2, *DOCX, "late.docx")]))
    (d / "late-unsigned.eml").write_bytes(raw)
    # Signed with an on-time document, then that attachment swapped for the late one.
    early = make_docx(tmp_path / "early.docx", author="Claire Martin", last_by="Claire Martin",
                      created=sent - timedelta(days=3), modified=sent - timedelta(hours=2)).read_bytes()
    signed = sign(crlf(message(f"Claire <team0@{org}>", f"swap@{org}", sent, "Le document.",
                               attachments=[(early, *DOCX, "late.docx")])), pem, org)
    forged = make_docx(tmp_path / "forged.docx", author="Claire Martin", last_by="Claire Martin", text="Annexe.",
                       created=sent - timedelta(days=3), modified=sent + timedelta(days=2)).read_bytes()
    old, new = (crlf(base64.encodebytes(x)).rstrip() for x in (early, forged))
    assert signed.count(old) == 1
    (d / "swapped.eml").write_bytes(relayed(signed.replace(old, new), sent, host=f"mail.{org}"))
    # Signed with the late document, then a P.S. appended: the signed original is recovered, so the
    # change is the P.S., not the attachment (whose late date is then only unexplained).
    ps = sign(crlf(message(f"Claire <team1@{org}>", f"ps@{org}", sent, "Le document.",
                           attachments=[(late2, *DOCX, "late.docx")])), pem, org)
    (d / "ps.eml").write_bytes(relayed(ps + b"\r\nP.S. The money must not appear in the accounts.\r\n", sent,
                                       host=f"mail.{org}"))
    case = build_case(tmp_path, d, db=backend)  # on SQLite and on PostgreSQL
    import_into_case(case, keyfile(tmp_path / "keys.txt", keys))
    verify_case(case, workers=1, documents=True)

    gmail = item(case, "gmail.eml")
    assert gmail["verdict"] == "verified", codes(case, gmail["id"])
    bg = item(case, "bulgarian.eml!/dogovor.doc")
    assert bg["verdict"] == "verified"
    (note,) = findings_of(case, bg["id"], "doc.foreign_editor")
    fields = {o["field"] for o in note.evidence["outliers"]}
    assert {"codepage", "author"} <= fields, note.evidence
    assert note.severity == "info" and "Shown as a note" in note.message and note.evidence["note_on_verified"]
    loose = item(case, "loose/dogovor.doc")
    assert loose["verdict"] == "verified" and "dkim.identical_to_verified" in codes(case, loose["id"])
    assert findings_of(case, loose["id"], "doc.foreign_editor")[0].severity == "info"
    unproven = item(case, "unsigned-bg.eml!/b.doc")
    (warn,) = findings_of(case, unproven["id"], "doc.foreign_editor")
    assert unproven["verdict"] == "suspicious" and warn.severity == "warning"

    clock = item(case, "late-signed.eml!/late.docx")
    assert clock["verdict"] == "verified"
    (c,) = findings_of(case, clock["id"], "doc.modified_after_sent")
    assert c.severity == "info" and "clock discrepancy, the signature proves these bytes were sent" in c.message
    unsigned_late = item(case, "late-unsigned.eml!/late.docx")
    (s,) = findings_of(case, unsigned_late["id"], "doc.modified_after_sent")
    assert unsigned_late["verdict"] == "suspicious" and s.evidence["effect"] == "suspicious"
    swapped_row = item(case, "swapped.eml")
    assert swapped_row["verdict"] == "altered" and "dkim.body_hash_mismatch" in codes(case, swapped_row["id"])
    part = item(case, "swapped.eml!/late.docx")
    (w,) = findings_of(case, part["id"], "doc.modified_after_sent")
    assert part["verdict"] == "altered" and w.evidence["effect"] == "altered" and "swapped" in w.message

    ps_row = item(case, "ps.eml")
    assert ps_row["verdict"] == "altered" and "dkim.original_recovered" in codes(case, ps_row["id"])
    (p,) = findings_of(case, item(case, "ps.eml!/late.docx")["id"], "doc.modified_after_sent")
    assert p.evidence["effect"] == "suspicious"

    # Every heuristic finding on a verified item is a note, and every verified item stays verified
    # with its heuristic findings set aside.
    conn = case.db.conn
    verified = [r["id"] for r in rows(case, "verdict='verified'")]
    assert len(verified) > 30
    for item_id in verified:
        for f in case.db.findings_for(item_id):
            if is_heuristic(f.code):
                assert f.severity == "info", (item_id, f)
    stray = conn.execute(
        "SELECT i.path, f.code FROM findings f JOIN items i ON i.id = f.item_id WHERE i.verdict = 'verified'"
        " AND f.severity != 'info' AND (f.code LIKE 'doc.%' OR f.code LIKE 'dup.%')"
    ).fetchall()
    assert stray == []


PARENT = "The transfer of 12,000 euros to the printer is approved for Friday, keep the invoice for the accounts."


def test_a_verified_reply_that_misquotes_is_a_note(tmp_path, keys, backend):
    """Both signed: the author changed the quote when replying. That is shown, never held against the proof."""
    pem = keys["main"][0]
    d = tmp_path / "dump"
    d.mkdir()
    parent = message(f"anne@{SIGNS}", f"p1@{SIGNS}", MARCH, PARENT)
    (d / "parent.eml").write_bytes(relayed(sign(crlf(parent), pem, SIGNS), MARCH))
    quote = "Done.\n\n> " + PARENT.replace("12,000", "120,000")
    reply = message(f"paul@{SIGNS}", f"r1@{SIGNS}", MARCH + timedelta(hours=2), quote, reply_to=f"p1@{SIGNS}")
    (d / "reply.eml").write_bytes(relayed(sign(crlf(reply), pem, SIGNS), MARCH))
    unsigned = message(f"paul@{SIGNS}", f"r2@{SIGNS}", MARCH + timedelta(hours=3), quote, reply_to=f"p1@{SIGNS}")
    (d / "unsigned-reply.eml").write_bytes(crlf(unsigned))
    case = build_case(tmp_path, d, db=backend)  # on SQLite and on PostgreSQL
    import_into_case(case, keyfile(tmp_path / "keys.txt", keys))
    verify_case(case, workers=1)
    signed_reply = item(case, "/reply.eml")
    (f,) = findings_of(case, signed_reply["id"], "thread.quote_mismatch")
    assert signed_reply["verdict"] == "verified" and f.severity == "info" and "Shown as a note" in f.message
    other = item(case, "unsigned-reply.eml")
    (g,) = findings_of(case, other["id"], "thread.quote_mismatch")
    assert other["verdict"] == "suspicious" and g.severity == "warning"


def test_the_demo_says_what_is_known(tmp_path):
    """The demo leak (issue 10's examples): the loose press kit, the carrier of the doctored budget,
    the phishing email, the old relay's unsigned staff mail."""
    from leaklens.case import Case
    from leaklens.demo.build import build_demo_case

    manifest = build_demo_case(tmp_path / "case", tmp_path / "dump")
    with Case.open(tmp_path / "case") as case:
        kit = item(case, "documents.7z!/presse/Horizon_dossier_de_presse.pdf")
        (f,) = findings_of(case, kit["id"], "dkim.identical_to_verified")
        assert kit["verdict"] == "verified" and f.evidence["verified_copies"] >= 10
        carrier = item(case, "loose/Fwd_Budget_previsionnel_T2.eml")
        assert carrier["verdict"] == "suspicious" and "dup.carries_altered" in codes(case, carrier["id"])
        # The phishing email claims a lookalike domain that sent nothing else: no rate to compare it with,
        # but the lookalike itself makes it suspicious (intel/). And the staff's 8% unsigned mail never makes a rule.
        phish = next(m for m in manifest.messages if m["from"].endswith("@mail-horizon-campaign.example"))
        (row,) = rows(case, "sha256=?", (phish["sha256"],))
        found = codes(case, row["id"])
        assert row["verdict"] == "suspicious" and "intel.lookalike_sender" in found and "dkim.key_unavailable" in found
        assert not case.db.conn.execute(
            "SELECT 1 FROM findings WHERE code = 'dkim.expected_signature_missing'").fetchall()

