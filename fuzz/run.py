"""One coverage-guided atheris run of one harness; bench/fuzz.py runs this in a subprocess per harness.

    python fuzz/run.py HARNESS --runs N [--seed S] [--hang SECONDS] [--out DIR] [--seconds T]

A contract violation does not stop the run: its input is saved under OUT/crashes/ by signature
(exception type and the innermost leaklens frame) and fuzzing goes on, so the distinct crashes of
a long run are counted. An input that takes longer than --hang is saved under OUT/hangs/; one that
never returns is killed by libFuzzer's -timeout (the parent counts it and restarts). Figures are
written to OUT/stats.json as the run goes (libFuzzer ends the process with exit(), not Python's).

HARNESS may also be cpython_email_as_bytes / cpython_email_from: CPython's own email package, the
runs that found the two inputs in tests/fixtures/fuzz/cpython-*.eml.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import traceback
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["leaklens", "fuzz"]):
    from fuzz.harnesses import HARNESSES, SEEDS


def _cpython_email(check: str):
    import email
    from email import policy

    def harness(data: bytes) -> None:
        msg = email.message_from_bytes(data, policy=policy.default)
        if check == "as_bytes":
            msg.as_bytes()
        elif msg["From"] is not None:
            _ = msg["From"].addresses

    return harness


TARGETS = {**HARNESSES, "cpython_email_as_bytes": _cpython_email("as_bytes"),
           "cpython_email_from": _cpython_email("from")}


def signature(exc: BaseException) -> str:
    """Type and the innermost frame in leaklens (or the innermost at all): one bug, one signature."""
    cause = exc.__cause__ or exc
    frames = traceback.extract_tb(cause.__traceback__)
    ours = [f for f in frames if "/leaklens/" in f.filename and "/fuzz/" not in f.filename] or frames
    where = f"{ours[-1].filename.rsplit('/', 2)[-1]}:{ours[-1].lineno}" if ours else "?"
    return f"{type(cause).__name__}@{where}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("harness", choices=sorted(TARGETS))
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=0, help="stop after this long (0: no limit)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hang", type=float, default=5.0, help="an input slower than this is a hang")
    ap.add_argument("--kill", type=int, default=60, help="libFuzzer kills an input slower than this")
    ap.add_argument("--out", type=Path, default=Path("fuzz-out"))
    args = ap.parse_args()

    target = TARGETS[args.harness]
    out = args.out / args.harness
    corpus = out / "corpus"
    for sub in ("corpus", "crashes", "hangs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(SEEDS.get(args.harness, SEEDS["mime_reader"])):
        (corpus / f"seed-{i}").write_bytes(seed)
    stats_path = out / "stats.json"
    prior = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    stats = {"harness": args.harness, "executions": prior.get("executions", 0), "seconds": prior.get("seconds", 0.0),
             "crashes": prior.get("crashes", {}), "hangs": prior.get("hangs", 0),
             "slowest": prior.get("slowest", 0.0), "killed": prior.get("killed", 0)}
    started = time.monotonic()
    base_runs, base_seconds = stats["executions"], stats["seconds"]

    def save() -> None:
        stats["seconds"] = round(base_seconds + time.monotonic() - started, 1)
        tmp = stats_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats, indent=1))
        tmp.replace(stats_path)

    count = [0]
    last_save = [time.monotonic()]

    def one(data: bytes) -> None:
        t = time.monotonic()
        try:
            target(data)
        except Exception as exc:  # noqa: BLE001 - counted and saved, and the run goes on
            sig = signature(exc)
            stats["crashes"][sig] = stats["crashes"].get(sig, 0) + 1
            if stats["crashes"][sig] == 1:
                name = hashlib.sha1(sig.encode()).hexdigest()[:12]
                (out / "crashes" / name).write_bytes(data)
                (out / "crashes" / f"{name}.txt").write_text(
                    sig + "\n" + "".join(traceback.format_exception(exc.__cause__ or exc))[-4000:])
            save()
        took = time.monotonic() - t
        stats["slowest"] = max(stats["slowest"], round(took, 3))
        if took > args.hang:
            stats["hangs"] += 1
            (out / "hangs" / hashlib.sha1(data).hexdigest()[:12]).write_bytes(data)
            save()
        count[0] += 1
        stats["executions"] = base_runs + count[0]
        # libFuzzer ends the process with exit(), past Python's atexit: the figures are written
        # after the last run and every second (a run stopped by -max_total_time loses under a second).
        now = time.monotonic()
        if count[0] >= args.runs or now - last_save[0] > 1.0:
            last_save[0] = now
            save()

    save()
    libfuzzer = [sys.argv[0], f"-runs={args.runs}", f"-seed={args.seed}", f"-timeout={args.kill}",
                 "-max_len=65536", "-rss_limit_mb=4096", "-print_final_stats=1", "-reload=0"]
    if args.seconds:
        libfuzzer.append(f"-max_total_time={args.seconds}")
    atheris.Setup([*libfuzzer, str(corpus)], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
