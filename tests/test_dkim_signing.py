"""DKIM and ARC findings on messages signed in the test with real keys (dkimpy), no mocks.

Keys are generated once per module: RSA-2048 and RSA-1024 with cryptography, RSA-512 with
`openssl genrsa` (cryptography refuses to make keys that small), Ed25519 with pynacl.
"""

from __future__ import annotations

import base64
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import dkim
import nacl.signing
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import HASH_ALGORITHMS, parse_pem_private_key

from leaklens.verify.keys import KeyArchive, KeyRecord
from leaklens.verify.message import verify_message
from leaklens.verify.verdict import inherits_verification

AUTHOR = "author.example"


@dataclass(frozen=True)
class SigningKey:
    domain: str
    selector: str
    private: bytes  # what dkimpy's sign wants: PKCS#1 PEM for RSA, base64 seed for Ed25519
    record: str
    algorithm: bytes = b"rsa-sha256"

    def archived(self, **kw: str | None) -> KeyRecord:
        return KeyRecord(self.domain, self.selector, self.record, "generated in test", **kw)


def _rsa_key(bits: int, domain: str, selector: str) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(domain, selector, pem, f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}")


@pytest.fixture(scope="module")
def rsa2048() -> SigningKey:
    return _rsa_key(2048, AUTHOR, "s2048")


@pytest.fixture(scope="module")
def rsa1024() -> SigningKey:
    return _rsa_key(1024, AUTHOR, "s1024")


@pytest.fixture(scope="module")
def rsa512(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    folder = tmp_path_factory.mktemp("rsa512")
    pem = subprocess.run(["openssl", "genrsa", "-traditional", "512"], check=True, capture_output=True).stdout
    (folder / "k.pem").write_bytes(pem)
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(folder / "k.pem"), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return SigningKey(AUTHOR, "s512", pem, f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}")


@pytest.fixture(scope="module")
def ed25519() -> SigningKey:
    sk = nacl.signing.SigningKey.generate()
    return SigningKey(
        AUTHOR,
        "ed",
        base64.b64encode(bytes(sk)),
        f"v=DKIM1; k=ed25519; p={base64.b64encode(bytes(sk.verify_key)).decode()}",
        b"ed25519-sha256",
    )


@pytest.fixture(scope="module")
def esp_key() -> SigningKey:
    return _rsa_key(2048, "esp-mailer.example", "esp")


@pytest.fixture(scope="module")
def list_key() -> SigningKey:
    return _rsa_key(2048, "lists.example.org", "arc")


MESSAGE = (
    b"Received: from mail.author.example (mail.author.example [192.0.2.1])\r\n"
    b"\tby mx.recipient.example with ESMTPS id abc123; Tue, 3 Jan 2017 12:32:05 -0800\r\n"
    b"From: Alice Author <alice@author.example>\r\n"
    b"To: Bob <bob@recipient.example>\r\n"
    b"Subject: Quarterly figures\r\n"
    b"Date: Tue, 3 Jan 2017 12:31:41 -0800\r\n"
    b"Message-ID: <q1@author.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Bob,\r\n"
    b"the figures are attached as agreed. Please keep them confidential.\r\n"
    b"Alice\r\n"
)
GMAIL_STYLE = [b"subject", b"from", b"content-type", b"message-id", b"date", b"to", b"mime-version"]


def sign(msg: bytes, key: SigningKey, **kw: object) -> bytes:
    header = dkim.sign(
        msg, key.selector.encode(), key.domain.encode(), key.private, signature_algorithm=key.algorithm, **kw
    )
    return header + msg


def sign_with_times(msg: bytes, key: SigningKey, t: int, x: int) -> bytes:
    """dkimpy's `sign` always stamps t=now and never x=; build those tags and let dkimpy's gen_header sign."""
    signer = dkim.DKIM(msg)
    signer.hasher = HASH_ALGORITHMS[b"rsa-sha256"]
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/simple")
    bh = base64.b64encode(signer.hasher(policy.canonicalize_body(signer.body)).digest())
    include = [b"from", b"to", b"subject", b"date"]
    fields = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", b"relaxed/simple"),
        (b"d", key.domain.encode()),
        (b"s", key.selector.encode()),
        (b"t", str(t).encode()),
        (b"x", str(x).encode()),
        (b"h", b" : ".join(include)),
        (b"bh", bh),
        (b"b", b"0" * 60),
    ]
    value = signer.gen_header(fields, include, policy, b"DKIM-Signature", parse_pem_private_key(key.private))
    return b"DKIM-Signature: " + value + msg


