"""Load benchmark (not a test): the workbench under many concurrent clients (issue 15).

    python bench/load.py [--items 100000] [--clients 50] [--seconds 60] [--keep DIR] [--runs 1]

The case is built as bench/web.py builds it (its generator, `leaklens ingest` and `leaklens
verify`, reused from there), or reused from --keep DIR (DIR/case). The server is the real one
(`leaklens.web.server.run` in its own process, loopback only). Each client is a thread with its own
keep-alive connection and its own session (cookie and CSRF token, as a browser tab has) that, until
the deadline, picks a request at random from the mix a newsroom makes:

    search 40% (bench/web.py's query mix) · item page 30% · raw download 15% · tag/untag 15%

In the same run, first a baseline: 1 client for a quarter of --seconds. Then --clients clients for
--seconds. Printed per page kind: requests, errors (any non-2xx/3xx, or a failed connection),
p50 / p95 / p99, and requests/s overall. Target (issue 15): 0 errors, p95 under 500 ms with 50
clients at 100,000 items. Requests are bounded by the deadline; only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import web  # noqa: E402 - bench/web.py: the case builder, the server starter, the query mix, pct

KINDS = ("search", "item", "raw", "tag")
WEIGHTS = (40, 30, 15, 15)


@dataclass
class Tally:
    times: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if error:
                self.errors[kind].append(error)


class Client:
    """One browser tab: a keep-alive connection, a session cookie, the session's CSRF token."""

    def __init__(self, host: str, port: int, n: int) -> None:
        self.host, self.port, self.n = host, port, n
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.cookie = ""
        self.tagged: set[str] = set()
        status, body = self.request("GET", "/api/session")
        if status != 200:
            raise RuntimeError(f"no session: {status}")
        self.token = json.loads(body)["csrf_token"]

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if method != "GET":  # every state-changing call carries the token, a body or not (DELETE)
            headers["X-CSRF-Token"] = self.token
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: a browser reconnects too. Only a
                # second failure is counted (as an error, by the caller).
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise
        cookie = resp.getheader("set-cookie")
        if cookie and not self.cookie:
            self.cookie = cookie.split(";", 1)[0]
        return resp.status, data


def drive(
    url: str, clients: int, seconds: float, queries: list[str], items: list[str], stored: list[str], seed: int
) -> tuple[Tally, float]:
    parsed = urllib.parse.urlsplit(url)
    tally = Tally()
    deadline = time.perf_counter() + seconds + 3600  # set for real once every client has its session
    ready = threading.Barrier(clients + 1)
    go = threading.Event()

    def run(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        try:
            client = Client(parsed.hostname, parsed.port, n)
        except Exception as exc:  # counted, and this client stops: the run goes on
            tally.add("search", 0.0, f"session: {exc}")
            ready.wait()
            return
        ready.wait()
        go.wait()
        tag = f"load-{n}"
        while time.perf_counter() < deadline:
            kind = rng.choices(KINDS, WEIGHTS)[0]
            if kind == "search":
                method, path, body = "GET", "/search?q=" + urllib.parse.quote(rng.choice(queries)), None
            elif kind == "item":
                method, path, body = "GET", f"/items/{rng.choice(items)}", None
            elif kind == "raw":
                method, path, body = "GET", f"/items/{rng.choice(stored)}/raw", None
            else:
                item = rng.choice(items)
                if item in client.tagged:
                    method, path, body = "DELETE", f"/api/items/{item}/tags/{tag}", None
                    client.tagged.discard(item)
                else:
                    method, path, body = "POST", f"/api/items/{item}/tags", json.dumps({"tag": tag}).encode()
                    client.tagged.add(item)
            t0 = time.perf_counter()
            try:
                status, _ = client.request(method, path, body)
                error = None if 200 <= status < 400 else f"{method} {path}: {status}"
            except Exception as exc:  # a failed connection is an error of the run, not a crash of it
                error = f"{method} {path}: {type(exc).__name__}: {exc}"
            tally.add(kind, time.perf_counter() - t0, error)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    deadline = t0 + seconds  # the clock starts once every client has its session
    go.set()
    for t in threads:
        t.join(seconds + 120)
    return tally, time.perf_counter() - t0


def report(label: str, tally: Tally, wall: float) -> dict:
    out: dict = {"label": label, "wall_s": round(wall, 1), "kinds": {}}
    total = sum(len(v) for v in tally.times.values())
    errors = sum(len(v) for v in tally.errors.values())
    print(f"\n{label}: {total:,} requests in {wall:.1f} s = {total / wall:.1f} req/s, {errors} errors")
    print(f"  {'kind':8} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind in KINDS:
        times = tally.times[kind]
        if not times:
            continue
        row = {
            "requests": len(times),
            "errors": len(tally.errors[kind]),
            "p50_ms": round(1000 * web.pct(times, 50), 1),
            "p95_ms": round(1000 * web.pct(times, 95), 1),
            "p99_ms": round(1000 * web.pct(times, 99), 1),
        }
        out["kinds"][kind] = row
        print(
            f"  {kind:8} {row['requests']:>9,} {row['errors']:>7} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f}"
            f" {row['p99_ms']:>8.1f}"
        )
        for e in tally.errors[kind][:3]:
            print(f"      e.g. {e}")
    out |= {"requests": total, "errors": errors, "req_per_s": round(total / wall, 1)}
    return out


def case_ids(case_dir: Path, n: int, seed: int) -> tuple[list[str], list[str]]:
    """A random sample of item ids, and of those whose bytes are stored (raw downloads)."""
    from leaklens.case import Case

    with Case.open(case_dir) as case:
        rows = [(r["id"], r["sha256"]) for r in case.db.items("state='stored'", ())]
    rng = random.Random(seed)
    sample = rng.sample(rows, min(n, len(rows)))
    return [i for i, _ in sample], [i for i, sha in sample if sha]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=1, help="repeat the loaded run (a range over runs)")
    ap.add_argument("--keep", type=Path, help="reuse (or build and keep) the case in DIR/case")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()

    import tempfile

    work = args.keep or Path(tempfile.mkdtemp(prefix="leaklens-load-"))
    work.mkdir(parents=True, exist_ok=True)
    case = work / "case"
    if (case / "case.db").exists() and (work / "build.json").exists():
        built = json.loads((work / "build.json").read_text())
    elif (case / "case.db").exists():
        built = None
    else:
        print(f"building a {args.items:,}-item case in {work} (bench/web.py's generator) ...", flush=True)
        case, built = web.build_case(work, args.items)
        # As bench/web.py keeps it, so that `web.py --keep DIR` measures this same case.
        (work / "build.json").write_text(json.dumps(built))
        print(json.dumps(built), flush=True)
    print(f"case {case}: {built['items']:,} items" if built else f"case {case}", flush=True)
    items, stored = case_ids(case, 20_000, seed=5)
    queries = [q for _, q in web.query_mix()]
    proc, url = web.start_server(case, cache=True)
    figures: dict = {"case_items": built["items"] if built else None, "sampled_items": len(items), "runs": []}
    try:
        print(f"server {url}; {len(items):,} sampled items, {len(queries)} queries", flush=True)
        base, wall = drive(url, 1, max(5.0, args.seconds / 4), queries, items, stored, seed=1)
        figures["baseline"] = report("baseline, 1 client", base, wall)
        for run in range(args.runs):
            tally, wall = drive(url, args.clients, args.seconds, queries, items, stored, seed=2 + run)
            figures["runs"].append(report(f"run {run + 1}, {args.clients} clients", tally, wall))
    finally:
        web.stop_server(proc)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
