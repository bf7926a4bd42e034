"""Bounded memory (issue 12): what a huge container or folder costs does not grow with its size.

The full-size figures (300,000 files, 2 GB files, an mbox of a million messages, each under 1 GB
resident) are bench/memory.py's; these tests check, at a small scale, the behaviour that bounds
them: a reader's children wait in a spill file beyond the first chunk, the coordinator's queue
holds a page of tasks at a time (the rest stay pending rows), and splitting a mailbox neither
lists its messages nor keeps the pages it has read resident.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import ROOT

from leaklens.case import Case
from leaklens.ingest import spill, walker
from leaklens.ingest.limits import Limits
from leaklens.ingest.readers.base import ReadContext, Source
from leaklens.ingest.readers.mbox import read_mbox
from leaklens.model import PENDING
from leaklens.store.base import ItemQuery
from leaklens.store.blobs import BlobStore


def _mbox(path: Path, n: int, *, body: int = 3) -> Path:
    with open(path, "wb") as out:
        for i in range(n):
            out.write(
                b"From sender@horizon.example Mon Apr  3 10:00:00 2017\n"
                + f"From: a{i % 9}@horizon.example\nTo: b@horizon.example\nSubject: note {i}\n"
                f"Message-ID: <{i}@horizon.example>\n\n".encode()
                + (f"line {i} of the message\n" * body).encode()
                + b"\n"
            )
    return path


def test_a_reader_holds_one_chunk_of_children_the_rest_wait_in_its_spill_file(tmp_path):
    n = 3 * spill.CHUNK + 17
    box = _mbox(tmp_path / "box.mbox", n)
    blobs = BlobStore(tmp_path / "blobs")
    src = Source(path=box, name="box.mbox", chain="box.mbox", size=box.stat().st_size, mime="application/mbox",
                 depth=0, sha256="0" * 64)  # fmt: skip
    ctx = ReadContext(src, blobs, Limits(), budget=1 << 40, parent="box-id", source="box.mbox")
    read_mbox(src, ctx)
    assert len(ctx.children) <= spill.CHUNK
    assert ctx.spill is not None and ctx.spill.count + len(ctx.children) == n
    ctx.spill.close()
    spilled = [c for chunk in spill.read_chunks(ctx.spill.path) for c in chunk]
    every = spilled + ctx.children
    assert [c.name for c in every] == [f"#{i}" for i in range(1, n + 1)]  # all of them, in order
    assert {(c.parent, c.source, c.state) for c in spilled} == {("box-id", "box.mbox", PENDING)}
    assert not Path(ctx.spill.path).exists()  # read back once, then removed


def test_a_million_member_mailbox_or_folder_is_never_queued_whole(tmp_path, monkeypatch):
    """An mbox and a folder, with small chunks and pages so that a test-sized dump is 'huge': every
    member and file is stored once with its parent, the queue never holds more than a page and a
    bit, and no spill file is left behind."""
    monkeypatch.setattr(spill, "CHUNK", 40)  # the workers are forked: they see it too
    monkeypatch.setattr(walker, "PAGE", 60)
    monkeypatch.setattr(walker, "LOW", 20)
    longest = [0]
    refill = walker._TaskQueue.refill

    def watched(self) -> bool:
        longest[0] = max(longest[0], len(self))
        more = refill(self)
        longest[0] = max(longest[0], len(self))
        return more

    monkeypatch.setattr(walker._TaskQueue, "refill", watched)
    folder = tmp_path / "dump"
    for d in range(5):
        (folder / f"d{d}").mkdir(parents=True)
        for i in range(60):
            (folder / f"d{d}" / f"note{i}.txt").write_text(f"note {d} {i}\n")
    _mbox(folder / "box.mbox", 700)
    case = Case.open(tmp_path / "case", create=True)
    walker.ingest(case, [folder], limits=Limits(), workers=2)
    assert case.db.count_items(ItemQuery(state=PENDING)) == 0
    assert case.db.count_items(ItemQuery(settled=True)) == 300 + 1 + 700
    members = case.db.children(_box_id(case))
    assert sorted(r["name"] for r in members) == sorted(f"#{i}" for i in range(1, 701))
    assert {r["state"] for r in members} == {"stored"} and {r["kind"] for r in members} == {"email"}
    assert longest[0] < 2 * walker.PAGE  # a page on top of less than a page: never the whole dump
    assert not list((case.root / "blobs" / "tmp").glob("children-*"))
    case.close()


def _box_id(case: Case) -> str:
    (row,) = [r for r in case.db.select_items(ItemQuery()) if r["name"] == "box.mbox"]
    return row["id"]


def test_splitting_a_large_mailbox_keeps_the_reader_small(tmp_path):
    """200 MB of mailbox (about 400,000 messages): the reader's process grows by far less than the
    file (held as a list of messages and resident pages it grew by more than the file)."""
    box = _mbox(tmp_path / "big.mbox", 400_000, body=10)
    assert box.stat().st_size > 150e6
    code = textwrap.dedent(f"""
        import resource
        from pathlib import Path
        from leaklens.ingest.limits import Limits
        from leaklens.ingest.readers.base import ReadContext, Source
        from leaklens.ingest.readers.mbox import read_mbox
        from leaklens.store.blobs import BlobStore

        def peak_mb():
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024

        box = Path({str(box)!r})
        src = Source(path=box, name="big.mbox", chain="big.mbox", size=box.stat().st_size,
                     mime="application/mbox", depth=0, sha256="0" * 64)
        ctx = ReadContext(src, BlobStore(Path({str(tmp_path / "blobs")!r})), Limits(), budget=1 << 40)
        before = peak_mb()
        read_mbox(src, ctx)
        print(ctx.metadata["messages"], peak_mb() - before)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    messages, grew_mb = out.stdout.split()
    assert int(messages) == 400_000
    assert float(grew_mb) < 100, f"the reader grew by {grew_mb} MB splitting {box.stat().st_size / 1e6:.0f} MB"
