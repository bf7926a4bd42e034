"""Members page benchmark (not a test): one page of a big mailbox's members, by each sort.

    python bench/members.py [--members 20000] [--rounds 5]

Builds one mbox of --members generated messages (senders with display names, dates over a year, a
tenth undated), ingested by the real walker, then times `investigate.members.members()` (the page's
read) for a page of 50 in each sort: cold (the case just changed: every member's sort columns read
and sorted) and warm (kept until the case changes), and `store.children()` (every member's full row,
what the item page's list reads) in the same run as the baseline.
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


def mbox(n: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        date = "" if i % 10 == 0 else f"Date: Mon, {1 + i % 28:02d} May 2017 {i % 24:02d}:{i % 60:02d}:00 +0200\n"
        who = rnd.randrange(500)
        out.append(
            f"From sender@x.example Mon May  1 09:00:00 2017\nFrom: Person {who} <p{who}@corp{who % 40}.example>\n"
            f"To: board@corp.example\nSubject: Notice {rnd.randrange(10**6)}\n{date}Message-ID: <m{i}@x.example>\n\n"
            f"Body {i}.\n\n"
        )
    return "".join(out).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    from leaklens.case import Case
    from leaklens.ingest.walker import ingest
    from leaklens.investigate import memo
    from leaklens.investigate.members import SORTS, members

    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "dump"
        dump.mkdir()
        (dump / "big.mbox").write_bytes(mbox(args.members))
        t0 = time.perf_counter()
        with Case.open(Path(tmp) / "case", create=True) as case:
            ingest(case, [dump], workers=2)
            print(f"ingest of {args.members:,} messages: {time.perf_counter() - t0:.1f} s")
            box = next(iter(case.db.items("name='big.mbox'")))["id"]
            base = times(args.rounds, lambda: case.db.children(box))
            print(f"baseline store.children() (every full row): {fmt_ms(base)}")
            for sort in SORTS:
                cold, warm = [], []
                for _ in range(args.rounds):
                    memo._memo.clear()  # as after a change to the case
                    t = time.perf_counter()
                    m = members(case.db, box, sort=sort, page=7)
                    cold.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    members(case.db, box, sort=sort, page=8, descending=True)
                    warm.append(time.perf_counter() - t)
                assert m["total"] == args.members and len(m["members"]) == 50
                print(f"{sort:8s} cold {fmt_ms(cold)}; warm {fmt_ms(warm)}")




if __name__ == "__main__":
    main()
