"""An adversarial corpus: forged, ambiguous and authentic messages, signed at test time with real keys.

Built the way a forger and a sceptical expert would build it (Chen, Paxson and Jiang, "Composition
Kills", USENIX Security 2020; RFC 5322 with its §4 obsolete syntax; RFC 6376; RFC 7489 alignment;
RFC 8301; RFC 2047 §5). Every signature is made by dkimpy (`dkim.sign`, or dkimpy's own `gen_header`
where a tag `sign` does not let us choose, such as t= and x=) with keys generated here: RSA-2048 and
RSA-1024 with `cryptography`, RSA-512 and RSA-768 with `openssl genrsa` (cryptography refuses keys
that small), Ed25519 with pynacl. A forgery is applied to the signed bytes afterwards, or set up
before signing, exactly as an attacker would do it: the attacker never holds the victim's key
(except where the victim's key is one whose private half was published, the point of that class).

Each `AdvCase` says what it must come to: `VERIFIED` for authentic controls (every code listed must
be present), `NOT_VERIFIED` for attacks (the verdict is altered, suspicious or unverified, never
verified nor error, and at least one listed code explains it, so a right verdict for the wrong
reason still fails).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from pathlib import Path

import dkim
import nacl.encoding
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import HASH_ALGORITHMS, parse_pem_private_key
from helpers import GMAIL

from leaklens.verify.keys import KeyRecord

VERIFIED = "verified"
NOT_VERIFIED = "not verified"
# What an attack may come to: anything but verified, and never a crash ("error").
NOT_VERIFIED_VERDICTS = ("altered", "suspicious", "unverified")

VICTIM = "example.org"
ATTACKER = "attacker.net"
PARTNER = "partner.net"
GAPPS = "example-org.20210112.gappssmtp.com"

# h= as Gmail signs: From once, so a From added above it leaves the signature valid (RFC 6376 §5.4.2).
ONCE = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type")
# Oversigned: From and Subject (and To, Date) listed once more than present, which locks out additions.
OVERSIGNED = ONCE + (b"from", b"subject", b"to", b"date")
RELAXED = (b"relaxed", b"relaxed")
SIMPLE = (b"simple", b"simple")

# Why dkimpy's `verify` may refuse a signature leaklens reports as passing, and the finding that must
# then explain it in leaklens's result (None: nothing to explain, dkimpy is the one that is wrong).
DKIMPY_DIFFERS: dict[str, tuple[str, str | None]] = {
    "extra_from": (
        "dkimpy hashes one From more than h= lists (its bug#644046 guard), so a From added above the "
        "signed one breaks it; RFC 6376 selection keeps the signature valid and the extra From is named",
        "headers.multiple_from",
    ),
    "dkimpy_parse": (
        "dkimpy's rfc822_parse refuses the header block (a line it cannot read, or a first line that "
        "is a continuation), so it checks nothing",
        "headers.ambiguous",
    ),
    "weak_key": (
        "dkimpy refuses RSA keys under 1024 bits (minkey); leaklens checks the math, reports it, and never "
        "verifies with such a key",
        "dkim.weak_key",
    ),
    "expired": ("dkimpy judges x= by today's clock; leaklens as of the signature's t=", "dkim.expired"),
    "future": (
        "dkimpy refuses a t= more than 10 hours ahead; leaklens checks the math but does not count the signature",
        "dkim.future_timestamp",
    ),
    "service_list": (
        "dkimpy compares the key's s= with one value; RFC 6376 §3.6.1 makes it a colon-separated list, "
        "and s=tlsrpt:email includes email",
        None,
    ),
}


@dataclass(frozen=True)
class Material:
    """One private key and its public half, as dkimpy and a DKIM TXT record want them."""

    private: bytes  # PKCS#1 PEM for RSA, base64 seed for Ed25519
    public: str  # base64 p= value
    kind: str = "rsa"  # rsa or ed25519
    bits: int = 2048

    @property
    def algorithm(self) -> bytes:
        return b"ed25519-sha256" if self.kind == "ed25519" else b"rsa-sha256"

    def parsed(self):
        """The private key object dkimpy's gen_header signs with."""
        if self.kind == "ed25519":
            return nacl.signing.SigningKey(self.private, encoder=nacl.encoding.Base64Encoder)
        return parse_pem_private_key(self.private)


@dataclass(frozen=True)
class Signer:
    """A key published at `selector._domainkey.domain`, with the key record's extra tags."""

    material: Material
    domain: str
    selector: str
    tags: str = ""  # extra key-record tags, e.g. "t=y; "
    archive: tuple[tuple[str, object], ...] = ()  # extra KeyRecord fields (private_published, signs_for, ...)
    record_text: str | None = None  # the whole key record, when it is not a DKIM1 record built from tags

    @property
    def record(self) -> str:
        return self.record_text or f"v=DKIM1; k={self.material.kind}; {self.tags}p={self.material.public}"

    def key(self) -> KeyRecord:
        return KeyRecord(
            domain=self.domain,
            selector=self.selector,
            record=self.record,
            source="generated in the adversarial corpus",
            **dict(self.archive),
        )


@dataclass(frozen=True)
class AdvCase:
    name: str
    klass: str
    raw: bytes
    keys: tuple[KeyRecord, ...]
    expect: str  # VERIFIED or NOT_VERIFIED
    codes: tuple[str, ...]  # controls: all present; attacks: at least one present
    why: str
    published: datetime | None = None
    timestamps: tuple[tuple[datetime, str], ...] = ()
    # (code, evidence key, value): some finding with that code must carry that evidence value.
    evidence: tuple[tuple[str, str, object], ...] = ()
    # Signatures (by index) leaklens passes and dkimpy refuses, with the DKIMPY_DIFFERS reason.
    dkimpy_differs: tuple[tuple[int, str], ...] = ()
    # Set for a message that reaches a case only inside another one (the name of the carrier).
    inside: str | None = None


# --- keys ------------------------------------------------------------------------------------


def _rsa(bits: int) -> Material:
    k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return Material(pem, base64.b64encode(der).decode(), "rsa", bits)


