"""`leaklens verify` over a case: real signatures, real keys, the case-wide steps."""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest
from helpers import GMAIL, build_case, codes, dkim_signed, key_record_file, make_rsa_key, rows

from leaklens.verify.case_keys import import_into_case
from leaklens.verify.case_verify import verification_summary, verify_case

DOMAIN, SELECTOR = "horizon.example", "mail2017"


@pytest.fixture(scope="module")
def key():
    return make_rsa_key()


def keyfile(tmp_path, pub: str):
    return key_record_file(tmp_path / "keys.txt", pub, SELECTOR, DOMAIN)


def signed(
    pem: bytes,
    *,
    mid: str,
    body: str,
    subject: str = "Budget",
    reply_to: str | None = None,
    attachment: bytes | None = None,
) -> bytes:
    m = EmailMessage()
    m["From"] = f"Anne Leroy <anne@{DOMAIN}>"
    m["To"] = f"paul@{DOMAIN}"
    m["Subject"] = subject
    m["Date"] = "Tue, 02 May 2017 09:00:00 +0200"
    m["Message-ID"] = f"<{mid}@{DOMAIN}>"
    if reply_to:
        m["In-Reply-To"] = f"<{reply_to}@{DOMAIN}>"
        m["References"] = f"<{reply_to}@{DOMAIN}>"
    m.set_content(body)
    if attachment:
        m.add_attachment(attachment, maintype="application", subtype="pdf", filename="ledger.pdf")
    return dkim_signed(m, pem, SELECTOR, DOMAIN)


PARENT_BODY = (
    "The transfer of 12,000 euros to the printer is approved for Friday.\n"
    "Please keep the invoice for the campaign accounts.\n"
)


@pytest.fixture
def dump(tmp_path, key):
    pem, _ = key
    d = tmp_path / "dump"
    d.mkdir()
    (d / "parent.eml").write_bytes(signed(pem, mid="p1", body=PARENT_BODY, attachment=b"%PDF-1.4 ledger bytes"))
    good_quote = "Thanks, done.\n\n> " + PARENT_BODY.replace("\n", "\n> ")
    bad_quote = "Thanks, done.\n\n> " + PARENT_BODY.replace("12,000", "120,000").replace("\n", "\n> ")
    (d / "reply-good.eml").write_bytes(signed(pem, mid="r1", body=good_quote, subject="Re: Budget", reply_to="p1"))
    forged = signed(pem, mid="r2", body=bad_quote, subject="Re: Budget", reply_to="p1")
    (d / "reply-forged.eml").write_bytes(forged.replace(b"DKIM-Signature", b"X-Old-Signature"))
    altered = signed(pem, mid="a1", body="We will pay 500 euros.\n").replace(b"500 euros", b"900 euros")
    (d / "altered.eml").write_bytes(altered)
    (d / "unsigned.eml").write_bytes(b"From: x@other.example\r\nSubject: hi\r\n\r\nhello\r\n")
    (d / "gmail.eml").write_bytes((GMAIL / "meeting-for-coffee.eml").read_bytes())
    return d


def by_name(case, name):
    return rows(case, "name=? AND depth=0", (name,))[0]


def test_verify_case_end_to_end(tmp_path, key, dump, backend):
    _, pub = key
    case = build_case(tmp_path, dump, db=backend)  # on SQLite and on PostgreSQL
    stats = verify_case(case, workers=1)
    assert stats.checked == stats.emails == 6
    # Without the organisation's key only the bundled Gmail key verifies anything.
    assert by_name(case, "gmail.eml")["verdict"] == "verified"
    assert by_name(case, "parent.eml")["verdict"] == "unverified"
    assert "dkim.key_unavailable" in codes(case, by_name(case, "parent.eml")["id"])

    import_into_case(case, keyfile(tmp_path, pub))
    stats = verify_case(case, workers=1)
    # Only the messages that lacked this key are checked again.
    assert stats.checked == 3 and stats.skipped_up_to_date == 3

    parent = by_name(case, "parent.eml")
    assert parent["verdict"] == "verified"
    (att,) = rows(case, "parent=?", (parent["id"],))
    assert att["verdict"] == "verified" and "dkim.covered_by_parent" in codes(case, att["id"])
    assert by_name(case, "reply-good.eml")["verdict"] == "verified"
    assert by_name(case, "altered.eml")["verdict"] == "altered"
    assert "dkim.body_hash_mismatch" in codes(case, by_name(case, "altered.eml")["id"])
    assert by_name(case, "unsigned.eml")["verdict"] == "unverified"

    forged = by_name(case, "reply-forged.eml")
    assert forged["verdict"] == "suspicious"
    (f,) = [f for f in case.db.findings_for(forged["id"]) if f.code == "thread.quote_mismatch"]
    assert f.evidence["parent"] == parent["id"]
    assert any(h["parent"] == "12" and h["quote"] == "120" for h in f.evidence["diff"])
    assert "thread.quote_mismatch" not in codes(case, by_name(case, "reply-good.eml")["id"])

    s = verification_summary(case)
    assert s["by_verdict"] == {"verified": 3, "altered": 1, "suspicious": 1, "unverified": 1}
    assert s["verified_by_key"] == {f"{SELECTOR}._domainkey.{DOMAIN}": 2, "20120113._domainkey.gmail.com": 1}
    assert s["by_signing_domain"][DOMAIN] == {"verified": 2, "altered": 1}

    # Idempotent: nothing left to check, verdicts unchanged.
    before = [(r["id"], r["verdict"]) for r in rows(case)]
    assert verify_case(case, workers=1).checked == 0
    assert [(r["id"], r["verdict"]) for r in rows(case)] == before


def test_verify_in_pool_matches_single_process(tmp_path, key, dump):
    _, pub = key
    for i in range(60):  # enough to use the pool
        (dump / f"extra{i}.eml").write_bytes((dump / "parent.eml").read_bytes())
    a = build_case(tmp_path, dump, name="a")
    b = build_case(tmp_path, dump, name="b")
    for c in (a, b):
        import_into_case(c, keyfile(tmp_path, pub))
    verify_case(a, workers=1)
    verify_case(b, workers=2)
    assert [(r["path"], r["verdict"]) for r in rows(a)] == [(r["path"], r["verdict"]) for r in rows(b)]


def test_report_carries_verdicts(tmp_path, key, dump, backend):
    import io

    from leaklens.report.writers import write_json

    case = build_case(tmp_path, dump, db=backend)
    verify_case(case, workers=1)
    out = io.StringIO()
    write_json(case, out)
    doc = json.loads(out.getvalue())
    gm = next(i for i in doc["items"] if i["path"].endswith("gmail.eml"))
    assert gm["verdict"] == "verified" and [f["code"] for f in gm["findings"]] == ["dkim.pass"]
    assert doc["summary"]["verification"]["verified_by_key"] == {"20120113._domainkey.gmail.com": 1}
