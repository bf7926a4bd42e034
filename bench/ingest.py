"""Ingest benchmark (not a test): leaklens ingest vs a one-process parse-and-hash baseline.

    python bench/ingest.py [--n 20000] [--workers N] [--case-dir DIR]

Generates an mbox of N emails (~20% with an attachment), then, in the same run,
times (a) `leaklens ingest` of that mbox into a fresh case (storing, extracting,
indexing and accounting, on all cores) and (b) a baseline: one Python process
that reads the mbox, splits it and parses every message with
`email.parser.BytesParser`, hashing each with sha256. Prints messages/s, MB/s,
the ratio, and leaklens's peak RSS. Target: ratio >= 0.7, peak RSS < 1 GB.

--case-dir puts the case on another file system (e.g. /dev/shm) to separate the
file system's cost of creating ~8,000 files and folders (the attachments and their
folders; mailbox members are ranges of the stored mbox) from leaklens's own work.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

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


def leaklens(path: Path, case: Path, workers: int | None) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "leaklens", "ingest", "--quiet", "--case", str(case), str(path)]
    if workers:
        cmd += ["--workers", str(workers)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--case-dir", type=Path, default=None, help="folder for the case (default: beside the mbox)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leaklens-bench-"))
    case_root = Path(tempfile.mkdtemp(prefix="leaklens-bench-case-", dir=args.case_dir)) if args.case_dir else tmp
    try:
        mbox = tmp / "bench.mbox"
        size = generate(mbox, args.n)
        print(f"mbox: {args.n:,} messages, {size / 1e6:,.1f} MB")
        count, base_s = baseline(mbox)
        ll_s, peak_kb = leaklens(mbox, case_root / "case", args.workers)
        print(f"case on: {case_root} ({filesystem(case_root)})")
        base_rate, ll_rate = count / base_s, args.n / ll_s
        print(f"baseline (1 process, parse + sha256): {base_rate:8,.0f} msg/s  {size / base_s / 1e6:7,.1f} MB/s")
        print(f"leaklens ingest (store+extract+index): {ll_rate:8,.0f} msg/s  {size / ll_s / 1e6:7,.1f} MB/s")
        print(f"ratio leaklens/baseline: {ll_rate / base_rate:.2f}  (target >= 0.70)")
        print(f"peak RSS of the largest leaklens process: {peak_kb / 1024:,.0f} MB  (target < 1024 MB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(case_root, ignore_errors=True)


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