def _openssl_rsa(bits: int) -> Material:
    """Keys under 1024 bits, which cryptography refuses to generate."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k.pem"
        pem = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)], check=True, capture_output=True).stdout
        path.write_bytes(pem)
        der = subprocess.run(
            ["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"], check=True, capture_output=True
        ).stdout
    return Material(pem, base64.b64encode(der).decode(), "rsa", bits)


def _ed25519() -> Material:
    sk = nacl.signing.SigningKey.generate()
    return Material(base64.b64encode(bytes(sk)), base64.b64encode(bytes(sk.verify_key)).decode(), "ed25519", 256)


@dataclass(frozen=True)
class KeySet:
    victim: Material
    victim_1024: Material
    victim_ed: Material
    victim_512: Material
    victim_768: Material
    leaked: Material  # the victim's old key whose private half its operator published
    attacker: Material
    google: Material
    partner: Material


@cache
def keyset() -> KeySet:
    return KeySet(
        victim=_rsa(2048),
        victim_1024=_rsa(1024),
        victim_ed=_ed25519(),
        victim_512=_openssl_rsa(512),
        victim_768=_openssl_rsa(768),
        leaked=_rsa(2048),
        attacker=_rsa(2048),
        google=_rsa(2048),
        partner=_rsa(2048),
    )


def record_supports(name: str) -> bool:
    """Whether KeyRecord has this field yet (the lead is adding private_published and signs_for)."""
    return name in {f.name for f in fields(KeyRecord)}


# --- messages --------------------------------------------------------------------------------

_WORDS = (
    "budget ledger printer invoice campaign meeting quarterly figures draft review contract supplier "
    "board minutes transfer account deadline schedule travel hotel venue press release statement "
    "interview donor pledge audit compliance office lease renewal payroll bonus pension insurance "
    "vendor shipment customs warehouse inventory forecast margin revenue expense receipt refund "
    "tender bid proposal committee chair agenda vote motion amendment clause signature witness "
    "notary archive folder scan copy original version final summary annex appendix table chart "
    "river harbour bridge tunnel station airport ferry coach taxi parking garden orchard vineyard "
    "bakery market square cathedral museum library theatre opera stadium clinic pharmacy school "
    "lantern copper velvet marble granite cedar maple willow heron falcon otter badger lynx"
).split()


def _text(seed: str, words: int) -> str:
    digest = hashlib.sha256(seed.encode()).digest() * 8
    return " ".join(_WORDS[b % len(_WORDS)] for b in digest[:words])


def body_for(name: str) -> bytes:
    """A body of its own for every case, so no two messages are near-copies of each other."""
    lines = [_text(f"{name}/{i}", 9).capitalize() + "." for i in range(4)]
    return ("\r\n".join(lines) + "\r\n").encode()


def now_date(offset: int = -120) -> str:
    return format_datetime(datetime.fromtimestamp(time.time() + offset, UTC))


def message(
    name: str,
    *,
    sender: str | bytes | None = "Alice Martin <alice@example.org>",
    to: str = "Bob Stone <bob@example.net>",
    date: str | None = None,
    extra: Sequence[tuple[str, str | bytes]] = (),
    body: bytes | None = None,
    content_type: str = "text/plain; charset=utf-8",
    domain: str = VICTIM,
) -> bytes:
    """A plain message with CRLF line ends; `sender=None` leaves out From."""
    subject = "Re: " + _text(f"{name}/subject", 4)
    fields_: list[tuple[str, str | bytes]] = []
    if sender is not None:
        fields_.append(("From", sender))
    fields_ += [
        ("To", to),
        ("Subject", subject),
        ("Date", date or now_date()),
        ("Message-ID", f"<{name}@{domain}>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", content_type),
        ("Content-Transfer-Encoding", "7bit"),
        *extra,
    ]
    head = b"".join((k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n") for k, v in fields_)
    return head + b"\r\n" + (body_for(name) if body is None else body)


# --- signing -----------------------------------------------------------------------------------


def sign(
    msg: bytes,
    signer: Signer,
    *,
    include: Iterable[bytes] = ONCE,
    canon: tuple[bytes, bytes] = RELAXED,
    algorithm: bytes | None = None,
    identity: bytes | None = None,
    length: bool = False,
    linesep: bytes = b"\r\n",
    domain: bytes | None = None,
    selector: bytes | None = None,
) -> bytes:
    """The message with a DKIM-Signature by dkimpy's `dkim.sign` on top."""
    header = dkim.sign(
        msg,
        selector or signer.selector.encode(),
        domain or signer.domain.encode(),
        signer.material.private,
        identity=identity,
        canonicalize=canon,
        signature_algorithm=algorithm or signer.material.algorithm,
        include_headers=list(include),
        length=length,
        linesep=linesep,
    )
    return header + msg


def sign_tags(
    msg: bytes,
    signer: Signer,
    *,
    tags: Sequence[tuple[bytes, bytes]],
    include: Sequence[bytes] = ONCE,
    canon: bytes = b"relaxed/relaxed",
    algorithm: bytes | None = None,
) -> bytes:
    """A signature with tags `dkim.sign` does not let us choose (t=, x=): dkimpy's own gen_header signs it."""
    algorithm = algorithm or signer.material.algorithm
    dk = dkim.DKIM(msg, signature_algorithm=algorithm)
    dk.hasher = HASH_ALGORITHMS[algorithm]
    policy = CanonicalizationPolicy.from_c_value(canon)
    bh = base64.b64encode(dk.hasher(policy.canonicalize_body(dk.body)).digest())
    sig_fields = [
        (b"v", b"1"),
        (b"a", algorithm),
        (b"c", canon),
        (b"d", signer.domain.encode()),
        (b"s", signer.selector.encode()),
        *tags,
        (b"h", b" : ".join(include)),
        (b"bh", bh),
        (b"b", b"0" * 60),
    ]
    value = dk.gen_header(sig_fields, list(include), policy, b"DKIM-Signature", signer.material.parsed())
    return b"DKIM-Signature: " + value + msg


def ts(dt: datetime) -> bytes:
    return str(int(dt.timestamp())).encode()


# --- the corpus ----------------------------------------------------------------------------------


class _Builder:
    def __init__(self, ks: KeySet) -> None:
        self.ks = ks
        self.cases: list[AdvCase] = []
        self.victim = Signer(ks.victim, VICTIM, "s2048")
        self.attacker = Signer(ks.attacker, ATTACKER, "att")
        self.partner = Signer(ks.partner, PARTNER, "p1")

    def add(
        self,
        klass: str,
        name: str,
        raw: bytes,
        signers: Iterable[Signer],
        expect: str,
        codes: Iterable[str],
        why: str,
        **kw: object,
    ) -> AdvCase:
        case = AdvCase(name, klass, raw, tuple(s.key() for s in signers), expect, tuple(codes), why, **kw)
        self.cases.append(case)
        return case

    def attack(
        self, klass: str, name: str, raw: bytes, signers: Iterable[Signer], codes: Iterable[str], why: str, **kw: object
    ) -> AdvCase:
        return self.add(klass, name, raw, signers, NOT_VERIFIED, codes, why, **kw)

    def control(
        self,
        klass: str,
        name: str,
        raw: bytes,
        signers: Iterable[Signer],
        why: str,
        codes: Iterable[str] = ("dkim.pass",),
        **kw: object,
    ) -> AdvCase:
        return self.add(klass, name, raw, signers, VERIFIED, codes, why, **kw)

    def signed(self, name: str, signer: Signer | None = None, **kw: object) -> bytes:
        """An authentic message from alice@example.org, signed by example.org (From once in h=)."""
        return sign(message(name, **kw), signer or self.victim)


