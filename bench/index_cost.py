"""What it costs to make the search index's documents (not a test): the index brought up to date for
every stored item of a case, CPU an item of all threads and of the main thread.

    python bench/index_cost.py [--case DIR] [--repeat 3] [--mode rebuild|update] [--compare-with REV]
                               [--profile OUT.prof] [--dump OUT.jsonl]

The case (default: the 10,000 signed emails of /work/bench-cases/v10case) is copied once per tree
(its case.db; its blobs are linked, nothing here reads them), and each run is a fresh process:
`--mode rebuild` is `leaklens index --rebuild` (every document made again into an emptied index);
`--mode update` queues every stored item and brings the index up to date, each document replacing
the one the index holds, as after a verify (every email's verdict and findings changed). The CPU of
all threads (getrusage: tantivy's indexing threads included) and of the main thread (thread_time:
the store's reads and the documents made in Python, what the coordinator spends) are printed an
item. --compare-with REV runs the same with a checkout of REV (bench/checkout.py), interleaved, the
order alternating by round. --profile writes cProfile's stats of this tree's main thread (one run).
--dump writes every stored item's document (`to_dict`, one JSON line each, in id order) and does
not time anything: two trees' dumps of one case compare their documents.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import checkout, describe, env_with_src

DEFAULT_CASE = Path("/work/bench-cases/v10case")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(case_dir: Path, mode: str, profile: str | None, dump: str | None) -> None:
    from leaklens.case import Case
    from leaklens.store.base import ItemQuery

    with Case.open(case_dir) as c:
        db = c.db
        if dump:
            ids = sorted(r[0] for r in db.item_values(["id"], ItemQuery(state="stored")))
            with open(dump, "w", encoding="utf-8") as out:
                for start in range(0, len(ids), 2000):
                    for doc in db._documents(ids[start : start + 2000]):
                        out.write(json.dumps(doc.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
            print(json.dumps({"items": len(ids)}))
            return
        db._search_engine()  # opened (made, if this tree's schema differs) before the clock starts
        if mode == "update":
            db.search_queue_all()
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
        cpu, main, wall = _cpu(), time.thread_time(), time.perf_counter()
        if prof:
            prof.enable()
        written = db.search_index_rebuild() if mode == "rebuild" else db.search_index_update()
        if prof:
            prof.disable()
        cpu, main, wall = _cpu() - cpu, time.thread_time() - main, time.perf_counter() - wall
        if prof:
            prof.dump_stats(profile)
    print(json.dumps({"items": written, "cpu": cpu, "main": main, "wall": wall}))


def _copy_case(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in ("case.db", "case.db-wal", "case.db-shm"):
        if (src / name).exists():
            shutil.copy2(src / name, dest / name)
    for name in ("blobs", "keys"):
        if (src / name).exists():
            (dest / name).symlink_to((src / name).resolve())
    return dest


def _run(tree_src: Path | None, case_dir: Path, mode: str, *extra: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(case_dir), "--mode", mode, *extra]
    done = subprocess.run(cmd, env=env_with_src(tree_src), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"run failed ({tree_src or 'this tree'}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _line(name: str, runs: list[dict]) -> str:
    per = [1e6 * r["cpu"] / r["items"] for r in runs]
    main = [1e6 * r["main"] / r["items"] for r in runs]
    walls = [r["wall"] for r in runs]
    return (
        f"{name}: {runs[0]['items']:,} items; CPU an item, all threads: median {statistics.median(per):.0f} us "
        f"({min(per):.0f}-{max(per):.0f}); main thread: median {statistics.median(main):.0f} us "
        f"({min(main):.0f}-{max(main):.0f}); wall {min(walls):.2f}-{max(walls):.2f} s"
    )


def _dumps(out: Path, trees: list[tuple[str, Path | None, Path]]) -> None:
    """Each tree's documents of the case written to OUT (this tree's) and OUT.<rev>; compared when two."""
    files = []
    for n, (name, src, case) in enumerate(trees):
        path = out if n == 0 else out.with_name(f"{out.name}.{name}")
        got = _run(src, case, "rebuild", "--dump", str(path.resolve()))
        print(f"{name}: {got['items']:,} documents written to {path}")
        files.append(path)
    if len(files) == 2:
        a, b = (p.read_text(encoding="utf-8").splitlines() for p in files)
        differ = [n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
        print(f"{len(a):,} and {len(b):,} documents; {len(differ):,} differ")
        for n in differ[:3]:
            print(f"  {trees[0][0]}: {a[n][:600]}\n  {trees[1][0]}: {b[n][:600]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", type=Path, default=DEFAULT_CASE)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mode", choices=("rebuild", "update"), default="rebuild")
    ap.add_argument("--compare-with", metavar="REV")
    ap.add_argument("--profile", metavar="OUT")
    ap.add_argument("--dump", metavar="OUT")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.mode, args.profile, args.dump)
        return
    tmp = Path(tempfile.mkdtemp(prefix="leaklens-index-cost-"))
    try:
        this = _copy_case(args.case, tmp / "this")
        if args.profile:
            _run(None, this, args.mode)  # the index made for this tree's schema first
            print(_line(describe(), [_run(None, this, args.mode, "--profile", str(Path(args.profile).resolve()))]))
            return
        trees: list[tuple[str, Path | None, Path]] = [(describe(), None, this)]
        with contextlib.ExitStack() as stack:
            if args.compare_with:
                other = stack.enter_context(checkout(args.compare_with))
                copy = this if args.dump else _copy_case(args.case, tmp / "other")  # a dump writes nothing
                trees.append((describe(args.compare_with), other / "src", copy))
            if args.dump:
                _dumps(Path(args.dump), trees)
                return
            for _name, src, case in trees:
                _run(src, case, args.mode)  # each copy's index made for its tree's schema, not timed
            runs: dict[str, list[dict]] = {name: [] for name, _, _ in trees}
            for n in range(args.repeat):
                for name, src, case in trees if n % 2 == 0 else trees[::-1]:
                    r = _run(src, case, args.mode)
                    runs[name].append(r)
                    print(
                        f"  round {n + 1} {name}: {r['items']:,} items, {1e6 * r['cpu'] / r['items']:.0f} us CPU an"
                        f" item (main thread {1e6 * r['main'] / r['items']:.0f}), {r['wall']:.2f} s, "
                        f"load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
        for name, _, _ in trees:
            print(_line(name, runs[name]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
