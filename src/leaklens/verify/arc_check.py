"""ARC (RFC 8617) chain validation with dkimpy, keys from the archive.

An ARC chain is each relay (typically a mailing list) vouching for what it received. It
never makes a message verified, but when the author's DKIM signature broke on the way,
a valid chain whose first hop recorded `dkim=pass` explains the break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import dkim

from leaklens.model import Finding
from leaklens.verify.dkim_check import KeyFinder
from leaklens.verify.rawmail import RawMail, as_text

ARC_HEADERS = (b"arc-seal", b"arc-message-signature", b"arc-authentication-results")


@dataclass
class ArcOutcome:
    arc: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    keys_used: list[tuple[str, str]] = field(default_factory=list)
    keys_missing: list[tuple[str, str]] = field(default_factory=list)


def _dnsfunc(find: KeyFinder, outcome: ArcOutcome) -> Any:
    """A dkimpy dnsfunc answering from the key archive, noting which keys were there."""

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        text = as_text(name).rstrip(".").lower()
        if "._domainkey." not in text:
            return None
        selector, domain = text.split("._domainkey.", 1)
        records, _ = find(domain, selector)
        usable = [r for r in records if not r.revoked]
        if not usable:
            outcome.keys_missing.append((domain, selector))
            return None
        outcome.keys_used.append((domain, selector))
        return usable[0].record.encode("utf-8", "replace")

    return dnsfunc


def _text(v: Any) -> Any:
    return as_text(v) if isinstance(v, bytes) else v


def first_hop_dkim(aar_value: str) -> dict[str, Any] | None:
    """The `dkim=` result the first relay recorded in its ARC-Authentication-Results, if any."""
    m = re.search(r"\bdkim\s*=\s*(\w+)", aar_value, re.I)
    if not m:
        return None
    out: dict[str, Any] = {"result": m.group(1).lower()}
    for tag in ("header.d", "header.i", "header.s"):
        t = re.search(re.escape(tag) + r"\s*=\s*([^\s;]+)", aar_value[m.start() :], re.I)
        if t:
            out[tag] = t.group(1)
    return out


def check_arc(mail: RawMail, find: KeyFinder, dkim_broken: bool = False) -> ArcOutcome:
    """Validate the ARC chain, if the message has one. `dkim_broken`: the author's DKIM signature fails."""
    outcome = ArcOutcome()
    if not any(n.lower() in ARC_HEADERS for n, _ in mail.headers):
        return outcome
    arc = dkim.ARC(None)
    # Hand dkimpy the leniently parsed message: its own parser rejects damaged headers outright.
    arc.headers = [list(h) for h in mail.headers]
    arc.body = mail.body
    try:
        hops, _ = arc.sorted_arc_headers()
        cv, results, reason = arc.verify(dnsfunc=_dnsfunc(find, outcome))
    except Exception as e:  # dkimpy raises assorted types (IndexError, KeyError...) on broken ARC sets
        hops, cv, results, reason = 0, dkim.CV_Fail, [], f"{type(e).__name__}: {e}"
    terminated = cv is None  # a seal recorded cv=fail: the chain ended before this hop
    cv_text = "fail" if terminated else _text(cv)
    sealers = [
        {
            "instance": r.get("instance"),
            "seal_domain": _text(r.get("as-domain")),
            "seal_selector": _text(r.get("as-selector")),
            "seal_valid": r.get("as-valid"),
            "cv": _text(r.get("cv")),
            "ams_domain": _text(r.get("ams-domain")),
            "ams_selector": _text(r.get("ams-selector")),
            "ams_valid": r.get("ams-valid"),
        }
        for r in results
    ]
    outcome.keys_used = list(dict.fromkeys(outcome.keys_used))
    outcome.keys_missing = list(dict.fromkeys(k for k in outcome.keys_missing if k not in outcome.keys_used))
    outcome.arc = {
        "cv": cv_text,
        "terminated": terminated,
        "hops": hops,
        "reason": _text(reason),
        "sealers": sorted(sealers, key=lambda s: s["instance"] or 0),
    }
    names = ", ".join(dict.fromkeys(s["seal_domain"] or "?" for s in outcome.arc["sealers"])) or "unknown"
    if cv_text == "pass":
        outcome.findings.append(
            Finding(
                "arc.pass",
                "info",
                f"The ARC chain of {hops} hop(s), sealed by {names}, validates: each relay vouches for "
                "what it "
                f"received. This documents the path, not who wrote the message.",
                dict(outcome.arc),
            )
        )
        first = next((r for r in results if r.get("instance") == 1), None)
        recorded = first_hop_dkim(_text(first.get("aar-value", b""))) if first else None
        if dkim_broken and recorded and recorded["result"] == "pass":
            outcome.findings.append(
                Finding(
                    "arc.dkim_pass_recorded",
                    "info",
                    "The author's DKIM signature no longer validates, but the first relay "
                    f"({names.split(', ')[0]}) "
                    "recorded in its ARC seal that it passed when the message reached it: the change "
                    "was probably "
                    "made by that relay (a list adding a footer or tag), not before. This is the "
                    "relay's word, "
                    f"not proof.",
                    {"first_hop": recorded, "aar": _text(first.get("aar-value"))},
                )
            )
    elif cv_text != "none":
        outcome.findings.append(
            Finding(
                "arc.fail",
                "warning",
                f"The ARC chain ({hops} hop(s), sealers: {names}) does not validate: {_text(reason)}. "
                "Relays with "
                f"buggy ARC support cause this too.",
                dict(outcome.arc),
            )
        )
    if outcome.keys_missing:
        outcome.findings.append(
            Finding(
                "arc.key_unavailable",
                "warning",
                "No archived key for ARC sealer(s) "
                + ", ".join(f"{s}._domainkey.{d}" for d, s in outcome.keys_missing)
                + "; import it with `leaklens keys import FILE` to check the chain.",
                {"keys": [list(k) for k in outcome.keys_missing]},
            )
        )
    return outcome