def _controls(b: _Builder) -> None:
    k, v = "control", b.victim
    b.control(
        k,
        "relaxed_relaxed",
        sign(message("relaxed_relaxed"), v, canon=RELAXED),
        [v],
        "relaxed/relaxed canonicalisation",
    )
    b.control(
        k, "simple_simple", sign(message("simple_simple"), v, canon=SIMPLE), [v], "simple/simple canonicalisation"
    )
    b.control(
        k,
        "relaxed_simple",
        sign(message("relaxed_simple"), v, canon=(b"relaxed", b"simple")),
        [v],
        "dkimpy's default relaxed/simple",
    )
    lf = message("lf_only_file").replace(b"\r\n", b"\n")
    b.control(
        k,
        "lf_only_file",
        sign(lf, v, linesep=b"\n"),
        [v],
        "a file saved with LF line ends (signed as CRLF on the wire, as dkimpy and RFC 6376 read it)",
    )
    empty = message("empty_body", body=b"")
    b.control(k, "empty_body", sign(empty, v, canon=SIMPLE), [v], "no body at all, simple canonicalisation")
    b.control(
        k,
        "empty_body_relaxed",
        sign(message("empty_body_relaxed", body=b""), v),
        [v],
        "no body at all, relaxed canonicalisation",
    )
    b.control(
        k,
        "parent_domain_signer",
        sign(message("parent_domain_signer", sender="Alice Martin <alice@mail.example.org>"), v),
        [v],
        "From at mail.example.org, d=example.org: the same organisational domain (RFC 7489 relaxed)",
    )
    sub = Signer(b.ks.victim, "mail.example.org", "sub")
    b.control(
        k,
        "subdomain_signer",
        sign(message("subdomain_signer"), sub),
        [sub],
        "From at example.org, d=mail.example.org: aligned the other way round",
    )
    nopsl = Signer(b.ks.victim, "author.example", "s1")
    b.control(
        k,
        "parent_domain_unlisted_tld",
        sign(
            message("parent_domain_unlisted_tld", sender="Alice <alice@mail.author.example>", domain="author.example"),
            nopsl,
        ),
        [nopsl],
        "a TLD the PSL does not list (.example): its default rule '*' makes author.example the "
        "organisational domain of mail.author.example",
    )
    b.control(
        k,
        "oversigned_headers",
        sign(message("oversigned_headers"), v, include=OVERSIGNED),
        [v],
        "h= lists from, subject, to and date twice, which locks out added copies",
    )
    ed = Signer(b.ks.victim_ed, VICTIM, "ed")
    b.control(k, "ed25519", sign(message("ed25519"), ed), [ed], "an Ed25519 signature (RFC 8463)")
    dual = sign(sign(message("dual_ed_missing"), v), ed)
    b.control(k, "dual_ed_missing", dual, [v], "RSA and Ed25519 signatures, the Ed25519 key not in the archive")
    dual2 = sign(sign(message("dual_rsa_missing"), v), ed)
    b.control(k, "dual_rsa_missing", dual2, [ed], "RSA and Ed25519 signatures, the RSA key not in the archive")
    # What must not over-fire: ordinary messages whose From is unusual but unambiguous.
    for name, sender in (
        ("folded_from_value", b"Alice Martin\r\n <alice@example.org>"),
        ("encoded_display_name_plain", "=?utf-8?q?Ana=C3=AFs_Martin?= <alice@example.org>"),
        ("display_name_same_address", '"alice@example.org" <alice@example.org>'),
        ("display_name_same_address_case", '"Alice@Example.ORG" <alice@example.org>'),
        ("comment_plain", "alice@example.org (Alice Martin, finance)"),
        ("quoted_comma_display", '"Martin, Alice" <alice@example.org>'),
        ("uppercase_address", "Alice Martin <ALICE@EXAMPLE.ORG>"),
        ("latin1_display_name", "Ana\xefs Martin <alice@example.org>".encode("latin-1")),
    ):
        b.control(
            k,
            name,
            sign(message(name, sender=sender), v),
            [v],
            "an unusual but unambiguous From (one mailbox at example.org) must stay verified",
        )
    for name, sender in (
        ("two_mailboxes_same_organisation", "Alice <alice@example.org>, Bob <bob@mail.example.org>"),
        ("group_aligned", "Finance: Alice <alice@example.org>, bob@example.org;"),
    ):
        b.control(
            k,
            name,
            sign(message(name, sender=sender, extra=[("Sender", "alice@example.org")]), v, include=ONCE + (b"sender",)),
            [v],
            "several mailboxes (RFC 5322 §3.6.2, RFC 6854 group), every one aligned with d=example.org",
        )
    for name, domain, sender in (
        ("parent_domain_multi_label_suffix", "example.co.uk", "Alice <alice@sub.example.co.uk>"),
        ("private_suffix_own_domain", "victim.github.io", "Alice <alice@victim.github.io>"),
    ):
        own = Signer(b.ks.victim, domain, "own")
        b.control(
            k,
            name,
            sign(message(name, sender=sender, domain=domain), own),
            [own],
            f"d={domain} for {sender}: the same organisation under a multi-label or private suffix",
        )
    upper_name = message("from_field_name_upper_case").replace(b"From: ", b"FROM: ", 1)
    b.control(k, "from_field_name_upper_case", sign(upper_name, v), [v], "the author's MTA wrote 'FROM:'")
    upper = Signer(b.ks.victim, VICTIM, "upper")
    b.control(
        k,
        "signer_uppercase_d",
        sign(message("signer_uppercase_d"), upper, domain=b"EXAMPLE.ORG"),
        [upper],
        "d=EXAMPLE.ORG: domain names compare without case",
    )
    mbox_line = b"From alice@example.org Tue Mar 14 10:21:05 2023\r\n"
    b.control(
        k,
        "mbox_from_line_first",
        mbox_line + sign(message("mbox_from_line_first"), v),
        [v],
        "an mbox 'From ' separator line on top, as leaked .eml exports often keep",
    )
    idn = Signer(b.ks.victim, "xn--exmple-cua.org", "idn")
    b.control(
        k,
        "idn_author_punycode_signer",
        sign(
            message("idn_author_punycode_signer", sender="Alice <alice@exämple.org>", domain="xn--exmple-cua.org"), idn
        ),
        [idn],
        "From at exämple.org (RFC 6532 UTF-8), d= its A-label xn--exmple-cua.org: the same domain",
    )
    lf_body = message("bare_lf_in_body", body=b"First line\nsecond line with a bare LF\r\nthird\r\n")
    b.control(
        k,
        "bare_lf_in_body",
        sign(lf_body, v),
        [v],
        "a bare LF in the body, not in the header block: both readers agree on the headers",
    )
    when = datetime.now(UTC)
    trace = (
        b"Return-Path: <alice@example.org>\r\n"
        b"Delivered-To: bob@example.net\r\n"
        b"Received: from mx.example.net (mx.example.net [198.51.100.7])\r\n\tby imap.example.net with LMTP; "
        + format_datetime(when).encode()
        + b"\r\n"
        b"Authentication-Results: mx.example.net; dkim=pass header.d=example.org header.s=s2048\r\n"
        b"Received: from mail.example.org (mail.example.org [192.0.2.10])\r\n\tby mx.example.net with ESMTPS id "
        b"7Q2x; " + format_datetime(when).encode() + b"\r\n"
        b"X-Spam-Status: No, score=-0.1\r\n"
    )
    b.control(
        k,
        "trace_headers_added",
        trace + sign(message("trace_headers_added"), v),
        [v],
        "Received, Return-Path, Authentication-Results added on top in transit",
    )
    b.control(
        k,
        "sender_differs",
        sign(
            message("sender_differs", extra=[("Sender", "Eve Clerk <eve@example.org>")]), v, include=ONCE + (b"sender",)
        ),
        [v],
        "a Sender (the secretary) other than From: shown, not held against it",
        codes=("dkim.pass", "headers.sender_differs"),
    )
    t = datetime(2018, 3, 1, 9, 30, tzinfo=UTC)
    expired = sign_tags(
        message("expired_x_judged_at_t", date=format_datetime(t)),
        v,
        tags=[(b"t", ts(t)), (b"x", str(int(t.timestamp()) + 7 * 86400).encode())],
    )
    b.control(
        k,
        "expired_x_judged_at_t",
        expired,
        [v],
        "x= a week after t=, long passed: judged as of t=",
        codes=("dkim.pass", "dkim.expired"),
        dkimpy_differs=((0, "expired"),),
    )
    near = int(time.time()) + 600
    b.control(
        k,
        "t_ten_minutes_ahead",
        sign_tags(message("t_ten_minutes_ahead"), v, tags=[(b"t", str(near).encode())]),
        [v],
        "t= ten minutes ahead: within a stated one-hour tolerance for clocks",
    )
    b.control(
        k,
        "length_whole_body",
        sign(message("length_whole_body"), v, length=True),
        [v],
        "l= present but covering the whole body",
    )

    # Forwarded: an outer message verified by example.org carrying a partner.net message as message/rfc822.
    inner = sign(
        message("forwarded_inner", sender="Paula Reyes <paula@partner.net>", to="alice@example.org", domain=PARTNER),
        b.partner,
    )
    unsigned_inner = message(
        "forwarded_inner_unsigned",
        sender="Chief Executive <ceo@unsigned-partner.net>",
        to="alice@example.org",
        domain="unsigned-partner.net",
    )
    for outer_name, _inner, inner_raw in (
        ("forwarded_outer", "forwarded_inner", inner),
        ("forwarded_outer_unsigned_inner", "forwarded_inner_unsigned", unsigned_inner),
    ):
        boundary = f"fwd-{outer_name}"
        outer_body = (
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".encode()
            + body_for(outer_name)
            + f"--{boundary}\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n".encode()
            + inner_raw
            + f"\r\n--{boundary}--\r\n".encode()
        )
        outer = sign(message(outer_name, content_type=f'multipart/mixed; boundary="{boundary}"', body=outer_body), v)
        b.control(
            "forwarded", outer_name, outer, [v, b.partner], "a verified message forwarding another as message/rfc822"
        )
    b.control(
        "forwarded",
        "forwarded_inner",
        inner,
        [v, b.partner],
        "the forwarded message judged by its own partner.net signature",
        inside="forwarded_outer",
    )
    b.attack(
        "forwarded",
        "forwarded_inner_unsigned",
        unsigned_inner,
        [v, b.partner],
        ["dkim.none"],
        "an unsigned message inside a verified one is not verified through it",
        inside="forwarded_outer_unsigned_inner",
    )
    # Forwarded as an attached .eml file (base64, as some clients do), plus a loose copy of the same bytes:
    # the attachment's bytes are proven by the outer signature, its author is not, and neither is the copy's.
    forged = message(
        "attached_eml_inner", sender="Chief Executive <ceo@example.org>", to="board@example.org", domain=VICTIM
    )
    encoded = base64.encodebytes(forged).replace(b"\n", b"\r\n")
    boundary = "att-eml"
    outer_body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".encode()
        + body_for("forwarded_outer_attached_eml")
        + f'--{boundary}\r\nContent-Type: application/octet-stream; name="minutes.eml"\r\n'
        'Content-Disposition: attachment; filename="minutes.eml"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + encoded
        + f"--{boundary}--\r\n".encode()
    )
    outer = sign(
        message(
            "forwarded_outer_attached_eml", content_type=f'multipart/mixed; boundary="{boundary}"', body=outer_body
        ),
        v,
    )
    b.control("forwarded", "forwarded_outer_attached_eml", outer, [v], "a verified message with an .eml attached")
    b.attack(
        "forwarded",
        "attached_eml_inner",
        forged,
        [v],
        ["dkim.none"],
        "an unsigned .eml attached to a verified message: its bytes are proven, not its author",
        inside="forwarded_outer_attached_eml",
    )
    b.attack(
        "forwarded",
        "attached_eml_loose_copy",
        forged,
        [v],
        ["dkim.none"],
        "a loose copy of that unsigned .eml, byte-identical to the verified message's attachment",
    )

    for name in ("meeting-for-coffee.eml", "truncated.eml"):
        b.control(
            k,
            "gmail_" + name.split(".")[0].replace("-", "_"),
            (GMAIL / name).read_bytes(),
            [],
            "the real 2015 Gmail message with Gmail's archived 20120113 key (bundled)",
        )

    # rsa-sha1 still verifies old leaks, with a note (RFC 8301).
    for name, signer, canon in (
        ("rsa_sha1_relaxed", v, RELAXED),
        ("rsa_sha1_simple", v, SIMPLE),
        ("rsa_sha1_1024", Signer(b.ks.victim_1024, VICTIM, "s1024"), RELAXED),
    ):
        b.control(
            "weak crypto",
            name,
            sign(message(name), signer, canon=canon, algorithm=b"rsa-sha1"),
            [signer],
            "rsa-sha1: forging it needs a second preimage; verified with a dkim.sha1 note",
            codes=("dkim.pass", "dkim.sha1"),
        )