def archive(*keys: SigningKey) -> KeyArchive:
    return KeyArchive(k.archived() for k in keys)


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def finding(result, code: str):
    matches = [f for f in result.findings if f.code == code]
    assert matches, f"{code} not in {codes(result)}"
    return matches[0]


# --- passing signatures ------------------------------------------------------------------------


def test_rsa2048_signature_verifies(rsa2048: SigningKey) -> None:
    result = verify_message(sign(MESSAGE, rsa2048), archive(rsa2048))
    assert result.verdict == "verified"
    assert codes(result) == ["dkim.pass"]
    sig = result.signatures[0]
    assert (sig["algorithm"], sig["d"], sig["s"], sig["key_bits"], sig["result"]) == (
        "rsa-sha256",
        AUTHOR,
        "s2048",
        2048,
        "pass",
    )
    assert "from" in sig["h"] and sig["t"] is not None and sig["key"]["source"] == "generated in test"
    assert result.keys_used == [(AUTHOR, "s2048")] and result.keys_missing == []
    assert result.summary.startswith("Verified.") and "does not prove who typed" in result.summary
    assert inherits_verification(result.findings)


def test_rsa1024_is_strong_enough(rsa1024: SigningKey) -> None:
    result = verify_message(sign(MESSAGE, rsa1024), archive(rsa1024))
    assert result.verdict == "verified"
    assert result.signatures[0]["key_bits"] == 1024


def test_ed25519_signature_verifies(ed25519: SigningKey) -> None:
    result = verify_message(sign(MESSAGE, ed25519), archive(ed25519))
    assert result.verdict == "verified", codes(result)
    assert result.signatures[0]["algorithm"] == "ed25519-sha256"
    assert result.signatures[0]["key_type"] == "ed25519"


def test_key_window_is_stated(rsa2048: SigningKey) -> None:
    keys = KeyArchive([rsa2048.archived(first_seen="2016-01-01", last_seen="2018-06-30")])
    result = verify_message(sign(MESSAGE, rsa2048), keys)
    f = finding(result, "dkim.pass")
    assert "between 2016-01-01 and 2018-06-30" in f.message
    assert f.evidence["key"] == {
        "source": "generated in test",
        "first_seen": "2016-01-01",
        "last_seen": "2018-06-30",
    }


def test_dual_signed_with_one_key_missing_is_verified(rsa2048: SigningKey, ed25519: SigningKey) -> None:
    signed = sign(sign(MESSAGE, rsa2048), ed25519)
    result = verify_message(signed, archive(rsa2048))
    assert result.verdict == "verified"
    assert [s["result"] for s in result.signatures] == ["key_unavailable", "pass"]
    assert result.keys_missing == [(AUTHOR, "ed")]
    assert result.keys_used == [(AUTHOR, "s2048")]


# --- altered -----------------------------------------------------------------------------------


def test_list_footer_breaks_body_hash(rsa2048: SigningKey) -> None:
    signed = sign(MESSAGE, rsa2048) + b"--\r\nTo unsubscribe, write to list-leave@lists.example.org\r\n"
    result = verify_message(signed, archive(rsa2048))
    assert result.verdict == "altered"
    f = finding(result, "dkim.body_hash_mismatch")
    assert f.severity == "critical"
    # The header signature (which covers bh=) still validates: proof the signed body was different.
    assert f.evidence["header_signature_valid"] is True
    assert "mailing lists" in f.message
    assert "dkim.pass" not in codes(result) and "dkim.header_mismatch" not in codes(result)
    assert result.summary.startswith("Altered")


