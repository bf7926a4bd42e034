"""The one entry point: everything leaklens can tell about one email's authenticity.

Case-independent and side-effect free (except live DNS when a `DnsKeySource` is passed),
so `leaklens verify` can run it over every email in a process pool and `leaklens check`
on a single file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from leaklens.addresses import ascii_domain
from leaklens.headerblock import head_of, read_block
from leaklens.model import Finding
from leaklens.verify.arc_check import check_arc
from leaklens.verify.authorship import check_authorship
from leaklens.verify.dkim_check import Existence, check_dkim, key_finder
from leaklens.verify.headers import check_headers
from leaklens.verify.keys import DnsKeySource, KeyArchive
from leaklens.verify.rawmail import from_block
from leaklens.verify.verdict import effect_of, verdict_for


@dataclass
class MessageVerification:
    findings: list[Finding] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    arc: dict[str, Any] | None = None
    verdict: str = "unverified"
    keys_used: list[tuple[str, str]] = field(default_factory=list)
    keys_missing: list[tuple[str, str]] = field(default_factory=list)
    summary: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    proving: int | None = None  # index of the signature that proves the message, if one does
    authors: list[str] = field(default_factory=list)  # every mailbox of the single From, as checked
    # Live DNS queries made while checking this message (only with `dns=`), for the case to keep.
    dns_lookups: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["findings"] = [f.to_dict() for f in self.findings]
        d["keys_used"] = [list(k) for k in self.keys_used]
        d["keys_missing"] = [list(k) for k in self.keys_missing]
        return d

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def verify_message(
    raw: bytes,
    keys: KeyArchive,
    *,
    dns: DnsKeySource | None = None,
    published: datetime | None = None,
    timestamps: Iterable[tuple[datetime, str]] = (),
    now: datetime | None = None,
) -> MessageVerification:
    """Check authorship, DKIM, ARC and header dates of one raw message. Never raises: problems become findings.

    `published`: when the dump was published (the message existed by then). `timestamps`: other
    proofs of existence, as (when, source) pairs, e.g. an OpenTimestamps attestation.
    """
    try:
        return _verify(raw, keys, dns, published, list(timestamps), now)
    except Exception as e:  # last resort: a bug must cost one message, not the whole run
        finding = Finding(
            "verify.internal_error",
            "critical",
            f"leaklens could not check this message ({type(e).__name__}: {str(e)[:200]}).",
            {"exception": type(e).__name__, "detail": str(e)[:2000]},
        )
        return MessageVerification(
            findings=[finding],
            verdict="error",
            summary="leaklens failed while checking this message; the finding gives the "
            "error. Please report it with the message.",
        )


def earliest_existence(
    published: datetime | None, timestamps: Iterable[tuple[datetime, str]] = ()
) -> Existence | None:
    """The earliest proof that a message existed: the dump's publication or a recorded timestamp."""
    proofs = [Existence(at, source) for at, source in timestamps]
    if published is not None:
        proofs.append(Existence(published, "the dump's publication date (--published)"))
    return min(proofs, key=lambda e: e.at.timestamp(), default=None)


def _verify(
    raw: bytes,
    keys: KeyArchive,
    dns: DnsKeySource | None,
    published: datetime | None,
    timestamps: list[tuple[datetime, str]],
    now: datetime | None,
) -> MessageVerification:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("verify_message expects the raw message bytes")
    raw = bytes(raw)
    head = head_of(raw)
    block = read_block(head)  # the one reading of the header block; DKIM's view is built from it
    mail = from_block(raw, head, block)
    result = MessageVerification()
    if not mail.headers:
        result.findings.append(
            Finding(
                "email.unreadable",
                "critical",
                "This cannot be read as an email: it has no header fields"
                + (" (it is empty)." if not raw.strip() else "."),
                {"size": len(raw), "start": raw[:200].decode("latin-1")},
            )
        )
        result.verdict = verdict_for(result.findings)
        result.summary = _summary(result)
        return result
    author = check_authorship(raw, head, block)
    result.findings += author.findings
    result.authors = author.mailboxes
    # Lines DKIM's reader skips are irregular to headerblock too: headers.ambiguous reports them.

    dns_log_start = len(dns.log) if dns is not None else 0
    dk = check_dkim(
        mail, keys, dns, now, authors=author.authors, existed=earliest_existence(published, timestamps)
    )
    result.findings += dk.findings
    result.proving = dk.proving
    result.signatures = dk.signatures
    dkim_broken = any(s["result"] in ("body_hash_mismatch", "header_mismatch") for s in dk.signatures)
    ar = check_arc(mail, key_finder(keys, dns), dkim_broken=dkim_broken)
    result.findings += ar.findings
    result.arc = ar.arc

    hops, header_findings = check_headers(mail, published)
    result.received = [h.to_dict() for h in hops]
    # Received headers are unsigned and clocks drift: on a verified message these are notes
    # (verdict.HEURISTIC), never a reason to doubt the signature.
    result.findings += header_findings
    if any(s["result"] == "pass" for s in dk.signatures):
        for f in result.findings:
            if f.code == "headers.no_from":
                f.evidence["effect"] = "suspicious"  # a valid signature over a message that names no author

    result.keys_used = list(dict.fromkeys(dk.keys_used + ar.keys_used))
    result.keys_missing = list(
        dict.fromkeys(k for k in dk.keys_missing + ar.keys_missing if k not in result.keys_used)
    )
    if dns is not None:
        result.dns_lookups = [entry.to_dict() for entry in dns.log[dns_log_start:]]
    result.verdict = verdict_for(result.findings)
    result.summary = _summary(result)
    return result


