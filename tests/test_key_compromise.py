"""A key whose private half became public proves only what provably existed before (issue 10, rule 6).

Real keys, real dkimpy signatures, the real command line: the same message is unverified until a
proof of time (the dump's publication date, or a recorded timestamp) predates the key's exposure.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import dkim_signed, make_rsa_key, sha
from test_cli import run

DOMAIN, SELECTOR = "rotated.example", "2016a"


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> tuple[Path, Path, bytes]:
    """A signed message, and a key file saying the private key was published on 2018-01-01."""
    tmp = tmp_path_factory.mktemp("compromise")
    pem, pub = make_rsa_key(2048)
    m = EmailMessage()
    m["From"] = f"Aline <aline@{DOMAIN}>"
    m["To"] = "bob@elsewhere.example"
    m["Subject"] = "Budget"
    m["Date"] = "Tue, 02 May 2017 09:00:00 +0200"
    m["Message-ID"] = f"<k1@{DOMAIN}>"
    m.set_content("The figures are attached.\n")
    raw = dkim_signed(m, pem, SELECTOR, DOMAIN)
    (tmp / "in").mkdir()
    (tmp / "in" / "m.eml").write_bytes(raw)
    keys = tmp / "keys.json"
    record = {
        "domain": DOMAIN,
        "selector": SELECTOR,
        "record": f"v=DKIM1; k=rsa; p={pub}",
        "source": "test archive",
        "private_published": "2018-01-01",
        "private_source": "the operator published its rotated-out private keys (dkim-rotate)",
    }
    keys.write_text(json.dumps({"keys": [record]}))
    return tmp / "in" / "m.eml", keys, raw


def test_check_needs_a_proof_of_time(signed) -> None:
    eml, keys, _ = signed
    out = json.loads(run("check", eml, "--keys", keys, "--json", check_rc=4).stdout)
    assert out["verdict"] == "unverified"
    [f] = [f for f in out["findings"] if f["code"] == "dkim.key_compromised"]
    assert f["evidence"]["proven_before"] is False and f["evidence"]["private_published"] == "2018-01-01"
    # A publication date after the exposure proves nothing either.
    run("check", eml, "--keys", keys, "--published", "2018-06-01", check_rc=4)
    # One before it does, and the finding states the window.
    out = json.loads(run("check", eml, "--keys", keys, "--published", "2017-05-05", "--json", check_rc=0).stdout)
    [f] = [f for f in out["findings"] if f["code"] == "dkim.key_compromised"]
    assert f["evidence"]["proven_before"] is True and "2017-05-05" in f["message"]
    # A timestamp needs its source.
    p = run("check", eml, "--keys", keys, "--existed-by", "2017-06-01")
    assert p.returncode == 2 and "--source" in p.stderr and "Traceback" not in p.stderr
    run("check", eml, "--keys", keys, "--existed-by", "2017-06-01", "--source", "OpenTimestamps m.eml.ots", check_rc=0)


def test_case_timestamp_makes_it_verified(signed, tmp_path) -> None:
    eml, keys, raw = signed
    case = tmp_path / "case"
    run("ingest", "-q", "--case", case, eml.parent, check_rc=0)
    run("verify", "-q", "--case", case, "--keys", keys, check_rc=0)
    report = json.loads(run("report", "--case", case, "--format", "json", check_rc=0).stdout)
    [item] = [i for i in report["items"] if i["kind"] == "email"]
    assert item["verdict"] == "unverified"
    out = run("timestamp", eml, "--at", "2017-05-03", "--source", "archive.example copy of 2017-05-03", "--case", case)
    assert out.returncode == 0 and sha(raw) in out.stdout
    run("verify", "-q", "--case", case, check_rc=0)  # re-checked: the recorded timestamp is new
    report = json.loads(run("report", "--case", case, "--format", "json", check_rc=0).stdout)
    [item] = [i for i in report["items"] if i["kind"] == "email"]
    assert item["verdict"] == "verified"
    [f] = [f for f in item["findings"] if f["code"] == "dkim.key_compromised"]
    assert "archive.example copy" in f["message"]
