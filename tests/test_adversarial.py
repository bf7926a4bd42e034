"""The adversarial corpus (tests/adversarial_corpus.py) through every path that gives a verdict.

1. `verify_message` (the `check` path): authentic controls verified, attacks never, each for the
   reason the corpus names.
2. The case workflow (ingest, `keys import`, `verify_case`) gives every message the same verdict.
3. Differential: every signature leaklens reports as passing passes dkimpy's own `verify` too, or
   the disagreement is one of an explicit list, each with its reason.
4. `leaklens check FILE --keys K --json` agrees with `verify_message`.

Failures are reported as one table per test, so a run shows every case that is wrong at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import dkim
import pytest
from adversarial_corpus import (
    DKIMPY_DIFFERS,
    NOT_VERIFIED,
    NOT_VERIFIED_VERDICTS,
    VERIFIED,
    AdvCase,
    all_keys,
    corpus,
    record_supports,
)
from helpers import ROOT, build_case, rows
from helpers import codes as case_codes

from leaklens.verify.case_keys import import_into_case
from leaklens.verify.case_verify import verify_case
from leaklens.verify.keys import KeyArchive, parse_key_tags
from leaklens.verify.message import MessageVerification, verify_message

MIN_VARIANTS = 3
# Attacks that carry no valid signature by design, besides the unsigned ones (those expect dkim.none);
# every other attack must ride on a valid signature (see test_corpus_is_sound).
NO_VALID_SIGNATURE = {
    "from_added_where_signed_absent": "adding a From where h= signed none breaks the signature: that is the test",
}


@pytest.fixture(scope="module")
def cases() -> tuple[AdvCase, ...]:
    return corpus()


@pytest.fixture(scope="module")
def bundled() -> KeyArchive:
    return KeyArchive.bundled()


def archive_for(case: AdvCase, bundled: KeyArchive) -> KeyArchive:
    """What `leaklens check FILE --keys K` uses: the bundled keys plus the case's own."""
    return bundled.merge(KeyArchive(case.keys))


def check(case: AdvCase, keys: KeyArchive) -> MessageVerification:
    kw: dict = {}
    if case.published is not None:
        kw["published"] = case.published
    if case.timestamps:
        kw["timestamps"] = list(case.timestamps)
    return verify_message(case.raw, keys, **kw)


@pytest.fixture(scope="module")
def results(cases, bundled) -> dict[str, MessageVerification]:
    return {c.name: check(c, archive_for(c, bundled)) for c in cases}


def codes_of(result: MessageVerification) -> list[str]:
    return [f.code for f in result.findings]


def judge(case: AdvCase, verdict: str, codes: list[str], findings=()) -> str | None:
    """Why this outcome is wrong for the case, or None when it is right."""
    if case.expect == VERIFIED:
        if verdict != VERIFIED:
            return f"authentic control judged {verdict}"
        missing = [c for c in case.codes if c not in codes]
        if missing:
            return f"verified, but without {', '.join(missing)}"
    else:
        if verdict not in NOT_VERIFIED_VERDICTS:
            return f"attack judged {verdict}"
        if not any(c in codes for c in case.codes):
            return f"right verdict for the wrong reason: none of {', '.join(case.codes)}"
    for code, key, value in case.evidence:
        if not any(f.code == code and f.evidence.get(key) == value for f in findings):
            return f"no {code} with evidence {key}={value!r}"
    return None


