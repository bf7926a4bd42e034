"""Check every DKIM-Signature of a message against archived (or, on request, live) keys.

Built from dkimpy's parts (tag parsing, canonicalisation, header selection and hashing,
RSA and Ed25519 verification) rather than `dkim.DKIM.verify`, because a forensic verdict
needs three things `verify` cannot give:
- telling a body change from a header change: the body hash is computed and compared
  with `bh=` separately from the header signature, and the header signature is checked
  even when the body hash fails (a valid header signature then proves that `bh=`, and so
  the original body, is authentic);
- judging a signature as of its own `t=`: `verify` rejects any `x=` in the past, and
  leaks are checked years later;
- RFC 6376 header selection: `verify` also hashes one extra From (its bug#644046 guard),
  which turns "a second From was prepended" into an unexplained failure; here the
  signature is checked as the RFC defines it and surplus headers are reported by name.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import dkim
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.crypto import HASH_ALGORITHMS, RSASSA_PKCS1_v1_5_verify
from dkim.util import InvalidTagValueList, parse_tag_value

from leaklens.addresses import aligned as org_aligned
from leaklens.addresses import ascii_domain, organisational_domain
from leaklens.display import quoted_header
from leaklens.display import when as utc_text
from leaklens.model import Finding
from leaklens.verify import canon
from leaklens.verify.keys import DnsKeySource, KeyArchive, KeyRecord
from leaklens.verify.rawmail import RawMail, as_text
from leaklens.verify.recover import recovery_finding

MIN_KEY_BITS = 1024
# The headers a reader relies on; one the signature does not cover could have been changed freely.
WATCHED_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Reply-To", "Sender")
# A signature dated later than this after the moment of checking is not counted (RFC 6376 §6.1.1 MAY).
FUTURE_TOLERANCE_S = 3600
# RFC 6376 §3.5: s= is a sub-domain (LDH labels; "_" tolerated, as deployed selectors use it);
# i= is [local-part] "@" domain-name. A quote or apostrophe is never part of either.
_SELECTOR = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*")
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&*+/=?^_`{|}~.-]*")
# Google Workspace signs customers' mail by default as <domain-with-dashes>.<yyyymmdd>.gappssmtp.com.
_GAPPS = re.compile(r"([a-z0-9-]+)\.\d{8}\.gappssmtp\.com")
MANDATORY_TAGS = (b"v", b"a", b"b", b"bh", b"d", b"h", b"s")
_H_SPLIT = re.compile(rb"\s*:\s*")
_TIME = re.compile(rb"\d{1,12}")

KeyFinder = Callable[[str, str], tuple[list[KeyRecord], str]]


@dataclass
class DkimOutcome:
    findings: list[Finding] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    keys_used: list[tuple[str, str]] = field(default_factory=list)
    keys_missing: list[tuple[str, str]] = field(default_factory=list)
    # The aligned, counted signature that covers the most of what a reader relies on (its index).
    proving: int | None = None


@dataclass(frozen=True)
class Existence:
    """Proof that the message existed by `at`: the dump's publication, or a recorded timestamp."""

    at: datetime
    source: str


def key_finder(keys: KeyArchive, dns: DnsKeySource | None) -> KeyFinder:
    """Archive first; live DNS only when the user asked for it and the archive has nothing."""

    def find(domain: str, selector: str) -> tuple[list[KeyRecord], str]:
        found = keys.lookup(domain, selector)
        if found:
            return found, "archive"
        if dns is not None:
            return dns.lookup(domain, selector), "dns"
        return [], "archive"

    return find


def _txt(b: bytes) -> str:
    return as_text(b)


def _utc(ts: int | None) -> str | None:
    if ts is None:
        return None
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None


def _header_list(sig: dict[bytes, bytes]) -> list[str]:
    return [_txt(x).lower() for x in _H_SPLIT.split(sig.get(b"h", b"").strip()) if x]


def aligned(signer: str, author: str | None) -> bool:
    """RFC 7489 relaxed alignment: the same organisational domain (public suffix list, offline)."""
    return bool(author) and org_aligned(signer, author)  # type: ignore[arg-type]