def test_changed_subject_is_a_header_mismatch(rsa2048: SigningKey) -> None:
    signed = sign(MESSAGE, rsa2048).replace(
        b"Subject: Quarterly figures", b"Subject: Quarterly figures (fake)"
    )
    result = verify_message(signed, archive(rsa2048))
    assert result.verdict == "altered"
    assert "dkim.header_mismatch" in codes(result)
    assert result.signatures[0]["body_hash_matches"] is True


def test_prepended_from_is_named_as_unsigned(rsa2048: SigningKey) -> None:
    # Signed like Gmail: From listed once in h=, so a second From above it is not covered.
    signed = sign(MESSAGE, rsa2048, include_headers=GMAIL_STYLE)
    forged = b"From: Mallory <ceo@author.example>\r\n" + signed
    result = verify_message(forged, archive(rsa2048))
    assert result.signatures[0]["result"] == "pass"
    assert result.verdict == "suspicious"
    f = finding(result, "dkim.unsigned_header")
    assert f.evidence["header"] == "From" and f.evidence["present"] == 2 and f.evidence["signed"] == 1
    assert "ceo@author.example" in f.evidence["unsigned_values"][0]


def test_prepended_from_against_oversigned_from_fails(rsa2048: SigningKey) -> None:
    # dkimpy's default h= signs From twice, which locks out an added From: the signature then fails.
    signed = sign(MESSAGE, rsa2048)
    assert verify_message(signed, archive(rsa2048)).signatures[0]["h"].count("from") == 2
    result = verify_message(b"From: Mallory <ceo@author.example>\r\n" + signed, archive(rsa2048))
    assert result.verdict == "altered"
    assert "dkim.header_mismatch" in codes(result)


def test_unsigned_cc_and_reply_to_are_suspicious(rsa2048: SigningKey) -> None:
    msg = MESSAGE.replace(
        b"Subject:", b"Cc: Carol <carol@recipient.example>\r\nReply-To: x@evil.example\r\nSubject:"
    )
    result = verify_message(sign(msg, rsa2048, include_headers=GMAIL_STYLE), archive(rsa2048))
    assert result.verdict == "suspicious"
    named = sorted(f.evidence["header"] for f in result.findings if f.code == "dkim.unsigned_header")
    assert named == ["Cc", "Reply-To"]


def test_deleting_an_unsigned_header_keeps_it_verified(rsa2048: SigningKey) -> None:
    signed = sign(MESSAGE, rsa2048)
    stripped = b"".join(
        line for line in signed.splitlines(keepends=True) if not line.startswith((b"Received:", b"\tby mx"))
    )
    assert stripped != signed
    assert verify_message(stripped, archive(rsa2048)).verdict == "verified"


# --- length limit ------------------------------------------------------------------------------


def test_length_limit_with_appended_text(rsa2048: SigningKey) -> None:
    signed = sign(MESSAGE, rsa2048, length=True) + b"P.S. Wire the money to account 1234 today.\r\n"
    result = verify_message(signed, archive(rsa2048))
    assert result.signatures[0]["result"] == "pass"
    assert result.verdict == "suspicious"
    f = finding(result, "dkim.length_limited")
    assert "Wire the money" in f.evidence["unsigned_tail"] and "Wire the money" in f.message
    assert not inherits_verification(result.findings)


def test_length_limit_covering_the_whole_body_is_verified(rsa2048: SigningKey) -> None:
    result = verify_message(sign(MESSAGE, rsa2048, length=True), archive(rsa2048))
    assert result.verdict == "verified"
    assert result.signatures[0]["l"] is not None
    assert "dkim.length_limited" not in codes(result)


# --- keys --------------------------------------------------------------------------------------


def test_missing_key_says_how_to_import(rsa2048: SigningKey) -> None:
    result = verify_message(sign(MESSAGE, rsa2048), KeyArchive())
    assert result.verdict == "unverified"
    f = finding(result, "dkim.key_unavailable")
    assert "leaklens keys import" in f.message
    assert result.keys_missing == [(AUTHOR, "s2048")] and result.keys_used == []