def _prepended(b: _Builder, name: str, top: bytes) -> bytes:
    """The authentic signed message with `top` (forged lines) added above everything."""
    return top + b.signed(name)


def _header_block(b: _Builder) -> None:
    k, v = "header block", b.victim
    fake = b"Mallory Ceo <ceo@example.org>"
    for name, line in (
        ("from_prepended", b"From: "),
        ("from_prepended_upper", b"FROM: "),
        ("from_prepended_lower", b"from: "),
    ):
        b.attack(
            k,
            name,
            _prepended(b, name, line + fake + b"\r\n"),
            [v],
            ["headers.multiple_from", "dkim.unsigned_header"],
            "a second From above the signed one; mail programs show the top one",
            dkimpy_differs=((0, "extra_from"),),
        )
    # RFC 5322 §4.5.2 obsolete syntax: blanks between field name and colon still make a From field.
    b.attack(
        k,
        "obs_from_space_first_line",
        _prepended(b, "obs_from_space_first_line", b"From : " + fake + b"\r\n"),
        [v],
        ["headers.ambiguous", "headers.multiple_from"],
        "'From :' on the first line: an obs-syntax From to RFC 5322, an mbox separator to others",
    )
    b.attack(
        k,
        "obs_from_space",
        b"X-Priority: 1\r\n" + b"From : " + fake + b"\r\n" + b.signed("obs_from_space"),
        [v],
        ["headers.ambiguous", "headers.multiple_from"],
        "'From :' (obs-syntax From) above the signed From",
    )
    b.attack(
        k,
        "obs_from_tab",
        b"X-Priority: 1\r\nFrom\t: " + fake + b"\r\n" + b.signed("obs_from_tab"),
        [v],
        ["headers.ambiguous", "headers.multiple_from"],
        "'From<TAB>:' (obs-syntax From) above the signed From",
        dkimpy_differs=((0, "dkimpy_parse"),),
    )
    b.attack(
        k,
        "obs_from_space_upper",
        b"X-Priority: 1\r\nFROM  : " + fake + b"\r\n" + b.signed("obs_from_space_upper"),
        [v],
        ["headers.ambiguous", "headers.multiple_from"],
        "'FROM  :' with two blanks",
        dkimpy_differs=((0, "dkimpy_parse"),),
    )
    b.attack(
        k,
        "obs_from_against_oversigned",
        b"X-Priority: 1\r\nFrom : "
        + fake
        + b"\r\n"
        + sign(message("obs_from_against_oversigned"), v, include=OVERSIGNED),
        [v],
        ["headers.ambiguous", "headers.multiple_from"],
        "oversigning From locks out a second 'From:', but not an obs-syntax 'From :' DKIM's split does not see",
    )
    for name, fold in (
        ("folded_name_space", b"From\r\n : "),
        ("folded_name_tab", b"From\r\n\t: "),
        ("folded_name_upper", b"FROM\r\n  : "),
    ):
        b.attack(
            k,
            name,
            b"X-Priority: 1\r\n" + fold + fake + b"\r\n" + b.signed(name),
            [v],
            ["headers.ambiguous", "headers.multiple_from"],
            "a From whose name is folded before its colon: unfolded (RFC 5322 §2.2.3) it is a From field",
            dkimpy_differs=((0, "dkimpy_parse"),),
        )
    for name, top in (
        ("leading_continuation_space", b" From: " + fake + b"\r\n"),
        ("leading_continuation_tab", b"\tFrom: " + fake + b"\r\n"),
        ("leading_continuation_subject", b" Subject: Wire the deposit to the new account today\r\n"),
    ):
        b.attack(
            k,
            name,
            _prepended(b, name, top),
            [v],
            ["headers.ambiguous"],
            "the block starts with a continuation line, which readers drop, join or read as a field",
            dkimpy_differs=((0, "dkimpy_parse"),),
        )
    for name, top in (
        ("bare_cr_from", b"X-Mailer: Outlook 16.0\rFrom: " + fake + b"\r\n"),
        ("bare_cr_subject", b"Thread-Topic: budget\rSubject: Wire the deposit to the new account today\r\n"),
        ("bare_cr_reply_to", b"Comments: none\rReply-To: <mallory@attacker.net>\r\n"),
    ):
        b.attack(
            k,
            name,
            _prepended(b, name, top),
            [v],
            ["headers.ambiguous"],
            "a bare CR: one line to DKIM, two fields to readers that split on CR",
        )
    b.attack(
        k,
        "bare_lf_from",
        _prepended(b, "bare_lf_from", b"X-Mailer: Outlook 16.0\nFrom: " + fake + b"\r\n"),
        [v],
        ["headers.ambiguous", "headers.multiple_from"],
        "a bare LF in a CRLF block: a From to readers that split on LF, part of X-Mailer to strict ones",
        dkimpy_differs=((0, "extra_from"),),
    )
    b.attack(
        k,
        "bare_lf_subject",
        _prepended(
            b, "bare_lf_subject", b"Thread-Topic: budget\nSubject: Wire the deposit to the new account today\r\n"
        ),
        [v],
        ["headers.ambiguous", "dkim.unsigned_header"],
        "a bare LF hides a second Subject from strict readers",
    )
    b.attack(
        k,
        "bare_lf_reply_to",
        _prepended(b, "bare_lf_reply_to", b"Comments: none\nReply-To: <mallory@attacker.net>\r\n"),
        [v],
        ["headers.ambiguous", "dkim.unsigned_header"],
        "a bare LF hides a Reply-To from strict readers",
    )
    b.attack(
        k,
        "nul_in_header",
        _prepended(b, "nul_in_header", b"X-Mailer: Outlook\x00From: " + fake + b"\r\n"),
        [v],
        ["headers.ambiguous"],
        "a NUL: C-string readers stop there, others read on",
    )
    b.attack(
        k,
        "nul_in_field_name",
        _prepended(b, "nul_in_field_name", b"Fr\x00om: " + fake + b"\r\n"),
        [v],
        ["headers.ambiguous"],
        "a NUL inside a field name: dropped by some readers, who then see From",
        dkimpy_differs=((0, "dkimpy_parse"),),
    )
    b.attack(
        k,
        "nul_in_from_value",
        _prepended(b, "nul_in_from_value", b"X-Original-From: <alice@example.org>\x00\r\nFrom: " + fake + b"\r\n"),
        [v],
        ["headers.ambiguous", "headers.multiple_from"],
        "a NUL in an unsigned field plus a second From",
        dkimpy_differs=((0, "extra_from"),),
    )
    # A line that is not a field: Python's email package ends the header block there.
    b.attack(
        k,
        "not_a_field_hides_signed_from",
        _prepended(b, "not_a_field_hides_signed_from", b"From: " + fake + b"\r\nThis line is not a header field\r\n"),
        [v],
        ["headers.ambiguous", "headers.multiple_from"],
        "a non-field line after a forged From: Python's email reader stops there and sees only the forged From",
        dkimpy_differs=((0, "dkimpy_parse"),),
    )
    b.attack(
        k,
        "not_a_field_first",
        _prepended(b, "not_a_field_first", b"Not a header field at all\r\n"),
        [v],
        ["headers.ambiguous"],
        "a non-field first line: one reader sees no header at all, another all of them",
        dkimpy_differs=((0, "dkimpy_parse"),),
    )
    lf = b.signed("lf_file_from_prepended").replace(b"\r\n", b"\n")
    b.attack(
        k,
        "lf_file_from_prepended",
        b"From: " + fake + b"\n" + lf,
        [v],
        ["headers.multiple_from", "dkim.unsigned_header"],
        "an LF-only file with a From added on top",
        dkimpy_differs=((0, "extra_from"),),
    )
    lf = b.signed("lf_file_bare_cr_from").replace(b"\r\n", b"\n")
    b.attack(
        k,
        "lf_file_bare_cr_from",
        b"X-Mailer: Outlook 16.0\rFrom: " + fake + b"\n" + lf,
        [v],
        ["headers.ambiguous"],
        "a bare CR in an LF-only header block: a From to readers that split on CR",
    )
    b.attack(
        k,
        "empty_name_from",
        _prepended(b, "empty_name_from", b":From: " + fake + b"\r\n"),
        [v],
        ["headers.ambiguous"],
        "a line ':From: ...' with an empty field name, which a lenient reader strips",
    )
    a = b.attacker
    two = message(
        "two_from_fields_both_signed",
        sender="CEO <ceo@example.org>",
        domain=ATTACKER,
        extra=[("From", "Mallory <mallory@attacker.net>")],
    )
    b.attack(
        k,
        "two_from_fields_both_signed",
        sign(two, a, include=ONCE + (b"from",)),
        [a],
        ["headers.multiple_from"],
        "two From fields, both signed by the attacker: readers pick different ones",
    )
    gmail = (GMAIL / "meeting-for-coffee.eml").read_bytes()
    b.attack(
        k,
        "gmail_from_prepended",
        b"From: Hunter Biden <hbiden@gmail.com>\n" + gmail,
        [],
        ["headers.multiple_from", "dkim.unsigned_header"],
        "the real Gmail message (h= lists From once) with a From added on top",
        dkimpy_differs=((0, "extra_from"),),
    )


