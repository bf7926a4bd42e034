"""Search benchmark (not a test): ranked search, sorts, a phrase, a browse and facets at 200,000 items.

    python bench/search.py [--n 200000] [--clients 8] [--rounds 5] [--compare-with REV] [--keep DIR]

Builds a generated case of N emails through the store's own write path (`insert_pending` and
`complete_items`, the calls ingest makes, so each tree writes its own search structures: FTS5
before issue 12, the search queue and the tantivy index after), 150 Zipf-distributed words a
body, senders from 40 domains, dates over two years. Then, with `--clients` threads each holding
its own store (a web process's request threads), each query of the mix is run `--rounds` times by
every client at once, and its p50/p95 latency printed:

  every      a word in every item, top 20 by relevance
  common     a word in ~10% of items, top 20 by relevance
  rare       a word in ~0.1% of items, newest first (sort -date)
  phrase     a two-word phrase in ~5% of items, top 20 by relevance
  browse     a filter only (kind:email from:@d7.example), newest first
  filtered   a word and a filter, by relevance
  facets     the facet counts of "common" (the web's side panel), budget 10 s
  count      the number of matches of "every"

Also: the case's build time (items/s, the index's own time apart), case.db and index sizes.

--compare-with REV runs the same on a git worktree of REV (its src first on PYTHONPATH) after
this tree, in the same run, and prints both side by side: the FTS5 implementation is the tree
before issue 12's switch (e.g. --compare-with 92ad592~1). Target: "every" p95 < 300 ms at 200,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

QUERIES = {
    "every": ("omnia", "relevance"),
    "common": ("budget", "relevance"),
    "rare": ("kingfisher", "-date"),
    "phrase": ('"press release"', "relevance"),
    "browse": ("kind:email from:@d7.example", "relevance"),
    "filtered": ("budget kind:email -from:@d3.example", "relevance"),
}


def _vocabulary(n: int, rng: random.Random) -> list[str]:
    syl = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fe", "gu", "hi", "ja", "ko", "ly"]
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choices(syl, k=rng.randint(2, 4))))
    return sorted(words)


def build(root: Path, n: int, seed: int = 7) -> dict:
    """A case of n emails written through the store's API; returns timings."""
    from leaklens.case import Case
    from leaklens.model import STORED, Item, Result

    rng = random.Random(seed)
    vocab = _vocabulary(30_000, rng)
    cum, acc = [], 0.0
    for r in range(1, len(vocab) + 1):
        acc += 1.0 / r
        cum.append(acc)
    domains = [f"d{k}.example" for k in range(40)]
    people = [f"p{k}@{domains[k % 40]}" for k in range(400)]
    started = time.perf_counter()
    case = Case.open(root, create=True)
    db = case.db
    batch = 2000
    for first in range(0, n, batch):
        count = min(batch, n - first)
        base = db.reserve_rowids(count)
        items, results = [], []
        for k in range(count):
            i = first + k
            words = rng.choices(vocab, cum_weights=cum, k=150)
            words[rng.randrange(150)] = "omnia"  # in every item
            if i % 10 == 0:
                words[rng.randrange(150)] = "budget"
            if i % 1000 == 0:
                words[rng.randrange(150)] = "kingfisher"
            if i % 20 == 0:
                at = rng.randrange(149)
                words[at : at + 2] = ["press", "release"]
            body = " ".join(words)
            iid = f"bench{i:09d}"
            rowid = base + k
            items.append(Item(iid, f"bench.mbox!/#{i}", None, "bench.mbox", 1, f"#{i}", "eml", state="pending",
                              rowid=rowid))  # fmt: skip
            day = 1 + (i * 7919) % 730
            date = f"{2016 + day // 365}-{1 + (day % 365) // 31:02d}-{1 + (day % 31) % 28:02d}T{i % 24:02d}:00:00+00:00"
            results.append(
                Result(
                    iid,
                    STORED,
                    sha256=f"{i:064x}",
                    size=len(body),
                    kind="email",
                    mime="message/rfc822",
                    ext="eml",
                    text=body,
                    text_status="extracted",
                    email={
                        "from": rng.choice(people),
                        "to": rng.choice(people),
                        "cc": "",
                        "subject": " ".join(rng.choices(vocab, cum_weights=cum, k=5)),
                        "date": date,
                    },
                    names=f"#{i}",
                    rowid=rowid,
                )  # fmt: skip
            )
        db.begin()
        db.insert_pending(items)
        db.complete_items(results)
        db.commit()
    written = time.perf_counter() - started
    index_s = 0.0
    if hasattr(db, "search_index_update"):
        t = time.perf_counter()
        db.search_index_update()
        index_s = time.perf_counter() - t
    case.close()
    return {"write_s": written, "index_s": index_s}


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def measure(root: Path, clients: int, rounds: int) -> dict:
    from leaklens.case import Case

    stores = [Case.open(root) for _ in range(clients)]
    stores[0].db.search("omnia", limit=20)  # warm: the index opened, the page cache filled once

    def run(name: str, fn) -> list[float]:
        times: list[float] = []
        lock = threading.Lock()
        barrier = threading.Barrier(clients)

        def client(c) -> None:
            barrier.wait()
            for _ in range(rounds):
                t = time.perf_counter()
                fn(c)
                dt = time.perf_counter() - t
                with lock:
                    times.append(dt)

        threads = [threading.Thread(target=client, args=(c,)) for c in stores]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return times

    out: dict[str, dict] = {}
    for name, (q, sort) in QUERIES.items():
        fn = lambda c, q=q, sort=sort: c.db.search_hits(q, limit=20, sort=sort)  # noqa: E731
        out[name] = _stats(run(name, fn))
        out[name]["matches"] = stores[0].db.search_count(q)
    out["facets"] = _stats(run("facets", lambda c: c.db.search_facets("budget", top=12, budget_s=10.0)))
    out["count"] = _stats(run("count", lambda c: c.db.search_count("omnia")))
    for c in stores:
        c.close()
    return out


