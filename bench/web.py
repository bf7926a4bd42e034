"""Workbench benchmark (not a test): search and item pages under 8 concurrent clients.

    python bench/web.py [--items 100000] [--clients 8] [--requests 400] [--keep DIR] [--compare-with REV]

Builds a case with the real pipeline: an mbox of generated emails (a vocabulary of
common and rare words, threads, ~15% with a text attachment, a tenth DKIM-signed
by a key made for the run) ingested by `leaklens ingest` and checked by
`leaklens verify`, until the case holds --items items. Then, in the same run:

* raw query: `store.search.search()` (count + one page of 25 with snippets, what both
  `leaklens search` and the page run) and the facet queries, called directly on a
  connection, one at a time;
* pages: the real server (`leaklens.web.server.run` in a subprocess, one process,
  loopback) measured over HTTP with 1 client, then with --clients concurrent
  clients: p50, p95, requests/s for /search?q=... and /items/ID, and p95 per query class
  (each query operator is a class: or, not, group, proximity, prefix, fuzzy, stem, ...);
* preview: PREVIEW_DOCS 20-page PDFs (reportlab, bench/preview.py's make_pdf), each attached to
  an email of a second mbox ingested into the same case. The first page a reader waits for
  (GET /items/ID/preview, then /items/ID/preview/1.png) over HTTP: the fresh server's very first
  preview, then cold (a document the server never drew), then warm (its caches); then the same
  first pages as a page kind under --clients clients (each remaining document once, cold, and
  the first ones again, warm).

Targets (issue 16): search page p95 < 200 ms at 100,000 items with 8 clients for every query
class; the first page of a 20-page PDF under 1 s. The page adds under 50% over the raw query
(serial page time vs serial raw time).

--compare-with REV runs the same benchmark again on a checkout of REV (a git worktree in a
temporary folder, its `src` first on PYTHONPATH, removed afterwards; its own case, built by its
own ingest and verify), one after the other in the same run, and prints both sets of figures.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The leaklens measured: this tree's, or a checkout's (set by --compare-with for its second run).
SRC = Path(os.environ.get("LEAKLENS_BENCH_SRC") or ROOT / "src")
sys.path.insert(0, str(SRC))
from timing import pct  # noqa: E402 - bench/timing.py (load.py reads it as web.pct)

ENV = {**os.environ, "PYTHONPATH": str(SRC)}

DOMAIN, SELECTOR = "horizon.example", "bench2017"
COMMON = (
    "campaign budget meeting press release poll rally volunteers donors schedule speech draft transfer invoice "
    "printer venue security interview television debate region mayor minister program party candidate vote "
    "office team call week report numbers review plan agenda list contract payment account bank travel hotel"
).split()


def query_mix() -> list[tuple[str, str]]:
    """(class, query): what a newsroom types, from narrow to broad. Distinct queries, so that the
    facet cache helps only when a query comes back (paging, a shared link)."""
    rng = random.Random(11)
    rare = rare_words(random.Random(7), 20_000)  # the generator's vocabulary (same seed)
    first = ["anne", "paul", "marc", "lea", "sami", "ines", "hugo", "nora", "theo", "emma"]
    mix: list[tuple[str, str]] = []
    mix += [("specific", w) for w in rng.sample(rare, 30)]
    mix += [("specific", f"{w} kind:email") for w in rng.sample(rare, 5)]
    mix += [("specific", f"{w} year:2017") for w in rng.sample(rare, 5)]
    mix += [("phrase", f'"{a} {b}"') for a, b in (rng.sample(COMMON, 2) for _ in range(10))]
    mix += [
        ("filters", f"from:{rng.choice(first)} after:2017-{m:02d}-01 before:2017-{m + 1:02d}-01")
        for m in rng.sample(range(1, 12), 5)
    ]
    mix += [
        ("filters", q)
        for q in (
            "kind:email verdict:verified",
            "signer:horizon.example",
            "ext:txt",
            "verdict:unverified kind:email after:2018-01-01",
            "kind:attachment",
        )
    ]
    mix += [("broad", w) for w in rng.sample(COMMON, 5)]
    mix += [("browse", "")]
    # The Lucene-style operators Aleph and Datashare users type (leaklens.syntax), each a class.
    pair = lambda: rng.sample(COMMON, 2)  # noqa: E731
    mix += [("or", f"{a} OR {b}") for a, b in (pair() for _ in range(3))]
    mix += [("or", f"{a} OR {b}") for a, b in (rng.sample(rare, 2) for _ in range(3))]
    mix += [("not", f"{a} AND NOT {b}") for a, b in (pair() for _ in range(3))]
    mix += [("not", f"{w} -kind:email") for w in rng.sample(rare, 3)]
    mix += [("group", f"({a} OR {b}) AND {c}") for a, b, c in (rng.sample(COMMON, 3) for _ in range(3))]
    mix += [("proximity", f'"{a} {b}"~5') for a, b in (pair() for _ in range(3))]
    mix += [("prefix", f"{w[:4]}*") for w in rng.sample(rare, 3)] + [("prefix", f"{w[:3]}*") for w in COMMON[:3]]
    mix += [("fuzzy", f"{w[:-1]}~") for w in rng.sample(rare, 3)] + [("fuzzy", f"{w}~1") for w in COMMON[3:6]]
    mix += [("stem", f"{w}s") for w in rng.sample(COMMON, 3)]
    return mix


CLASSES = ("specific", "phrase", "filters", "broad", "browse", "or", "not", "group", "proximity", "prefix", "fuzzy",
           "stem")  # fmt: skip


def rare_words(rng: random.Random, n: int) -> list[str]:
    syll = ["ka", "lo", "mi", "zor", "vath", "tre", "qui", "ne", "ul", "bri", "sta", "po", "rel", "dun", "ix"]
    return sorted({"".join(rng.choices(syll, k=rng.randint(2, 4))) for _ in range(n)})


def make_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(der).decode()


def generate(path: Path, n_emails: int, pem: bytes, seed: int = 7) -> None:
    import dkim

    rng = random.Random(seed)
    rare = rare_words(rng, 20_000)
    first = ["anne", "paul", "marc", "lea", "sami", "ines", "hugo", "nora", "theo", "emma"]
    last = ["martin", "roux", "leroy", "dubois", "moreau", "garcia"]
    people = [f"{a}.{b}@{DOMAIN}" for a in first for b in last] + [
        f"contact{i}@outside{i % 40}.example" for i in range(200)
    ]
    with open(path, "wb") as out:
        for i in range(n_emails):
            m = EmailMessage()
            m["From"] = rng.choice(people[:60]) if rng.random() < 0.8 else rng.choice(people)
            m["To"] = ", ".join(rng.sample(people, rng.randint(1, 3)))
            m["Subject"] = " ".join(rng.choices(COMMON, k=3) + rng.choices(rare, k=1))
            day = 1 + (i * 7919) % 700
            m["Date"] = time.strftime("%a, %d %b %Y %H:%M:%S +0200", time.gmtime(1483225200 + day * 86400 + i % 86400))
            m["Message-ID"] = f"<{i}@{DOMAIN}>"
            if i > 10 and rng.random() < 0.3:
                parent = rng.randint(max(0, i - 500), i - 1)
                m["In-Reply-To"] = f"<{parent}@{DOMAIN}>"
                m["References"] = f"<{parent}@{DOMAIN}>"
            lines = [" ".join(rng.choices(COMMON, k=9) + rng.choices(rare, k=3)) for _ in range(rng.randint(3, 30))]
            m.set_content("\n".join(lines) + "\n")
            if rng.random() < 0.15:
                att = "\n".join(" ".join(rng.choices(rare, k=10)) for _ in range(rng.randint(5, 40)))
                m.add_attachment(att.encode(), maintype="text", subtype="plain", filename=f"notes-{i}.txt")
            raw = bytes(m).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            if i % 10 == 0:
                raw = (
                    dkim.sign(
                        raw,
                        SELECTOR.encode(),
                        DOMAIN.encode(),
                        pem,
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                    )
                    + raw
                )
            raw = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
            out.write(b"From sender@horizon.example Mon Apr  3 10:00:00 2017\n" + raw + b"\n")


def build_case(work: Path, items: int) -> tuple[Path, dict]:
    pem, pub = make_key()
    n_emails = int(items / 1.15) + 1
    mbox = work / "dump.mbox"
    t0 = time.perf_counter()
    generate(mbox, n_emails, pem)
    t_gen = time.perf_counter() - t0
    keys = work / "keys.txt"
    keys.write_text(f'{SELECTOR}._domainkey.{DOMAIN}. IN TXT "v=DKIM1; k=rsa; p={pub}"\n')
    case = work / "case"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "leaklens", "ingest", "--quiet", "--case", str(case), str(mbox)],
        check=True,
        stdout=subprocess.DEVNULL,
        env=ENV,
    )
    t_ingest = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "leaklens", "verify", "--case", str(case), "--keys", str(keys)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    t_verify = time.perf_counter() - t0
    conn = sqlite3.connect(case / "case.db")
    n_items = conn.execute("SELECT COUNT(*) FROM items WHERE state='stored'").fetchone()[0]
    conn.close()
    return case, {"emails": n_emails, "items": n_items, "generate_s": t_gen, "ingest_s": t_ingest, "verify_s": t_verify}


PREVIEW_DOCS = 24  # 20-page PDFs: enough that the concurrent run still draws documents never seen


def add_previews(work: Path, case: Path, build: dict) -> None:
    """The PDFs of the preview measure, attached to emails of their own mbox and ingested into the
    case (a case kept from before they were part of it gets them on its next run)."""
    if build.get("preview_docs") == PREVIEW_DOCS:
        return
    from preview import make_pdf  # bench/preview.py: the same 20-page report (text and drawings)

    mbox = work / "previews.mbox"
    with open(mbox, "wb") as out:
        for d in range(PREVIEW_DOCS):
            m = EmailMessage()
            m["From"], m["To"] = f"anne.martin@{DOMAIN}", f"paul.roux@{DOMAIN}"
            m["Subject"], m["Message-ID"] = f"report {d} for review", f"<preview-{d}@{DOMAIN}>"
            m["Date"] = "Mon, 03 Apr 2017 10:00:00 +0200"
            m.set_content("The report is attached.\n")
            m.add_attachment(make_pdf(9000 + d), maintype="application", subtype="pdf", filename=f"report-{d}.pdf")
            raw = bytes(m).replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
            out.write(b"From sender@horizon.example Mon Apr  3 10:00:00 2017\n" + raw + b"\n")
    subprocess.run(
        [sys.executable, "-m", "leaklens", "ingest", "--quiet", "--case", str(case), str(mbox)],
        check=True,
        stdout=subprocess.DEVNULL,
        env=ENV,
    )
    build["preview_docs"] = PREVIEW_DOCS


def preview_ids(case: Path) -> list[str]:
    """The preview PDFs' item ids, in the order they were made."""
    conn = sqlite3.connect(case / "case.db")
    rows = conn.execute(
        "SELECT name, id FROM items WHERE name LIKE 'report-%.pdf' AND kind='attachment' AND state='stored'"
    ).fetchall()
    conn.close()
    return [i for _, i in sorted(rows, key=lambda r: int(r[0][len("report-") : -len(".pdf")]))]