DISPLAY = ["headers.display_name_address"]


def _addresses(b: _Builder) -> None:
    k, a = "address", b.attacker
    cases = (
        ("display_name_address", '"ceo@example.org" <mallory@attacker.net>', ["headers.display_name_address"]),
        (
            "display_name_unquoted_address",
            "ceo@example.org <mallory@attacker.net>",
            ["headers.display_name_address", "headers.from_unparseable"],
        ),
        ("comment_address", "mallory@attacker.net (ceo@example.org)", ["headers.display_name_address"]),
        (
            "display_name_bracketed",
            '"Chief Executive <ceo@example.org>" <mallory@attacker.net>',
            ["headers.display_name_address"],
        ),
        (
            "encoded_display_name_b",
            "=?utf-8?B?Y2VvQGV4YW1wbGUub3Jn?= <mallory@attacker.net>",
            ["headers.display_name_address"],
        ),
        (
            "encoded_display_name_q",
            "=?utf-8?Q?CEO_=3Cceo=40example=2Eorg=3E?= <mallory@attacker.net>",
            ["headers.display_name_address"],
        ),
        (
            "encoded_display_name_split",
            "=?utf-8?Q?ceo?= =?utf-8?Q?=40example=2Eorg?= <mallory@attacker.net>",
            ["headers.display_name_address"],
        ),
        (
            "encoded_word_as_address",
            "=?utf-8?B?Y2VvQGV4YW1wbGUub3Jn?=",
            ["headers.from_unparseable", "headers.no_from"],
        ),
        (
            "encoded_word_in_angle",
            "CEO <=?utf-8?B?Y2VvQGV4YW1wbGUub3Jn?=>",
            ["headers.from_unparseable", "headers.no_from"],
        ),
        (
            "encoded_word_local_part",
            "=?utf-8?B?Y2VvQGV4YW1wbGUub3Jn?=@attacker.net",
            ["headers.from_unparseable", "headers.display_name_address"],
        ),
        (
            "route_names_victim",
            "<@example.org:mallory@attacker.net>",
            ["headers.display_name_address", "headers.from_unparseable"],
        ),
        (
            "route_with_display",
            "CEO <@example.org,@mail.example.org:mallory@attacker.net>",
            ["headers.display_name_address", "headers.from_unparseable"],
        ),
        ("route_names_attacker", "CEO <@attacker.net:ceo@example.org>", ["dkim.signer_not_author"]),
        ("quoted_local_at", '"ceo@example.org"@attacker.net', ["headers.display_name_address"]),
        ("quoted_local_at_angle", 'CEO <"ceo@example.org"@attacker.net>', ["headers.display_name_address"]),
        ("quoted_local_pair_at", r'"ceo\@example.org"@attacker.net', ["headers.display_name_address"]),
        ("two_mailboxes_victim_first", "ceo@example.org, mallory@attacker.net", ["dkim.signer_not_author"]),
        ("two_mailboxes_attacker_first", "mallory@attacker.net, CEO <ceo@example.org>", ["dkim.signer_not_author"]),
        (
            "three_mailboxes",
            '"CEO" <ceo@example.org>, "Board" <board@attacker.net>, x@attacker.net',
            ["dkim.signer_not_author"],
        ),
        ("group_mixed", "Board: ceo@example.org, mallory@attacker.net;", ["dkim.signer_not_author"]),
        ("group_victim_only", "Management: CEO <ceo@example.org>;", ["dkim.signer_not_author"]),
        ("group_empty", "undisclosed-recipients:;", ["headers.no_from", "headers.from_unparseable"]),
        ("group_name_address", "ceo@example.org: mallory@attacker.net;", ["headers.display_name_address"]),
        (
            "encoded_display_name_crlf",
            "=?utf-8?Q?Alice=0D=0AFrom=3A_ceo=40example=2Eorg?= <mallory@attacker.net>",
            ["headers.display_name_address"],
        ),
        # Dots IDNA treats as label separators (RFC 3490 §3.1), and UTS #39 confusables of "@" and ".".
        ("display_name_ideographic_dot", '"ceo@example\u3002org" <mallory@attacker.net>', DISPLAY),
        ("display_name_fullwidth_dot", '"ceo@example\uff0eorg" <mallory@attacker.net>', DISPLAY),
        ("display_name_halfwidth_ideographic_dot", '"ceo@example\uff61org" <mallory@attacker.net>', DISPLAY),
        ("display_name_one_dot_leader", '"ceo@example\u2024org" <mallory@attacker.net>', DISPLAY),
        ("display_name_fullwidth_at", '"ceo\uff20example.org" <mallory@attacker.net>', DISPLAY),
        ("comment_in_local_part", "mallory(ceo@example.org)@attacker.net", DISPLAY),
        ("comment_before_domain", "mallory@(ceo@example.org)attacker.net", DISPLAY),
        (
            "trailing_text_address",
            "CEO <mallory@attacker.net> ceo@example.org",
            ["headers.display_name_address", "headers.from_unparseable"],
        ),
    )
    for name, sender, codes in cases:
        raw = sign(message(name, sender=sender.encode(), domain=ATTACKER), a)
        b.attack(k, name, raw, [a], codes, f"From: {sender}, signed by the attacker's own domain")
    # No author at all, signed by the victim's own system (h= includes From, as RFC 6376 requires).
    v = b.victim
    for name, sender, codes in (
        ("no_from", None, ["headers.no_from"]),
        ("from_empty", "", ["headers.no_from", "headers.from_unparseable"]),
        ("from_display_only", "Alice Martin", ["headers.no_from", "headers.from_unparseable"]),
        ("from_unclosed_angle", "Alice Martin <alice@example.org", ["headers.from_unparseable"]),
        ("from_null_path", "<>", ["headers.no_from", "headers.from_unparseable"]),
        ("from_address_literal", "Alice <alice@[192.0.2.10]>", ["headers.from_unparseable", "dkim.signer_not_author"]),
    ):
        b.attack(
            k,
            name,
            sign(message(name, sender=sender), v),
            [v],
            codes,
            "a From with no address a reader could check, though example.org signed it",
        )