def _first(findings: list[Finding], code: str) -> Finding | None:
    return next((f for f in findings if f.code == code), None)


def key_sentence(key: dict[str, Any] | None) -> str:
    """Where the key came from and when it was in use, in words (from KeyRecord.provenance())."""
    if not key:
        return ""
    parts = []
    if key.get("source"):
        parts.append(str(key["source"]))
    first, last = key.get("first_seen"), key.get("last_seen")
    if first and last:
        parts.append(f"in use {first} to {last}")
    elif first or last:
        parts.append(f"in use from {first}" if first else f"in use until {last}")
    return "; ".join(parts)


def lead_sentence(r: MessageVerification) -> str | None:
    """The sentence a reader can quote for a verified message: signer, key and provenance, author."""
    if r.proving is None:
        return None
    sig = r.signatures[r.proving]
    # A non-ASCII author domain is also shown in the A-label form that DNS and d= use: a homoglyph
    # (Cyrillic "і" for "i") must not read as the domain it imitates.
    authors = sorted({_shown_domain(a.rpartition("@")[2]) for a in r.authors}) or ["?"]
    key = sig.get("key") or {}
    return (
        f"Signed by {sig['d']} with key {sig['s']} ({key_sentence(key) or 'key archive'}); "
        f"the From address is at {', '.join(authors)}."
    )


def _shown_domain(domain: str) -> str:
    a_label = ascii_domain(domain)
    return domain if a_label is None or a_label == domain.lower() else f"{domain} ({a_label})"


def _summary(r: MessageVerification) -> str:
    """What a journalist reads first: one quotable sentence (the verdict and why), then what it does not mean."""
    fs = r.findings
    if r.verdict == "error":
        bad = next((f for f in fs if effect_of(f) == "error"), None)
        return f"Could not be checked. {bad.message if bad else ''}".strip()
    if r.verdict == "altered":
        recovered = _first(fs, "dkim.original_recovered")
        parts = [f.message for f in fs if effect_of(f) == "altered"][:2]
        if recovered is not None:
            # Lead with what is known: the signed original, and the one change that explains the break.
            how = "in transit" if recovered.evidence.get("in_transit") else "after signing"
            text = f"Altered {how}; the signed original is recovered. {recovered.message} " + " ".join(parts)
        else:
            text = "Altered after it was signed. " + " ".join(parts)
        explained = _first(fs, "arc.dkim_pass_recorded")
        if explained:
            text += " " + explained.message
        return text
    if r.verdict == "verified":
        text = "Verified. " + (lead_sentence(r) or "")
        passes = [f for f in fs if f.code == "dkim.pass" and f.evidence.get("aligned")]
        if passes:
            text += " " + passes[0].message
        if len(passes) > 1:
            text += f" ({len(passes)} valid aligned signatures in all.)"
        notes = [f.message for f in fs if f.code in ("dkim.expired", "dkim.sha1", "dkim.key_compromised")]
        return " ".join([text, *notes])
    if r.verdict == "suspicious":
        reasons = [f.message for f in fs if effect_of(f) == "suspicious"]
        lead = "Suspicious: no proof that it was altered, but "
        lead += (
            "something does not add up. " if len(reasons) == 1 else f"{len(reasons)} things do not add up. "
        )
        extra = ""
        if any(s["result"] == "pass" for s in r.signatures):
            extra = " A DKIM signature does validate, but it does not prove what a reader sees, as listed above."
        return lead + " ".join(reasons[:3]) + extra
    # unverified
    codes = (
        "dkim.signer_not_author",
        "dkim.key_compromised",
        "dkim.testing_key",
        "dkim.future_timestamp",
        "dkim.key_rejected",
        "headers.no_from",
        "dkim.none",
        "dkim.key_unavailable",
        "dkim.key_revoked",
        "dkim.key_invalid",
        "dkim.weak_key",
        "dkim.malformed",
    )
    reasons = [f.message for code in codes for f in fs if f.code == code]
    text = "Unverified: nothing proves or disproves that this email is authentic. "
    text += " ".join(reasons[:2]) if reasons else ""
    if _first(fs, "arc.pass"):
        text += " " + _first(fs, "arc.pass").message  # type: ignore[union-attr]
    return text.strip()
