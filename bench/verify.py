"""Verification benchmark (not a test): `leaklens verify` vs a one-process dkim.verify loop.

    python bench/verify.py [--n 20000] [--repeat 3] [--workers W] [--keep DIR] [--compare-with REV]

Signs N realistic messages with a fresh RSA-2048 key (in parallel), ingests them
into a case (not timed), then times in the same run:
(a) the baseline: one process calling `dkim.verify` on every message with an
    in-memory key lookup;
(b) the check itself, per core: `verify_message` (every rule leaklens applies) on the
    same messages in one process, with the case's key archive;
(c) `leaklens verify` over a fresh copy of the case, as a user runs it: the command,
    all cores, findings written, the case-wide steps and the documents step.
With --repeat R the three are timed R times, interleaved, each (c) on a fresh copy of
the case: on a shared machine the spread says how much the figures can be trusted.
Prints messages/s and the ratio (c)/(a). Target: leaklens >= 2.5x the baseline on two
cores. --keep DIR keeps the signed messages there and reuses them when DIR already
holds them (signing is not what is measured); the case is ingested afresh every time,
so it always has the current schema.
--compare-with REV also times (c) with a checkout of REV (bench/checkout.py: a git worktree,
its `src` first on PYTHONPATH) on a case that tree ingested itself (its own index and schema),
interleaved with this tree's runs, the order alternating by round; it prints both, each with
its CPU per message, and this tree's rate over REV's round by round. LEAKLENS_STEP_TIMES=1 in
the environment prints each step's time (and the index update's) from every run.
"""

from __future__ import annotations

import argparse
import base64
import os
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import dkim
from checkout import checkout, describe, env_with_src
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DOMAIN, SELECTOR = b"horizon.example", b"bench"
WORDS = "budget meeting press poll rally donors schedule speech transfer invoice venue debate".split()


