"""A scan's page as a PNG for the workbench, drawn in a child process with a deadline.

The bytes are the leak's, possibly hostile: a PDF renderer (C code) or an image decoder that never
returns, or crashes, must not take the web server with it. The page is drawn at a viewing size
(150 dpi) and always re-encoded, so the browser only ever sees a plain PNG that we made.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VIEW_DPI = 150
RENDER_TIMEOUT = 20.0
MAX_VIEW_PIXELS = 12_000_000


class RenderError(Exception):
    """The page could not be drawn (damaged, over time, no such page): one line for the reader."""


def page_png(path: Path, mime: str, page: int, timeout: float = RENDER_TIMEOUT) -> bytes:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "leaklens.ocr.render", str(path), mime, str(page)],
            capture_output=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RenderError(f"the page took over {timeout:g} s to draw") from None
    if proc.returncode != 0 or not proc.stdout.startswith(b"\x89PNG"):
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(lines[-1][:200] if lines else "the page could not be drawn")
    return proc.stdout


def _draw(path: Path, mime: str, page: int) -> bytes:
    from ..preview.draw import draw

    return draw(path, mime, page, dpi=VIEW_DPI, max_pixels=MAX_VIEW_PIXELS, grayscale=True)


def main(argv: list[str]) -> int:
    try:
        data = _draw(Path(argv[0]), argv[1], int(argv[2]))
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one line for the reader, whatever the file did
        print(f"{type(exc).__name__}: {exc}"[:200], file=sys.stderr)
        return 1
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
