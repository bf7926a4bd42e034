"""A checkout of another revision for `--compare-with REV`: the same benchmark, run on that tree.

The checkout is a `git worktree` in a temporary folder (the repository's objects are shared, no
clone), removed afterwards. A benchmark runs leaklens with the checkout's `src` first on
PYTHONPATH, so the installed (editable) leaklens of this tree is shadowed by the other one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def describe(rev: str = "HEAD") -> str:
    """`abc1234` for a revision; `abc1234+changes` for this tree when it has uncommitted changes."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True, text=True
    ).stdout.strip()
    if rev == "HEAD":
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", "src"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if dirty:
            sha += "+changes"
    return sha


@contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """The tree of `rev` in a temporary folder, for as long as the block runs."""
    tmp = Path(tempfile.mkdtemp(prefix="leaklens-compare-"))
    tree = tmp / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), rev],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield tree
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], stderr=subprocess.DEVNULL)


def env_with_src(src: Path | None) -> dict[str, str]:
    """The environment for a leaklens subprocess: `src` first on PYTHONPATH (None: this tree's)."""
    src = src or ROOT / "src"
    rest = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(src) + (os.pathsep + rest if rest else "")}
