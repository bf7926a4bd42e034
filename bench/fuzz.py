"""Long fuzz runs (issue 15): every harness in fuzz/harnesses.py under atheris, one subprocess each.

    python bench/fuzz.py [--runs 1000000] [--seconds 0] [--only NAME,...] [--out DIR] [--hang 5]

Prints per harness: executions, exec/s, distinct crashes (by exception type and innermost leaklens
frame; the inputs are in OUT/<harness>/crashes/), hangs (inputs slower than --hang, or killed by
libFuzzer's per-input -timeout or by this script's wall-clock limit; OUT/<harness>/hangs/).
A run that is killed is restarted with the executions it still owes (and a new seed), so one
hang does not end a harness's campaign. Figures so far are read back from OUT/<harness>/stats.json,
so a campaign can be continued in steps (--resume). Run it niced: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _stats(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def campaign(name: str, runs: int, seconds: int, out: Path, hang: float, kill: int, seed: int) -> dict:
    stats_path = out / name / "stats.json"
    killed = 0
    attempt = 0
    started = time.monotonic()
    while True:
        done = _stats(stats_path).get("executions", 0)
        owed = runs - done
        left = seconds - (time.monotonic() - started) if seconds else None
        if owed <= 0 or (left is not None and left <= 1) or attempt > 20:
            break
        cmd = [sys.executable, str(ROOT / "fuzz" / "run.py"), name, f"--runs={owed}", f"--seed={seed + attempt}",
               f"--hang={hang}", f"--kill={kill}", f"--out={out}"]
        if left is not None:
            cmd.append(f"--seconds={int(left)}")
        # The wall-clock guard: libFuzzer's -timeout should fire first; this catches a stuck process.
        wall = None if left is None else left + kill + 60
        try:
            proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=wall)
            tail = proc.stderr[-2000:].decode("utf-8", "replace")
            ok = proc.returncode == 0
        except subprocess.TimeoutExpired:
            ok, tail = False, "wall-clock limit"
        if not ok:
            if "timeout" in tail.lower() or "wall-clock" in tail:
                killed += 1  # one input ran past the per-input limit: a hang
            else:
                killed += 1
                (out / name / f"abort-{attempt}.log").write_text(tail)
        attempt += 1
        if ok:
            break
    stats = _stats(stats_path)
    stats["killed"] = stats.get("killed", 0) + killed
    stats_path.write_text(json.dumps(stats, indent=1))
    return stats


def main() -> None:
    from fuzz.harnesses import HARNESSES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1_000_000, help="executions per harness")
    ap.add_argument("--seconds", type=int, default=0, help="wall-clock budget per harness (0: none)")
    ap.add_argument("--only", default="", help="comma-separated harness names")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "leaklens-fuzz-out")
    ap.add_argument("--hang", type=float, default=5.0)
    ap.add_argument("--kill", type=int, default=60)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--resume", action="store_true", help="continue the counts in OUT instead of starting over")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(HARNESSES)
    if not args.resume:
        for n in names:
            shutil.rmtree(args.out / n, ignore_errors=True)
    print(f"{'harness':<16} {'executions':>11} {'exec/s':>8} {'crashes':>8} {'hangs':>6} {'slowest s':>10}", flush=True)
    for name in names:
        s = campaign(name, args.runs, args.seconds, args.out, args.hang, args.kill, args.seed)
        rate = s.get("executions", 0) / s["seconds"] if s.get("seconds") else 0.0
        hangs = s.get("hangs", 0) + s.get("killed", 0)
        print(f"{name:<16} {s.get('executions', 0):>11,} {rate:>8.0f} {len(s.get('crashes', {})):>8} {hangs:>6} "
              f"{s.get('slowest', 0):>10.2f}", flush=True)
        for sig, n in s.get("crashes", {}).items():
            print(f"    crash {sig} x{n}", flush=True)


if __name__ == "__main__":
    main()