def test_missing_key_with_changed_body_is_suspicious_not_altered(rsa2048: SigningKey) -> None:
    result = verify_message(sign(MESSAGE, rsa2048) + b"added\r\n", KeyArchive())
    assert result.verdict == "suspicious"
    assert finding(result, "dkim.key_unavailable").evidence["body_hash_matches"] is False


def test_revoked_key(rsa2048: SigningKey) -> None:
    keys = KeyArchive([KeyRecord(AUTHOR, "s2048", "v=DKIM1; k=rsa; p=", "DNS today")])
    result = verify_message(sign(MESSAGE, rsa2048), keys)
    assert result.verdict == "unverified"
    assert "dkim.key_revoked" in codes(result)
    assert result.keys_missing == [(AUTHOR, "s2048")]
    # With the historical key imported next to the revocation, it verifies.
    keys.add([rsa2048.archived()])
    assert verify_message(sign(MESSAGE, rsa2048), keys).verdict == "verified"


def test_weak_key_is_never_verified(rsa512: SigningKey) -> None:
    result = verify_message(sign(MESSAGE, rsa512), archive(rsa512))
    assert result.signatures[0]["result"] == "pass" and result.signatures[0]["key_bits"] == 512
    assert result.verdict == "unverified"
    assert "dkim.weak_key" in codes(result) and "dkim.pass" not in codes(result)
    assert not inherits_verification(result.findings)


def test_weak_key_still_detects_changes(rsa512: SigningKey) -> None:
    result = verify_message(sign(MESSAGE, rsa512) + b"x\r\n", archive(rsa512))
    assert result.verdict == "altered"


def test_wrong_key_under_the_same_selector_is_not_verified(rsa2048: SigningKey, rsa1024: SigningKey) -> None:
    impostor = KeyRecord(AUTHOR, "s2048", rsa1024.record, "a different key reusing the selector")
    result = verify_message(sign(MESSAGE, rsa2048), KeyArchive([impostor]))
    assert result.verdict != "verified"
    assert "dkim.header_mismatch" in codes(result)


# --- time --------------------------------------------------------------------------------------


def test_expired_signature_is_judged_at_signing_time(rsa2048: SigningKey) -> None:
    t = int(datetime(2016, 3, 1, tzinfo=UTC).timestamp())
    signed = sign_with_times(MESSAGE, rsa2048, t=t, x=t + 7 * 86400)
    assert (
        dkim.verify(signed, dnsfunc=lambda name, timeout=5: rsa2048.record.encode()) is False
    )  # dkimpy alone
    result = verify_message(signed, archive(rsa2048))
    assert result.verdict == "verified"
    f = finding(result, "dkim.expired")
    assert f.evidence["x"] == t + 7 * 86400 and "2016-03-01" in f.message


def test_expiry_before_signing_time_is_malformed(rsa2048: SigningKey) -> None:
    t = int(time.time()) - 86400
    result = verify_message(sign_with_times(MESSAGE, rsa2048, t=t, x=t - 60), archive(rsa2048))
    assert result.verdict == "unverified"
    assert "dkim.malformed" in codes(result)


# --- who signed --------------------------------------------------------------------------------


def test_signer_not_author(esp_key: SigningKey) -> None:
    # Issue 10: a valid signature by an unrelated domain proves only that its system handled the message.
    result = verify_message(sign(MESSAGE, esp_key), archive(esp_key))
    assert result.signatures[0]["result"] == "pass" and not result.signatures[0]["aligned"]
    assert result.verdict == "unverified"
    f = finding(result, "dkim.signer_not_author")
    assert f.severity == "info"
    assert f.evidence == {"signers": ["esp-mailer.example"], "from_domains": [AUTHOR], "customer_domain": None}
    assert "esp-mailer.example" in result.summary