def raw_times(case: Path, mix: list[tuple[str, str]], rounds: int) -> dict[str, dict[str, list[float]]]:
    """The queries behind the page, called directly on one connection: the library's search (what
    `leaklens search` and the page both run) and the page's search plus facets without the facet
    cache. {measure: {query: [seconds...]}}"""
    from leaklens.case import Case
    from leaklens.web import query as webquery

    webquery.FACET_CACHE_SIZE = 0
    c = Case.open(case)
    store = c.db
    if not hasattr(store, "search"):  # a checkout from before the store interface (--compare-with 21da9bf)
        from leaklens.store.search import search as search_on

        store = _Before(c.db.conn, search_on)
    out: dict[str, dict[str, list[float]]] = {"search": {}, "search+facets": {}}
    for _ in range(rounds):
        for _, q in mix:
            t1 = time.perf_counter()
            store.search(q, limit=25, offset=0, sort="relevance")
            t2 = time.perf_counter()
            webquery.search_with_facets(store, q, limit=25, offset=0, sort="relevance")
            t3 = time.perf_counter()
            out["search"].setdefault(q, []).append(t2 - t1)
            out["search+facets"].setdefault(q, []).append(t3 - t2)
    c.close()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(case: Path, cache: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    code = (
        "import sys; from pathlib import Path; from leaklens.web.server import run; "
        f"run(Path({str(case)!r}), '127.0.0.1', {port}, None)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/static/app.css", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])