def _grammar_problem(d: str, s: str, i: str | None) -> str | None:
    """Why d=, s= or i= is not a domain name, selector or identity (RFC 6376 §3.5), or None."""
    if ascii_domain(d) is None or "_" in d:
        return f"d={d[:80]!r} is not a domain name"
    if not _SELECTOR.fullmatch(s):
        return f"s={s[:80]!r} is not a selector"
    if i is not None:
        local, at, domain = i.rpartition("@")
        if not at or not _LOCAL.fullmatch(local) or ascii_domain(domain) is None:
            return f"i={i[:80]!r} is not an identity (local-part@domain)"
    return None


def _key_rejection(rec: KeyRecord, sig: dict[bytes, bytes], d: str, i: str | None) -> str | None:
    """Why a key record excludes this signature (RFC 6376 §3.6.1, §6.1.2), or None. dkimpy checks none of it."""
    tags = rec.tags
    services = [x.strip().lower() for x in tags.get("s", "*").split(":")]
    if not {"*", "email"} & set(services):
        return f"the key is for other services (s={tags.get('s')}), not email"
    if "h" in tags:
        allowed = [x.strip().lower() for x in tags["h"].split(":")]
        algo = _txt(sig.get(b"a", b"")).lower().rpartition("-")[2]
        if algo not in allowed:
            return f"the key allows only h={tags['h']} hashes, and the signature uses {algo}"
    flags = [x.strip().lower() for x in tags.get("t", "").split(":")]
    if "s" in flags and i is not None and i.rpartition("@")[2].rstrip(".").lower() != d:
        return f"the key forbids subdomains in i= (t=s), and i={i} is not at {d}"
    return None


_PREHASHED = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}


_SERVICE_TAG = re.compile(r"(?:^|(?<=;))\s*s\s*=[^;]*(?:;|$)")


@lru_cache(maxsize=4096)
def _parse_key(name: str, record: str) -> tuple[Any, int, bytes]:
    """dkimpy's key parse, cached: a case checks thousands of messages against a handful of keys.

    The s= (service) tag is judged by `_key_rejection`; dkimpy would silently drop a key whose s=
    lists several services (`s=tlsrpt:email`), so the tag is not handed to it.
    """
    record = _SERVICE_TAG.sub("", record)
    try:
        pk, bits, ktag, _ = dkim.evaluate_pk(name.encode(), record.encode("utf-8", "replace"))
    except Exception as e:  # dkimpy raises several unrelated types for bad key data
        raise ValueError(str(e)[:200] or type(e).__name__) from None
    if pk is None or ktag is None:
        raise ValueError("dkimpy could not read the key")
    return pk, bits, ktag


@lru_cache(maxsize=4096)
def _crypto_rsa_key(modulus: int, exponent: int) -> Any:
    """The same public key for OpenSSL's verifier (dkimpy's pure-Python RSA is the slow part)."""
    try:
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    except (ValueError, TypeError):
        return None


def _verify_header_signature(
    mail: RawMail,
    sig: dict[bytes, bytes],
    sig_header: tuple[bytes, bytes],
    policy: CanonicalizationPolicy,
    hasher: Any,
    include: list[bytes],
    pk: Any,
    ktag: bytes,
) -> bool:
    """The `b=` check over the signed headers, exactly per RFC 6376 (no extra From)."""
    h = hasher()
    # Same bytes as dkim.hash_headers, but only the selected headers are canonicalised (faster).
    selected = canon.canonicalize_headers(policy, dkim.select_headers(mail.headers, list(include)))
    own = canon.canonicalize_headers(policy, [(sig_header[0], canon.without_b_value(sig_header[1]))])
    for name, value in selected + [(n, v.rstrip()) for n, v in own]:
        h.update(name)
        h.update(b":")
        h.update(value)
    try:
        signature = base64.b64decode(b"".join(sig[b"b"].split()))
    except (binascii.Error, ValueError):
        return False
    try:
        if ktag == b"rsa":
            fast = _crypto_rsa_key(pk["modulus"], pk["publicExponent"])
            if fast is not None and h.name in _PREHASHED:
                try:
                    fast.verify(
                        signature, h.digest(), padding.PKCS1v15(), utils.Prehashed(_PREHASHED[h.name]())
                    )
                    return True
                except InvalidSignature:
                    return False
            return bool(RSASSA_PKCS1_v1_5_verify(h, signature, pk))
        if ktag == b"ed25519":
            pk.verify(h.digest(), signature)
            return True
    except Exception:
        # A signature of the wrong length or a key/algorithm mismatch is simply "does not validate".
        return False
    return False


