"""The one entry point: everything leaklens can tell about one email's authenticity.

Case-independent and side-effect free (except live DNS when a `DnsKeySource` is passed),
so `leaklens verify` can run it over every email in a process pool and `leaklens check`
on a single file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from leaklens.model import Finding
from leaklens.verify.arc_check import check_arc
from leaklens.verify.dkim_check import check_dkim, key_finder
from leaklens.verify.headers import check_headers
from leaklens.verify.keys import DnsKeySource, KeyArchive
from leaklens.verify.rawmail import parse_raw
from leaklens.verify.verdict import effect_of, verdict_for

# Anomalies in unsigned, clock-dependent headers do not outweigh a valid signature.
_HEADER_ANOMALIES = ("headers.time_travel", "headers.date_skew", "headers.date_after_publication")


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
    raw: bytes, keys: KeyArchive, *, dns: DnsKeySource | None = None, published: datetime | None = None
) -> MessageVerification:
    """Check DKIM, ARC and header dates of one raw message. Never raises: problems become findings."""
    try:
        return _verify(raw, keys, dns, published)
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


def _verify(
    raw: bytes, keys: KeyArchive, dns: DnsKeySource | None, published: datetime | None
) -> MessageVerification:
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("verify_message expects the raw message bytes")
    raw = bytes(raw)
    mail = parse_raw(raw)
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
    if mail.skipped_lines:
        result.findings.append(
            Finding(
                "email.malformed_header",
                "warning",
                f"{len(mail.skipped_lines)} line(s) in the header block are not valid header fields and "
                "were ignored "
                f"(first at line {mail.skipped_lines[0][0]}): damaged in transit or storage, or edited "
                "by hand.",
                {"lines": [[n, line[:300].decode("latin-1")] for n, line in mail.skipped_lines[:20]]},
            )
        )

    dns_log_start = len(dns.log) if dns is not None else 0
    dk = check_dkim(mail, keys, dns)
    result.findings += dk.findings
    result.signatures = dk.signatures
    dkim_broken = any(s["result"] in ("body_hash_mismatch", "header_mismatch") for s in dk.signatures)
    ar = check_arc(mail, key_finder(keys, dns), dkim_broken=dkim_broken)
    result.findings += ar.findings
    result.arc = ar.arc

    hops, header_findings = check_headers(mail, published)
    result.received = [h.to_dict() for h in hops]
    signed = any(f.code == "dkim.pass" for f in dk.findings)
    for f in header_findings:
        if signed and f.code in _HEADER_ANOMALIES:
            # Received headers are unsigned and clocks drift: note it, but a valid signature stands.
            f = Finding(
                f.code,
                "info",
                f.message + " (Not held against the message: its DKIM signature is valid.)",
                {**f.evidence, "effect": "none"},
            )
        result.findings.append(f)

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


def _summary(r: MessageVerification) -> str:
    """One paragraph a journalist reads first: the verdict, why, and what it does not mean."""
    fs = r.findings
    if r.verdict == "error":
        bad = next((f for f in fs if effect_of(f) == "error"), None)
        return f"Could not be checked. {bad.message if bad else ''}".strip()
    if r.verdict == "altered":
        parts = [f.message for f in fs if effect_of(f) == "altered"][:2]
        text = "Altered after it was signed. " + " ".join(parts)
        explained = _first(fs, "arc.dkim_pass_recorded")
        if explained:
            text += " " + explained.message
        return text
    if r.verdict == "verified":
        passes = [f for f in fs if f.code == "dkim.pass"]
        text = "Verified. " + passes[0].message
        if len(passes) > 1:
            text += f" ({len(passes)} valid signatures in all.)"
        notes = [f.message for f in fs if f.code in ("dkim.signer_not_author", "dkim.expired")]
        return " ".join([text, *notes])
    if r.verdict == "suspicious":
        reasons = [f.message for f in fs if effect_of(f) == "suspicious"]
        lead = "Suspicious: no proof that it was altered, but "
        lead += (
            "something does not add up. " if len(reasons) == 1 else f"{len(reasons)} things do not add up. "
        )
        extra = ""
        if any(f.code == "dkim.pass" for f in fs):
            extra = " A DKIM signature does validate, but it does not cover what is listed above."
        return lead + " ".join(reasons[:3]) + extra
    # unverified
    reasons = [
        f.message
        for f in fs
        if f.code
        in (
            "dkim.none",
            "dkim.key_unavailable",
            "dkim.key_revoked",
            "dkim.key_invalid",
            "dkim.weak_key",
            "dkim.malformed",
        )
    ]
    text = "Unverified: nothing proves or disproves that this email is authentic. "
    text += " ".join(reasons[:2]) if reasons else ""
    if _first(fs, "arc.pass"):
        text += " " + _first(fs, "arc.pass").message  # type: ignore[union-attr]
    return text.strip()
