"""Scale benchmark (not a test): one generated dump through ingest + verify + search, three ways.

    python bench/scale.py [--items 1000000] [--configs sqlite,postgres,cluster]
                          [--db postgresql://USER:PW@HOST:PORT/postgres] [--cluster local:2]
                          [--workers 2] [--clients 8] [--rounds 3] [--dir DIR] [--keep-dump]

Generates a dump of --items emails (mbox files of 50,000 messages each; a fifth carry a text or
CSV attachment; a tenth are DKIM-signed by a key made for the run, whose record `verify --keys`
gets), then for each configuration, on the same dump:

  (a) sqlite:   `leaklens ingest` / `leaklens verify` with --workers W, the folder's case.db;
  (b) postgres: the same with `--db` (a fresh database `leaklens_scale_b` on the --db server, whose
                user may create databases);
  (c) cluster:  the same on PostgreSQL (`leaklens_scale_c`) with `--cluster` (default local:2, a
                Dask LocalCluster of two workers: the cluster's overhead on the same two cores).

and prints for each: items/s of ingest and of verify, the peak resident memory of the largest
process of each command (its workers too; bench/memwatch.py), the bytes per item of the
database and of the search index (DIR/index/), then search under --clients concurrent clients
(the real server, `leaklens serve`, over HTTP: /api/search without facets) on a query mix — a
term present in every item, a rare term sorted by date, a phrase, a filter-only browse —
p50/p95 per class and overall, and the facet time (/api/search with facets, one at a time).

A configuration whose parts this tree lacks (no --db given, no psycopg, no --cluster option, no
dask.distributed) is skipped with one line saying so. Targets (issue 12): (b) >= 0.8x (a)'s
ingest throughput, (c) >= 0.9x (b); ranked search p95 < 300 ms at 200,000 items and < 500 ms at
1,000,000; facets < 1 s at 1,000,000; largest process < 1 GB.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from memwatch import Peaks, watch
from timing import pct  # noqa: E402 - bench/timing.py

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DOMAIN, SELECTOR = "horizon.example", "scale2017"
EVERY = "dossier"  # in every email's body and every attachment's text: the broadest term
PER_MBOX = 50_000
COMMON = (
    "campaign budget meeting press release poll rally volunteers donors schedule speech draft invoice "
    "printer venue security interview television debate region mayor minister program party candidate "
    "office team call week report numbers review plan agenda list contract payment account travel hotel"
).split()
PHRASE = ("bank", "transfer")  # adjacent in a tenth of the emails, apart in others


def rare_words(n: int = 5_000) -> list[str]:
    rng = random.Random(5)
    syll = ["ka", "lo", "mi", "zor", "vath", "tre", "qui", "ne", "ul", "bri", "sta", "po", "rel", "dun", "ix"]
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choices(syll, k=rng.randint(3, 5))))
    return sorted(words)


# --- the dump -----------------------------------------------------------------------------------


def _email(i: int, rng: random.Random, rare: list[str]) -> bytes:
    people = [f"{a}.{b}@{DOMAIN}" for a in ("anne", "paul", "marc", "lea", "sami", "ines") for b in ("roux", "moreau")]
    outside = f"contact{i % 300}@outside{i % 40}.example"
    sender = people[i % len(people)] if i % 5 else outside
    day = (i * 7919) % 730  # two years
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(1483228800 + day * 86400 + (i * 37) % 86400))
    words = [EVERY, rare[(i * 2654435761) % len(rare)], *rng.choices(COMMON, k=rng.randint(30, 120))]
    if i % 10 == 0:
        words.insert(rng.randrange(len(words)), " ".join(PHRASE))
    elif i % 10 == 1:
        words[1:1] = [PHRASE[1], "and", PHRASE[0]]
    body = "\n".join(" ".join(words[k : k + 12]) for k in range(0, len(words), 12))
    head = (
        f"From: {sender}\r\nTo: {people[(i * 7) % len(people)]}\r\n"
        f"Subject: {' '.join(rng.choices(COMMON, k=3))} {i}\r\nDate: {date}\r\n"
        f"Message-ID: <{i}@{DOMAIN}>\r\nMIME-Version: 1.0\r\n"
    )
    if i % 5 != 3:
        msg = head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
    else:
        if i % 2:
            att = "\n".join(f"{k};{EVERY};{rng.choice(COMMON)};{rng.random():.4f}" for k in range(rng.randint(5, 60)))
            name, ctype = f"table-{i}.csv", "text/csv"
        else:
            att = EVERY + "\n" + "\n".join(" ".join(rng.choices(COMMON, k=10)) for _ in range(rng.randint(5, 60)))
            name, ctype = f"notes-{i}.txt", "text/plain"
        att = att.replace("\n", "\r\n")
        msg = (
            head + 'Content-Type: multipart/mixed; boundary="=b="\r\n\r\n--=b=\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n--=b=\r\n"
            f'Content-Type: {ctype}; name="{name}"\r\nContent-Disposition: attachment; filename="{name}"\r\n\r\n'
            + att + "\r\n--=b=--\r\n"
        )
    return msg.encode()


def _write_mbox(args: tuple[Path, int, int, bytes | None]) -> int:
    path, start, count, pem = args
    import dkim

    rng = random.Random(start)
    rare = rare_words()
    with open(path, "wb", buffering=8 << 20) as out:
        for i in range(start, start + count):
            raw = _email(i, rng, rare)
            if pem is not None and i % 10 == 0:
                sig = dkim.sign(
                    raw, SELECTOR.encode(), DOMAIN.encode(), pem,
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                )  # fmt: skip
                raw = sig + raw
            raw = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
            out.write(b"From sender@horizon.example Mon Apr  3 10:00:00 2017\n" + raw + b"\n")
    return count


def make_key() -> tuple[bytes, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(der).decode()


def generate(work: Path, n: int, workers: int) -> tuple[Path, Path]:
    """The dump folder and the key file; reused when `work` holds a dump of the same size."""
    dump, keys, stamp = work / "dump", work / "keys.txt", work / "dump.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("emails") == n:
        return dump, keys
    shutil.rmtree(dump, ignore_errors=True)
    dump.mkdir(parents=True)
    pem, pub = make_key()
    keys.write_text(f'{SELECTOR}._domainkey.{DOMAIN}. IN TXT "v=DKIM1; k=rsa; p={pub}"\n')
    jobs = [(dump / f"box-{k // PER_MBOX:03d}.mbox", k, min(PER_MBOX, n - k), pem) for k in range(0, n, PER_MBOX)]
    with ProcessPoolExecutor(max(1, workers)) as pool:
        list(pool.map(_write_mbox, jobs))
    stamp.write_text(json.dumps({"emails": n}))
    return dump, keys


# --- the configurations ------------------------------------------------------------------------


def _help(verb: str) -> str:
    return subprocess.run([PY, "-m", "leaklens", verb, "--help"], capture_output=True, text=True, env=_env()).stdout


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200"}


def _with_database(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


def available(config: str, args) -> str:
    """Why `config` cannot run on this tree ('' when it can)."""
    if config == "sqlite":
        return ""
    if not args.db:
        return "no --db postgresql://... given (a server whose user may create databases)"
    if "--db" not in _help("ingest"):
        return "this tree's `leaklens ingest` has no --db option yet"
    try:
        import leaklens.store.postgres.database  # noqa: F401
    except ImportError as exc:
        return f"the PostgreSQL store is not importable ({exc})"
    if config == "cluster":
        if "--cluster" not in _help("ingest") or "--cluster" not in _help("verify"):
            return "this tree's `leaklens ingest`/`verify` have no --cluster option yet"
        try:
            import dask.distributed  # noqa: F401
        except ImportError as exc:
            return f"dask.distributed is not installed ({exc})"
    return ""


def fresh_database(url: str) -> None:
    from leaklens.store.postgres.database import create_database, drop_database

    drop_database(url)
    create_database(url)


def database_bytes(case: Path, url: str | None) -> int:
    if url is None:
        return sum(p.stat().st_size for p in case.glob("case.db*"))
    from leaklens.store.postgres.database import connect

    with connect(url) as conn:  # a benchmark reads the server's own figure, as psql would
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def run_command(label: str, cmd: list[str], log: Path, timeout: float) -> Peaks:
    with open(log, "a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        peaks = watch(cmd, timeout=timeout, env=_env(), stdout=out, stderr=out)
    if peaks.returncode != 0 or peaks.hung:
        tail = log.read_text()[-1500:]
        raise RuntimeError(f"{label} failed (exit {peaks.returncode}, hung {peaks.hung}):\n{tail}")
    return peaks


def count_items(case: Path, url: str | None) -> tuple[int, int]:
    """(items, emails) in the case, through the library."""
    from leaklens.case import Case
    from leaklens.store.base import ItemQuery

    kw = {"db": url} if url else {}
    with Case.open(case, **kw) as c:
        return c.db.count_items(ItemQuery(settled=True)), c.db.count_items(ItemQuery(kind="email"))


# --- search ---------------------------------------------------------------------------------------


def query_mix(rounds: int) -> list[tuple[str, str, str]]:
    """(class, query, sort): a term in every item, rare terms by date, phrases, filter-only browses."""
    rng = random.Random(11)
    rare = rare_words()
    mix: list[tuple[str, str, str]] = []
    for _ in range(rounds):
        mix += [("every item", EVERY, "relevance")] * 5
        mix += [("rare, by date", w, "-date") for w in rng.sample(rare, 10)]
        mix += [("phrase", f'"{PHRASE[0]} {PHRASE[1]}"', "relevance")] * 3
        mix += [("phrase", f'"{a} {b}"', "relevance") for a, b in (rng.sample(COMMON, 2) for _ in range(2))]
        mix += [
            ("browse", f"kind:email after:2017-{m:02d}-01 before:2017-{m + 1:02d}-01", "-date")
            for m in rng.sample(range(1, 12), 3)
        ]
        mix += [("browse", "kind:attachment ext:csv", "-date"), ("browse", "from:anne", "-date")]
    return mix


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(case: Path, url: str | None, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [PY, "-m", "leaklens", "serve", "--case", str(case), "--port", str(port)]
    if url:
        cmd += ["--db", url]
    out = open(log, "a")  # noqa: SIM115 - closed with the server
    proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=_env())
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/static/app.css", timeout=2).read()
            return proc, base
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start: " + log.read_text()[-1500:])


def _get(url: str) -> tuple[float, int]:
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return time.perf_counter() - t, status


def _search_url(base: str, q: str, sort: str, facets: bool) -> str:
    query = urllib.parse.urlencode({"q": q, "sort": sort, "facets": "true" if facets else "false", "per_page": 20})
    return f"{base}/api/search?{query}"


def load(base: str, mix: list[tuple[str, str, str]], clients: int) -> tuple[dict[str, list[float]], int, float]:
    """Each client takes the next query until none is left: (seconds by class, errors, wall seconds)."""
    lock = threading.Lock()
    todo = list(mix)
    random.Random(3).shuffle(todo)
    times: dict[str, list[float]] = {}
    errors = 0

    def client() -> None:
        nonlocal errors
        while True:
            with lock:
                if not todo:
                    return
                klass, q, sort = todo.pop()
            seconds, status = _get(_search_url(base, q, sort, False))
            with lock:
                if status == 200:
                    times.setdefault(klass, []).append(seconds)
                else:
                    errors += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors, time.perf_counter() - t0




def measure_search(case: Path, url: str | None, args, log: Path) -> dict:
    proc, base = start_server(case, url, log)
    try:
        mix = query_mix(args.rounds)
        for q, sort in {(q, s) for _, q, s in mix}:  # warm: the index opened, pages cached
            _get(_search_url(base, q, sort, False))
        times, errors, wall = load(base, mix, args.clients)
        facet_times = []
        for q in (EVERY, "", "kind:email after:2017-06-01", rare_words()[7]):
            seconds, status = _get(_search_url(base, q, "relevance", True))
            if status == 200:
                facet_times.append(seconds)
        server_kb = _hwm(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    every = [t for v in times.values() for t in v]
    return {"times": times, "all": every, "errors": errors, "wall": wall, "facets": facet_times, "server_kb": server_kb}


def _hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- one configuration -------------------------------------------------------------------------


def run_config(config: str, dump: Path, keys: Path, work: Path, args) -> dict:
    case = work / f"case-{config}"
    shutil.rmtree(case, ignore_errors=True)
    url = None
    extra: list[str] = []
    if config in ("postgres", "cluster"):
        url = _with_database(args.db, f"leaklens_scale_{'b' if config == 'postgres' else 'c'}")
        fresh_database(url)
        extra += ["--db", url]
    extra += ["--cluster", args.cluster] if config == "cluster" else ["--workers", str(args.workers)]
    log = work / f"{config}.log"
    log.write_text("")
    ingest = run_command(
        "ingest", [PY, "-m", "leaklens", "ingest", "--quiet", "--case", str(case), *extra, str(dump)], log, args.timeout
    )
    verify = run_command(
        "verify", [PY, "-m", "leaklens", "verify", "--case", str(case), "--keys", str(keys), *extra], log, args.timeout
    )
    items, emails = count_items(case, url)
    out = {
        "config": config,
        "items": items,
        "emails": emails,
        "ingest": ingest,
        "verify": verify,
        "db_bytes": database_bytes(case, url),
        "index_bytes": folder_bytes(case / "index"),
        "index_built": (case / "index").exists(),
        "blob_bytes": folder_bytes(case / "blobs"),
    }
    out["search"] = measure_search(case, url, args, log)
    if not args.keep_cases:
        shutil.rmtree(case, ignore_errors=True)
        if url:
            from leaklens.store.postgres.database import drop_database

            drop_database(url)
    return out


def report(r: dict) -> None:
    items = r["items"]
    ing, ver, s = r["ingest"], r["verify"], r["search"]
    print(f"== {r['config']}: {items:,} items ({r['emails']:,} emails)")
    print(
        f"  ingest  {items / ing.seconds:8,.0f} items/s ({ing.seconds:,.0f} s)  largest process"
        f" {ing.largest_kb / 1024:,.0f} MB, all at once {ing.tree_kb / 1024:,.0f} MB"
    )
    print(
        f"  verify  {items / ver.seconds:8,.0f} items/s ({ver.seconds:,.0f} s)  largest process"
        f" {ver.largest_kb / 1024:,.0f} MB, all at once {ver.tree_kb / 1024:,.0f} MB"
    )
    index = f"{r['index_bytes'] / items:,.0f} B/item" if r["index_built"] else "no DIR/index (not built by this tree)"
    print(
        f"  sizes   database {r['db_bytes'] / items:,.0f} B/item ({r['db_bytes'] / 1e6:,.0f} MB), index {index},"
        f" blobs {r['blob_bytes'] / items:,.0f} B/item"
    )
    line = f"  search  {len(s['all'])} queries, {s['errors']} errors, {len(s['all']) / s['wall']:,.1f} q/s;"
    line += f" all p50 {1000 * pct(s['all'], 50):,.0f} ms p95 {1000 * pct(s['all'], 95):,.0f} ms"
    print(line)
    for klass, times in sorted(s["times"].items()):
        print(f"          {klass:14} p50 {1000 * pct(times, 50):7,.0f} ms  p95 {1000 * pct(times, 95):7,.0f} ms")
    if s["facets"]:
        print(
            f"  facets  median {1000 * statistics.median(s['facets']):,.0f} ms, max {1000 * max(s['facets']):,.0f} ms"
            f" (one at a time); server peak RSS {s['server_kb'] / 1024:,.0f} MB"
        )
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=1_000_000, help="emails in the dump (attachments come on top)")
    ap.add_argument("--configs", default="sqlite,postgres,cluster")
    ap.add_argument("--db", default=os.environ.get("LEAKLENS_BENCH_PG"), help="PostgreSQL server URL (CREATEDB)")
    ap.add_argument("--cluster", default="local:2")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=4, help="rounds of the query mix (30 queries each)")
    ap.add_argument("--timeout", type=float, default=6 * 3600, help="seconds before a command counts as hung")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/leaklens-scale"))
    ap.add_argument("--keep-dump", action="store_true", help="keep the generated dump in --dir for the next run")
    ap.add_argument("--keep-cases", action="store_true")
    args = ap.parse_args()
    work = args.dir
    work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "src"))
    try:
        t = time.monotonic()
        dump, keys = generate(work, args.items, args.workers)
        size = folder_bytes(dump)
        print(f"dump: {args.items:,} emails in {len(list(dump.glob('*.mbox')))} mbox files, {size / 1e9:,.2f} GB"
              f" ({time.monotonic() - t:,.0f} s to make or find)")
        results = {}
        for config in filter(None, args.configs.split(",")):  # --configs "": only make the dump
            why = available(config, args)
            if why:
                print(f"== {config}: skipped: {why}")
                continue
            try:
                results[config] = run_config(config, dump, keys, work, args)
            except RuntimeError as exc:
                print(f"== {config}: FAILED: {exc}")
                continue
            report(results[config])
        rate = {k: r["items"] / r["ingest"].seconds for k, r in results.items()}
        if "sqlite" in rate and "postgres" in rate:
            print(f"postgres / sqlite ingest throughput: {rate['postgres'] / rate['sqlite']:.2f} (target >= 0.8)")
        if "postgres" in rate and "cluster" in rate:
            print(f"cluster / postgres ingest throughput: {rate['cluster'] / rate['postgres']:.2f} (target >= 0.9)")
    finally:
        if not args.keep_dump:
            shutil.rmtree(work / "dump", ignore_errors=True)
            (work / "dump.json").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