def _finding(code: str, severity: str, message: str, info: dict[str, Any], **extra: Any) -> Finding:
    ev = {"signature": info.get("index"), "d": info.get("d"), "s": info.get("s")}
    ev.update(extra)
    return Finding(code, severity, message, ev)


def _check_signature(
    mail: RawMail,
    idx: int,
    sig_header: tuple[bytes, bytes],
    find: KeyFinder,
    now: datetime,
    outcome: DkimOutcome,
    existed: Existence | None = None,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "index": idx,
        "result": "malformed",
        "algorithm": None,
        "d": None,
        "s": None,
        "i": None,
        "c": None,
        "h": [],
        "t": None,
        "x": None,
        "l": None,
        "key_bits": None,
        "key_type": None,
        "key": None,
        "body_hash_matches": None,
        "header_signature_valid": None,
    }
    findings = outcome.findings

    def malformed(reason: str) -> dict[str, Any]:
        info["reason"] = reason
        findings.append(
            _finding(
                "dkim.malformed",
                "warning",
                f"DKIM signature #{idx + 1} is malformed ({reason}); it cannot prove anything either way.",
                info,
                reason=reason,
                header=_txt(sig_header[1])[:2000],
            )
        )
        return info

    try:
        sig = parse_tag_value(sig_header[1].replace(b"\r\n", b"").replace(b"\n", b""))
    except InvalidTagValueList as e:
        return malformed(f"unreadable tag list: {str(e)[:200]}")
    info.update(
        algorithm=_txt(sig.get(b"a", b"")) or None,
        d=_txt(sig.get(b"d", b"")).lower() or None,
        s=_txt(sig.get(b"s", b"")) or None,
        i=_txt(sig[b"i"]) if b"i" in sig else None,
        c=_txt(sig.get(b"c", b"simple/simple")),
        h=_header_list(sig),
    )
    missing = [t.decode() for t in MANDATORY_TAGS if t not in sig]
    if missing:
        return malformed("missing " + ", ".join(t + "=" for t in missing))
    if not info["d"] or not info["s"]:
        return malformed("empty d= or s=")
    if "from" not in info["h"]:
        # RFC 6376 6.1.1: a signature that does not cover From must be ignored.
        return malformed("h= does not include From")
    # Time tags are checked here, not by dkimpy, which compares x= with today's clock.
    timeless = {k: v for k, v in sig.items() if k not in (b"t", b"x")}
    try:
        dkim.validate_signature_fields(timeless)
    except dkim.DKIMException as e:
        return malformed(str(e)[:200])
    except IndexError:
        # dkimpy indexes past the end of i= when it equals d= (no "@"): an invalid identity.
        return malformed("i= is not an identity at d= (it lacks the @)")
    for tag in (b"t", b"x"):
        if tag in sig:
            if not _TIME.fullmatch(sig[tag]):
                return malformed(f"{tag.decode()}= is not a time ({_txt(sig[tag])[:40]})")
            info[tag.decode()] = int(sig[tag])
    if info["t"] is not None and info["x"] is not None and info["x"] < info["t"]:
        return malformed(f"it expires (x={info['x']}) before it was made (t={info['t']})")
    info["t_utc"], info["x_utc"] = _utc(info["t"]), _utc(info["x"])
    problem = _grammar_problem(info["d"], info["s"], info["i"])
    if problem:
        return malformed(problem)
    if b"l" in sig:
        info["l"] = int(sig[b"l"]) if sig[b"l"] else 0
    try:
        policy = CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    except InvalidCanonicalizationPolicyError:
        return malformed(f"unknown canonicalization c={info['c']}")
    hasher = HASH_ALGORITHMS[sig[b"a"]]
    d, s = info["d"], info["s"]

    # Body hash, computed here so a body change can be told from a header change.
    body = canon.canonicalize_body(policy, mail.body)
    signed_body = body if info["l"] is None else body[: info["l"]]
    unsigned_tail = b"" if info["l"] is None else body[info["l"] :]
    try:
        claimed_bh = base64.b64decode(b"".join(sig[b"bh"].split()))
    except (binascii.Error, ValueError):
        return malformed("bh= is not base64")
    computed_bh = hasher(signed_body).digest()
    bh_ok = computed_bh == claimed_bh and (info["l"] is None or info["l"] <= len(body))
    info["body_hash_matches"] = bh_ok
    info["body_hash_computed"] = base64.b64encode(computed_bh).decode()

    candidates, origin = find(d, s)
    info["key_origin"] = origin
    if not candidates:
        info["result"] = "key_unavailable"
        outcome.keys_missing.append((d, s))
        msg = (
            f"No public key for {s}._domainkey.{d} in the key archive"
            f"{' or in DNS' if origin == 'dns' else ''}, so signature #{idx + 1} "
            f"cannot be checked. If you have the historical key, import it with "
            f"`leaklens keys import FILE` (zone-file TXT line or JSON) and verify again"
        )
        extra: dict[str, Any] = {"body_hash_matches": bh_ok}
        if not bh_ok:
            # Without the key the bh= value itself is unproven, so this is an anomaly, not proof.
            msg += (
                ". Note: the body does not match the signature's body hash, "
                "so it was probably changed after signing"
            )
            extra["effect"] = "suspicious"
        findings.append(_finding("dkim.key_unavailable", "warning", msg + ".", info, **extra))
        return info

    include = [x.encode() for x in info["h"]]
    header_key = (sig_header[0], sig_header[1])
    usable: list[tuple[KeyRecord, Any, int, bytes]] = []
    revoked: list[KeyRecord] = []
    invalid: list[tuple[KeyRecord, str]] = []
    rejected: list[tuple[KeyRecord, str]] = []
    for rec in candidates:
        if rec.revoked:
            revoked.append(rec)
            continue
        why_not = _key_rejection(rec, sig, d, info["i"])
        if why_not:
            rejected.append((rec, why_not))
            continue
        try:
            pk, bits, ktag = _parse_key(rec.name, rec.record)
        except ValueError as e:
            invalid.append((rec, str(e)))
            continue
        usable.append((rec, pk, bits, ktag))

    if not usable:
        outcome.keys_missing.append((d, s))
        if rejected and not invalid:
            rec, why = rejected[0]
            info.update(result="key_rejected", key=rec.provenance(), reason=why)
            findings.append(
                _finding(
                    "dkim.key_rejected",
                    "warning",
                    f"The key record for {s}._domainkey.{d} excludes signature #{idx + 1}: {why}. "
                    "RFC 6376 says such a signature must not be counted, so it proves nothing.",
                    info,
                    key=rec.provenance(),
                    reason=why,
                    record=rec.record[:300],
                )
            )
        elif revoked:
            rec = revoked[0]
            info.update(result="key_revoked", key=rec.provenance())
            findings.append(
                _finding(
                    "dkim.key_revoked",
                    "warning",
                    f"The only key known for {s}._domainkey.{d} is revoked (empty p=): the domain "
                    "withdrew it, "
                    f"usually after rotating keys. Signature #{idx + 1} cannot be checked until the key "
                    "that was "
                    f"in use at the time is imported (`leaklens keys import FILE`).",
                    info,
                    key=rec.provenance(),
                )
            )
        else:
            rec, why = invalid[0]
            info.update(result="key_invalid", key=rec.provenance(), reason=why)
            findings.append(
                _finding(
                    "dkim.key_invalid",
                    "warning",
                    f"The key record for {s}._domainkey.{d} cannot be read ({why}), so signature #{idx + 1} "
                    f"cannot be checked.",
                    info,
                    key=rec.provenance(),
                    reason=why,
                )
            )
        return info

    chosen = None
    for rec, pk, bits, ktag in usable:
        if _verify_header_signature(mail, sig, header_key, policy, hasher, include, pk, ktag):
            chosen = (rec, bits, ktag, True)
            break
    if chosen is None:
        rec, _, bits, ktag = usable[0]
        chosen = (rec, bits, ktag, False)
    rec, bits, ktag, hdr_ok = chosen
    outcome.keys_used.append((d, s))
    info.update(key_bits=bits, key_type=ktag.decode(), key=rec.provenance(), header_signature_valid=hdr_ok)
    key_desc = f"{bits}-bit {'Ed25519' if ktag == b'ed25519' else 'RSA'} key {s}._domainkey.{d}"

    if not bh_ok:
        info["result"] = "body_hash_mismatch"
        proof = (
            " The signature over the headers, which includes the original body hash, is valid, so the "
            "signer really sent a different body."
            if hdr_ok
            else " The signed headers do not match either."
        )
        findings.append(
            _finding(
                "dkim.body_hash_mismatch",
                "critical",
                f"The body was changed after {d} signed it (signature #{idx + 1}): its hash no longer "
                "matches "
                f"the one in the signature.{proof} This is not proof of forgery: mailing lists that add "
                "a footer "
                f"and servers that re-encode messages also cause it.",
                info,
                body_hash_signed=_txt(sig[b"bh"]),
                body_hash_now=info["body_hash_computed"],
                header_signature_valid=hdr_ok,
                key=rec.provenance(),
            )
        )
        if hdr_ok:  # bh= is proven: try the benign changes that would explain the new body
            if (recovered := recovery_finding(mail, info, policy, hasher, claimed_bh)) is not None:
                findings.append(recovered)
        return info
    if not hdr_ok:
        info["result"] = "header_mismatch"
        findings.append(
            _finding(
                "dkim.header_mismatch",
                "critical",
                f"A header signed by {d} was changed after signing (signature #{idx + 1}): the body "
                "still matches "
                f"but the signature over the headers ({', '.join(info['h'])}) fails with {key_desc}. "
                f"(It would also fail if the archived key is not the one that made this signature.)",
                info,
                signed_headers=info["h"],
                key=rec.provenance(),
            )
        )
        return info

    weak = ktag == b"rsa" and bits < MIN_KEY_BITS
    info["result"] = "pass"
    info["weak_key"] = weak
    when = f" The signature is dated {utc_text(info['t_utc'], 'second')}." if info["t_utc"] else ""
    window = rec.window_text()
    if window:
        when += (
            f" The key archive dates this key's use {window}, so the message was signed within that period."
        )
    if weak:
        findings.append(
            _finding(
                "dkim.weak_key",
                "warning",
                f"Signature #{idx + 1} by {d} validates, but with a {bits}-bit RSA key: keys under "
                f"{MIN_KEY_BITS} bits "
                "can be factored by anyone with modest computing power, so this signature could have "
                "been forged and "
                f"does not make the message verified.",
                info,
                key_bits=bits,
                key=rec.provenance(),
            )
        )
    else:
        findings.append(
            _finding(
                "dkim.pass",
                "info",
                f"Valid DKIM signature by {d} ({key_desc}, {info['algorithm']}): {d}'s mail system "
                "signed this "
                f"body and the headers {', '.join(info['h'])}. It does not prove who typed the "
                f"message.{when}",
                info,
                algorithm=info["algorithm"],
                key_bits=bits,
                signed_headers=info["h"],
                t=info["t"],
                key=rec.provenance(),
                key_origin=origin,
                window=window,
            )
        )
    if not weak:
        _pass_caveats(info, rec, sig, now, existed, findings)
    if info["x"] is not None and info["x"] < int(now.timestamp()):
        findings.append(
            _finding(
                "dkim.expired",
                "info",
                f"Signature #{idx + 1} carried an expiry date ({utc_text(info['x_utc'], 'second')}) that has passed. "
                "leaklens judges it as "
                f"of its signing time{' (' + utc_text(info['t_utc'], 'second') + ')' if info['t_utc'] else ''}, "
                "when it was "
                "valid: "
                f"expiry limits how long receivers should trust it, not whether the content was signed.",
                info,
                x=info["x"],
                t=info["t"],
            )
        )
    if info["l"] is not None and unsigned_tail:
        info["unsigned_tail_bytes"] = len(unsigned_tail)
        findings.append(
            _finding(
                "dkim.length_limited",
                "warning",
                f"Signature #{idx + 1} covers only the first {info['l']} bytes of the body (l= tag); "
                "the remaining "
                f'{len(unsigned_tail)} bytes, starting "{_txt(unsigned_tail[:80]).strip()}", '
                "are not signed and "
                f"could have been added by anyone.",
                info,
                l=info["l"],
                body_length=len(body),
                unsigned_tail=_txt(unsigned_tail[:2000]),
            )
        )
    return info


