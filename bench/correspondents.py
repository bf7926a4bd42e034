"""Correspondents page benchmark (not a test): the read and both drawings on a big mailbox.

    python bench/correspondents.py [--messages 20000] [--rounds 5]

Builds one mbox of --messages generated messages among 600 addresses on 40 domains (display names,
To and Cc), ingested by the real walker, then times `investigate.correspondents()` cold (memo and the
address parser's cache cleared, as after a change to the case), with a date and a domain filter,
and the two SVG drawings (labelled and numbered) of its 40 people. Baseline in the same run:
`store.count_items_by` alone (the store's part of the read).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from timing import fmt_ms, times  # noqa: E402 - bench/timing.py


def mbox(n: int, seed: int = 16) -> bytes:
    rnd = random.Random(seed)
    people = [f"Person {i} <p{i}.with-a-longer-name@corp{i % 40}.example>" for i in range(600)]
    out = []
    for i in range(n):
        a, b, c = rnd.sample(people, 3)
        out.append(
            f"From sender@x.example Mon May  1 09:00:00 2017\nFrom: {a}\nTo: {b}\nCc: {c}\n"
            f"Subject: Notice {i}\nDate: Mon, {1 + i % 28:02d} May 2017 {i % 24:02d}:00:00 +0200\n"
            f"Message-ID: <m{i}@x.example>\n\nBody {i}.\n\n"
        )
    return "".join(out).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    from leaklens.addresses import mailbox_addresses
    from leaklens.case import Case
    from leaklens.ingest.walker import ingest
    from leaklens.investigate import memo
    from leaklens.investigate.correspondents import correspondents
    from leaklens.store.base import ItemQuery
    from leaklens.web.charts import correspondents_svg

    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "dump"
        dump.mkdir()
        (dump / "big.mbox").write_bytes(mbox(args.messages))
        t0 = time.perf_counter()
        with Case.open(Path(tmp) / "case", create=True) as case:
            ingest(case, [dump], workers=2)
            print(f"ingest of {args.messages:,} messages: {time.perf_counter() - t0:.1f} s")
            where = ItemQuery(kind="email", state="stored")
            cols = ("email_from", "email_to", "email_cc")
            base = times(args.rounds, lambda: list(case.db.count_items_by(cols, where)))
            print(f"baseline store.count_items_by: {fmt_ms(base)}")
            for label, kw in (
                ("all", {}),
                ("dated", {"after": "2017-05-03", "before": "2017-05-10"}),
                ("domain", {"domain": "corp7.example"}),
            ):

                def cold(kw=kw):
                    memo._memo.clear()
                    mailbox_addresses.cache_clear()
                    return correspondents(case.db, **kw)

                g = cold()
                assert g["emails"] > 0 and len(g["nodes"]) == 40, g["emails"]
                print(f"read {label:6s} cold: {fmt_ms(times(args.rounds, cold))} ({g['emails']:,} emails)")
            g = correspondents(case.db)
            for numbered in (False, True):
                t = times(args.rounds, lambda n=numbered: correspondents_svg(g["nodes"], g["directed"], numbered=n))
                print(f"svg numbered={numbered!s:5s}: {fmt_ms(t)} ({len(g['directed'])} arrows)")






if __name__ == "__main__":
    main()
