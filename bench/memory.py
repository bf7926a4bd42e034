"""Bounded memory (not a test): the three dumps of issue 12, each ingested under memwatch.

    python bench/memory.py [--dir /tmp/leaklens-mem] [--only folder,big,mbox] [--files 300000]
                           [--big-gb 2] [--big-kinds bin,txt,zip,eml] [--messages 1000000]
                           [--workers 2] [--timeout 7200] [--keep]

Generates (once; kept in --dir when --keep, else removed at the end):
- folder: --files small files (a third .eml messages, the rest text and CSV), 1,000 per folder;
- big: one --big-gb GB file of each --big-kinds (random bytes; text lines; a zip holding one
  stored member of that size; an email whose attachment is that size);
- mbox: one mbox of --messages short messages (a tenth with a small attachment).
Then runs `leaklens ingest --quiet --workers W` on each into a fresh case and prints the peak
resident memory of its largest process (the coordinator or a worker; `VmHWM` polled from
/proc, see bench/memwatch.py), the tree's total, the wall time, and whether it hung (ran past
--timeout). Target (issue 12): largest process under 1 GB, no hang.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
import zipfile
from pathlib import Path

from memwatch import watch

WORDS = (
    "campaign budget meeting press release poll rally volunteers donors schedule speech draft "
    "transfer invoice printer venue security interview television debate region mayor"
).split()
GB = 1 << 30


def _message(i: int, rng: random.Random, attachment: bool) -> bytes:
    body = "\n".join(" ".join(rng.choices(WORDS, k=10)) for _ in range(rng.randint(3, 12)))
    head = (
        f"From: user{i % 500}@horizon.example\nTo: team{i % 37}@horizon.example\n"
        f"Subject: {' '.join(rng.choices(WORDS, k=4))} {i}\n"
        f"Date: Mon, {1 + i % 28:02d} Apr 2017 {i % 24:02d}:{i % 60:02d}:00 +0200\n"
        f"Message-ID: <{i}@horizon.example>\nMIME-Version: 1.0\n"
    )
    if not attachment:
        return (head + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n").encode()
    blob = rng.randbytes(rng.randint(500, 3000)).hex()
    lines = "\n".join(blob[k : k + 76] for k in range(0, len(blob), 76))
    return (
        head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n' + body
        + f'\n--b\nContent-Type: text/plain; name="n{i}.txt"\nContent-Disposition: attachment; filename="n{i}.txt"'
        f"\n\n{lines}\n--b--\n"
    ).encode()


def make_folder(root: Path, n: int) -> Path:
    rng = random.Random(1)
    folder = root / f"folder-{n}"
    if folder.exists():
        return folder
    tmp = root / "folder.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for i in range(n):
        d = tmp / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir(parents=True)
        kind = i % 3
        if kind == 0:
            (d / f"m{i}.eml").write_bytes(_message(i, rng, False))
        elif kind == 1:
            (d / f"note{i}.txt").write_text(" ".join(rng.choices(WORDS, k=rng.randint(20, 200))) + "\n")
        else:
            (d / f"t{i}.csv").write_text("\n".join(f"{j},{rng.choice(WORDS)},{rng.random():.4f}" for j in range(20)))
    tmp.rename(folder)
    return folder


def _write_big(path: Path, size: int, kind: str) -> None:
    rng = random.Random(2)
    chunk = 8 << 20
    with open(path, "wb") as out:
        if kind == "eml":
            out.write(
                b"From: a@horizon.example\nTo: b@horizon.example\nSubject: big\nMIME-Version: 1.0\n"
                b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n'
                b'--b\nContent-Type: application/octet-stream; name="big.bin"\nContent-Transfer-Encoding: base64\n\n'
            )
            line = (b"QUJD" * 19) + b"\n"
            block = line * (chunk // len(line))
            written = 0
            while written < size:
                out.write(block)
                written += len(block)
            out.write(b"--b--\n")
            return
        text = (" ".join(rng.choices(WORDS, k=200_000)) + "\n").encode()
        written = 0
        while written < size:
            data = rng.randbytes(chunk) if kind == "bin" else text
            out.write(data[: size - written])
            written += len(data[: size - written])


def make_big(root: Path, gb: float, kind: str) -> Path:
    size = int(gb * GB)
    name = {"bin": "big.bin", "txt": "big.txt", "zip": "big.zip", "eml": "big.eml"}[kind]
    path = root / f"{gb:g}g-{name}"
    if path.exists():
        return path
    if kind == "zip":
        inner = root / "big-member.bin"
        _write_big(inner, size, "bin")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
            z.write(inner, "member.bin")
        inner.unlink()
    else:
        _write_big(path, size, kind)
    return path


def make_mbox(root: Path, n: int) -> Path:
    path = root / f"mbox-{n}.mbox"
    if path.exists():
        return path
    rng = random.Random(3)
    tmp = root / "mbox.tmp"
    with open(tmp, "wb", buffering=8 << 20) as out:
        for i in range(n):
            out.write(b"From user@horizon.example Mon Apr  3 10:00:00 2017\n")
            out.write(_message(i, rng, i % 10 == 0))
            out.write(b"\n")
    tmp.rename(path)
    return path


def run(label: str, source: Path, root: Path, args) -> None:
    case = root / "case"
    shutil.rmtree(case, ignore_errors=True)
    cmd = [sys.executable, "-m", "leaklens", "ingest", "--quiet", "--case", str(case), "--workers", str(args.workers)]
    log = open(root / f"{label}.log", "w")  # noqa: SIM115 - closed below
    peaks = watch([*cmd, str(source)], timeout=args.timeout, stdout=log, stderr=log)
    log.close()
    tail = (root / f"{label}.log").read_text()[-400:].strip().splitlines()
    size = sum(f.stat().st_size for f in case.rglob("*") if f.is_file()) if case.exists() else 0
    print(f"== {label}: {source.name}; exit {peaks.returncode}; case {size / 1e6:,.0f} MB on disk")
    print(peaks.summary())
    print("  " + (tail[-1] if tail else ""))
    sys.stdout.flush()
    shutil.rmtree(case, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/leaklens-mem"))
    ap.add_argument("--only", default="folder,big,mbox")
    ap.add_argument("--files", type=int, default=300_000)
    ap.add_argument("--big-gb", type=float, default=2.0)
    ap.add_argument("--big-kinds", default="bin,txt,zip,eml")
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--keep", action="store_true", help="keep the generated dumps in --dir for the next run")
    args = ap.parse_args()
    root = args.dir
    root.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(","))
    try:
        if "folder" in only:
            t = time.monotonic()
            folder = make_folder(root, args.files)
            print(f"folder of {args.files:,} files ready ({time.monotonic() - t:.0f} s)")
            run("folder", folder, root, args)
        if "big" in only:
            for kind in args.big_kinds.split(","):
                big = make_big(root, args.big_gb, kind)
                print(f"{big.name}: {big.stat().st_size / 1e9:.2f} GB")
                run(f"big-{kind}", big, root, args)
                if not args.keep:
                    big.unlink()
        if "mbox" in only:
            t = time.monotonic()
            mbox = make_mbox(root, args.messages)
            took = time.monotonic() - t
            print(f"mbox of {args.messages:,} messages: {mbox.stat().st_size / 1e9:.2f} GB ({took:.0f} s)")
            run("mbox", mbox, root, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