def _pass_caveats(
    info: dict[str, Any],
    rec: KeyRecord,
    sig: dict[bytes, bytes],
    now: datetime,
    existed: Existence | None,
    findings: list[Finding],
) -> None:
    """What keeps a valid signature from counting as proof, or qualifies it (each a finding).

    Sets info["counts"]: whether this signature can make the message verified at all.
    """
    idx, d, s = info["index"], info["d"], info["s"]
    info["counts"] = True
    info["signs_for"] = list(rec.signs_for)
    if info["algorithm"] == "rsa-sha1":
        findings.append(
            _finding(
                "dkim.sha1",
                "info",
                f"Signature #{idx + 1} uses rsa-sha1, which RFC 8301 (2018) retired. It still proves the "
                "content: forging it would need a second preimage of SHA-1, which nobody has shown, not "
                "just a collision.",
                info,
                algorithm="rsa-sha1",
            )
        )
    flags = [x.strip().lower() for x in rec.tags.get("t", "").split(":")]
    if "y" in flags:
        info["counts"] = False
        findings.append(
            _finding(
                "dkim.testing_key",
                "warning",
                f"The key {s}._domainkey.{d} is marked as being tested (t=y): RFC 6376 says to treat "
                "its signatures as if the message were unsigned, so this one proves nothing.",
                info,
                record=rec.record[:300],
            )
        )
    if info["t"] is not None and info["t"] > now.timestamp() + FUTURE_TOLERANCE_S:
        info["counts"] = False
        findings.append(
            _finding(
                "dkim.future_timestamp",
                "warning",
                f"Signature #{idx + 1} says it was made on {utc_text(info['t_utc'], 'second')}, after the moment "
                f"it is being checked (tolerance {FUTURE_TOLERANCE_S // 60} minutes): a wrong clock or a crafted "
                "signature; it is not counted.",
                info,
                t=info["t"],
                checked_at=now.isoformat(timespec="seconds"),
                tolerance_s=FUTURE_TOLERANCE_S,
            )
        )
    if rec.private_published:
        proven = existed is not None and existed.at.date().isoformat() < rec.private_published
        info["key_compromised"] = rec.private_published
        if proven:
            message = (
                f"The private key behind {s}._domainkey.{d} became public on {rec.private_published} "
                f"({rec.private_source}); after that anyone could sign with it. This message provably "
                f"existed by {existed.at.date().isoformat()} ({existed.source}), before that date, so "
                "the signature still proves it."
            )
        else:
            info["counts"] = False
            message = (
                f"The private key behind {s}._domainkey.{d} became public on {rec.private_published} "
                f"({rec.private_source}): since then anyone can make this signature. Nothing recorded "
                "in this case proves the message existed before that date (give the dump's publication "
                "date with --published, or record a timestamp), so the signature proves nothing."
            )
        findings.append(
            _finding(
                "dkim.key_compromised",
                "info" if proven else "warning",
                message,
                info,
                private_published=rec.private_published,
                private_source=rec.private_source,
                existed_by=existed.at.isoformat() if existed else None,
                existed_source=existed.source if existed else None,
                proven_before=proven,
            )
        )


