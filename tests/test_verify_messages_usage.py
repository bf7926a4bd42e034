"""The messages step's own account of where its time goes (LEAKLENS_STEP_TIMES), and intel's reading of
the verifications it leaves: the Received hops' hosts and IPs and the signing domains, on both backends."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from helpers import build_case, dkim_signed, make_rsa_key

import leaklens.verify.case_verify as case_verify
from leaklens.intel.gather import gather
from leaklens.verify.case_verify import VERIFICATIONS, verify_case

DOMAIN, SELECTOR = "horizon.example", "mail2017"


@pytest.fixture(scope="module")
def pem() -> bytes:
    return make_rsa_key()[0]


def _mail(pem: bytes, i: int) -> bytes:
    m = EmailMessage()
    m["Received"] = (
        "from mx.relay-one.example (mx.relay-one.example [8.8.4.4]) by mail.horizon.example with ESMTP;"
        " Tue, 02 May 2017 09:00:01 +0200"
    )
    m["From"] = f"Anne Leroy <anne@{DOMAIN}>"
    m["To"] = f"paul@{DOMAIN}"
    m["Subject"] = f"Budget {i}"
    m["Date"] = "Tue, 02 May 2017 09:00:00 +0200"
    m["Message-ID"] = f"<m{i}@{DOMAIN}>"
    m.set_content(f"Line {i} of the budget.\n")
    return dkim_signed(m, pem, SELECTOR, DOMAIN)


def test_messages_step_reports_its_cpu_split(tmp_path, pem, monkeypatch, capsys) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    n = case_verify.POOL_MIN + 10  # enough for the pool: its workers' CPU is what the line is for
    for i in range(n):
        (dump / f"m{i}.eml").write_bytes(_mail(pem, i))
    case = build_case(tmp_path, dump)
    monkeypatch.setattr(case_verify, "_TIMES", True)
    verify_case(case, workers=2, documents=False)
    err = capsys.readouterr().err
    m = re.search(
        r"verify\.messages: ([\d,]+) checks in ([\d.]+) s \(first result at ([\d.]+) s, last at ([\d.]+) s\);"
        r" this process ([\d.]+) CPU-s, 2 workers ([\d.]+) CPU-s"
        r" \((\d+) us/msg\), in a job (\d+)% of their time",
        err,
    )
    assert m, err
    checks, wall, first, last, mine, theirs, per_msg, busy = m.groups()
    assert int(checks.replace(",", "")) == n
    # The workers are this process's children, reaped when the pool closes: their CPU is counted.
    assert float(theirs) > 0 and int(per_msg) > 0
    assert float(wall) > 0 and float(mine) > 0
    assert 0 <= float(first) <= float(last) <= float(wall)
    assert 0 < int(busy) <= 100
    case.close()


def test_messages_step_is_quiet_without_step_times(tmp_path, pem, monkeypatch, capsys) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "m.eml").write_bytes(_mail(pem, 0))
    case = build_case(tmp_path, dump)
    monkeypatch.setattr(case_verify, "_TIMES", False)
    verify_case(case, workers=1, documents=False)
    assert "verify.messages:" not in capsys.readouterr().err
    case.close()


def test_intel_reads_received_hops_and_signing_domains(tmp_path, pem, backend) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "m.eml").write_bytes(_mail(pem, 0))
    case = build_case(tmp_path, dump, db=backend)
    verify_case(case, workers=1, documents=False)
    (item_id,) = case.db.table_values(VERIFICATIONS, ("item_id",))[0]
    g = gather(case, verifications=VERIFICATIONS)
    seen = {(s["kind"], s["value"], s["place"]) for s in g.sightings if s["item_id"] == item_id}
    # Read from the verifications row, not the headers: the hops as the check read them, and d=.
    assert ("domain", "mx.relay-one.example", "received") in seen
    assert ("domain", "mail.horizon.example", "received") in seen
    assert ("ipv4", "8.8.4.4", "received") in seen
    assert ("domain", DOMAIN, "dkim") in seen
    # Without the verifications (a case not verified yet) none of them is there.
    bare = gather(case, verifications=None)
    assert not {s["place"] for s in bare.sightings} & {"received", "dkim"}
    case.close()
