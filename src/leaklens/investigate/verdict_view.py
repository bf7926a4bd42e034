"""The verdict where the content is read: what every view of a message, text or preview shows at
its top, and what it marks inside the content itself.

- `banner`: the verdict, its reason in one sentence (for a verified email, the lead sentence verify
  wrote: who signed with which key, where the From address is), and the signer.
- `header_marks`: for each header of an email, in order, whether the signature that decides the
  verdict covers it, and for a signed header that changed after signing, which one (read from an
  identical-Message-ID copy whose signature still validates; else it cannot be told, and is said so).
- `title_warning`: what a page title must say before a Subject that may be forged.
- `unsigned_body_from`: where, in the raw message, the body beyond a signature's `l=` starts.
- `parent_summary`: the parts' and the identical copies' verdicts, for the top of a container.

Read over the store's shared reads, so the workbench, the report and the CLI say the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..addresses import mailbox_addresses
from ..codes import ALTERED, ERROR, SUSPICIOUS, VERIFIED
from ..model import Finding
from ..store.base import CaseStore, ItemQuery
from ..verdicts import effect_of
from .memo import remember

Row = Mapping[str, Any]

# A sentence ends at ".", "!" or "?" before a space and a capital, a quote or a parenthesis (a
# domain's dots are followed by a letter, "signature #1" has no dot): `_SENTENCE_END`.
# verify.message.lead_sentence, as the summary of a verified email starts with it.
_LEAD = re.compile(r"^Verified\. (Signed by .+?; the From address is at .+?\.)(?=\s|$)", re.S)
MAX_SENTENCE = 400
_VERIFIED_EMAILS = ItemQuery(kind="email", state="stored", verdict=VERIFIED)

# The parts' kinds as a reader names them.
_PART_NOUN = {"email": ("attached email", "attached emails"), "attachment": ("attachment", "attachments")}
_VERDICT_WORDS = {
    "altered": "altered",
    "suspicious": "suspicious",
    "error": "unreadable",
    "verified": "verified",
    "unverified": "unverified",
}
_WORST_FIRST = ("altered", "suspicious", "error", "verified", "unverified")


_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z\"“'(\[]|\s*$)")


def first_sentence(text: str | None) -> str:
    """The first sentence of a finding's message or a summary (all of it when it has one only).

    A full stop inside a quotation is not an end: messages quote the leak (`starting "P.S. Wire"`)."""
    text = " ".join((text or "").split())
    out = text
    for m in _SENTENCE_END.finditer(text):
        if text.count('"', 0, m.start()) % 2 == 0:
            out = text[: m.end()]
            break
    return out if len(out) <= MAX_SENTENCE else out[: MAX_SENTENCE - 1].rstrip() + "…"


def _as_finding(f: Mapping[str, Any] | Finding) -> Finding:
    if isinstance(f, Finding):
        return f
    return Finding(f["code"], f["severity"], f["message"], f.get("evidence") or {})


def signer(findings: Sequence[Finding]) -> dict[str, Any]:
    """Who signed, as a banner says it: {"domain", "selector", "state": valid|not_author|broken|none|parent}."""
    passes = [f for f in findings if f.code == "dkim.pass"]
    aligned = [f for f in passes if (f.evidence or {}).get("aligned") is not False]
    for group, state in ((aligned, "valid"), (passes, "not_author")):
        if group:
            ev = group[0].evidence or {}
            return {"domain": ev.get("d"), "selector": ev.get("s"), "state": state}
    broken = [f for f in findings if f.code in ("dkim.body_hash_mismatch", "dkim.header_mismatch")]
    if broken:
        ev = broken[0].evidence or {}
        return {"domain": ev.get("d"), "selector": ev.get("s"), "state": "broken"}
    inherited = next((f for f in findings if f.code in ("dkim.covered_by_parent", "dkim.identical_to_verified")), None)
    if inherited is not None:
        ev = inherited.evidence or {}
        domains = ev.get("signing_domains") or []
        return {"domain": ", ".join(domains) or None, "selector": None, "state": "through", "code": inherited.code}
    return {"domain": None, "selector": None, "state": "none"}


def banner(
    row: Row,
    findings: Sequence[Mapping[str, Any] | Finding],
    verification: Mapping[str, Any] | None = None,
    recovered: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the top of every content panel of the item says: {"verdict", "reason", "signer", "recovered"}."""
    judged = [_as_finding(f) for f in findings]
    verdict = row["verdict"] or "unverified"
    summary = (verification or {}).get("summary") or ""
    same = (verification or {}).get("verdict") == verdict
    reason = ""
    if recovered:
        reason = first_sentence(recovered.get("message"))
    elif verdict == VERIFIED:
        lead = _LEAD.match(summary) if same else None
        if lead:
            reason = lead.group(1)
        else:
            proof = next((f for f in judged if effect_of(f) == VERIFIED and f.code != "dkim.pass"), None)
            proof = proof or next((f for f in judged if f.code == "dkim.pass"), None)
            reason = first_sentence(proof.message) if proof else ""
    else:
        wanted = {ALTERED: ALTERED, SUSPICIOUS: SUSPICIOUS, ERROR: ERROR}.get(verdict)
        decisive = [f for f in judged if wanted and effect_of(f) == wanted]
        if decisive:
            decisive.sort(key=lambda f: {"critical": 0, "warning": 1}.get(f.severity, 2))
            reason = first_sentence(decisive[0].message)
        elif verdict == "unverified":
            why = next(
                (f for f in judged if f.code in ("dkim.signer_not_author", "dkim.key_unavailable", "dkim.none")), None
            )
            reason = (
                first_sentence(why.message)
                if why
                else "Nothing proves or disproves that this item is what its author sent or wrote."
            )
    if not reason and summary:
        reason = first_sentence(summary)
    return {"verdict": verdict, "reason": reason, "signer": signer(judged), "recovered": bool(recovered)}


