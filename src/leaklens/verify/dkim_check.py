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
from email.utils import getaddresses
from functools import lru_cache
from typing import Any

import dkim
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.crypto import HASH_ALGORITHMS, RSASSA_PKCS1_v1_5_verify
from dkim.util import InvalidTagValueList, parse_tag_value

from leaklens.model import Finding
from leaklens.verify.keys import DnsKeySource, KeyArchive, KeyRecord
from leaklens.verify.rawmail import RawMail, as_text

MIN_KEY_BITS = 1024
# The headers a reader relies on; one the signature does not cover could have been changed freely.
WATCHED_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Reply-To")
MANDATORY_TAGS = (b"v", b"a", b"b", b"bh", b"d", b"h", b"s")

KeyFinder = Callable[[str, str], tuple[list[KeyRecord], str]]


@dataclass
class DkimOutcome:
    findings: list[Finding] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    keys_used: list[tuple[str, str]] = field(default_factory=list)
    keys_missing: list[tuple[str, str]] = field(default_factory=list)


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
    return [_txt(x).lower() for x in re.split(rb"\s*:\s*", sig.get(b"h", b"").strip()) if x]


def _from_domain(mail: RawMail) -> str | None:
    value = mail.first_text("From")
    if not value:
        return None
    addrs = [a for _, a in getaddresses([value]) if "@" in a]
    return addrs[0].rsplit("@", 1)[1].strip().rstrip(".").lower() if addrs else None


def aligned(signer: str, author: str | None) -> bool:
    """Relaxed alignment without a public-suffix list: same domain, or one a subdomain of the other."""
    if not author:
        return False
    s, a = signer.lower().rstrip("."), author.lower().rstrip(".")
    return s == a or a.endswith("." + s) or s.endswith("." + a)


_PREHASHED = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}


@lru_cache(maxsize=4096)
def _parse_key(name: str, record: str) -> tuple[Any, int, bytes]:
    """dkimpy's key parse, cached: a case checks thousands of messages against a handful of keys."""
    try:
        pk, bits, ktag, _ = dkim.evaluate_pk(name.encode(), record.encode("utf-8", "replace"))
    except Exception as e:  # dkimpy raises several unrelated types for bad key data
        raise ValueError(str(e)[:200] or type(e).__name__) from None
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
    selected = policy.canonicalize_headers(dkim.select_headers(mail.headers, list(include)))
    own = policy.canonicalize_headers([(sig_header[0], dkim.RE_BTAG.sub(b"\\1", sig_header[1]))])
    for name, value in selected + [(n, v.rstrip()) for n, v in own]:
        h.update(name)
        h.update(b":")
        h.update(value)
    try:
        signature = base64.b64decode(re.sub(rb"\s+", b"", sig[b"b"]))
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
        sig = parse_tag_value(re.sub(rb"\r?\n", b"", sig_header[1]))
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
            if not re.fullmatch(rb"\d{1,12}", sig[tag]):
                return malformed(f"{tag.decode()}= is not a time ({_txt(sig[tag])[:40]})")
            info[tag.decode()] = int(sig[tag])
    if info["t"] is not None and info["x"] is not None and info["x"] < info["t"]:
        return malformed(f"it expires (x={info['x']}) before it was made (t={info['t']})")
    info["t_utc"], info["x_utc"] = _utc(info["t"]), _utc(info["x"])
    if b"l" in sig:
        info["l"] = int(sig[b"l"]) if sig[b"l"] else 0
    try:
        policy = CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    except InvalidCanonicalizationPolicyError:
        return malformed(f"unknown canonicalization c={info['c']}")
    hasher = HASH_ALGORITHMS[sig[b"a"]]
    d, s = info["d"], info["s"]

    # Body hash, computed here so a body change can be told from a header change.
    body = policy.canonicalize_body(mail.body)
    signed_body = body if info["l"] is None else body[: info["l"]]
    unsigned_tail = b"" if info["l"] is None else body[info["l"] :]
    try:
        claimed_bh = base64.b64decode(re.sub(rb"\s+", b"", sig[b"bh"]))
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
    for rec in candidates:
        if rec.revoked:
            revoked.append(rec)
            continue
        try:
            pk, bits, ktag = _parse_key(rec.name, rec.record)
        except ValueError as e:
            invalid.append((rec, str(e)))
            continue
        usable.append((rec, pk, bits, ktag))

    if not usable:
        outcome.keys_missing.append((d, s))
        if revoked:
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
    when = f" The signature is dated {info['t_utc']}." if info["t_utc"] else ""
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
    if info["x"] is not None and info["x"] < int(now.timestamp()):
        findings.append(
            _finding(
                "dkim.expired",
                "info",
                f"Signature #{idx + 1} carried an expiry date ({info['x_utc']}) that has passed. "
                "leaklens judges it as "
                f"of its signing time{' (' + info['t_utc'] + ')' if info['t_utc'] else ''}, when it was "
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


def _unsigned_header_findings(mail: RawMail, passing: list[dict[str, Any]]) -> list[Finding]:
    """Headers a reader relies on that no valid signature fully covers (absent, or extra copies)."""
    out = []
    for name in WATCHED_HEADERS:
        present = mail.count(name)
        if present == 0:
            continue
        covered = max(sig["h"].count(name.lower()) for sig in passing)
        if covered >= present:
            continue
        values = [_txt(v) for v in mail.values(name)]
        # DKIM signs instances from the bottom up, so the unsigned ones are the topmost.
        unsigned = values[: present - covered]
        if covered == 0:
            msg = (
                f"The {name} header is not covered by the DKIM signature: it could have been changed "
                f"without breaking the signature. It reads: {unsigned[0][:200]!r}."
            )
        else:
            msg = (
                f"The message has {present} {name} headers but the signature covers only {covered}: "
                f"the extra one ({unsigned[0][:200]!r}) was added after signing, and mail programs "
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
                    "signatures": [sig["index"] for sig in passing],
                },
            )
        )
    return out


def check_dkim(
    mail: RawMail, keys: KeyArchive, dns: DnsKeySource | None = None, now: datetime | None = None
) -> DkimOutcome:
    """Findings and one summary dict per DKIM-Signature (top to bottom)."""
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
        outcome.signatures.append(_check_signature(mail, idx, header, find, now, outcome))
    passing = [s for s in outcome.signatures if s["result"] == "pass" and not s.get("weak_key")]
    if passing:
        outcome.findings.extend(_unsigned_header_findings(mail, passing))
        author = _from_domain(mail)
        if not any(aligned(s["d"], author) for s in passing):
            signers = sorted({s["d"] for s in passing})
            outcome.findings.append(
                Finding(
                    "dkim.signer_not_author",
                    "info",
                    f"The message was signed by {', '.join(signers)}, but the From address is at "
                    f"{author or '(no readable address)'}: the signature proves {signers[0]}'s mail system "
                    f"handled it, not that {author or 'the stated author'} sent it.",
                    {"signers": signers, "from_domain": author},
                )
            )
    outcome.keys_used = list(dict.fromkeys(outcome.keys_used))
    outcome.keys_missing = list(dict.fromkeys(k for k in outcome.keys_missing if k not in outcome.keys_used))
    return outcome