def table(header: tuple[str, ...], body: list[tuple]) -> str:
    cells = [tuple(str(x) for x in header)] + [tuple(str(x) for x in r) for r in body]
    widths = [min(max(len(r[i]) for r in cells), 60) for i in range(len(header))]
    lines = [" | ".join(c[:60].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


# --- dkimpy, the reference ------------------------------------------------------------------


def dnsfunc(keys: KeyArchive, *, plain: bool = False):
    """dkimpy's DNS hook answering from the archive; `plain` keeps only k= and p= (the bare math)."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        selector, _, domain = name.decode("utf-8", "replace").rstrip(".").partition("._domainkey.")
        found = keys.lookup(domain, selector)
        if not found:
            return None
        record = found[0].record
        if plain:
            tags = parse_key_tags(record)
            record = "; ".join(f"{k}={tags[k]}" for k in ("k", "p") if k in tags)
        return record.encode()

    return lookup


def dkimpy_verify(raw: bytes, idx: int, keys: KeyArchive, *, plain: bool = False) -> tuple[bool, str]:
    try:
        d = dkim.DKIM(raw, minkey=0) if plain else dkim.DKIM(raw)
        ok = d.verify(idx=idx, dnsfunc=dnsfunc(keys, plain=plain))
        return bool(ok), "" if ok else "signature does not verify"
    except Exception as e:  # dkimpy raises several unrelated types: each is a refusal
        return False, f"{type(e).__name__}: {str(e)[:120]}"


def dkimpy_view(case: AdvCase, keys: KeyArchive, count: int) -> list[str]:
    return [("pass" if ok else why) for ok, why in (dkimpy_verify(case.raw, i, keys) for i in range(count))]


def signature_count(raw: bytes) -> int:
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    return len(re.findall(rb"(?im)^dkim-signature[ \t]*:", head))


def signature_keys(raw: bytes, keys: KeyArchive) -> list[bool]:
    """For each DKIM-Signature (as dkimpy reads the message): whether the archive holds its key."""
    from dkim.util import parse_tag_value

    headers, _ = dkim.rfc822_parse(raw)
    out = []
    for name, value in headers:
        if name.lower() == b"dkim-signature":
            tags = parse_tag_value(value)
            out.append(bool(keys.lookup(tags[b"d"].decode(), tags[b"s"].decode())))
    return out


# --- 0. the corpus itself -----------------------------------------------------------------------


def test_corpus_is_sound(cases, bundled) -> None:
    """Every class has its variants; controls are genuinely valid; every attack carries a real signature."""
    by_class = Counter(c.klass for c in cases if c.expect == NOT_VERIFIED)
    expected_classes = {"header block", "address", "unaligned signer", "pooled coverage", "key rules", "weak crypto"}
    if record_supports("private_published"):
        expected_classes.add("compromised key")
    assert all(by_class[k] >= MIN_VARIANTS for k in expected_classes), by_class
    assert sum(c.expect == VERIFIED for c in cases) >= 20

    problems, view = [], []
    for c in cases:
        keys = archive_for(c, bundled)
        count = signature_count(c.raw)
        differs = dict(c.dkimpy_differs)
        strict = dkimpy_view(c, keys, count)
        plain = [dkimpy_verify(c.raw, i, keys, plain=True)[0] for i in range(count)]
        view.append((c.klass, c.name, c.expect, " / ".join(strict) or "(no signature)"))
        if c.expect == VERIFIED:
            # A control's signatures whose key is archived verify with dkimpy, unless listed as a known difference.
            archived = signature_keys(c.raw, keys)
            for i, outcome in enumerate(strict):
                if outcome != "pass" and i not in differs and archived[i]:
                    problems.append((c.name, i, f"control signature refused by dkimpy: {outcome}"))
            if not any(o == "pass" for o in strict) and not differs:
                problems.append((c.name, "-", "control with no signature dkimpy verifies"))
        elif c.name not in NO_VALID_SIGNATURE and "dkim.none" not in c.codes:
            # The forgery rides on a valid signature: dkimpy verifies the math (key restrictions set aside),
            # or refuses for one of its own listed reasons.
            if not any(plain) and not differs:
                problems.append((c.name, "-", f"no cryptographically valid signature: {strict}"))
    print("\n" + table(("class", "case", "expect", "dkimpy verify per signature"), view))
    assert not problems, "\n" + table(("case", "sig", "problem"), problems)


def test_compromised_key_class_present() -> None:
    if not record_supports("private_published"):
        pytest.skip("KeyRecord has no private_published field yet: the compromised-key class is not built")
    names = {c.name for c in corpus() if c.klass == "compromised key"}
    assert {"compromised_no_proof", "compromised_published_before", "compromised_timestamp_before"} <= names


# --- 1. the check path ------------------------------------------------------------------------------


def test_check_path(cases, results) -> None:
    failures = []
    for c in cases:
        r = results[c.name]
        problem = judge(c, r.verdict, codes_of(r), r.findings)
        if problem:
            sigs = ",".join(s["result"] for s in r.signatures) or "-"
            failures.append((c.klass, c.name, c.expect, r.verdict, sigs, " ".join(codes_of(r)), problem))
    failures.sort()
    assert not failures, f"\n{len(failures)} of {len(cases)} cases wrong:\n" + table(
        ("class", "case", "expected", "verdict", "signatures", "codes", "problem"), failures
    )


# --- 2. the case workflow -----------------------------------------------------------------------


ADDRESS = re.compile(r"[^\s<>()\"',;:@]+@[^\s<>()\"',;:@]+\.[^\s<>()\"',;:@]+")


def _below(case, item_id: str) -> list[dict]:
    out, stack = [], [item_id]
    while stack:
        for child in rows(case, "parent=?", (stack.pop(),)):
            out.append(child)
            stack.append(child["id"])
    return out


def _emails_below(case, item_id: str) -> list[dict]:
    return [r for r in _below(case, item_id) if r["kind"] == "email"]


def _case_timestamps():
    """The case's record of timestamps (`leaklens timestamp`), if this leaklens has one."""
    try:
        from leaklens.verify import timestamps
    except ImportError:
        return None
    return timestamps if hasattr(timestamps, "record") else None


@pytest.fixture(scope="module")
def case_items(cases, tmp_path_factory) -> tuple[dict[str, dict], list[str]]:
    """Every case's item as the case workflow sees it: {name: row + codes}, and the cases not run."""
    tmp = tmp_path_factory.mktemp("adversarial-cases")
    keyfile = tmp / "corpus-keys.json"
    keyfile.write_text(json.dumps({"keys": [k.to_dict() for k in all_keys(cases)]}, default=list), "utf-8")
    stamps = _case_timestamps()
    not_run = [] if stamps else [f"{c.name}: a case has no way to record a timestamp" for c in cases if c.timestamps]
    groups: dict[object, list[AdvCase]] = defaultdict(list)
    for c in cases:
        if (stamps or not c.timestamps) and c.inside is None:
            groups[c.published].append(c)
    inner_by_carrier = {c.inside: c for c in cases if c.inside}
    found: dict[str, dict] = {}
    for n, (published, group) in enumerate(groups.items()):
        folder = tmp / f"dump{n}"
        folder.mkdir()
        for c in group:
            (folder / f"{c.name}.eml").write_bytes(c.raw)
        case = build_case(tmp, folder, name=f"case{n}")
        import_into_case(case, keyfile)
        for c in group:
            for when, source in c.timestamps:
                stamps.record(case, hashlib.sha256(c.raw).hexdigest(), when, source)  # `leaklens timestamp`
        case.db.commit()
        verify_case(case, workers=1, published=published)
        for c in group:
            top = rows(case, "name=? AND depth=0", (f"{c.name}.eml",))
            if not top:
                found[c.name] = {"kind": "(no item)", "verdict": "(none)", "codes": []}
                continue
            item = top[0]
            if item["kind"] != "email":
                below = _emails_below(case, item["id"])
                item = {**(below[0] if below else item), "kind": f"{item['kind']}>{below[0]['kind'] if below else '-'}"}
            found[c.name] = {**item, "codes": case_codes(case, item["id"])}
            inner = inner_by_carrier.get(c.name)
            if inner is not None:
                # The carried message is the descendant with its exact bytes, whatever kind ingest gave it.
                sha = hashlib.sha256(inner.raw).hexdigest()
                children = [r for r in _below(case, item["id"]) if r["sha256"] == sha]
                child = children[0] if children else {"kind": "(no item)", "verdict": "(none)", "id": None}
                found[inner.name] = {**child, "codes": case_codes(case, child["id"]) if child["id"] else []}
    return found, not_run


def test_case_workflow_agrees_with_check(cases, results, case_items) -> None:
    found, not_run = case_items
    if not_run:
        print("\nnot run through the case workflow:\n  " + "\n  ".join(not_run))
    disagree = []
    for c in cases:
        if c.name not in found:
            continue
        item, r = found[c.name], results[c.name]
        if item["verdict"] != r.verdict:
            only_case = sorted(set(item["codes"]) - set(codes_of(r)))
            only_check = sorted(set(codes_of(r)) - set(item["codes"]))
            disagree.append(
                (
                    c.klass,
                    c.name,
                    item["kind"],
                    r.verdict,
                    item["verdict"],
                    " ".join(only_check) or "-",
                    " ".join(only_case) or "-",
                )
            )
    disagree.sort()
    compared = sum(c.name in found for c in cases)
    assert compared == len(cases) - len(not_run), (compared, len(cases), not_run)
    assert not disagree, f"\n{len(disagree)} messages judged differently by `check` and the case:\n" + table(
        ("class", "case", "case item kind", "check", "case", "codes only in check", "codes only in case"), disagree
    )


def test_case_shows_the_checked_author(cases, case_items) -> None:
    """A verified item's From and Subject, as the case stores and shows them, are the signed ones."""
    found, _ = case_items
    wrong = []
    for c in cases:
        item = found.get(c.name)
        if not item or item["verdict"] != VERIFIED:
            continue
        try:
            headers, _ = dkim.rfc822_parse(c.raw)
        except Exception:
            continue
        signed = [v for n, v in headers if n.lower() == b"from"]
        want = sorted({a.lower() for a in ADDRESS.findall(signed[-1].decode("utf-8", "replace"))}) if signed else []
        shown = sorted({a.lower() for a in ADDRESS.findall(item.get("email_from") or "")})
        if want != shown:
            wrong.append((c.name, "From", ", ".join(want), item.get("email_from")))
        subjects = [v for n, v in headers if n.lower() == b"subject"]
        subject = re.sub(r"\s+", " ", subjects[-1].decode("utf-8", "replace")).strip() if subjects else None
        if subject is not None and "=?" not in subject and subject != (item.get("subject") or "").strip():
            wrong.append((c.name, "Subject", subject, item.get("subject")))
    assert not wrong, "\n" + table(("case", "field", "signed", "case shows"), wrong)


# --- 3. differential against dkimpy --------------------------------------------------------------


def _result(r: MessageVerification, idx: int) -> str | None:
    return r.signatures[idx].get("result") if idx < len(r.signatures) else None


def test_differential_with_dkimpy(cases, results, bundled) -> None:
    observed = []
    for c in cases:
        keys = archive_for(c, bundled)
        for i, sig in enumerate(results[c.name].signatures):
            if sig.get("result") != "pass":
                continue
            ok, why = dkimpy_verify(c.raw, i, keys)
            if not ok:
                observed.append((c.name, i, why))
    expected = {(c.name, i): reason for c in cases for i, reason in c.dkimpy_differs}
    seen = {(name, i): why for name, i, why in observed}
    rows_ = []
    for key in sorted(set(seen) | set(expected)):
        if key in seen and key not in expected:
            rows_.append((*key, "leaklens passes, dkimpy refuses, not explained", seen[key]))
        elif key in expected and key not in seen:
            rows_.append(
                (
                    *key,
                    f"expected disagreement '{expected[key]}' not seen",
                    "dkimpy agreed" if _result(results[key[0]], key[1]) == "pass" else "leaklens did not report pass",
                )
            )
        else:
            code = DKIMPY_DIFFERS[expected[key]][1]
            if code is not None and code not in codes_of(results[key[0]]):
                rows_.append((*key, f"'{expected[key]}' but leaklens's result lacks {code}", seen[key]))
    counted = Counter(expected.values())
    summary = "\n".join(f"  {n:3d} x {reason}: {DKIMPY_DIFFERS[reason][0]}" for reason, n in sorted(counted.items()))
    print(f"\nexpected disagreements (leaklens passes, dkimpy refuses):\n{summary}")
    assert not rows_, "\n" + table(("case", "sig", "problem", "dkimpy / detail"), rows_) + "\nexpected:\n" + summary


# --- 4. the command line --------------------------------------------------------------------------

CLI_CASES = (
    "relaxed_relaxed",
    "gmail_meeting_for_coffee",
    "from_prepended",
    "obs_from_tab",
    "display_name_address",
    "attacker_domain",
    "key_testing",
    "weak_512_sha256",
    "compromised_published_before",
    "compromised_timestamp_before",
)


def _cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leaklens", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_cli_check_agrees(cases, results, tmp_path: Path) -> None:
    by_name = {c.name: c for c in cases}
    has_existed_by = "--existed-by" in _cli("check", "--help").stdout
    wrong, ran = [], 0
    for name in CLI_CASES:
        c = by_name.get(name)
        if c is None:
            continue
        args: list[object] = ["check", tmp_path / f"{name}.eml", "--json"]
        (tmp_path / f"{name}.eml").write_bytes(c.raw)
        if c.keys:
            keyfile = tmp_path / f"{name}.keys.json"
            keyfile.write_text(json.dumps({"keys": [k.to_dict() for k in c.keys]}, default=list), "utf-8")
            args += ["--keys", keyfile]
        if c.published is not None:
            args += ["--published", c.published.isoformat()]
        if c.timestamps:
            if not has_existed_by:
                continue
            (when, source), *_ = c.timestamps
            args += ["--existed-by", when.isoformat(), "--source", source]
        proc = _cli(*args)
        ran += 1
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            wrong.append((name, results[name].verdict, f"exit {proc.returncode}", proc.stderr.strip()[-200:]))
            continue
        want = (results[name].verdict, sorted(codes_of(results[name])))
        got = (doc["verdict"], sorted(f["code"] for f in doc["findings"]))
        if want != got:
            wrong.append((name, f"{want[0]} {' '.join(want[1])}", f"{got[0]} {' '.join(got[1])}", ""))
        exit_code = {"verified": 0, "altered": 3}.get(doc["verdict"], 4)
        if proc.returncode != exit_code:
            wrong.append((name, f"exit {exit_code}", f"exit {proc.returncode}", ""))
    assert ran >= 6
    assert not wrong, "\n" + table(("case", "verify_message", "leaklens check --json", "stderr"), wrong)