def stop_server(proc: subprocess.Popen, timeout: float = 10) -> None:
    """The server started by `start_server` stopped: asked first, killed if it does not go."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fetch(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        r.read()
        if r.status != 200:
            raise RuntimeError(f"{url}: {r.status}")
    return time.perf_counter() - t0


def first_page(url: str, item_id: str) -> float:
    """The wait for a document's first page: the preview page, then its first drawn page."""
    return fetch(f"{url}/items/{item_id}/preview") + fetch(f"{url}/items/{item_id}/preview/1.png")


def load(urls: list[str], clients: int, get=fetch) -> tuple[list[tuple[str, float]], float]:
    """Each client takes the next URL from the shared list until none is left (`get` times one)."""
    lock = threading.Lock()
    todo = list(urls)
    times: list[tuple[str, float]] = []

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                u = todo.pop()
            t = get(u)
            with lock:
                times.append((u, t))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, time.perf_counter() - t0


def summary(times: list[float], wall: float | None = None) -> str:
    s = f"p50 {1000 * pct(times, 50):6.1f} ms  p95 {1000 * pct(times, 95):6.1f} ms"
    if wall:
        s += f"  {len(times) / wall:6.1f} req/s"
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400, help="requests per page kind in the concurrent run")
    ap.add_argument("--keep", type=Path, help="reuse/keep the case in this folder")
    ap.add_argument("--no-cache", action="store_true", help="serve without the facet cache (worst case)")
    ap.add_argument("--compare-with", metavar="REV", help="run the same benchmark on a checkout of this revision too")
    args = ap.parse_args()
    if args.compare_with:
        compare(args)
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="leaklens-webbench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if (work / "case" / "case.db").exists():
            case, build = work / "case", json.loads((work / "build.json").read_text())
        else:
            case, build = build_case(work, args.items)
        add_previews(work, case, build)
        (work / "build.json").write_text(json.dumps(build))
        print(
            f"case: {build['items']:,} items ({build['emails']:,} emails); generated in {build['generate_s']:.0f} s,"
            f" ingested in {build['ingest_s']:.0f} s, verified in {build['verify_s']:.0f} s;"
            f" and {build['preview_docs']} emails with a 20-page PDF each (the preview)"
        )
        mix = query_mix()
        cls = {q: c for c, q in mix}
        docs = preview_ids(case)
        proc, url = start_server(case, cache=not args.no_cache)
        pv: dict[str, list[float]] = {}
        try:
            # The fresh server's very first request: a document's first page (its renderers started
            # with the server; nothing of the case read yet). Then documents it never drew, then again.
            try:
                pv["first"] = [first_page(url, docs[0])]
            except urllib.error.HTTPError as exc:  # a tree from before the preview (--compare-with)
                print(f"preview: not measured ({exc.code} from the server)")
                docs = []
            pv["cold"] = [first_page(url, d) for d in docs[1:8]]
            pv["warm"] = [first_page(url, d) for d in docs[:8]]
            conn = sqlite3.connect(case / "case.db")
            ids = [r[0] for r in conn.execute("SELECT id FROM items WHERE kind='email' ORDER BY random() LIMIT 400")]
            conn.close()
            url_of = {q: url + "/search?" + urllib.parse.urlencode({"q": q}) for _, q in mix}
            query_of = {u: q for q, u in url_of.items()}
            item_urls = [f"{url}/items/{i}" for i in ids]
            for u in item_urls[:20]:  # the server's connections and the OS page cache
                fetch(u)
            fetch(url_of[""])
            raw = raw_times(case, mix, rounds=3)
            # Serial, each query once, cold for the facet cache (never asked before).
            serial = {q: fetch(u) for q, u in url_of.items()}
            serial_item = [fetch(u) for u in item_urls[:100]]
            rng = random.Random(3)
            conc, wall_s = load([url_of[rng.choice(mix)[1]] for _ in range(args.requests)], args.clients)
            conc_item, wall_i = load([rng.choice(item_urls) for _ in range(args.requests)], args.clients)
            # First pages under the same clients: each document not drawn yet once, the drawn ones twice.
            jobs = docs[8:] + docs[:8] * 2
            rng.shuffle(jobs)
            conc_pv, wall_p = load(jobs, args.clients, get=lambda d: first_page(url, d)) if jobs else ([], 1.0)
        finally:
            stop_server(proc)

        def flat(d: dict[str, list[float]], klass: str | None = None) -> list[float]:
            return [t for q, ts in d.items() for t in ts if klass is None or cls[q] == klass]

        raw_page = {q: statistics.median(ts) for q, ts in raw["search+facets"].items()}
        ratios = [serial[q] / raw_page[q] for q in serial if raw_page[q] > 0]
        over = statistics.median(ratios) - 1
        added_ms = 1000 * statistics.median([serial[q] - raw_page[q] for q in serial])
        over_p95 = pct(list(serial.values()), 95) / pct(list(raw_page.values()), 95) - 1
        conc_t = [t for _, t in conc]
        pv_cold = [t for d, t in conc_pv if d in docs[8:]]
        lines = [
            f"facet cache in the server: {'off' if args.no_cache else 'on (256 queries)'}; query mix: "
            + ", ".join(f"{k} {sum(1 for c, _ in mix if c == k)}" for k in CLASSES),
            f"raw store.search.search() (count + page of 25), serial: {summary(flat(raw['search']))}",
            f"raw web search + facets, serial:              {summary(flat(raw['search+facets']))}",
            f"search page over HTTP, 1 client:              {summary(list(serial.values()))}",
            f"item page over HTTP, 1 client:                {summary(serial_item)}",
            f"search page, {args.clients} concurrent clients:          {summary(conc_t, wall_s)}",
            f"item page, {args.clients} concurrent clients:            {summary([t for _, t in conc_item], wall_i)}",
        ]
        if docs:
            lines += [
                f"preview first page (page + 1.png), 20-page PDF: server's first {1000 * pv['first'][0]:.0f} ms;"
                f" cold 1 client {summary(pv['cold'])}; warm 1 client {summary(pv['warm'])}",
                f"preview first page, {args.clients} concurrent clients: cold {summary(pv_cold)}"
                f"; warm {summary([t for d, t in conc_pv if d in docs[:8]])}  ({len(conc_pv) / wall_p:.1f} req/s)",
            ]
        for k in CLASSES:
            raw_k = flat(raw["search+facets"], k)
            ser_k = [t for q, t in serial.items() if cls[q] == k]
            conc_k = [t for u, t in conc if cls[query_of[u]] == k]
            if conc_k:
                lines.append(
                    f"  {k:9} raw {summary(raw_k)} | 1 client {summary(ser_k)} | "
                    f"{args.clients} clients {summary(conc_k)}"
                )
        slow = [k for k in CLASSES if pct([t for u, t in conc if cls[query_of[u]] == k] or [0.0], 95) >= 0.2]
        pv_worst = max([*pv.get("first", []), *pv["cold"], *(t for _, t in conc_pv)], default=None)
        lines += [
            f"target: every class p95 < 200 ms with {args.clients} clients -> "
            + ("met" if not slow else "NOT met: " + ", ".join(slow)),
        ]
        if pv_worst is not None:
            lines.append(
                f"target: first page of a 20-page PDF < 1 s -> {'met' if pv_worst < 1.0 else 'NOT met'}"
                f" (worst {1000 * pv_worst:.0f} ms, cold and under {args.clients} clients included)"
            )
        lines += [
            f"page over the raw queries it runs: median per query {100 * over:+.0f}% ({added_ms:+.1f} ms),"
            f" p95 page vs p95 raw {100 * over_p95:+.0f}%",
            f"target: search p95 < 200 ms with {args.clients} clients -> "
            f"{'met' if pct(conc_t, 95) < 0.2 else 'NOT met'}; page overhead < 50% -> "
            f"{'met' if over < 0.5 else 'NOT met'} at the median, {'met' if over_p95 < 0.5 else 'NOT met'} at p95",
        ]
        print("\n".join(lines))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