def _alignment(b: _Builder) -> None:
    k, m = "unaligned signer", b.ks.attacker
    for name, d, sender in (
        ("attacker_domain", ATTACKER, "CEO <ceo@example.org>"),
        ("lookalike_digit", "examp1e.org", "CEO <ceo@example.org>"),
        ("lookalike_hyphen", "example-org.net", "CEO <ceo@example.org>"),
        ("lookalike_suffix", "example.org.attacker.net", "CEO <ceo@example.org>"),
        ("psl_co_uk", "co.uk", "CEO <ceo@victim.co.uk>"),
        ("psl_github_io", "github.io", "CEO <ceo@victim.github.io>"),
        ("psl_github_io_sibling", "attacker.github.io", "CEO <ceo@victim.github.io>"),
        # PSL wildcard rule *.ck: victim.ck is itself a public suffix, sub.victim.ck an organisation.
        ("psl_wildcard_ck", "victim.ck", "CEO <ceo@sub.victim.ck>"),
    ):
        s = Signer(m, d, "att")
        b.attack(
            k,
            name,
            sign(message(name, sender=sender), s),
            [s],
            ["dkim.signer_not_author"],
            f"a valid signature by {d} on mail claiming {sender}",
        )
    g = b.ks.google
    undeclared = Signer(g, GAPPS, "20210112")
    b.attack(
        k,
        "gappssmtp_undeclared",
        sign(message("gappssmtp_undeclared"), undeclared),
        [undeclared],
        ["dkim.signer_not_author"],
        "Google Workspace's default d=<domain>.<date>.gappssmtp.com, not declared",
        evidence=(("dkim.signer_not_author", "customer_domain", VICTIM),),
    )
    other = Signer(
        g,
        GAPPS,
        "20161025",
        archive=(("signs_for", ("other-org.com",)), ("signs_for_source", "test: declared for another customer")),
    )
    plain = Signer(g, "example-org.gappssmtp.com", "google")
    b.attack(
        k,
        "gappssmtp_short_name",
        sign(message("gappssmtp_short_name"), plain),
        [plain],
        ["dkim.signer_not_author"],
        "a provider name without a signs_for declaration",
    )
    if record_supports("signs_for"):
        b.attack(
            k,
            "gappssmtp_declared_for_other",
            sign(message("gappssmtp_declared_for_other"), other),
            [other],
            ["dkim.signer_not_author"],
            "declared as signing for other-org.com, not example.org",
        )
        declared = Signer(
            g,
            GAPPS,
            "20170101",
            archive=(("signs_for", (VICTIM,)), ("signs_for_source", "test: the customer's admin console")),
        )
        b.control(
            "control",
            "gappssmtp_declared",
            sign(message("gappssmtp_declared"), declared),
            [declared],
            "the user declared this gappssmtp.com key as signing for example.org",
        )


def _coverage(b: _Builder) -> None:
    k, v, a = "pooled coverage", b.victim, b.attacker
    for name, author_h, changed in (
        ("pooled_subject_to_date", (b"from", b"message-id"), ("Subject", "To", "Date")),
        ("pooled_subject", (b"from", b"to", b"date", b"message-id"), ("Subject",)),
        ("pooled_to_date", (b"from", b"subject", b"message-id"), ("To", "Date")),
    ):
        # The author's system signs only some headers; the attacker rewrites the others, then signs
        # those with the attacker's own key: every header is covered by some signature, not by the author's.
        authentic = sign(message(name), v, include=author_h)
        forged = authentic
        for h in changed:
            new = {
                "Subject": "Subject: Wire the deposit to the new account today",
                "To": "To: Treasury <treasury@example.org>",
                "Date": "Date: " + now_date(-60),
            }[h]
            start = forged.index(b"\r\n" + h.encode() + b": ") + 2
            end = forged.index(b"\r\n", start)
            forged = forged[:start] + new.encode() + forged[end:]
        forged = sign(forged, a, include=(b"from", b"to", b"subject", b"date"))
        b.attack(
            k,
            name,
            forged,
            [v, a],
            ["dkim.unsigned_header"],
            f"{', '.join(changed)} covered only by attacker.net's signature, not by the author's",
        )
    forged = b"From: Mallory Ceo <ceo@example.org>\r\n" + b.signed("pooled_extra_from")
    forged = sign(forged, a, include=(b"from", b"from"))
    b.attack(
        k,
        "pooled_extra_from",
        forged,
        [v, a],
        ["headers.multiple_from", "dkim.unsigned_header"],
        "a second From, covered only by the attacker's signature",
        dkimpy_differs=((1, "extra_from"),),
    )
    authentic = sign(message("unsigned_subject_rewritten"), v, include=(b"from", b"to", b"date", b"message-id"))
    start = authentic.index(b"\r\nSubject: ") + 2
    forged = (
        authentic[:start]
        + b"Subject: Wire the deposit to the new account today"
        + authentic[authentic.index(b"\r\n", start) :]
    )
    b.attack(
        k,
        "unsigned_subject_rewritten",
        forged,
        [v],
        ["dkim.unsigned_header"],
        "h= leaves Subject out; the forger rewrites it",
    )
    absent = sign(message("from_added_where_signed_absent", sender=None), v)
    b.attack(
        k,
        "from_added_where_signed_absent",
        b"From: Mallory Ceo <ceo@example.org>\r\n" + absent,
        [v],
        ["dkim.header_mismatch"],
        "h= signed a From that was absent (RFC 6376 §5.4): adding one breaks the signature",
    )
    for name, line in (
        ("added_sender", b"Sender: CEO <ceo@example.org>\r\n"),
        ("extra_subject_copy", b"Subject: Wire the deposit to the new account today\r\n"),
        ("extra_date_copy", b"Date: " + now_date(-30).encode() + b"\r\n"),
        ("extra_to_copy", b"To: Treasury <treasury@example.org>\r\n"),
        ("added_reply_to", b"Reply-To: <mallory@attacker.net>\r\n"),
        ("added_cc", b"Cc: Press <press@attacker.net>\r\n"),
    ):
        b.attack(
            k,
            name,
            _prepended(b, name, line),
            [v],
            ["dkim.unsigned_header"],
            "a watched header added above the signed ones (not covered by h=)",
        )


