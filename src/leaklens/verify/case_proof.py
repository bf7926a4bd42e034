"""What one item's proof says about other items of the case, and what the case says about one item.

Steps of the run (`leaklens.steps`), declared at the end of this module: after every email's own
check, in the order their needs give. Each owns one findings stage, deletes it and writes it
again in a few set-based statements (the store's), so a re-run gives the same findings and
20,000 emails cost a fraction of a second; each returns the items whose findings of its stage
changed, whose verdicts the runner then derives again:

- `inherit_verification` (stage "inherit"): the parts of a verified email are verified through
  it, since its body hash covers their bytes (`dkim.covered_by_parent`); a message forwarded
  inside it is only marked (`dkim.inside_verified`): its own signatures decide who wrote it.
- `identical_to_verified` (stage "identical"): proof travels with bytes. An item with the
  sha256 of a verified item is verified through it (`dkim.identical_to_verified`).
- `expected_signatures` (stage "expect"): a domain whose relayed mail is signed (nearly) always
  in a period makes an unsigned message claiming it in that period suspicious
  (`dkim.expected_signature_missing`).
- `carries_altered` (stage "vehicle"): an email that nothing verifies and that carries an altered
  item is suspicious (`dup.carries_altered`): the vehicle of a forgery is not neutral. Run again
  by the documents' steps, once they have found altered copies.
- `quote_checks` (stage "thread"): replies that misquote a verified parent (verify/threads.py).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from functools import lru_cache
from typing import Any

from ..addresses import organisational_domain, parse_address_list
from ..case import Case
from ..model import Finding
from ..steps import Run, step, unpack_rule_findings
from ..store.base import ItemQuery
from .recover import explanation
from .threads import quote_findings
from .verdict import (
    ALTERED,
    SUSPICIOUS,
    VERIFIED,
    effect_of,
    inherits_verification,
    is_heuristic,
    register_effect,
)

register_effect("dkim.covered_by_parent", VERIFIED)
register_effect("dkim.inside_verified", None)
register_effect("dkim.identical_to_verified", VERIFIED)
# Both are only ever written on emails that nothing verifies: one lacks the signature its domain's
# other mail carries, the other carried a forgery. Neither can meet a proof to override.
register_effect("dkim.expected_signature_missing", SUSPICIOUS)
register_effect("dup.carries_altered", SUSPICIOUS)

COVERED_BY_PARENT = (
    "dkim.covered_by_parent",
    "info",
    "Verified through its email: these bytes are inside a DKIM-signed message body that validates, "
    "so they are exactly what was sent.",
)
INSIDE_VERIFIED = (
    "dkim.inside_verified",
    "info",
    "This message was forwarded inside a DKIM-verified email: its bytes are unchanged since then, "
    "but that says nothing about who wrote it; its own signatures decide.",
)

STAGES = ("inherit", "identical", "expect", "vehicle", "thread")  # one findings stage per step


NOTE_ON_VERIFIED = (
    " Shown as a note: this item is verified, its bytes proven by a DKIM signature, and an anomaly in its "
    "metadata or against the rest of the case does not outweigh that proof."
)


def as_note(finding: Finding) -> Finding:
    """A heuristic finding on a verified item, as the note it is there (severity info, said in the message).

    The effect stays in the evidence: verdict.py already ignores a heuristic effect on a verified
    item, and should the item lose its proof (a key withdrawn), the anomaly counts again.
    """
    if finding.severity == "info" or not is_heuristic(finding.code):
        return finding
    evidence = {**finding.evidence, "note_on_verified": True, "severity_unproven": finding.severity}
    return Finding(finding.code, "info", finding.message + NOTE_ON_VERIFIED, evidence)


# --- attachments of a verified email -------------------------------------------------------------


def inherit_verification(case: Case) -> set[str]:
    """`dkim.covered_by_parent` on every part of an email whose verification its parts inherit
    (verdict.inherits_verification: verified, and no l= leaving a tail of the body unsigned).
    Returns the items whose findings of the stage changed."""
    db = case.db
    cleared = db.clear_findings(("inherit",))
    emails = db.verified_emails_with_parts()
    judged = {i: unpack_rule_findings(packed) for i, _, packed in db.verdict_inputs(ItemQuery(ids=tuple(emails)))}
    roots = [e for e, fs in judged.items() if fs and inherits_verification(fs)]
    tree = db.parts_of(roots)
    domains = db.aligned_signing_domains(roots) if tree else {}
    pairs = []
    for item_id, kind, root in tree:
        evidence = {"verified_email": root, "signing_domains": sorted(domains.get(root, ()))}
        template = INSIDE_VERIFIED if kind == "email" else COVERED_BY_PARENT
        pairs.append((item_id, Finding(*template, evidence)))
    db.add_findings_of(pairs, "inherit")
    return cleared | {i for i, _ in pairs}


# --- identical bytes ---------------------------------------------------------------------------


def identical_to_verified(case: Case) -> set[str]:
    """`dkim.identical_to_verified` on every item not verified itself whose bytes equal a verified item's.

    Reads the verdicts as they stand, so it runs after the attachments of verified emails have
    inherited (and their verdicts were refreshed) and after its own previous findings are gone
    from those verdicts: a copy verified only through another copy never proves anything.
    Returns the items whose findings of the stage changed.
    """
    db = case.db
    cleared = db.clear_findings(("identical",))
    pairs = []
    for c in db.copies_of_verified():
        n = c["copies"]
        via = (
            f", which is inside the DKIM-verified email {c['proof_path']}"
            if c["proof_path"]
            else (", a DKIM-verified email" if c["copy_kind"] == "email" else "")
        )
        others = f" (and {n - 1} other verified cop{'y' if n == 2 else 'ies'})" if n > 1 else ""
        message = (
            f"Verified through identical bytes: this item has the same SHA-256 as {c['copy_path']}{via}{others}. "
            "Proof travels with bytes, so this is exactly what was signed; it says nothing about how this "
            "copy reached the dump."
        )
        evidence = {
            "sha256": c["sha256"],
            "verified_copy": c["copy_id"],
            "verified_path": c["copy_path"],
            "verified_copies": n,
            "verified_email": c["proof_id"] or (c["copy_id"] if c["copy_kind"] == "email" else None),
        }
        pairs.append((c["id"], Finding("dkim.identical_to_verified", "info", message, evidence)))
    db.add_findings_of(pairs, "identical")
    return cleared | {i for i, _ in pairs}


# --- a domain that signs its mail --------------------------------------------------------------

SIGNING_RATE = 0.95  # the share of a domain's relayed mail that must carry its valid signature...
CONFIDENCE_Z = 1.645  # ... at the low end of a one-sided 95% confidence interval (Wilson score)
WINDOW_MONTHS = 1  # the message's calendar month and this many months either side

# Received hops that show a message going from one mail server to another: a named sending host
# that is not the receiving host itself nor the loopback, and not an authenticated submission by
# a mail client (RFC 3848's ...A protocols, webmail over HTTP, Exchange's MAPI) nor the local
# delivery into a mailbox (LMTP). A message that never made such a hop (a draft, a copy saved by
# the client, a message delivered on one machine) never passed a server that would sign it.
# (The store applies the rule with these values: `CaseStore.relayed_unsigned_emails`.)
LOCAL_HOSTS = ("", "localhost", "localhost.localdomain", "127.0.0.1", "[127.0.0.1]", "::1", "[::1]", "[ipv6:::1]")
SUBMISSION_PROTOCOLS = (
    "ESMTPA", "ESMTPSA", "UTF8SMTPA", "UTF8SMTPSA", "LMTP", "LMTPS", "LMTPA", "LMTPSA",
    "HTTP", "HTTPS", "HTTPREST", "MAPI", "LOCAL",
)  # fmt: skip


def wilson_lower(successes: int, n: int, z: float = CONFIDENCE_Z) -> float:
    """The lower bound of the Wilson score interval for a proportion: what the sample shows at least."""
    if n <= 0:
        return 0.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - margin) / denominator)


@lru_cache(maxsize=65536)
def from_domains(email_from: str) -> tuple[str, ...]:
    """The domains of the From mailboxes as stored at ingest (lower-case, each once)."""
    try:
        domains = parse_address_list(email_from).domains
    except Exception:  # a From no reader can parse claims no domain this rule could judge
        return ()
    return tuple(dict.fromkeys(d.lower().rstrip(".") for d in domains if d))


def _month(date: str) -> int | None:
    """The month of an ISO date as one number (year * 12 + month - 1)."""
    try:
        year, month = int(date[0:4]), int(date[5:7])
    except (TypeError, ValueError):
        return None
    return year * 12 + month - 1 if 1 <= month <= 12 else None


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def expected_signatures(case: Case) -> set[str]:
    """`dkim.expected_signature_missing` on relayed, unsigned mail from a domain that signs its mail.

    Counted per exact From domain and calendar month, once per message (copies of one Message-ID
    in several mailboxes are one message): the messages with a valid aligned signature (they
    passed the domain's signer, whatever their Received headers say) and the unsigned ones that
    were relayed between mail servers (`_RELAY_HOP`: they passed a server that should have
    signed them). For a message dated in month M the period is M-1..M+1. The domain signs its
    mail in that period when the signed share is at least SIGNING_RATE at the low end of its
    one-sided 95% Wilson interval: when every message is signed that takes 52 messages, with one
    unsigned (the message judged counts) about 90; three signed messages never make a rule.
    A message that carries the domain's own signature, valid or broken, is left to what that
    signature's findings say. Returns the items whose findings of the stage changed.
    """
    from .case_verify import VERIFICATIONS  # the messages step's table (that module needs this one's steps)

    db = case.db
    cleared = db.clear_findings(("expect",))
    # The checked emails (a row in `verifications`) that were relayed unsigned: few, and all the rule can flag.
    relayed = db.relayed_unsigned_emails(
        VERIFICATIONS, local_hosts=LOCAL_HOSTS, submission_protocols=SUBMISSION_PROTOCOLS
    )
    if not relayed:
        return cleared
    messages: dict[tuple[str, str], list[Any]] = {}  # (domain, message key) -> [month, signed]
    candidates: list[tuple[str, str, int]] = []  # (item id, domain, month)
    for item_id, email_from, date, message_id, signed in db.checked_emails(VERIFICATIONS):
        month = _month(date)
        if month is None or not (signed or item_id in relayed):
            continue
        for domain in from_domains(email_from):
            entry = messages.setdefault((domain, message_id or item_id), [month, False])
            entry[1] = entry[1] or bool(signed)
            if not signed and relayed[item_id][0] != VERIFIED:
                candidates.append((item_id, domain, month))
    counts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for (domain, _), (month, signed) in messages.items():
        c = counts[(domain, month)]
        c[0] += 1
        c[1] += signed
    pairs = []
    for item_id, domain, month in candidates:
        window = [counts.get((domain, m), (0, 0)) for m in range(month - WINDOW_MONTHS, month + WINDOW_MONTHS + 1)]
        n, k = sum(c[0] for c in window), sum(c[1] for c in window)
        if not k or wilson_lower(k, n) < SIGNING_RATE:
            continue
        sigs = [{"d": s.get("d"), "s": s.get("s"), "result": s.get("result")} for s in json.loads(relayed[item_id][1])]
        org = organisational_domain(domain)
        if any(s["result"] in _CARRIED and s["d"] and organisational_domain(s["d"]) == org for s in sigs):
            continue
        pairs.append((item_id, _expected_finding(domain, month, n, k, sigs)))
    db.add_findings_of(pairs, "expect")
    return cleared | {i for i, _ in pairs}


# Results of a signature by the domain itself that say it was signed: valid (but not proof here: a
# testing key, a compromised one...) or broken after signing (then the message is altered).
_CARRIED = ("pass", "body_hash_mismatch", "header_mismatch")


def _signature_state(domain: str, sigs: list[dict[str, Any]]) -> str:
    if not sigs:
        return "carries no DKIM signature at all"
    own = [s for s in sigs if s["d"] and organisational_domain(s["d"]) == organisational_domain(domain)]
    if own:
        s = own[0]
        return (
            f"its {domain} signature cannot be checked ({s['s']}._domainkey.{s['d']}: "
            f"{str(s['result']).replace('_', ' ')}), so nothing shows that {domain} sent it"
        )
    signers = ", ".join(sorted({str(s["d"]) for s in sigs if s["d"]})) or "unreadable signatures"
    return f"carries no {domain} signature (only: {signers})"


def _expected_finding(domain: str, month: int, n: int, k: int, sigs: list[dict[str, Any]]) -> Finding:
    start, end = _month_label(month - WINDOW_MONTHS), _month_label(month + WINDOW_MONTHS)
    rate, low = k / n, wilson_lower(k, n)
    message = (
        f"{domain} signs its mail: from {start} to {end}, {k} of the {n} messages from {domain} in this case "
        f"that were relayed between mail servers carry a valid {domain} signature ({rate:.1%}; at least "
        f"{low:.1%} with 95% confidence). This message claims to be from {domain} and was relayed too, but "
        f"{_signature_state(domain, sigs)}. That is what a message written by someone else would look like; "
        "a server that did not sign would explain it too."
    )
    evidence = {
        "domain": domain,
        "period": {"from": start, "to": end},
        "messages": n,
        "signed": k,
        "unsigned": n - k,
        "rate": round(rate, 4),
        "rate_lower_bound": round(low, 4),
        "threshold": SIGNING_RATE,
        "counted": "distinct messages (by Message-ID) from this From domain that leaklens checked: those with "
        "a valid signature aligned with From, and the unsigned ones relayed between mail servers (Received)",
        "signatures": sigs,
    }
    return Finding("dkim.expected_signature_missing", "warning", message, evidence)


# --- the vehicle of an altered item -------------------------------------------------------------

MAX_LISTED = 20


def carries_altered(case: Case) -> set[str]:
    """`dup.carries_altered` on every email, not verified, that carries an altered item at any depth.

    An item altered in transit with its signed original recovered (a list footer) is no forgery
    and makes no vehicle; one whose recovered original shows text added after signing does.
    Returns the items whose findings of the stage changed."""
    db = case.db
    cleared = db.clear_findings(("vehicle",))
    carried: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for email_id, item_id, path, name in db.carriers_of_altered():  # every altered item, every email above it
        carried[email_id].append((item_id, path, name))
    if not carried:
        return cleared
    findings = db.findings_of({i for items in carried.values() for i, _, _ in items})
    benign = {i for i, fs in findings.items() if (e := explanation(fs)) is not None and e["in_transit"]}
    reasons = {i: list(dict.fromkeys(f.code for f in fs if effect_of(f) == ALTERED)) for i, fs in findings.items()}
    pairs = []
    for email_id, all_items in carried.items():
        items = [x for x in all_items if x[0] not in benign]
        if not items:
            continue
        first_id, _, first_name = items[0]
        why = ", ".join(reasons.get(first_id, [])) or "altered"
        more = f" It carries {len(items) - 1} other altered item(s) too." if len(items) > 1 else ""
        message = (
            f"This email carries {first_name!r}, which is proven altered ({why}), and nothing verifies the "
            f"email itself: it is the vehicle of a changed copy, so what it says deserves the same doubt.{more}"
        )
        evidence = {
            "altered": [{"id": i, "path": p, "reasons": reasons.get(i, [])} for i, p, _ in items[:MAX_LISTED]],
            "count": len(items),
        }
        pairs.append((email_id, Finding("dup.carries_altered", "warning", message, evidence)))
    db.add_findings_of(pairs, "vehicle")
    return cleared | {i for i, _ in pairs}


def quote_checks(case: Case) -> set[str]:
    """`thread.quote_mismatch` on replies that misquote a verified parent (a note on a verified reply).
    Returns the items whose findings of the stage changed."""
    db = case.db
    cleared = db.clear_findings(("thread",))
    quotes = quote_findings(case)
    proven = {i for i, v in db.verdicts_of(quotes).items() if v == VERIFIED}
    db.add_findings_of(((i, as_note(f) if i in proven else f) for i, fs in quotes.items() for f in fs), "thread")
    return cleared | set(quotes)


# --- the case-wide steps, after every email's own check (verify.verdicts: their verdicts from it) ------


@step("proof.inherit", needs=("verify.verdicts",), stage="inherit")
def _inherit_step(run: Run) -> set[str]:
    """Parts of a verified email are verified through it: its body hash covers their bytes."""
    return inherit_verification(run.case)


@step("proof.quotes", needs=("verify.verdicts",), stage="thread")
def _quotes_step(run: Run) -> set[str]:
    """Replies that misquote a verified parent."""
    return quote_checks(run.case)


@step("proof.expected", needs=("verify.verdicts",), stage="expect")
def _expected_step(run: Run) -> set[str]:
    """Unsigned mail claiming a domain whose relayed mail is signed."""
    return expected_signatures(run.case)


@step("proof.identical", needs=("proof.inherit",), stage="identical")
def _identical_step(run: Run) -> set[str]:
    """Proof travels with bytes: read against verdicts that no longer count a previous run's copies."""
    return identical_to_verified(run.case)


@step("proof.vehicle", needs=("proof.identical",), stage="vehicle")
def _vehicle_step(run: Run) -> set[str]:
    """Emails carrying what is altered so far (again once the documents are judged)."""
    return carries_altered(run.case)
