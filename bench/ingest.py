"""Ingest benchmark (not a test): leaklens ingest vs a one-process parse-and-hash baseline.

    python bench/ingest.py [--n 20000] [--workers N] [--case-dir DIR] [--repeat R] [--compare-with REV]
                           [--without-texts]

Generates an mbox of N emails (~20% with an attachment), then, in the same run,
times (a) `leaklens ingest` of that mbox into a fresh case (storing, extracting,
indexing and accounting, on all cores) and (b) a baseline: one Python process
that reads the mbox, splits it and parses every message with
`email.parser.BytesParser`, hashing each with sha256. Prints messages/s, MB/s,
the ratio, leaklens's CPU time per message (all its processes; steadier than the
rate on a shared machine) and its peak RSS. Target: ratio >= 0.7, peak RSS < 1 GB.

--case-dir puts the case on another file system (e.g. /dev/shm) to separate the
file system's cost of creating ~8,000 files and folders (the attachments and their
folders; mailbox members are ranges of the stored mbox) from leaklens's own work.

--compare-with REV also times the ingest of a checkout of REV (a git worktree in a
temporary folder, its `src` first on PYTHONPATH, removed afterwards) on the same mbox,
interleaved with this tree's runs (R rounds, the order alternating), and prints both
with their range: on a shared machine only figures from the same run compare.

--without-texts runs every ingest with the texts steps (OCR, entities, names, languages: the
steps of group "texts") unregistered, as a revision from before them (21da9bf) had none: what
is left to compare is the walk, the store and the search index, like for like.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from checkout import checkout, describe, env_with_src

WORDS = (
    "campaign budget meeting press release poll rally volunteers donors schedule speech draft "
    "transfer invoice printer venue security interview television debate region mayor"
).split()


def generate(path: Path, n: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    people = [f"{a}.{b}@horizon.example" for a in ("anne", "paul", "marc", "lea", "sami") for b in ("martin", "roux")]
    with open(path, "wb") as out:
        for i in range(n):
            m = EmailMessage()
            m["From"] = rng.choice(people)
            m["To"] = ", ".join(rng.sample(people, 2))
            m["Subject"] = " ".join(rng.choices(WORDS, k=5))
            m["Date"] = f"Mon, {1 + i % 28:02d} Apr 2017 {i % 24:02d}:{i % 60:02d}:00 +0200"
            m["Message-ID"] = f"<{i}.{seed}@horizon.example>"
            body = "\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(rng.randint(5, 60)))
            m.set_content(body + "\n")
            if rng.random() < 0.2:
                m.add_attachment(
                    rng.randbytes(rng.randint(2_000, 60_000)),
                    maintype="application",
                    subtype="octet-stream",
                    filename=f"file{i}.bin",
                )
            raw = bytes(m).replace(b"\nFrom ", b"\n>From ")
            out.write(b"From sender@horizon.example Mon Apr  3 10:00:00 2017\n" + raw + b"\n")
    return path.stat().st_size


def baseline(path: Path) -> tuple[int, float]:
    t = time.perf_counter()
    data = path.read_bytes()
    parser = BytesParser()
    count = 0
    for chunk in re.split(rb"\n(?=From )", data):
        if not chunk.startswith(b"From "):
            continue
        msg = chunk[chunk.index(b"\n") + 1 :]
        parser.parsebytes(msg)
        hashlib.sha256(msg).hexdigest()
        count += 1
    return count, time.perf_counter() - t


# `leaklens` with the texts steps unregistered first (a tree without leaklens.steps, or without such
# steps, runs as it is): the command line is the same, only what the ingest runs after its walk changes.
WITHOUT_TEXTS = (
    "import sys\n"
    "try:\n"
    "    from leaklens.steps import REGISTRY\n"
    "    REGISTRY.load()\n"
    "    for s in REGISTRY.ordered(('texts',)):\n"
    "        REGISTRY.unregister(s.name)\n"
    "except ImportError:\n"
    "    pass\n"
    "from leaklens.cli import main\n"
    "sys.argv[0] = 'leaklens'\n"
    "main()\n"
)


def leaklens(
    path: Path, case: Path, workers: int | None, src: Path | None = None, without_texts: bool = False
) -> tuple[float, float, int]:
    """One `leaklens ingest` into a fresh case: (wall seconds, CPU seconds of all its processes, peak RSS in KB)."""
    run = ["-c", WITHOUT_TEXTS] if without_texts else ["-m", "leaklens"]
    cmd = [sys.executable, *run, "ingest", "--quiet", "--case", str(case), str(path)]
    if workers:
        cmd += ["--workers", str(workers)]
    shutil.rmtree(case, ignore_errors=True)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env_with_src(src))
    # wait4: this run's own rusage (its pool workers included, as they are reaped by it).
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"leaklens ingest failed ({proc.returncode}) with {src or 'this tree'}")
    shutil.rmtree(case, ignore_errors=True)
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--case-dir", type=Path, default=None, help="folder for the case (default: beside the mbox)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of timings, interleaved (default 1)")
    ap.add_argument("--compare-with", metavar="REV", help="also time a checkout of this git revision, same mbox")
    ap.add_argument("--without-texts", action="store_true", help="the texts steps off in every run (like for like)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leaklens-bench-"))
    case_root = Path(tempfile.mkdtemp(prefix="leaklens-bench-case-", dir=args.case_dir)) if args.case_dir else tmp
    try:
        mbox = tmp / "bench.mbox"
        size = generate(mbox, args.n)
        print(f"mbox: {args.n:,} messages, {size / 1e6:,.1f} MB; case on: {case_root} ({filesystem(case_root)})")
        if args.without_texts:
            print("every ingest without its texts steps (OCR, entities, names, languages)")
        if args.compare_with:
            with checkout(args.compare_with) as tree:
                sha = describe(args.compare_with)
                other = args.compare_with if sha == args.compare_with else f"{args.compare_with} ({sha})"
                trees = [(f"this tree ({describe()})", None), (other, tree / "src")]
                rates = rounds(mbox, size, case_root, args, trees)
        else:
            rates = rounds(mbox, size, case_root, args, [(f"this tree ({describe()})", None)])
        report(rates, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(case_root, ignore_errors=True)


def rounds(mbox: Path, size: int, case_root: Path, args, trees: list[tuple[str, Path | None]]) -> dict[str, list]:
    """{label: [(rate, cpu us/msg, ratio to the round's baseline, peak MB)...]} over --repeat rounds."""
    out: dict[str, list] = {label: [] for label, _ in trees}
    out["baseline"] = []
    for r in range(args.repeat):
        # In a process of its own: a child's peak RSS (wait4) counts its parent's high-water mark
        # at the fork, and this process holding the whole mbox once read gave every ingest 471 MB.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            count, base_s = pool.submit(baseline, mbox).result()
        base_rate = count / base_s
        out["baseline"].append((base_rate, 0.0, 1.0, 0.0))
        print(
            f"round {r + 1}: baseline (1 process, parse + sha256): {base_rate:8,.0f} msg/s"
            f"  {size / base_s / 1e6:6,.1f} MB/s"
        )
        order = trees if r % 2 == 0 else trees[::-1]  # alternate who goes first: the machine's load drifts
        for label, src in order:
            wall, cpu, peak_kb = leaklens(mbox, case_root / "case", args.workers, src, args.without_texts)
            rate = args.n / wall
            out[label].append((rate, cpu / args.n * 1e6, rate / base_rate, peak_kb / 1024))
            print(
                f"  leaklens ingest, {label}: {rate:8,.0f} msg/s  {size / wall / 1e6:6,.1f} MB/s"
                f"  {cpu / args.n * 1e6:5.0f} us CPU/msg  ratio {rate / base_rate:.2f}  peak {peak_kb / 1024:,.0f} MB"
            )
    return out


def report(rates: dict[str, list], args) -> None:
    def span(values: list[float], fmt: str) -> str:
        lo, mid, hi = min(values), statistics.median(values), max(values)
        return f"{mid:{fmt}} ({lo:{fmt}}-{hi:{fmt}})" if len(values) > 1 else f"{mid:{fmt}}"

    print(f"summary over {args.repeat} round(s), median (range):")
    labels = [k for k in rates if k != "baseline"]
    for label in ["baseline", *labels]:
        runs = rates[label]
        line = f"  {label:32} {span([r[0] for r in runs], ',.0f')} msg/s"
        if label != "baseline":
            line += f"  CPU {span([r[1] for r in runs], '.0f')} us/msg  ratio {span([r[2] for r in runs], '.2f')}"
            line += f"  peak {max(r[3] for r in runs):,.0f} MB"
        print(line)
    print("  targets: ratio leaklens/baseline >= 0.70, peak RSS < 1024 MB")
    if len(labels) == 2:
        mine, theirs = (rates[k] for k in labels)
        rate = [a[0] / b[0] for a, b in zip(mine, theirs, strict=True)]
        cpu = [a[1] / b[1] for a, b in zip(mine, theirs, strict=True)]
        print(
            f"  this tree / {args.compare_with}, round by round: rate {span(rate, '.2f')}, CPU per message"
            f" {span(cpu, '.2f')}  (target: rate >= 0.90)"
        )


def filesystem(path: Path) -> str:
    """The file-system type holding ``path`` (from /proc/mounts; '?' elsewhere)."""
    best, kind = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, fstype
    except OSError:
        pass
    return kind


if __name__ == "__main__":
    main()
