"""Running Tesseract on one page image: text and confidence, or why there is none."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_LANGS = "eng+fra+rus"
PAGE_TIMEOUT = 120.0  # seconds; a clean A4 page at 300 dpi takes ~7 s on one core here


@dataclass(frozen=True)
class PageText:
    text: str
    confidence: float | None  # mean word confidence, 0-100 (None: no word read)
    status: str  # "ok", "empty", "timeout", "failed"
    seconds: float
    error: str = ""


@lru_cache(maxsize=1)
def binary() -> str | None:
    return shutil.which("tesseract")


@lru_cache(maxsize=1)
def installed_languages() -> tuple[str, ...]:
    exe = binary()
    if exe is None:
        return ()
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in out.splitlines()[1:] if line.strip() and line.strip() != "osd")


def usable_languages(wanted: str) -> tuple[str, list[str]]:
    """(the `-l` argument made of the wanted languages that are installed, those that are not)."""
    have = set(installed_languages())
    asked = [lang for lang in wanted.split("+") if lang]
    return "+".join(lang for lang in asked if lang in have), [lang for lang in asked if lang not in have]


def _die_with_parent() -> None:
    # If the worker running us is killed (its job overran), Tesseract must not run on as an orphan.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def recognise(image: bytes, langs: str = DEFAULT_LANGS, timeout: float = PAGE_TIMEOUT) -> PageText:
    """Read one page image (PNG, JPEG, TIFF... as bytes) with Tesseract's TSV output, which gives the
    text and a confidence per word in one run."""
    exe = binary()
    start = time.monotonic()
    if exe is None:
        return PageText("", None, "failed", 0.0, "tesseract is not installed")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        proc = subprocess.run(
            [exe, "stdin", "stdout", "-l", langs, "--psm", "3", "tsv"],
            input=image, capture_output=True, timeout=timeout, env=env, preexec_fn=_die_with_parent,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return PageText("", None, "timeout", time.monotonic() - start, f"over {timeout:g} s")
    except OSError as exc:
        return PageText("", None, "failed", time.monotonic() - start, str(exc))
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return PageText("", None, "failed", seconds, (message[-1] if message else f"exit {proc.returncode}")[:300])
    text, confidence = text_from_tsv(proc.stdout.decode("utf-8", "replace"))
    return PageText(text, confidence, "ok" if text.strip() else "empty", seconds)


def text_from_tsv(tsv: str) -> tuple[str, float | None]:
    """The page's text (lines in reading order, paragraphs apart) and its mean word confidence."""
    lines: list[str] = []
    words: list[str] = []
    key = None
    para = None
    confs: list[float] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue  # only word rows carry text
        word = cols[11].strip()
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if not word or conf < 0:
            continue
        line_key = (cols[2], cols[3], cols[4])  # block, paragraph, line
        if line_key != key:
            if words:
                lines.append(" ".join(words))
            if para is not None and line_key[:2] != para:
                lines.append("")
            words, key, para = [], line_key, line_key[:2]
        words.append(word)
        confs.append(conf)
    if words:
        lines.append(" ".join(words))
    return "\n".join(lines), (round(sum(confs) / len(confs), 1) if confs else None)
