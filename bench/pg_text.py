"""The cost of keeping NUL in PostgreSQL text (issue 16; store/postgres/nul.py), not a test.

    LEAKLENS_TEST_PG=postgresql://... python bench/pg_text.py [--items 100000] [--runs 5]

In one fresh database: --items pending items written by COPY (`insert_pending`, names and paths with
no NUL, as almost every leak's), the same number of rows put in a declared table; then, --runs times
each and alternating, the bulk reads with the escape (the store as it is) and without it (the
psycopg defaults: no str dumper, row factories that do not decode), in the same process:
`list(store.items())`, `store.table_values(spec, all columns)`, and the write `insert_pending` of a
fresh batch. Printed: the range of each over the runs, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from leaklens.model import Item  # noqa: E402
from leaklens.store.base import Column, TableSpec  # noqa: E402
from leaklens.store.postgres import database, investigate, nul  # noqa: E402

SPEC = TableSpec("bench_posts", key=(), columns=(Column("author"), Column("text"), Column("url"), Column("n", "int")))


@contextmanager
def without_escape(store: database.PostgresStore):
    """The store as it was before the escape: psycopg's own str dumpers and undecoded rows."""
    from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

    saved = (nul.decoder, store.conn.adapters)
    store.conn.adapters.register_dumper(str, StrDumperUnknown)
    store.conn.adapters.register_dumper(str, StrBinaryDumper)
    nul.decoder = lambda cursor: None
    investigate.decoder = nul.decoder
    try:
        yield
    finally:
        nul.decoder = investigate.decoder = saved[0]
        nul.register(store.conn)


def _items(n: int, start: int) -> list[Item]:
    return [
        Item(f"b{start + i:09d}", f"dump/folder {i % 97}/file {start + i}.txt", source="dump",
             name=f"file {start + i}.txt", state="pending")
        for i in range(n)
    ]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    server = os.environ["LEAKLENS_TEST_PG"]
    url = urlunsplit(urlsplit(server)._replace(path=f"/bench_pg_text_{os.getpid()}"))
    database.create_database(url)
    try:
        store = database.PostgresStore(url)
        store.migrate()
        store.insert_pending(_items(a.items, 0))
        store.put_rows(SPEC, [
            {"author": f"user{i % 5000}", "text": f"post number {i} about the budget", "url": f"https://x.example/{i}",
             "n": i} for i in range(a.items)
        ])  # fmt: skip
        cols = [c.name for c in SPEC.columns]
        times: dict[tuple[str, str], list[float]] = {}
        batch = [0]

        def write() -> None:
            batch[0] += 1
            store.insert_pending(_items(a.items // 10, a.items * (1 + batch[0])))

        reads = {
            "items()": lambda: list(store.items()),
            "table_values": lambda: store.table_values(SPEC, cols),
            f"insert_pending {a.items // 10}": write,
        }
        for _ in range(a.runs):
            for mode in ("escape", "none"):
                for name, fn in reads.items():
                    if mode == "none":
                        with without_escape(store):
                            t = time.perf_counter()
                            fn()
                            dt = time.perf_counter() - t
                    else:
                        t = time.perf_counter()
                        fn()
                        dt = time.perf_counter() - t
                    times.setdefault((name, mode), []).append(dt)
        for name in reads:
            e, n = times[(name, "escape")], times[(name, "none")]
            print(
                f"{name:<22} escape {min(e):.3f}-{max(e):.3f} s   none {min(n):.3f}-{max(n):.3f} s"
                f"   median ratio {statistics.median(e) / statistics.median(n):.3f}"
            )
        store.close()
    finally:
        database.drop_database(url)


if __name__ == "__main__":
    main()