def _key_rules(b: _Builder) -> None:
    k, m, mail = "key rules", b.ks.victim, "Alice Martin <alice@mail.example.org>"

    def keyed(selector: str, tags: str, material: Material | None = None) -> Signer:
        return Signer(material or m, VICTIM, selector, tags)

    for name, tags in (
        ("key_service_tlsrpt", "s=tlsrpt; "),
        ("key_service_other", "s=other; "),
        ("key_service_list_without_email", "s=tlsrpt:other; "),
    ):
        s = keyed(name.replace("_", "-"), tags)
        b.attack(
            k,
            name,
            sign(message(name), s),
            [s],
            ["dkim.key_rejected"],
            f"key record {tags.strip()}: not a key for email (RFC 6376 §3.6.1: MUST ignore it)",
        )
    s = keyed("svc-list-email", "s=tlsrpt:email; ")
    b.control(
        "control",
        "key_service_list_with_email",
        sign(message("key_service_list_with_email"), s),
        [s],
        "key s=tlsrpt:email includes email",
        dkimpy_differs=((0, "service_list"),),
    )
    for name, tags in (
        ("key_testing", "t=y; "),
        ("key_testing_and_strict", "t=y:s; "),
        ("key_testing_last", "t=s:y; "),
    ):
        s = keyed(name.replace("_", "-"), tags)
        raw = sign(message(name), s, identity=b"@example.org")
        b.attack(k, name, raw, [s], ["dkim.testing_key"], f"key {tags.strip()}: testing mode, treat as unsigned")
    for name, identity, sender in (
        ("key_strict_subdomain_i", b"@mail.example.org", mail),
        ("key_strict_user_in_subdomain", b"alice@mail.example.org", mail),
        ("key_strict_deep_subdomain", b"@a.b.example.org", "Alice Martin <alice@example.org>"),
    ):
        s = keyed(name.replace("_", "-"), "t=s; ")
        b.attack(
            k,
            name,
            sign(message(name, sender=sender), s, identity=identity),
            [s],
            ["dkim.key_rejected"],
            "key t=s forbids an i= in a subdomain of d=",
        )
    s = keyed("strict-ok", "t=s; ")
    b.control(
        "control",
        "key_strict_same_domain",
        sign(message("key_strict_same_domain"), s, identity=b"alice@example.org"),
        [s],
        "key t=s with i= exactly at d=",
    )
    for name, tags, material in (
        ("key_hash_sha1_only", "h=sha1; ", None),
        ("key_hash_sha512_only", "h=sha512; ", None),
        ("key_hash_sha1_ed25519", "h=sha1; ", b.ks.victim_ed),
    ):
        s = keyed(name.replace("_", "-"), tags, material)
        b.attack(
            k,
            name,
            sign(message(name), s),
            [s],
            ["dkim.key_rejected"],
            f"key {tags.strip()} excludes the signature's sha256 (RFC 6376 §6.1.2: PERMFAIL)",
        )
    s = Signer(m, VICTIM, "bad-version", record_text="v=DKIM2; k=rsa; p=" + m.public)
    b.attack(
        k,
        "key_bad_version",
        sign(message("key_bad_version"), s),
        [s],
        ["dkim.key_invalid", "dkim.key_rejected"],
        "key record v=DKIM2: not a DKIM1 key (RFC 6376 §3.6.1: the record must be discarded)",
    )
    s = keyed("hash-list", "h=sha1:sha256; ")
    b.control("control", "key_hash_list", sign(message("key_hash_list"), s), [s], "key h=sha1:sha256 allows sha256")
    v = b.victim
    now = int(time.time())
    for name, t, differs in (
        ("future_t_far", 4102444800, ((0, "future"),)),  # 2100-01-01
        ("future_t_month", now + 30 * 86400, ((0, "future"),)),
        ("future_t_hours", now + 3 * 3600, ()),  # beyond a one-hour tolerance, within dkimpy's ten hours
    ):
        raw = sign_tags(message(name), v, tags=[(b"t", str(t).encode())])
        b.attack(
            k,
            name,
            raw,
            [v],
            ["dkim.future_timestamp"],
            "t= in the future: not a signature made yet",
            dkimpy_differs=differs,
        )
    for name, d in (("d_apostrophe", "example.org'"), ("d_quoted", '"example.org"'), ("d_inner_quote", 'exa"mple.org')):
        s = Signer(m, d, "s2048")
        b.attack(
            k,
            name,
            sign(message(name), s),
            [s],
            ["dkim.malformed"],
            f"d={d} breaks the domain-name grammar: not a domain to display or align",
        )
    for name, selector in (("s_bang", "sel!"), ("s_leading_hyphen", "-sel"), ("s_empty_label", "a..b")):
        s = Signer(m, VICTIM, selector)
        b.attack(k, name, sign(message(name), s), [s], ["dkim.malformed"], f"s={selector} is not a selector")
    for name, identity in (
        ("i_two_ats", b"x@evil@example.org"),
        ("i_quote_in_local", b'a"b@example.org'),
        ("i_empty_label", b"@.example.org"),
    ):
        b.attack(
            k,
            name,
            sign(message(name), v, identity=identity),
            [v],
            ["dkim.malformed"],
            f"i={identity.decode()} is not an identity",
        )


def _compromised(b: _Builder) -> None:
    if not record_supports("private_published"):
        return
    k = "compromised key"
    leaked = Signer(
        b.ks.leaked,
        VICTIM,
        "old2018",
        archive=(
            ("private_published", "2019-06-01"),
            ("private_source", "test: the operator published the rotated-out private key (dkim-rotate style)"),
        ),
    )
    old = datetime(2018, 3, 1, 9, 30, tzinfo=UTC)

    def dated(name: str) -> bytes:
        return sign_tags(message(name, date=format_datetime(old)), leaked, tags=[(b"t", ts(old))])

    proof = "test: OpenTimestamps attestation of the dump"
    b.attack(
        k,
        "compromised_no_proof",
        sign(message("compromised_no_proof"), leaked),
        [leaked],
        ["dkim.key_compromised"],
        "signed with a key whose private half is public, no proof of time",
    )
    b.attack(
        k,
        "compromised_backdated_t",
        dated("compromised_backdated_t"),
        [leaked],
        ["dkim.key_compromised"],
        "t= and Date set before the publication: a forger sets them too, so they prove nothing",
    )
    b.attack(
        k,
        "compromised_published_after",
        dated("compromised_published_after"),
        [leaked],
        ["dkim.key_compromised"],
        "the dump was published after the private key: no proof",
        published=datetime(2021, 1, 1, tzinfo=UTC),
    )
    b.attack(
        k,
        "compromised_timestamp_after",
        dated("compromised_timestamp_after"),
        [leaked],
        ["dkim.key_compromised"],
        "a timestamp after the key became public proves nothing",
        timestamps=((datetime(2020, 1, 1, tzinfo=UTC), proof),),
    )
    alias = Signer(b.ks.leaked, VICTIM, "alias2018")
    b.attack(
        k,
        "compromised_key_other_selector",
        sign_tags(message("compromised_key_other_selector", date=format_datetime(old)), alias, tags=[(b"t", ts(old))]),
        [leaked, alias],
        ["dkim.key_compromised"],
        "the same published private key, also served under another selector the archive does not mark: "
        "a key whose private half is public is public under every name",
    )
    b.control(
        k,
        "compromised_published_before",
        dated("compromised_published_before"),
        [leaked],
        "the dump was published before the private key became public: verified, with the window",
        codes=("dkim.pass", "dkim.key_compromised"),
        published=datetime(2019, 1, 1, tzinfo=UTC),
    )
    b.control(
        k,
        "compromised_timestamp_before",
        dated("compromised_timestamp_before"),
        [leaked],
        "a recorded timestamp before the key became public: verified, with the window",
        codes=("dkim.pass", "dkim.key_compromised"),
        timestamps=((datetime(2018, 12, 1, tzinfo=UTC), proof),),
    )