def banner_of(store: CaseStore, row: Row) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The banner of an item read from the store (for a page that has not read its findings), and the
    altered item's recovery explanation the verdict badge shows, or None."""
    from ..verify.recover import explanation

    findings = store.findings_for(row["id"])
    recovered = explanation(findings) if row["verdict"] == ALTERED else None
    return banner(row, findings, store.verification_of(row["id"]), recovered), recovered


# -- headers -------------------------------------------------------------------------------------


def deciding_signature(signatures: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The signature whose header list the headers table marks: the aligned valid one, else any
    valid one, else one whose header signature failed, else one whose body changed."""
    order = (
        lambda s: s.get("result") == "pass" and s.get("aligned"),
        lambda s: s.get("result") == "pass",
        lambda s: s.get("result") == "header_mismatch",
        lambda s: s.get("result") == "body_hash_mismatch",
    )
    for test in order:
        for s in signatures:
            if test(s):
                return s
    return None


def signatures_of(store: CaseStore, item_id: str) -> list[dict[str, Any]]:
    """The DKIM signatures verify recorded for the email (its `verifications` row), or none."""
    from ..verify.case_verify import VERIFICATIONS

    try:
        row = store.get_row(VERIFICATIONS, (item_id,))
    except Exception:  # noqa: BLE001 - a case never verified has no such table: nothing to mark
        return []
    if not row:
        return []
    value = row.get("signatures")
    try:
        out = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return [s for s in out or [] if isinstance(s, dict)]


def header_marks(
    headers: Sequence[tuple[str, str]],
    signatures: Sequence[Mapping[str, Any]],
    changed: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Each header in order, with "signed" (True, False, or None when nothing was checked), and for a
    signed header that changed after signing, "changed": what the signed copy read.

    DKIM signs the instances of a name from the bottom up: with two Subject fields and one in h=,
    the lower one is signed and the upper one, the one mail programs show, is not."""
    sig = deciding_signature(signatures)
    covered: dict[str, int] = {}
    if sig is not None:
        for name in sig.get("h") or []:
            covered[str(name).lower()] = covered.get(str(name).lower(), 0) + 1
    total: dict[str, int] = {}
    for name, _ in headers:
        total[name.lower()] = total.get(name.lower(), 0) + 1
    seen: dict[str, int] = {}
    out = []
    for name, value in headers:
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        remaining = total[key] - seen[key]  # instances below this one
        signed = None if sig is None else remaining < covered.get(key, 0)
        if key == "dkim-signature" and sig is not None:
            signed = True  # a signature covers itself (its b= emptied)
        mark: dict[str, Any] = {"name": name, "value": value, "signed": signed}
        if changed and key in changed and signed:
            mark["changed"] = changed[key]
        out.append(mark)
    return out


def header_mismatch(findings: Sequence[Mapping[str, Any] | Finding]) -> list[str] | None:
    """The headers a failing header signature covered (any of them may have changed), or None."""
    for f in map(_as_finding, findings):
        if f.code == "dkim.header_mismatch":
            return [str(h).lower() for h in (f.evidence or {}).get("signed_headers") or []]
    return None


def changed_headers(
    store: CaseStore,
    row: Row,
    headers: Sequence[tuple[str, str]],
    findings: Sequence[Mapping[str, Any] | Finding],
    read_headers: Any,
) -> dict[str, dict[str, Any]]:
    """For an email whose header signature fails: the signed headers that differ from a copy with the
    same Message-ID whose signature by the same domain validates (what was signed), by lower-case
    name: {"signed_value", "copy"}. Empty when no such copy is in the case (then it cannot be told).

    `read_headers(row)` gives another item's decoded headers in order (the web re-reads the bytes)."""
    names = header_mismatch(findings)
    if not names or not row["message_id"]:
        return {}
    failing = next((f for f in map(_as_finding, findings) if f.code == "dkim.header_mismatch"), None)
    domain = (failing.evidence or {}).get("d") if failing else None
    ids = verified_by_message_id(store).get(row["message_id"], ())[:20]
    candidates = store.select_items(ItemQuery(ids=tuple(ids))) if ids else []
    mine = _by_name(headers)
    for other in candidates:
        if other["id"] == row["id"]:
            continue
        passes = [f for f in store.findings_for(other["id"]) if f.code == "dkim.pass"]
        if domain and not any((f.evidence or {}).get("d") == domain for f in passes):
            continue
        theirs = _by_name(read_headers(other))
        out = {}
        for name in dict.fromkeys(names):
            if mine.get(name, []) != theirs.get(name, []):
                out[name] = {"signed_value": " / ".join(theirs.get(name, [])) or "(absent)", "copy": other["id"]}
        if out:
            return out
    return {}


def verified_by_message_id(store: CaseStore) -> dict[str, tuple[str, ...]]:
    """The verified stored emails by Message-ID (read once per state of the case, as threads are)."""

    def compute() -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for item_id, mid in store.item_values(("id", "message_id"), _VERIFIED_EMAILS):
            if mid:
                out.setdefault(mid, []).append(item_id)
        return {k: tuple(v) for k, v in out.items()}

    return remember(store, ("verified_by_message_id",), compute)


def _by_name(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name.lower(), []).append(" ".join(value.split()))
    return out


def title_warning(
    row: Row, findings: Sequence[Mapping[str, Any] | Finding], changed: Mapping[str, Any] | None = None
) -> str | None:
    """What a page title says before the Subject when the Subject may not be what was signed."""
    if row["kind"] != "email" or not row["subject"]:
        return None
    if changed and "subject" in changed:
        return "Forged Subject"
    mismatch = header_mismatch(findings)
    if mismatch is not None and "subject" in mismatch:
        return "Altered: this Subject may have been changed after signing"
    for f in map(_as_finding, findings):
        if f.code == "dkim.unsigned_header" and str((f.evidence or {}).get("header", "")).lower() == "subject":
            return "Unsigned Subject"
    if row["verdict"] in (ALTERED, SUSPICIOUS):
        return row["verdict"].capitalize()
    return None


# -- the unsigned tail of a body -----------------------------------------------------------------

_HEADER_END = re.compile(rb"\n\r?\n")
_WSP_RUN = re.compile(rb"[ \t]+")


def unsigned_body_from(raw: bytes, signatures: Sequence[Mapping[str, Any]]) -> int | None:
    """The offset in `raw` where the body beyond `l=` starts, for the signature that decides the
    verdict when it has one (else the first valid one with l=); None when every byte is signed.

    The canonical body counts CRLF line ends and, for relaxed, one space per run of blanks and no
    trailing blanks: walked line by line over the raw body until `l` canonical bytes are covered."""
    sig = deciding_signature(signatures)
    if sig is None or sig.get("l") is None:
        sig = next((s for s in signatures if s.get("l") is not None and s.get("result") == "pass"), None)
    if sig is None or sig.get("l") is None:
        return None
    try:
        limit = int(sig["l"])
    except (TypeError, ValueError):
        return None
    relaxed = str(sig.get("c") or "simple/simple").split("/")[-1].strip().lower() == "relaxed"
    m = _HEADER_END.search(b"\n" + raw)
    if m is None:
        return None
    start = m.end() - 1
    pos, counted = start, 0
    for line in raw[start:].splitlines(keepends=True):
        content = line.rstrip(b"\r\n")
        canon = _WSP_RUN.sub(b" ", content).rstrip(b" ") if relaxed else content
        size = len(canon) + 2  # and its CRLF
        if counted + size > limit:
            need = limit - counted  # canonical bytes of this line still signed
            return pos + _raw_index(content, need, relaxed) if need <= len(canon) else pos + len(line)
        counted += size
        pos += len(line)
    return None  # l= covers the whole body: nothing unsigned


def _raw_index(content: bytes, need: int, relaxed: bool) -> int:
    """The index in a raw line where its first `need` canonical bytes end."""
    if not relaxed:
        return need
    got, i = 0, 0
    while i < len(content) and got < need:
        if content[i] in b" \t":
            while i < len(content) and content[i] in b" \t":
                i += 1
        else:
            i += 1
        got += 1
    return i


# -- a container's parts and copies --------------------------------------------------------------


def part_counts(store: CaseStore, item_id: str) -> list[dict[str, Any]]:
    """The direct parts of a container counted by state, kind and verdict (one read, however many
    parts an archive has): rows for `parent_summary`, each with "n"."""
    return [
        {"state": state, "kind": kind, "verdict": verdict, "n": n}
        for state, kind, verdict, n in store.count_items_by(("state", "kind", "verdict"), ItemQuery(parent=item_id))
    ]


def parent_summary(
    children: Sequence[Row], copies: Mapping[str, int] | None = None, *, kind: str = "email"
) -> list[dict[str, Any]]:
    """Sentences for the top of a container: what its direct parts' verdicts are ("contains 1 altered
    attachment") and what its identical copies' are ("identical to 14 verified copies"), each
    {"text", "verdict"}, the worst first. `children`: rows of parts, or counts of them (with "n")."""
    out = []
    by: dict[tuple[str, str], int] = {}
    for c in children:
        if c["state"] == "pending":
            continue
        noun_kind = c["kind"] if c["kind"] in _PART_NOUN else "file"
        key = (c["verdict"] or "unverified", noun_kind)
        by[key] = by.get(key, 0) + c.get("n", 1)
    verb = "carries" if kind == "email" else "contains"
    for v in _WORST_FIRST:
        for (verdict, noun_kind), n in sorted(by.items()):
            if verdict != v:
                continue
            one, many = _PART_NOUN.get(noun_kind, ("file", "files"))
            out.append({"verdict": v, "text": f"{verb} {n:,} {_VERDICT_WORDS[v]} {one if n == 1 else many}"})
    for v in _WORST_FIRST:
        n = (copies or {}).get(v, 0)
        if n:
            out.append(
                {"verdict": v, "text": f"identical to {n:,} {_VERDICT_WORDS[v]} cop{'y' if n == 1 else 'ies'}"}
            )
    return out


def copy_verdicts(store: CaseStore, row: Row) -> dict[str, int]:
    """How many other stored items have the same bytes, by verdict."""
    if not row["sha256"]:
        return {}
    out: dict[str, int] = {}
    for verdict, n in store.count_items_by(("verdict",), ItemQuery(sha256=row["sha256"], state="stored")):
        out[verdict or "unverified"] = out.get(verdict or "unverified", 0) + n
    v = row["verdict"] or "unverified"
    if out.get(v):
        out[v] -= 1  # not itself
    return {k: n for k, n in out.items() if n}


def sender_addresses(value: str | None) -> tuple[str, ...]:
    """The real addresses of a From (or To) value, for showing beside a display name."""
    return mailbox_addresses(value)