def _stats(times: list[float]) -> dict:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return {"p50_ms": statistics.median(times) * 1000, "p95_ms": p95 * 1000, "runs": len(times)}


def child(args: argparse.Namespace) -> None:
    root = Path(args.case)
    built = build(root, args.n) if not (root / "case.db").exists() else {}
    result = {"build": built, **measure(root, args.clients, args.rounds)}
    result["sizes"] = {"case_db": _size(root / "case.db"), "index": _size(root / "index")}
    print(json.dumps(result))


def run_tree(src: Path | None, label: str, args: argparse.Namespace, tmp: Path) -> dict:
    from checkout import env_with_src

    case = Path(args.keep or tmp) / f"case-{label}"
    cmd = [sys.executable, str(HERE / "search.py"), "--child", "--case", str(case), "--n", str(args.n),
           "--clients", str(args.clients), "--rounds", str(args.rounds)]  # fmt: skip
    proc = subprocess.run(cmd, env=env_with_src(src), capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{label}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--compare-with", metavar="REV")
    ap.add_argument("--keep", metavar="DIR", help="keep the cases in DIR (and reuse them when there)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    from checkout import checkout, describe

    tmp = Path(tempfile.mkdtemp(prefix="leaklens-bench-search-"))
    try:
        results = {describe(): run_tree(None, "this", args, tmp)}
        if args.compare_with:
            with checkout(args.compare_with) as tree:
                results[describe(args.compare_with)] = run_tree(tree / "src", "other", args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.n:,} items, {args.clients} clients x {args.rounds} rounds; load {os.getloadavg()[0]:.1f}")
    labels = list(results)
    print(f"{'':10}" + "".join(f"{lab:>30}" for lab in labels))
    for name in [*QUERIES, "facets", "count"]:
        cells = []
        for lab in labels:
            r = results[lab][name]
            cells.append(f"{r['p50_ms']:9.1f} / {r['p95_ms']:9.1f} ms")
        print(
            f"{name:10}"
            + "".join(f"{c:>30}" for c in cells)
            + f"   ({results[labels[0]].get(name, {}).get('matches', '')})"
        )
    for lab in labels:
        b, s = results[lab]["build"], results[lab]["sizes"]
        if b:
            print(f"{lab}: written {args.n / b['write_s']:,.0f} items/s, index {b['index_s']:.1f} s;"
                  f" case.db {s['case_db'] / 1e6:,.0f} MB, index {s['index'] / 1e6:,.0f} MB")  # fmt: skip
    print(json.dumps(results))


if __name__ == "__main__":
    main()