def _body_and_crypto(b: _Builder) -> None:
    k, v = "weak crypto", b.victim
    raw = sign(message("length_appended_text"), v, length=True)
    b.attack(
        k,
        "length_appended_text",
        raw + b"P.S. Wire the deposit to IBAN FR76 3000 4000 0500 today.\r\n",
        [v],
        ["dkim.length_limited"],
        "l= signs the original body; the forger appends to it",
    )
    raw = sign(message("length_zero_whole_body", body=b""), v, length=True)
    b.attack(
        k,
        "length_zero_whole_body",
        raw + b"Please wire the deposit to the new account today.\r\n",
        [v],
        ["dkim.length_limited"],
        "l=0 over an empty body: the whole visible body is the forger's",
    )
    boundary = "mix-length"
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".encode()
        + body_for("length_mime")
        + f"--{boundary}--\r\n".encode()
    )
    raw = sign(
        message("length_appended_mime_part", content_type=f'multipart/mixed; boundary="{boundary}"', body=body),
        v,
        length=True,
    )
    tail = (
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<p>Wire the deposit to the new account today.</p>\r\n--{boundary}--\r\n"
    ).encode()
    b.attack(
        k,
        "length_appended_mime_part",
        raw + tail,
        [v],
        ["dkim.length_limited"],
        "l= signs a multipart body; the forger appends another part",
    )
    for name, material, algorithm in (
        ("weak_512_sha256", b.ks.victim_512, b"rsa-sha256"),
        ("weak_512_sha1", b.ks.victim_512, b"rsa-sha1"),
        ("weak_768", b.ks.victim_768, b"rsa-sha256"),
    ):
        s = Signer(material, VICTIM, f"s{material.bits}")
        b.attack(
            k,
            name,
            sign(message(name), s, algorithm=algorithm),
            [s],
            ["dkim.weak_key"],
            f"a {material.bits}-bit RSA key: factorable, so anyone could have made this signature",
            dkimpy_differs=((0, "weak_key"),),
        )


def _forged_trace(b: _Builder) -> None:
    """Trace and authentication results are unsigned claims: none of them may stand in for a signature."""
    k, a = "forged trace", b.attacker
    claim = b"Authentication-Results: mx.example.net; dkim=pass header.d=example.org header.s=s2048; dmarc=pass\r\n"
    unsigned = message("forged_authentication_results", sender="CEO <ceo@example.org>")
    b.attack(
        k,
        "forged_authentication_results",
        claim + b"Received-SPF: pass (example.org: 192.0.2.10 is permitted)\r\n" + unsigned,
        [],
        ["dkim.none"],
        "an unsigned message carrying a forged Authentication-Results that says dkim=pass for example.org",
    )
    signed = sign(message("forged_results_attacker_signed", sender="CEO <ceo@example.org>"), a)
    b.attack(
        k,
        "forged_results_attacker_signed",
        claim + signed,
        [a],
        ["dkim.signer_not_author"],
        "signed by attacker.net, with a forged Authentication-Results claiming example.org's signature",
    )
    relayed = claim + message("attacker_arc_seal", sender="CEO <ceo@example.org>")
    arc = dkim.arc_sign(relayed, b"att", ATTACKER.encode(), b.ks.attacker.private, b"mx.example.net")
    b.attack(
        k,
        "attacker_arc_seal",
        b"".join(arc) + relayed,
        [a],
        ["dkim.none"],
        "the attacker's own valid ARC seal over a forged dkim=pass for example.org: ARC explains, never verifies",
    )
    # A From in obsolete syntax only: RFC 5322 readers see ceo@example.org, DKIM's split sees no From at all.
    obs = message("obs_from_only_attacker_signed", sender=None, domain=ATTACKER)
    obs = b"X-Priority: 1\r\nFrom : CEO <ceo@example.org>\r\n" + obs
    b.attack(
        "header block",
        "obs_from_only_attacker_signed",
        sign(obs, a),
        [a],
        ["headers.ambiguous", "dkim.signer_not_author", "headers.no_from"],
        "the only From is 'From :', which the attacker's signature (h=from, signing an absent From) never saw",
    )
    bom = b"\xef\xbb\xbfFrom: Mallory Ceo <ceo@example.org>\r\n"
    b.attack(
        "header block",
        "bom_from_first_line",
        bom + b.signed("bom_from_first_line"),
        [b.victim],
        ["headers.ambiguous", "headers.multiple_from"],
        "a UTF-8 byte-order mark before a forged From: readers that strip it see a From, others a broken line",
        dkimpy_differs=((0, "dkimpy_parse"),),
    )


def _more_controls(b: _Builder) -> None:
    k, v = "control", b.victim
    relay = Signer(b.ks.attacker, "relay-esp.net", "esp")
    b.control(
        k,
        "third_party_signature_added",
        sign(sign(message("third_party_signature_added"), v), relay, include=(b"from", b"to", b"subject")),
        [v, relay],
        "an ESP or relay adds its own signature on top of the author's: still the author's proof",
    )
    weak = Signer(b.ks.victim_512, VICTIM, "s512")
    b.control(
        k,
        "strong_and_weak_signature",
        sign(sign(message("strong_and_weak_signature"), weak), v),
        [v, weak],
        "a strong aligned signature next to a 512-bit one: the weak one proves nothing, the strong one does",
        dkimpy_differs=((1, "weak_key"),),
    )
    utf8 = message("utf8_subject", extra=[("Thread-Topic", "Budget 2017")], body=None).replace(
        b"Subject: Re: ", "Subject: Résumé du budget – ".encode()
    )
    b.control(k, "utf8_subject", sign(utf8, v), [v], "an RFC 6532 UTF-8 Subject")
    folded = message(
        "long_folded_headers",
        to="Bob Stone <bob@example.net>,\r\n Carol Dune <carol@example.net>,\r\n\tDan Moor <dan@example.net>",
    )
    b.control(k, "long_folded_headers", sign(folded, v), [v], "a To folded over three lines, with space and tab")


@cache
def corpus() -> tuple[AdvCase, ...]:
    b = _Builder(keyset())
    _controls(b)
    _header_block(b)
    _addresses(b)
    _alignment(b)
    _coverage(b)
    _key_rules(b)
    _compromised(b)
    _body_and_crypto(b)
    _forged_trace(b)
    _more_controls(b)
    names = [c.name for c in b.cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return tuple(b.cases)


def all_keys(cases: Iterable[AdvCase]) -> list[KeyRecord]:
    """Every key of the corpus, once; two cases never give one (domain, selector) different records."""
    seen: dict[tuple[str, str], KeyRecord] = {}
    for case in cases:
        for key in case.keys:
            old = seen.setdefault((key.domain, key.selector), key)
            assert old == key, f"{case.name}: {key.selector}._domainkey.{key.domain} clashes with another case"
    return list(seen.values())
