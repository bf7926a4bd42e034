"""Cluster benchmark (not a test): the local pool against a Dask LocalCluster on the same cores.

    python bench/cluster.py [--n 30000] [--workers 2] [--repeat 3] [--case-dir DIR]

Generates the mbox of bench/ingest.py (N emails, ~20% with an attachment), then, R rounds, the
order alternating (the machine's load drifts), times `leaklens ingest` then `leaklens verify`
into a fresh case, (a) with `--workers W` (this machine's process pool) and (b) with
`--cluster local:W` (a dask.distributed LocalCluster of W worker processes, started by the
command: its start is part of its time). Prints messages/s of each step and of both, the ratio
cluster/local round by round, and the range. Target (issue 12): cluster >= 0.9x local, since on
the same cores what is measured is the cluster's overhead (scaling out is on paper, docs/scale.md).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest import generate


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.perf_counter() - t


def ingest_and_verify(mbox: Path, case: Path, where: list[str]) -> tuple[float, float]:
    shutil.rmtree(case, ignore_errors=True)
    base = [sys.executable, "-m", "leaklens"]
    ingest = run([*base, "ingest", "--quiet", "--case", str(case), str(mbox), *where])
    verify = run([*base, "verify", "--quiet", "--case", str(case), *where])
    shutil.rmtree(case, ignore_errors=True)
    return ingest, verify


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--case-dir", type=Path, default=None, help="folder for the cases (default: a temporary one)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leaklens-bench-cluster-", dir=args.case_dir))
    try:
        mbox = tmp / "bench.mbox"
        size = generate(mbox, args.n)
        print(f"mbox: {args.n:,} messages, {size / 1e6:,.1f} MB; {args.workers} workers; {args.repeat} rounds")
        setups = {"local": ["--workers", str(args.workers)], "cluster": ["--cluster", f"local:{args.workers}"]}
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in setups}
        for r in range(args.repeat):
            order = list(setups) if r % 2 == 0 else list(setups)[::-1]
            for name in order:
                ing, ver = ingest_and_verify(mbox, tmp / "case", setups[name])
                times[name].append((ing, ver))
                print(
                    f"round {r + 1} {name:8} ingest {args.n / ing:7,.0f} msg/s ({ing:5.1f} s)  "
                    f"verify {args.n / ver:7,.0f} msg/s ({ver:5.1f} s)  both {args.n / (ing + ver):7,.0f} msg/s",
                    flush=True,
                )
        report(times, args.n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def span(values: list[float], fmt: str = ".2f") -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{mid:{fmt}} ({lo:{fmt}}-{hi:{fmt}})" if len(values) > 1 else f"{mid:{fmt}}"


def report(times: dict[str, list[tuple[float, float]]], n: int) -> None:
    print("summary, median (range):")
    for name, runs in times.items():
        print(
            f"  {name:8} ingest {span([n / i for i, _ in runs], ',.0f')} msg/s  "
            f"verify {span([n / v for _, v in runs], ',.0f')} msg/s  "
            f"both {span([n / (i + v) for i, v in runs], ',.0f')} msg/s"
        )
    local, cluster = times["local"], times["cluster"]
    for label, pick in (("ingest", lambda t: t[0]), ("verify", lambda t: t[1]), ("both", lambda t: t[0] + t[1])):
        ratios = [pick(a) / pick(b) for a, b in zip(local, cluster, strict=True)]
        print(f"  cluster / local, {label}, round by round: {span(ratios)}  (target >= 0.90)")


if __name__ == "__main__":
    main()