def test_subdomain_signer_is_aligned() -> None:
    from leaklens.verify.dkim_check import aligned

    assert aligned("author.example", "mail.author.example")
    assert aligned("mail.author.example", "author.example")
    assert not aligned("author.example", "notauthor.example")
    assert not aligned("author.example", None)


# --- malformed signatures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        b"DKIM-Signature: v=1; a=rsa-sha256; d=a.example; d=b.example; s=x; h=from; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=author.example; s=x; h=from; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-md5; d=author.example; s=x; h=from; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; c=weird/thing; d=a.example; s=x; h=from; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=author.example; s=x; h=from; bh=AAAA; b=AAAA; t=yesterday\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=a.example; i=a.example; s=x; h=from; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=x; h=from; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=a.example; s=x; h=to:subject; bh=AAAA; b=AAAA\r\n",
        b"DKIM-Signature: garbage without tags\r\n",
        b"DKIM-Signature: \r\n",
    ],
)
def test_malformed_signature_is_a_finding(header: bytes, rsa2048: SigningKey) -> None:
    result = verify_message(header + MESSAGE, archive(rsa2048))
    assert result.verdict == "unverified"
    assert codes(result)[0] == "dkim.malformed"
    assert result.signatures[0]["result"] == "malformed"


# --- ARC: forwarded through a mailing list -----------------------------------------------------


def _through_list(signed: bytes, list_key: SigningKey) -> bytes:
    """What a list does: tag the subject, add a footer, record its DKIM check, then ARC-seal."""
    relayed = signed.replace(b"Subject: Quarterly figures", b"Subject: [staff] Quarterly figures")
    relayed += b"--\r\nstaff mailing list - https://lists.example.org/staff\r\n"
    relayed = (
        b"Authentication-Results: lists.example.org; dkim=pass header.d=author.example "
        b"header.s=s2048; spf=pass smtp.mailfrom=author.example\r\n"
    ) + relayed
    arc_headers = dkim.arc_sign(
        relayed, list_key.selector.encode(), list_key.domain.encode(), list_key.private, b"lists.example.org"
    )
    assert len(arc_headers) == 3
    return b"".join(arc_headers) + relayed


def test_arc_sealed_forward_through_a_list(rsa2048: SigningKey, list_key: SigningKey) -> None:
    forwarded = _through_list(sign(MESSAGE, rsa2048), list_key)
    result = verify_message(forwarded, archive(rsa2048, list_key))
    assert result.verdict == "altered"  # the list did change it; ARC explains, never verifies
    assert "dkim.body_hash_mismatch" in codes(result)
    assert result.arc is not None and result.arc["cv"] == "pass" and result.arc["hops"] == 1
    assert result.arc["sealers"][0]["seal_domain"] == "lists.example.org"
    recorded = finding(result, "arc.dkim_pass_recorded")
    assert recorded.evidence["first_hop"]["result"] == "pass"
    assert recorded.evidence["first_hop"]["header.d"] == "author.example"
    assert "lists.example.org" in result.summary
    assert set(result.keys_used) == {(AUTHOR, "s2048"), ("lists.example.org", "arc")}


def test_arc_without_sealer_key(rsa2048: SigningKey, list_key: SigningKey) -> None:
    forwarded = _through_list(sign(MESSAGE, rsa2048), list_key)
    result = verify_message(forwarded, archive(rsa2048))
    assert result.arc["cv"] == "fail"
    assert "arc.key_unavailable" in codes(result) and "arc.dkim_pass_recorded" not in codes(result)
    assert ("lists.example.org", "arc") in result.keys_missing


def test_tampered_arc_seal_fails(rsa2048: SigningKey, list_key: SigningKey) -> None:
    forwarded = _through_list(sign(MESSAGE, rsa2048), list_key)
    tampered = forwarded.replace(b"staff mailing list", b"staff mailing lust")
    result = verify_message(tampered, archive(rsa2048, list_key))
    assert result.arc["cv"] == "fail"
    assert "arc.fail" in codes(result) and "arc.pass" not in codes(result)
