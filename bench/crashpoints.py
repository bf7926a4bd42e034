"""Crash-point benchmark (not a test; issue 15): `leaklens ingest` and `leaklens verify` killed with
SIGKILL at POINTS random points, each followed by the same command run again.

    python bench/crashpoints.py [--points 100] [--emails 60] [--seed 15] [--web 0] [--keep DIR]

Each point is, at random: the ingest or the verify (half each); killed at a random moment of the
uninterrupted run's duration (measured first, and again every 10 points: the load drifts), or, one
in three, at a random commit named by leaklens.crashpoints (just before it or just after it lands).
The kill reaches the whole process group: the coordinator and its pool workers. After the rerun the case
is compared with the uninterrupted run (tests/crash_harness.py: items, states, hashes, verdicts,
findings, search hits; none lost, none twice; fsck clean; accounting balanced). Prints one line per
point and the totals: points, kills that landed (a kill by time may come after a fast run ended),
cases with a problem. Takes ~20 min on two loaded cores. --web N then kills `leaklens serve` N times
at a random moment (0.1-5 s) of a client's tags and notes, and checks that every acknowledged write
is there (tests/crash_harness.py: web_problems).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from crash_harness import (  # noqa: E402
    command,
    killed_at,
    make_dump,
    problems,
    snapshot,
    timed,
    web_problems,
    web_writes_killed,
)


def count_commits(cmd_for, start) -> int:
    """How many commits a run makes: the first N whose crash point the run outlives."""
    n = 1
    while True:
        case = start()
        if killed_at(cmd_for(case), point=f"commit:{n}") is None:
            return n - 1
        n += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--emails", type=int, default=60)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--web", type=int, default=0, help="then this many kills of `leaklens serve` under web writes")
    ap.add_argument("--keep", type=Path, help="keep the cases of points with a problem here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="leaklens-crash-"))
    try:
        src = make_dump(root, emails=args.emails)
        ingested, both = root / "ingested", root / "both"
        t_ingest = timed(command("ingest", ingested, src))
        shutil.copytree(ingested, both)
        t_verify = timed(command("verify", both))
        expect = {"ingest": snapshot(ingested), "verify": snapshot(both)}
        assert problems(ingested, expect["ingest"]) == [] and problems(both, expect["verify"]) == []
        seq = [0]

        def fresh(verb: str) -> Path:
            seq[0] += 1
            case = root / f"p{seq[0]}"
            if verb == "verify":
                shutil.copytree(ingested, case)
            return case

        commits = {
            "ingest": count_commits(lambda c: command("ingest", c, src), lambda: fresh("ingest")),
            "verify": count_commits(lambda c: command("verify", c), lambda: fresh("verify")),
        }
        print(f"clean runs: ingest {t_ingest:.1f} s, {commits['ingest']} commits; verify {t_verify:.1f} s, "
              f"{commits['verify']} commits; {len(expect['verify']['items'])} items", flush=True)
        duration = {"ingest": t_ingest, "verify": t_verify}
        landed = bad = 0
        rows = []
        started = time.monotonic()
        for i in range(args.points):
            if i and i % 10 == 0:  # the machine's load drifts: a kill by time is a fraction of a recent run
                duration = {"ingest": timed(command("ingest", fresh("ingest"), src)),
                            "verify": timed(command("verify", fresh("verify")))}
            verb = rng.choice(["ingest", "verify"])
            case = fresh(verb)
            cmd = command(verb, case, src)
            if rng.random() < 1 / 3:
                how = f"{rng.choice(['before-commit', 'commit'])}:{rng.randint(1, commits[verb])}"
                rc = killed_at(cmd, point=how)
            else:
                at = rng.uniform(0.05, 1.0) * duration[verb]
                how = f"{at:.2f}s"
                rc = killed_at(cmd, after=at)
            landed += rc is not None
            t = timed(cmd)
            found = problems(case, expect[verb])
            bad += bool(found)
            rows.append({"point": i, "verb": verb, "at": how, "killed": rc is not None, "rerun_s": round(t, 2),
                         "problems": found})
            print(f"{i:3d} {verb:6s} {how:>18s} {'killed' if rc is not None else 'ended first':11s} "
                  f"rerun {t:5.1f} s  {'OK' if not found else 'PROBLEMS: ' + '; '.join(found)[:300]}", flush=True)
            if found and args.keep:
                shutil.copytree(case, args.keep / case.name)
            shutil.rmtree(case, ignore_errors=True)
        web_bad = acked_writes = 0
        for i in range(args.web):
            case = root / f"w{i}"
            shutil.copytree(both, case)
            after = rng.uniform(0.1, 5.0)
            acked = web_writes_killed(case, after=after)
            found = web_problems(case, acked, expect["verify"])
            web_bad += bool(found)
            acked_writes += len(acked["tags"]) + len(acked["notes"])
            print(f"web {i:3d} after {after:4.2f} s: {acked['sent']} writes sent, "
                  f"{len(acked['tags']) + len(acked['notes'])} acknowledged  "
                  f"{'OK' if not found else 'PROBLEMS: ' + '; '.join(found)[:300]}", flush=True)
            shutil.rmtree(case, ignore_errors=True)
        if args.web:
            print(json.dumps({"web_points": args.web, "acknowledged_writes": acked_writes, "with_problems": web_bad}))
        print(json.dumps({"points": args.points, "killed": landed, "with_problems": bad,
                          "commits": commits, "clean_s": duration, "seconds": round(time.monotonic() - started)}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
