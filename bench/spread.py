"""Benchmark (not a test): leaklens spread over generated posts, against coordination-network-toolkit.

Generates N posts (default 1,000,000) over three days: a background of accounts with heavy-tailed
activity (originals with Zipf words, links and hashtags; retweets, replies and quotes of earlier posts,
popular posts drawing more), planted coordinated groups (8-20 accounts created on one day, each group
retweeting the same posts, posting the same texts, sharing the same links and replying to the same posts
within 30 s of each other, a dozen times each), and an organic burst (20,000 accounts that never post
otherwise reacting within ten minutes to one news story: retweets, replies, their own words with its link).

Then, each phase in its own process (peak memory is that process's):
- ingest: the generic CSV into a case (`spread ingest`);
- analyse: the whole analysis of every post (timeline, first movers, cascades, amplifiers, every
  coordination method), and again without co-similarity; planted-group recall (planted accounts flagged by
  any method) and the organic burst's false-positive rate (its accounts flagged);
- co-similarity alone with a 1-hour window;
- networks: co-retweet, co-tweet, co-link and co-reply with a fixed window (`--window`), computed by
  leaklens (`spread.coordination.networks`) and by coordination-network-toolkit (pip install
  coordination-network-toolkit: a bench-only dependency, not a runtime one) on the same posts written as
  its 8-column CSV, edges of weight >= `--min-edge-weight` (its default, 2) on both sides,
  with `--n_cpus 2`; edges compared (self-loops aside, as its exports leave them).

    .venv/bin/python bench/spread.py [--posts 1000000] [--window 60] [--runs 1] [--no-toolkit] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
T0 = 1494007200.0  # 2017-05-05 18:00 UTC
SPAN = 3 * 86400.0
GROUPS = 50
ORGANIC = 20_000
VOCAB = 5_000
NETWORKS = {
    "co_retweet": "repost_events",
    "co_tweet": "post_events",
    "co_link": "link_events",
    "co_reply": "reply_events",
}


# --- generation ---------------------------------------------------------------------------------
def generate(n: int, out: Path, seed: int = 1) -> dict:
    """Write the posts as a generic CSV and as the toolkit's CSV; return what was planted."""
    rng = random.Random(seed)
    vocab = [f"{''.join(rng.choices('abcdefghijklmnopqrstuvwxyz', k=rng.randint(3, 8)))}{i}" for i in range(VOCAB)]
    wcum = list(itertools.accumulate(1 / (r + 1) for r in range(VOCAB)))
    urls = [f"site{k % 5000}.example/a/{k}" for k in range(50_000)]
    ucum = list(itertools.accumulate(1 / (r + 1) ** 0.8 for r in range(len(urls))))
    tags = [f"tag{k}" for k in range(1000)]
    n_acc = max(1000, n // 5)
    acum = list(itertools.accumulate(1 / (r + 1) ** 0.9 for r in range(n_acc)))
    created = [T0 - rng.uniform(30, 9 * 365) * 86400 for _ in range(n_acc)]

    def words(k: int) -> str:
        total = wcum[-1]
        return " ".join(vocab[bisect.bisect_left(wcum, rng.random() * total)] for _ in range(k))

    rows: list[tuple] = []  # (id, ts, account, text, reply_to, repost_of, quote_of, url, author_created)
    planted: dict[str, list[str]] = {}
    organic: list[str] = []
    # planted groups first (their posts count in n)
    gid = 0
    originals: list[tuple[str, float]] = []
    group_posts = []
    for g in range(GROUPS):
        size = rng.randint(8, 20)
        born = T0 - rng.uniform(2, 60) * 86400
        members = [f"g{g}m{k}" for k in range(size)]
        planted[f"group{g}"] = members
        birth = {m: born + rng.uniform(0, 80000) for m in members}
        for kind, times in (("rt", 12), ("post", 6), ("link", 6), ("reply", 5)):
            for r in range(times):
                at = T0 + rng.uniform(0, SPAN - 3600)
                text = words(12)
                url = f"campaign{g}.example/p/{r}"
                target = f"gt{g}_{kind}_{r}"
                if kind in ("rt", "reply"):  # the post they repeat or answer, by an account of its own
                    group_posts.append(
                        (target, at - rng.uniform(60, 600), f"src{g}_{r}", words(10), "", "", "", "", T0 - 2000 * 86400)
                    )
                for m in members:
                    gid += 1
                    t = at + rng.uniform(0, 30)
                    pid = f"gp{gid}"
                    if kind == "rt":
                        group_posts.append((pid, t, m, f"RT {text}", "", target, "", "", birth[m]))
                    elif kind == "post":
                        group_posts.append((pid, t, m, f"@someone {text}", "", "", "", "", birth[m]))
                    elif kind == "link":
                        group_posts.append((pid, t, m, words(10), "", "", "", url, birth[m]))
                    else:
                        group_posts.append((pid, t, m, words(9), target, "", "", "", birth[m]))
    # the organic burst: one news post, 20,000 one-off accounts within ten minutes
    news_t = T0 + SPAN / 2
    news_url = "bignews.example/story/2017"
    burst = [("news0", news_t, "newsroom", "Breaking: " + words(10), "", "", "", news_url, T0 - 3000 * 86400)]
    for k in range(ORGANIC):
        acct = f"o{k}"
        organic.append(acct)
        t = news_t + rng.uniform(5, 600)
        c = T0 - rng.uniform(30, 9 * 365) * 86400
        r = rng.random()
        if r < 0.4:
            burst.append((f"op{k}", t, acct, "RT Breaking", "", "news0", "", "", c))
        elif r < 0.8:
            burst.append((f"op{k}", t, acct, words(11), "", "", "", news_url, c))
        else:
            burst.append((f"op{k}", t, acct, words(8), "news0", "", "", "", c))
    background = n - len(group_posts) - len(burst)
    times = sorted(T0 + rng.random() * SPAN for _ in range(background))
    pool: list[int] = []  # indexes into rows of originals, repeated by popularity (preferential attachment)
    total_a = acum[-1]
    for k, t in enumerate(times):
        a = bisect.bisect_left(acum, rng.random() * total_a)
        acct = f"u{a}"
        r = rng.random()
        pid = f"b{k}"
        if pool and r < 0.45:
            j = pool[int(len(pool) * (1 - rng.random() ** 3)) - 1]  # recent and popular posts drawn more
            pool.append(j)
            rows.append((pid, t, acct, "RT " + rows[j][3][:60], "", rows[j][0], "", "", created[a]))
        elif pool and r < 0.55:
            j = pool[int(len(pool) * (1 - rng.random() ** 3)) - 1]
            rows.append((pid, t, acct, words(rng.randint(5, 14)), rows[j][0], "", "", "", created[a]))
        elif pool and r < 0.6:
            j = pool[int(len(pool) * (1 - rng.random() ** 3)) - 1]
            rows.append((pid, t, acct, words(rng.randint(5, 14)), "", "", rows[j][0], "", created[a]))
        else:
            text = words(rng.randint(6, 16))
            if rng.random() < 0.3:
                text += " #" + tags[int(rng.paretovariate(1.2)) % len(tags)]
            url = urls[bisect.bisect_left(ucum, rng.random() * ucum[-1])] if rng.random() < 0.2 else ""
            rows.append((pid, t, acct, text, "", "", "", url, created[a]))
            pool.append(len(rows) - 1)
    originals.clear()
    rows.extend(group_posts)
    rows.extend(burst)
    with open(out / "posts.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "id",
                "time",
                "author",
                "author_id",
                "text",
                "reply_to",
                "repost_of",
                "quote_of",
                "urls",
                "author_created",
                "platform",
            ]
        )
        for pid, t, acct, text, reply, rt, qt, url, c in rows:
            w.writerow([pid, f"{t:.3f}", acct, acct, text, reply, rt, qt, url, f"{c:.0f}", "twitter"])
    with open(out / "toolkit.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["message_id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls"])
        for pid, t, acct, text, reply, rt, _qt, url, _c in rows:
            w.writerow([pid, acct, acct, rt, reply, text, f"{t:.3f}", url])
    truth = {"posts": len(rows), "planted": planted, "organic": organic}
    (out / "truth.json").write_text(json.dumps(truth))
    return truth


# --- phases, each in a process of its own ------------------------------------------------------
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_ingest(work: Path) -> dict:
    from leaklens.case import Case
    from leaklens.spread.ingest import ingest_files

    t = time.perf_counter()
    with Case.open(work / "case", create=True) as case:
        rep = ingest_files(case, [work / "posts.csv"])[0]
    return {"seconds": time.perf_counter() - t, "posts": rep.posts, "malformed": rep.malformed, "peak_mb": _peak_mb()}


def phase_analyse(work: Path, methods: str) -> dict:
    from leaklens.case import Case
    from leaklens.spread.analyse import analyse
    from leaklens.spread.coordination import METHODS, Params

    chosen = (
        None if methods == "all" else [m for m in METHODS if m != "co-similarity"] if methods == "nosim" else [methods]
    )
    truth = json.loads((work / "truth.json").read_text())
    t, cpu = time.perf_counter(), time.process_time()
    with Case.open(work / "case") as case:
        a = analyse(case, params=Params(), methods=chosen)
    secs = time.perf_counter() - t
    cpu = time.process_time() - cpu  # on a shared machine the CPU time says what the wall time cannot
    flagged = {x["account"].partition(":")[2] for x in a["coordination"]["accounts"]}
    per_method = {}
    planted = {m for ms in truth["planted"].values() for m in ms}
    organic = set(truth["organic"])
    for name, r in a["coordination"]["methods"].items():
        mine = {x["account"].partition(":")[2] for g in r["groups"] for x in g["accounts"]}
        per_method[name] = {
            "recall": len(mine & planted) / len(planted),
            "organic_flagged": len(mine & organic),
            "window_s": r["parameters"].get("window_s"),
        }
    background = flagged - planted - organic
    return {
        "seconds": secs,
        "cpu_seconds": cpu,
        "timings": a["timings_s"],
        "peak_mb": _peak_mb(),
        "posts": a["posts"],
        "recall": len(flagged & planted) / len(planted),
        "organic_fp": len(flagged & organic) / len(organic),
        "background_flagged": len(background),
        "per_method": per_method,
        "cascades": a["cascades"]["count"],
    }


def phase_networks(work: Path, window: float, min_weight: int = 2) -> dict:
    """leaklens's four networks with a fixed window, timed, and written for the comparison.

    The posts are read as an analysis reads them (`load_posts`: from the store's snapshot of the posts when
    it is fresh, `load_seconds`; the first read after an ingest makes it, `snapshot_made`), and once more from
    the database alone (`load_from_database_seconds`, what every read cost before the snapshot) to check both
    give the same posts. The networks are computed with the cycle collector off, as `analyse` runs them."""
    from leaklens.case import Case
    from leaklens.spread.coordination import networks
    from leaklens.spread.table import POSTS, READ, load_posts, no_cycle_collection
    from leaklens.store import snapshot

    with Case.open(work / "case") as case:
        folder = case.db.snapshot_dir
        made = not any(folder.glob("*.cols")) if folder.exists() else True
        case.db.snapshot_dir = None  # the database alone
        t = time.perf_counter()
        from_db = load_posts(case.db)
        load_db = time.perf_counter() - t
        case.db.snapshot_dir = folder
        made_s = None
        if made:
            t = time.perf_counter()
            load_posts(case.db)  # makes the snapshot
            made_s = time.perf_counter() - t
        t = time.perf_counter()
        ps = load_posts(case.db)
        load = time.perf_counter() - t
        fresh = snapshot.read(
            snapshot.path_of(folder, POSTS, READ, "part"),
            {"token": case.db.get_meta(snapshot.token_key(POSTS)), "count": len(ps)},
        )
    same = from_db == ps
    del from_db
    sel = range(len(ps))
    out: dict = {
        "load_seconds": load,
        "load_from_database_seconds": load_db,
        "served_from_snapshot": fresh is not None,
        "snapshot_made_seconds": made_s,
        "same_posts_as_database": same,
    }
    del fresh
    with no_cycle_collection():
        for name, fn in NETWORKS.items():
            t = time.perf_counter()
            events = getattr(networks, fn)(ps, sel)
            w = {k: n for k, n in networks.network(events, window, min_weight).items() if n >= min_weight}
            out[name] = {"seconds": time.perf_counter() - t, "edges": len(w)}
            with open(work / f"mine_{name}.tsv", "w", encoding="utf-8") as f:
                for (a, b), n in w.items():
                    f.write(f"{a.partition(':')[2]}\t{b.partition(':')[2]}\t{n}\n")
    out["peak_mb"] = _peak_mb()
    return out


def run_toolkit(work: Path, window: float, min_weight: int = 2) -> dict:
    db = work / "toolkit.db"
    for p in work.glob("toolkit.db*"):
        p.unlink()
    cmd = [sys.executable, "-m", "coordination_network_toolkit", str(db)]
    t = time.perf_counter()
    subprocess.run([*cmd, "preprocess", "--format", "csv", str(work / "toolkit.csv")], check=True, capture_output=True)
    out = {"preprocess_seconds": time.perf_counter() - t}
    for name in NETWORKS:
        t = time.perf_counter()
        subprocess.run(
            [
                *cmd,
                "compute",
                name,
                "--time_window",
                str(int(window)),
                "--n_cpus",
                "2",
                "--min_edge_weight",
                str(min_weight),
            ],
            check=True,
            capture_output=True,
        )
        out[name] = {"seconds": time.perf_counter() - t}
    con = sqlite3.connect(db)  # the toolkit's own database, read to compare its edges
    for name in NETWORKS:
        theirs = {(a, b): w for a, b, w in con.execute(f"select user_1, user_2, weight from {name}_network") if a != b}
        mine = {}
        with open(work / f"mine_{name}.tsv", encoding="utf-8") as f:
            for line in f:
                a, b, w = line.rstrip("\n").split("\t")
                mine[(a, b)] = int(w)
        same = sum(1 for k, w in mine.items() if theirs.get(k) == w)
        out[name].update(
            {
                "edges": len(theirs),
                "same_edges_and_weights": same,
                "only_leaklens": len(mine.keys() - theirs.keys()),
                "only_toolkit": len(theirs.keys() - mine.keys()),
                "weight_differs": sum(1 for k in mine.keys() & theirs.keys() if mine[k] != theirs[k]),
            }
        )
    con.close()
    out["co_link_links_only"] = _toolkit_co_link_links_only(work, window, min_weight)
    return out


def _toolkit_co_link_links_only(work: Path, window: float, min_weight: int) -> dict:
    """The toolkit's co-link network over only the posts that carry a link, compared with ours (not timed).
    Its CSV reader keeps an empty `urls` field as the link "", so every two accounts posting without a
    link within the window share a "link" in its co_link network; without those rows the two must agree."""
    src, links, db = work / "toolkit.csv", work / "toolkit-links.csv", work / "toolkit-links.db"
    for p in work.glob("toolkit-links.db*"):
        p.unlink()
    with open(src, newline="", encoding="utf-8") as f, open(links, "w", newline="", encoding="utf-8") as g:
        rows, out = csv.reader(f), csv.writer(g)
        header = next(rows)
        out.writerow(header)
        at = header.index("urls")
        out.writerows(row for row in rows if row[at].strip())
    cmd = [sys.executable, "-m", "coordination_network_toolkit", str(db)]
    subprocess.run([*cmd, "preprocess", "--format", "csv", str(links)], check=True, capture_output=True)
    subprocess.run([*cmd, "compute", "co_link", "--time_window", str(int(window)), "--n_cpus", "2",
                    "--min_edge_weight", str(min_weight)], check=True, capture_output=True)  # fmt: skip
    con = sqlite3.connect(db)
    theirs = {(a, b): w for a, b, w in con.execute("select user_1, user_2, weight from co_link_network") if a != b}
    con.close()
    mine = {}
    with open(work / "mine_co_link.tsv", encoding="utf-8") as f:
        for line in f:
            a, b, w = line.rstrip("\n").split("\t")
            mine[(a, b)] = int(w)
    return {
        "edges": len(theirs),
        "same_edges_and_weights": sum(1 for k, w in mine.items() if theirs.get(k) == w),
        "only_leaklens": len(mine.keys() - theirs.keys()),
        "only_toolkit": len(theirs.keys() - mine.keys()),
    }


def _child(*args: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--phase", *args], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--window", type=float, default=60.0, help="fixed window of the network comparison, seconds")
    ap.add_argument(
        "--min-edge-weight",
        type=int,
        default=2,
        help="both tools' edges of at least this weight (the toolkit's default, 2)",
    )
    ap.add_argument("--runs", type=int, default=1, help="analysis runs, network rounds (the range is reported)")
    ap.add_argument("--no-toolkit", action="store_true")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/leaklens-bench-spread"))
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the workdir's generated posts and ingested case if there (the analysis is what is timed)",
    )
    ap.add_argument(
        "--only",
        default="ingest,all,nosim,co-similarity,networks",
        help="phases to run, comma-separated (ingest, all, nosim, co-similarity, networks)",
    )
    ap.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        name, work, *rest = args.phase
        work = Path(work)
        result = {
            "ingest": lambda: phase_ingest(work),
            "analyse": lambda: phase_analyse(work, rest[0]),
            "networks": lambda: phase_networks(work, float(rest[0]), int(rest[1])),
        }[name]()
        print(json.dumps(result))
        return
    work = args.workdir
    only = set(args.only.split(","))
    reuse = args.reuse and (work / "truth.json").exists() and (work / "case").exists()
    if reuse:
        truth = json.loads((work / "truth.json").read_text())
        print(f"reusing {work}: {truth['posts']:,} posts", flush=True)
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        t = time.perf_counter()
        truth = generate(args.posts, work)
        print(
            f"generated {truth['posts']:,} posts in {time.perf_counter() - t:.0f} s "
            f"({sum(len(m) for m in truth['planted'].values())} planted accounts in {GROUPS} groups, "
            f"{ORGANIC:,} organic)",
            flush=True,
        )
        only.add("ingest")  # a fresh workdir has no case to analyse
    report: dict = {"posts": truth["posts"], "cores": os.cpu_count()}
    if "ingest" in only and not reuse:
        report["ingest"] = _child("ingest", str(work))
        print("ingest", json.dumps(report["ingest"]), flush=True)
    for kind in ("all", "nosim"):
        if kind not in only:
            continue
        runs = []
        for _ in range(args.runs):
            load = os.getloadavg()[0]
            r = _child("analyse", str(work), kind)
            r["load_avg_1m_before"] = round(load, 1)
            runs.append(r)
            print(f"analyse ({kind})", json.dumps(r), flush=True)
        report[f"analyse_{kind}"] = runs
    if "co-similarity" in only:
        report["co_similarity"] = _child("analyse", str(work), "co-similarity")
        print("co-similarity alone", json.dumps(report["co_similarity"]), flush=True)
    if "networks" not in only:
        (work / "report.json").write_text(json.dumps(report, indent=1))
        print(f"report: {work / 'report.json'}")
        return
    report["networks_rounds"] = []
    for _ in range(args.runs):  # leaklens then the toolkit, round after round: the range is what a noisy machine gives
        rnd = {"load_avg_1m_before": round(os.getloadavg()[0], 1)}
        rnd["leaklens"] = _child("networks", str(work), str(args.window), str(args.min_edge_weight))
        print("networks (leaklens)", json.dumps(rnd["leaklens"]), flush=True)
        if not args.no_toolkit:
            rnd["toolkit"] = run_toolkit(work, args.window, args.min_edge_weight)
            print("networks (toolkit)", json.dumps(rnd["toolkit"]), flush=True)
            mine = sum(rnd["leaklens"][n]["seconds"] for n in NETWORKS)
            load = rnd["leaklens"]["load_seconds"]
            theirs = sum(rnd["toolkit"][n]["seconds"] for n in NETWORKS)
            rnd["ratio_computing"] = theirs / mine
            rnd["ratio_reading_included"] = theirs / (mine + load)
            # The toolkit's compute runs read its own database inside their time: the fair ratio counts ours too.
            print(
                f"four networks: leaklens {mine:.2f} s computing + {load:.2f} s reading its posts "
                f"({rnd['leaklens']['load_from_database_seconds']:.2f} s from the database alone), "
                f"toolkit {theirs:.2f} s: {theirs / mine:.1f}x computing, {theirs / (mine + load):.1f}x reading "
                "included",
                flush=True,
            )
        report["networks_rounds"].append(rnd)
    (work / "report.json").write_text(json.dumps(report, indent=1))
    print(f"report: {work / 'report.json'}")


if __name__ == "__main__":
    main()