def _sign_batch(args: tuple[bytes, int, int]) -> list[bytes]:
    pem, start, count = args
    rng = random.Random(start)
    out = []
    for i in range(start, start + count):
        m = EmailMessage()
        m["From"] = f"staff{i % 40}@horizon.example"
        m["To"] = "team@horizon.example"
        m["Subject"] = " ".join(rng.choices(WORDS, k=6))
        m["Date"] = "Tue, 02 May 2017 09:00:00 +0200"
        m["Message-ID"] = f"<{i}@horizon.example>"
        m.set_content("\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(rng.randint(5, 80))) + "\n")
        if rng.random() < 0.15:
            m.add_attachment(
                rng.randbytes(rng.randint(5_000, 80_000)),
                maintype="application",
                subtype="pdf",
                filename=f"doc{i}.pdf",
            )
        raw = bytes(m).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        out.append(
            dkim.sign(
                raw,
                SELECTOR,
                DOMAIN,
                pem,
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
            )
            + raw
        )
    return out


def _sign(n: int, tmp: Path) -> tuple[list[bytes], bytes]:
    """Sign n messages with a new key; write them as tmp/signed.mbox and the key as tmp/keys.txt."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    pub = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    record = f"v=DKIM1; k=rsa; p={pub}".encode()
    t = time.perf_counter()
    step = 500
    with ProcessPoolExecutor() as pool:
        batches = list(pool.map(_sign_batch, [(pem, s, min(step, n - s)) for s in range(0, n, step)]))
    messages = [m for b in batches for m in b]
    with open(tmp / "signed.mbox", "wb") as out:
        for m in messages:
            out.write(b"From bench@horizon.example Tue May  2 09:00:00 2017\n" + m + b"\n")
    (tmp / "keys.txt").write_text(f'{SELECTOR.decode()}._domainkey.{DOMAIN.decode()}. IN TXT "{record.decode()}"\n')
    print(f"signed {len(messages):,} messages in {time.perf_counter() - t:.0f} s")
    return messages, record


def _ingest(tmp: Path, leak: list[str], name: str = "case", src: Path | None = None) -> Path:
    """The mbox ingested into a new case tmp/NAME (by the tree whose `src` is given), with the key imported."""
    case = tmp / name
    shutil.rmtree(case, ignore_errors=True)
    env = env_with_src(src)
    subprocess.run(
        [*leak, "ingest", "--quiet", "--case", str(case), str(tmp / "signed.mbox")],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    subprocess.run(
        [*leak, "keys", "import", "--case", str(case), str(tmp / "keys.txt")],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    return case


def _verify(cmd: list[str], case: Path, run_case: Path, src: Path | None) -> tuple[float, float]:
    """One `leaklens verify` on a fresh copy of `case`: (wall seconds, CPU seconds of it and its workers)."""
    shutil.rmtree(run_case, ignore_errors=True)
    shutil.copytree(case, run_case)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env_with_src(src))
    _, status, usage = os.wait4(proc.pid, 0)  # this run's own rusage, its pool workers included
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"leaklens verify failed with {src or 'this tree'}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=1, help="time (a), (b) and (c) this many times, interleaved")
    ap.add_argument("--workers", type=int, default=None, help="for leaklens verify (default: one per core)")
    ap.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the signed messages here")
    ap.add_argument("--compare-with", metavar="REV", help="also time leaklens verify of a checkout of REV")
    args = ap.parse_args()
    leak = [sys.executable, "-m", "leaklens"]
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="leaklens-bench-verify-"))
    try:
        saved = tmp / "messages.pickle"
        if args.keep and saved.exists():
            messages, record = pickle.loads(saved.read_bytes())
            print(f"reusing {len(messages):,} signed messages in {tmp}")
        else:
            tmp.mkdir(parents=True, exist_ok=True)
            messages, record = _sign(args.n, tmp)
            if args.keep:
                saved.write_bytes(pickle.dumps((messages, record)))
        if args.compare_with:
            with checkout(args.compare_with) as tree:
                sha = describe(args.compare_with)
                other = args.compare_with if sha == args.compare_with else f"{args.compare_with} ({sha})"
                trees = [(f"this tree ({describe()})", None, "case"), (other, tree / "src", "case-other")]
                _rounds(args, tmp, leak, messages, record, trees)
        else:
            _rounds(args, tmp, leak, messages, record, [(f"this tree ({describe()})", None, "case")])
    finally:
        if args.keep:
            for made in ("run", "case", "case-other"):
                shutil.rmtree(tmp / made, ignore_errors=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _rounds(args, tmp: Path, leak: list[str], messages: list[bytes], record: bytes, trees) -> None:
    """Ingest a case with each tree (not timed), then R rounds of (a), (b) and each tree's (c)."""
    cases = {label: _ingest(tmp, leak, name, src) for label, src, name in trees}

    def dnsfunc(name, timeout=5):
        return record

    from leaklens.case import Case
    from leaklens.verify.case_keys import case_archive
    from leaklens.verify.message import verify_message

    with Case.open(cases[trees[0][0]]) as c:
        archive = case_archive(c, [])
    run_case = tmp / "run"
    verify_cmd = [*leak, "verify", "--quiet", "--case", str(run_case)]
    if args.workers is not None:
        verify_cmd += ["--workers", str(args.workers)]
    n = len(messages)
    ratios: dict[str, list[float]] = {label: [] for label, _, _ in trees}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in trees}
    for run in range(1, args.repeat + 1):
        t, c = time.perf_counter(), time.process_time()
        ok = sum(bool(dkim.verify(m, dnsfunc=dnsfunc)) for m in messages)
        base_rate, base_cpu = n / (time.perf_counter() - t), time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        verdicts = Counter(verify_message(m, archive).verdict for m in messages)
        check_rate, check_cpu = n / (time.perf_counter() - t), time.process_time() - c
        # CPU time per message beside the rates: on a machine shared with other work the
        # rates move with the load, the CPU a message costs much less so.
        print(f"run {run}:")
        lines = [
            ("baseline dkim.verify (1 process):    ", base_rate, base_cpu),
            ("leaklens verify_message (1 process): ", check_rate, check_cpu),
        ]
        order = trees if run % 2 else trees[::-1]  # who goes first alternates: the machine's load drifts
        for label, src, _ in order:
            wall, cpu = _verify(verify_cmd, cases[label], run_case, src)
            ratios[label].append(n / wall / base_rate)
            cpus[label].append(cpu / n * 1e6)
            lines.append((f"leaklens verify, {label}:", n / wall, cpu))
        width = max(len(label) for label, _, _ in lines)
        for label, rate, cpu in lines:
            print(f"  {label:{width}} {rate:8,.0f} msg/s  {cpu / n * 1e6:5.0f} us CPU/msg")
        print(f"  ({ok:,} valid for dkimpy; leaklens verdicts {dict(verdicts)})")
        for label, _, _ in trees:
            print(f"  ratio leaklens/baseline, {label}: {ratios[label][-1]:.2f}  (target >= 2.5)")

    def span(values: list[float], fmt: str) -> str:
        lo, mid, hi = min(values), statistics.median(values), max(values)
        return f"{mid:{fmt}} ({lo:{fmt}}-{hi:{fmt}})" if len(values) > 1 else f"{mid:{fmt}}"

    print(f"over {args.repeat} run(s), median (range):")
    for label, _, _ in trees:
        print(f"  {label}: ratio {span(ratios[label], '.2f')}, CPU {span(cpus[label], '.0f')} us/msg")
    if len(trees) == 2:
        mine, theirs = (ratios[label] for label, _, _ in trees)
        rel = [a / b for a, b in zip(mine, theirs, strict=True)]
        print(f"  this tree's rate / {args.compare_with}'s, run by run: {span(rel, '.2f')}")


if __name__ == "__main__":
    main()