def _uncovered(mail: RawMail, sig: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(header, present, signed) for each watched header this one signature does not fully cover."""
    out = []
    for name in WATCHED_HEADERS:
        present = mail.count(name)
        covered = sig["h"].count(name.lower())
        if present and covered < present:
            out.append((name, present, covered))
    return out


def _unsigned_header_findings(
    mail: RawMail, sig: dict[str, Any], uncovered: list[tuple[str, int, int]]
) -> list[Finding]:
    """Headers a reader relies on that the one proving signature does not fully cover (absent, or extra copies).

    Counted for one signature, never pooled: a header signed only by another domain is unsigned
    for the author.
    """
    out = []
    for name, present, covered in uncovered:
        values = [_txt(v) for v in mail.values(name)]
        # DKIM signs instances from the bottom up, so the unsigned ones are the topmost.
        unsigned = values[: present - covered]
        if covered == 0:
            msg = (
                f"The {name} header is not covered by the DKIM signature: it could have been changed "
                f"without breaking the signature. It reads: {quoted_header(unsigned[0])}."
            )
        else:
            msg = (
                f"The message has {present} {name} headers but the signature covers only {covered}: "
                f"the extra one ({quoted_header(unsigned[0])}) was added after signing, and mail programs "
                f"usually show it instead of the signed one."
            )
        out.append(
            Finding(
                "dkim.unsigned_header",
                "warning",
                msg,
                {
                    "header": name,
                    "present": present,
                    "signed": covered,
                    "unsigned_values": unsigned,
                    "signature": sig["index"],
                },
            )
        )
    return out


def _aligned_with_all(sig: dict[str, Any], authors: list[str]) -> bool:
    """Every author domain shares the signer's organisational domain, or the key declares it signs for it."""
    declared = {organisational_domain(x) for x in sig.get("signs_for") or []}
    return bool(authors) and all(
        aligned(sig["d"], a) or (organisational_domain(a) in declared) for a in authors
    )


def _provider_customer(signer: str, authors: list[str]) -> str | None:
    """The author domain a provider's signing name stands for (`example-com.20161025.gappssmtp.com`)."""
    m = _GAPPS.fullmatch(signer)
    if not m:
        return None
    return next((a for a in authors if a.replace(".", "-") == m.group(1)), None)


def check_dkim(
    mail: RawMail,
    keys: KeyArchive,
    dns: DnsKeySource | None = None,
    now: datetime | None = None,
    *,
    authors: list[str] | None = None,
    existed: Existence | None = None,
) -> DkimOutcome:
    """Findings and one summary dict per DKIM-Signature (top to bottom).

    `authors`: the domain of every mailbox of the message's single From, as `addresses` parses it,
    or None when there is no such From (then no signature can be aligned, so none proves it).
    `existed`: the earliest proof that the message existed (for keys whose private half is public).
    """
    now = now or datetime.now(UTC)
    outcome = DkimOutcome()
    find = key_finder(keys, dns)
    sig_headers = [(n, v) for n, v in mail.headers if n.lower() == b"dkim-signature"]
    if not sig_headers:
        outcome.findings.append(
            Finding(
                "dkim.none",
                "info",
                "The message carries no DKIM signature, so its authenticity cannot be proven "
                "cryptographically "
                "(many domains did not sign mail, and some servers strip signatures).",
                {},
            )
        )
        return outcome
    for idx, header in enumerate(sig_headers):
        outcome.signatures.append(_check_signature(mail, idx, header, find, now, outcome, existed))
    authors = authors or []
    counted = [s for s in outcome.signatures if s["result"] == "pass" and s.get("counts")]
    for sig in outcome.signatures:
        sig["aligned"] = sig in counted and _aligned_with_all(sig, authors)
    proving = [s for s in counted if s["aligned"]]
    # The proving signature: aligned, counted, and covering the most of what a reader relies on.
    gaps = {sig["index"]: _uncovered(mail, sig) for sig in proving}
    proving.sort(key=lambda sig: len(gaps[sig["index"]]))
    if proving:
        outcome.proving = proving[0]["index"]
        outcome.findings.extend(_unsigned_header_findings(mail, proving[0], gaps[outcome.proving]))
    for f in outcome.findings:
        if f.code == "dkim.pass":
            sig = outcome.signatures[f.evidence["signature"]]
            f.evidence["aligned"] = sig["aligned"]
            if not sig["aligned"]:
                # Valid, but not proof of authorship: a third party's system, or a key that cannot count.
                f.evidence["effect"] = "none"
    others = sorted({s["d"] for s in counted if not s["aligned"]})
    if counted and not proving:
        shown = ", ".join(authors) if authors else "(no single readable From address)"
        customer = next((c for c in (_provider_customer(d, authors) for d in others) if c), None)
        message = (
            f"The message was signed by {', '.join(others)}, but the From address is at {shown}: the "
            f"signature proves that {others[0]}'s mail system handled this message, not that "
            f"{', '.join(authors) or 'the stated author'} sent it."
        )
        if customer:
            message += (
                f" {others[0]} is the name under which Google Workspace signs for its customer {customer} by "
                "default; if you know this signer signs for that domain, declare it in a key file "
                "(signs_for, with its source) and verify again."
            )
        outcome.findings.append(
            Finding(
                "dkim.signer_not_author",
                "info",
                message,
                {"signers": others, "from_domains": authors, "customer_domain": customer},
            )
        )
    outcome.keys_used = list(dict.fromkeys(outcome.keys_used))
    outcome.keys_missing = list(dict.fromkeys(k for k in outcome.keys_missing if k not in outcome.keys_used))
    return outcome