class _Before:
    """The store's search for a checkout from before the store interface, whose queries take the
    connection (its page's search does too: everything else is the connection's)."""

    def __init__(self, conn, search_on) -> None:
        self.conn, self._search = conn, search_on

    def search(self, text: str, **kw):
        return self._search(self.conn, text, **kw)

    def __getattr__(self, name: str):
        return getattr(self.conn, name)


def compare(args) -> None:
    """This benchmark on this tree, then on a checkout of --compare-with, each in a process of its own."""
    from checkout import checkout, describe, env_with_src

    common = ["--items", str(args.items), "--clients", str(args.clients), "--requests", str(args.requests)]
    common += ["--no-cache"] if args.no_cache else []
    sha = describe(args.compare_with)
    outputs: dict[str, list[str]] = {}
    with checkout(args.compare_with) as tree:
        for label, src, keep in (
            (f"this tree ({describe()})", ROOT / "src", args.keep),
            (f"{args.compare_with} ({sha})", tree / "src", args.keep / f"rev-{sha}" if args.keep else None),
        ):
            print(f"== {label}", flush=True)
            cmd = [sys.executable, str(Path(__file__).resolve()), *common, *(["--keep", str(keep)] if keep else [])]
            env = {**env_with_src(src), "LEAKLENS_BENCH_SRC": str(src)}
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
            lines = outputs[label] = []
            for line in proc.stdout:
                print(line, end="", flush=True)
                lines.append(line.rstrip("\n"))
            if proc.wait():
                raise SystemExit(f"the benchmark failed on {label}")
    print(f"== side by side (one run, {args.compare_with} second)")
    keys = (
        "case:",
        "raw store.search.search()",
        "raw web search + facets",
        "search page, ",
        "item page, ",
        "preview first",
    )
    for key in keys + ("target: every class", "target: first page"):
        for label, lines in outputs.items():
            for line in lines:
                if line.startswith(key):
                    print(f"  {label:28} {line}")


if __name__ == "__main__":
    main()
