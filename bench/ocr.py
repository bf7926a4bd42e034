"""Benchmark (not a test): OCR throughput of leaklens against the tesseract command line, same pages, same run.

Renders --pages A4 pages (default 200) at 300 dpi from known text (English, French and Russian in
turn, ~35 lines each), then reads them:

- (a) `tesseract` one page after the other, OMP_THREAD_LIMIT=1 (one core busy);
- (b) `tesseract` one page after the other, its default threads (OpenMP on every core);
- (c) leaklens's OCR step on a case holding the pages, one Tesseract per worker process, one per core.

Prints pages/s of each, (c)'s speed-up over (a) and (b), the character error rate of (c), and the
load average before and after each reader (on a shared machine the ratios move with it).
Targets: (c) >= 1.6x (a) and >= 3x (b).

    .venv/bin/python bench/ocr.py [--pages 200] [--workers 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from test_ocr import cer  # noqa: E402 - the tests' measure of OCR errors, one definition

from leaklens.case import Case  # noqa: E402
from leaklens.ingest.walker import ingest  # noqa: E402
from leaklens.ocr.step import OCR_PAGES, run_ocr  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
WORDS = {
    "eng": "the transfer was approved by campaign treasurer before second round of election account bank "
    "meeting documents signed parties office copy auditors committee finance evening friday".split(),
    "fra": "le virement a été approuvé par trésorier de la campagne avant second tour élection compte banque "
    "réunion documents signés parties siège copie commissaires comité finances soir vendredi".split(),
    "rus": "перевод был одобрен казначеем кампании перед вторым туром выборов счёт банк встреча документы "
    "подписаны сторонами офис копия аудиторы комитет финансов вечером пятницу".split(),
}
LANGS = tuple(WORDS)


def page(lang: str, rng: random.Random, lines: int = 35) -> tuple[Image.Image, str]:
    dpi = 300
    px = int(11 * dpi / 72)
    font = ImageFont.truetype(FONT, px)
    img = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(img)
    text = []
    for i in range(lines):
        line = " ".join(rng.choices(WORDS[lang], k=9))
        draw.text((180, 180 + i * int(px * 1.8)), line, font=font, fill=0)
        text.append(line)
    return img, "\n".join(text)


def sequential(files: list[tuple[Path, str]], threads: str | None) -> float:
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    if threads:
        env["OMP_THREAD_LIMIT"] = threads
    t = time.perf_counter()
    for path, _lang in files:
        # The same languages as leaklens is asked (a leak's pages come in any of them).
        subprocess.run(["tesseract", str(path), "stdout", "-l", "+".join(LANGS), "tsv"], capture_output=True, env=env,
                       check=True)  # fmt: skip
    return time.perf_counter() - t


def _load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def leaklens_ocr(folder: Path, root: Path, workers: int) -> tuple[float, Case]:
    """(seconds of the OCR step, the case) for the pages of `folder` ingested into a new case at `root`."""
    case = Case.open(root, create=True)
    ingest(case, [folder], workers=workers)  # not timed: the walk is not OCR
    t = time.perf_counter()
    run_ocr(case.db, str(case.root), langs="+".join(LANGS), workers=workers)
    return time.perf_counter() - t, case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--rounds", type=int, default=1, help="split the pages into rounds, each reader in turn in each "
                    "round, its order rotated: on a shared machine a load that rises or falls weighs on all three")
    a = ap.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        rounds: list[tuple[Path, list[tuple[Path, str]]]] = []
        truths = {}
        size = -(-a.pages // a.rounds)
        for n in range(a.pages):
            if n % size == 0:
                rounds.append((Path(tmp) / f"scans-{len(rounds)}", []))
                rounds[-1][0].mkdir()
            folder, files = rounds[-1]
            lang = LANGS[n % len(LANGS)]
            img, text = page(lang, rng)
            path = folder / f"page-{n:04d}-{lang}.png"
            buf = io.BytesIO()
            img.save(buf, "PNG")
            path.write_bytes(buf.getvalue())
            files.append((path, lang))
            truths[path.name] = text
        print(f"{a.pages} A4 pages at 300 dpi rendered ({', '.join(LANGS)}), {len(rounds)} round(s); {_load()}",
              flush=True)  # fmt: skip
        spent = {"a": 0.0, "b": 0.0, "c": 0.0}
        cases: list[Case] = []
        for r, (folder, files) in enumerate(rounds):
            readers = {
                "a": lambda files=files: sequential(files, "1"),
                "b": lambda files=files: sequential(files, None),
                "c": lambda folder=folder, r=r: leaklens_ocr(folder, Path(tmp) / f"case-{r}", a.workers),
            }
            order = list(readers)[r % 3 :] + list(readers)[: r % 3]
            shown = []
            for name in order:
                out = readers[name]()
                if name == "c":
                    out, case = out
                    cases.append(case)
                spent[name] += out
                shown.append(f"{name} {len(files) / out:.3f} p/s ({_load()})")
            if len(rounds) > 1:
                print(f"  round {r + 1}, {len(files)} pages: " + ", ".join(shown), flush=True)
        t1, tdef, tl = spent["a"], spent["b"], spent["c"]
        print(f"(a) tesseract sequential, OMP_THREAD_LIMIT=1: {a.pages / t1:.3f} pages/s ({t1:.0f} s)")
        print(f"(b) tesseract sequential, default threads:   {a.pages / tdef:.3f} pages/s ({tdef:.0f} s)")
        print(f"(c) leaklens OCR step, {a.workers} workers:        {a.pages / tl:.3f} pages/s ({tl:.0f} s); {_load()}")
        print(f"    speed-up: {t1 / tl:.2f}x (a), {tdef / tl:.2f}x (b)   [targets 1.6x, 3x]")
        rates = []
        for case in cases:
            names = {sha: name for _, sha, name in case.db.item_values(("id", "sha256", "name"))}
            rates += [cer(truths[names[r["sha256"]]], r["text"] or "") for r in case.db.table_rows(OCR_PAGES)]
            case.close()
        rates.sort()
        print(f"    character error rate: median {rates[len(rates) // 2]:.4f}, worst {rates[-1]:.4f}")


if __name__ == "__main__":
    main()
