"""Near-duplicate grouping's peak memory (not a test) on the texts that made verify grow (issue 12).

    .venv/bin/python bench/neardup_memory.py [--sizes 5000,10000,20000] [--seed 1] [--timeout 600]

The attachments of bench/scale.py's dump: notes of 5-60 lines of 10 words drawn from one vocabulary
of 40 words, and CSV tables of 5-60 rows of the same words; every text shares most of its words
with every other, so LSH puts them in the same buckets (mail merges and templates do that too).
Each size runs `find_near_duplicates` in a fresh process (PYTHONPATH=OTHER/src: another tree's)
and prints its wall time, the process's peak resident memory (ru_maxrss; grouping_mb: less what
the process held before grouping), the groups found and the items whose bucket was capped.
"""

from __future__ import annotations

import argparse
import inspect
import json
import random
import resource
import subprocess
import sys
import time

COMMON = (
    "campaign budget meeting press release poll rally volunteers donors schedule speech draft invoice "
    "printer venue security interview television debate region mayor minister program party candidate "
    "office team call week report numbers review plan agenda list contract payment account travel hotel"
).split()
EVERY = "dossier"


def texts(n: int, seed: int) -> list[tuple[str, str]]:
    """bench/scale.py's attachment texts (as its `_email` writes them)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 2:
            att = "\n".join(f"{k};{EVERY};{rng.choice(COMMON)};{rng.random():.4f}" for k in range(rng.randint(5, 60)))
        else:
            att = EVERY + "\n" + "\n".join(" ".join(rng.choices(COMMON, k=10)) for _ in range(rng.randint(5, 60)))
        out.append((f"att{i:07d}", att))
    return out


def one(n: int, seed: int) -> None:
    from leaklens.verify.neardup import find_near_duplicates

    docs = texts(n, seed)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    capped: dict[str, int] = {}
    kwargs = {"capped": capped} if "capped" in inspect.signature(find_near_duplicates).parameters else {}
    t = time.perf_counter()
    groups = find_near_duplicates(((i, s) for i, s in docs if len(s.split()) >= 20), **kwargs)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sizes = sorted((len(g.members) for g in groups), reverse=True)
    got = {"n": n, "wall_s": round(wall, 2), "peak_mb": round(peak / 1024), "grouping_mb": round((peak - base) / 1024)}
    got |= {"groups": len(groups), "largest": sizes[:3], "grouped": sum(sizes), "capped_items": len(capped)}
    print(json.dumps(got))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5000,10000,20000")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=int, default=600)
    args = ap.parse_args()
    if args.one:
        one(args.one, args.seed)
        return
    for n in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            print(out.stdout.strip() or out.stderr.strip()[-500:], flush=True)
        except subprocess.TimeoutExpired:
            print(json.dumps({"n": n, "timeout_s": args.timeout}), flush=True)


if __name__ == "__main__":
    main()
