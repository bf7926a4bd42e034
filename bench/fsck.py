"""fsck hashing benchmark (not a test): `leaklens fsck`'s re-hash of a case's blobs against a
`sha256sum`-like baseline, one thread of hashlib reading 1 MiB at a time, in the same run.

    python bench/fsck.py [--gb 2] [--files 16] [--repeat 3] [--keep DIR]

Writes FILES files of random bytes (GB in all) into a dump, ingests it into a case (not timed: the
ingest also records each blob's 1 MiB chunk hashes), then times, interleaved REPEAT times:
(a) the baseline: one thread hashing every blob file of the case;
(b) fsck with 1 hashing thread; (c) fsck with 2 (every check, not only the hashing).
The files stay in the page cache (the machine has 24 GiB), so this measures hashing, not the disk.
Prints GB/s of each and the ratio (c)/(a). Target: >= 1 GB/s on two cores. The default takes about
a minute; --keep DIR keeps the case there and reuses it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from leaklens.case import Case  # noqa: E402
from leaklens.ingest.walker import ingest  # noqa: E402
from leaklens.integrity import fsck  # noqa: E402


def make_case(root: Path, gb: float, files: int) -> Path:
    case_dir = root / "case"
    if Case.exists(case_dir):
        return case_dir
    dump = root / "dump"
    dump.mkdir(parents=True, exist_ok=True)
    per = int(gb * 1e9 / files)
    for i in range(files):
        with open(dump / f"blob{i:03d}.bin", "wb") as fh:
            left = per
            while left:
                n = min(left, 16 << 20)
                fh.write(os.urandom(n))
                left -= n
    t = time.perf_counter()
    with Case.open(case_dir, create=True) as c:
        ingest(c, [dump], workers=2)
    print(f"case made: {files} files, {gb:.1f} GB, ingest {time.perf_counter() - t:.1f} s", flush=True)
    for p in dump.iterdir():  # the case holds the bytes now: not twice in the page cache
        p.unlink()
    return case_dir


def baseline(case_dir: Path) -> tuple[int, float]:
    """sha256sum: every blob file, one after another, one thread."""
    t = time.perf_counter()
    total = 0
    for p in sorted((case_dir / "blobs").rglob("*")):
        if p.is_file() and len(p.name) == 64:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
                    total += len(chunk)
            assert h.hexdigest() == p.name
    return total, time.perf_counter() - t


def run_fsck(case_dir: Path, workers: int) -> tuple[int, float]:
    with Case.open(case_dir) as c:
        t = time.perf_counter()
        rep = fsck(c, workers=workers)
        dt = time.perf_counter() - t
    assert rep.clean, rep.problems[:3]
    return rep.bytes, dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path)
    a = ap.parse_args()
    tmp = None
    if a.keep:
        root = a.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="leaklens-fsck-bench-")
        root = Path(tmp.name)
    case_dir = make_case(root, a.gb, a.files)
    runs: dict[str, list[float]] = {"baseline 1 thread": [], "fsck 1 thread": [], "fsck 2 threads": []}
    for _ in range(a.repeat):
        for label, fn in (
            ("baseline 1 thread", lambda: baseline(case_dir)),
            ("fsck 1 thread", lambda: run_fsck(case_dir, 1)),
            ("fsck 2 threads", lambda: run_fsck(case_dir, 2)),
        ):
            n, dt = fn()
            runs[label].append(n / dt / 1e9)
            print(f"  {label:18s} {n / 1e9:5.2f} GB in {dt:5.2f} s = {n / dt / 1e9:5.2f} GB/s", flush=True)
    print(f"\nmedian of {a.repeat} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    for label, v in runs.items():
        print(f"  {label:18s} {statistics.median(v):5.2f} GB/s (min {min(v):.2f}, max {max(v):.2f})")
    ratio = statistics.median(runs["fsck 2 threads"]) / statistics.median(runs["baseline 1 thread"])
    print(f"  fsck 2 threads / baseline: {ratio:.2f}x")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
