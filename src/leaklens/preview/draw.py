"""The child process that reads a leaked document for its preview: never the web server's own.

A PDF renderer (pdfium, C) or qpdf fed hostile bytes may crash or never return; run here, under
the parent's deadline, the worst it does is fail one preview. Its output is data we made: a JSON
description, or a PNG we encoded (never the document's own bytes, never active content).

    python -m leaklens.preview.draw info PATH MIME
    python -m leaklens.preview.draw page PATH MIME '{"page": 1, "revision": null, "off": null, "dpi": 110}'
    python -m leaklens.preview.draw serve      (requests as JSON lines; what the server runs, see `serve`)
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

MAX_PIXELS = 8_000_000  # a huge page is drawn smaller, not refused
MAX_LAYERS = 200
MAX_REVISIONS = 50
PDF = "application/pdf"


def _revision_bytes(data: bytes, revision: int | None) -> tuple[bytes, int]:
    """The bytes of revision `revision` (1 = the first save; None or the last = the file as it is)
    and how many revisions the file has. An earlier revision is the file cut just past the
    `%%EOF` that closed it: what a reader of the file at that time had."""
    from ..verify.docmeta.pdf import revision_ends

    ends = revision_ends(data)[:MAX_REVISIONS]
    count = max(len(ends), 1)
    if revision is None or revision >= count:
        return data, count
    if revision < 1:
        raise SystemExit(f"no revision {revision} (the file has {count})")
    return data[: ends[revision - 1]], count


def _name(value: Any) -> str:
    try:
        text = str(value)
    except (UnicodeError, ValueError):
        text = ""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)[:200]


def _layers(pdf: Any) -> list[dict[str, Any]]:
    """The optional-content groups in /OCProperties /OCGs order, and whether the default view hides each."""
    import pikepdf

    props = pdf.Root.get("/OCProperties")
    if not isinstance(props, pikepdf.Dictionary) or not isinstance(props.get("/OCGs"), pikepdf.Array):
        return []
    default = props.get("/D")
    off: set[tuple[int, int]] = set()
    on: set[tuple[int, int]] = set()
    base_off = False
    if isinstance(default, pikepdf.Dictionary):
        if isinstance(default.get("/OFF"), pikepdf.Array):
            off = {o.objgen for o in default.OFF if isinstance(o, pikepdf.Dictionary)}
        base_off = default.get("/BaseState") == pikepdf.Name.OFF
        if base_off and isinstance(default.get("/ON"), pikepdf.Array):
            on = {o.objgen for o in default.ON if isinstance(o, pikepdf.Dictionary)}
    layers = []
    for i, ocg in enumerate(list(props.OCGs)[:MAX_LAYERS]):
        if not isinstance(ocg, pikepdf.Dictionary):
            continue
        hidden = (ocg.objgen not in on) if base_off else (ocg.objgen in off)
        layers.append({"index": i, "name": _name(ocg.get("/Name", "")), "hidden": hidden})
    return layers


def info(path: Path, mime: str) -> dict[str, Any]:
    if mime != PDF:
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = 200_000_000
        with Image.open(path) as img:
            return {"kind": "image", "pages": 1, "width": img.width, "height": img.height, "format": img.format,
                    "revisions": [], "layers": []}  # fmt: skip
    import pikepdf

    data = path.read_bytes()
    _, count = _revision_bytes(data, None)
    revisions = []
    for r in range(1, count + 1):
        body, _ = _revision_bytes(data, r)
        entry: dict[str, Any] = {"revision": r, "bytes": len(body)}
        try:
            with pikepdf.open(io.BytesIO(body)) as pdf:
                entry["pages"] = len(pdf.pages)
                entry["layers"] = _layers(pdf)
        except Exception as exc:  # noqa: BLE001 - a damaged revision is said, the others still listed
            # qpdf names its input ("stream <_io.BytesIO object at 0x...>: "): noise to a reader.
            entry["error"] = re.sub(r"^stream <[^>]*>:\s*", "", str(exc))[:200] or type(exc).__name__
        revisions.append(entry)
    last = revisions[-1]
    return {"kind": "pdf", "pages": last.get("pages", 0), "layers": last.get("layers", []),
            "revisions": revisions if count > 1 else [], "error": last.get("error")}  # fmt: skip


def page(path: Path, mime: str, page_no: int, revision: int | None, off: list[int] | None, dpi: int) -> bytes:
    body: bytes | str | None = None
    if mime == PDF:
        # The file as it is opens from its path (no copy); an earlier revision or a choice of layers
        # is a copy in memory.
        if revision is not None:
            body, _ = _revision_bytes(path.read_bytes(), revision)
        if off is not None:
            body = _with_layers_off(body if isinstance(body, bytes) else path.read_bytes(), off)
    return draw(path, mime, page_no, dpi=dpi, body=body)


def draw(
    path: Path,
    mime: str,
    page_no: int,
    *,
    dpi: int,
    max_pixels: int = MAX_PIXELS,
    grayscale: bool = False,
    body: bytes | str | None = None,
) -> bytes:
    """One page of a PDF (from `body` when given, else the file) or an image, as a PNG we encode:
    drawn at `dpi`, smaller when it would exceed `max_pixels`. Shared by the preview and the OCR scan
    view (grey, as Tesseract read it). Run in a child process: the caller holds the deadline."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = 200_000_000  # a decompression bomb is refused, not drawn
    if mime != PDF:
        if page_no != 1:
            raise SystemExit("an image has one page")
        with Image.open(path) as src:
            src.seek(0)
            mode = "L" if grayscale else "RGBA" if src.mode in ("RGBA", "LA", "P") else "RGB"
            img = src.convert(mode)
    else:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path) if body is None else body)
        if not 1 <= page_no <= len(pdf):
            raise SystemExit(f"no page {page_no} (it has {len(pdf)})")
        p = pdf[page_no - 1]
        width, height = p.get_size()
        scale = dpi / 72
        if width * height * scale * scale > max_pixels:
            scale = (max_pixels / (width * height)) ** 0.5
        img = p.render(scale=scale, may_draw_forms=True, grayscale=grayscale).to_pil()
    if img.width * img.height > max_pixels:
        ratio = (max_pixels / (img.width * img.height)) ** 0.5
        img = img.resize((max(1, int(img.width * ratio)), max(1, int(img.height * ratio))))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def _with_layers_off(body: bytes, off: list[int]) -> bytes:
    """A copy of the PDF (in memory: the original is never touched) whose default view hides the
    layers at these /OCGs indexes and shows every other: pdfium draws the default view."""
    import pikepdf

    with pikepdf.open(io.BytesIO(body)) as pdf:
        props = pdf.Root.get("/OCProperties")
        if not isinstance(props, pikepdf.Dictionary) or not isinstance(props.get("/OCGs"), pikepdf.Array):
            return body
        ocgs = list(props.OCGs)
        hide = [ocgs[i] for i in off if 0 <= i < len(ocgs)]
        show = [o for i, o in enumerate(ocgs) if i not in set(off)]
        default = props.get("/D")
        if not isinstance(default, pikepdf.Dictionary):
            default = props.D = pikepdf.Dictionary()
        default.BaseState = pikepdf.Name.ON
        default.ON = pikepdf.Array(show)
        default.OFF = pikepdf.Array(hide)
        # Usage-based states (print/view/zoom) would override the choice: the reader's choice wins.
        for key in ("/AS", "/Intent"):
            if key in default:
                del default[key]
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def _answer(req: dict[str, Any]) -> tuple[bytes, bytes]:
    """(status, body) for one request: b"J" and JSON, b"P" and a PNG, or b"E" and one line."""
    try:
        if req["cmd"] == "warm":  # the imports a first request would wait for, paid ahead of it
            import pikepdf  # noqa: F401
            import pypdfium2  # noqa: F401
            from PIL import Image  # noqa: F401

            from ..verify.docmeta import pdf  # noqa: F401

            return b"J", b"{}"
        path, mime = Path(req["path"]), req["mime"]
        if req["cmd"] == "info":
            return b"J", json.dumps(info(path, mime)).encode()
        return b"P", page(path, mime, int(req["page"]), req.get("revision"), req.get("off"), int(req.get("dpi", 110)))
    except SystemExit as exc:
        return b"E", str(exc).encode("utf-8", "replace")[:400]
    except Exception as exc:  # noqa: BLE001 - one line for the reader, whatever the file did
        return b"E", f"{type(exc).__name__}: {exc}"[:200].encode("utf-8", "replace")


def serve() -> int:
    """Answer requests (one JSON object a line on stdin) until stdin closes: each answer is a status
    byte, the body's length (8 bytes, big-endian) and the body. The answers go to the stdout the
    parent reads; anything a library prints goes to stderr instead, so it cannot break the framing."""
    frames = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError:
            status, body = b"E", b"unreadable request"
        else:
            status, body = _answer(req)
        frames.write(status + len(body).to_bytes(8, "big") + body)
        frames.flush()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return serve()
    cmd, path, mime = argv[0], argv[1], argv[2]
    status, body = _answer({"cmd": cmd, "path": path, "mime": mime, **(json.loads(argv[3]) if len(argv) > 3 else {})})
    if status == b"E":
        print(body.decode("utf-8", "replace"), file=sys.stderr)
        return 1
    sys.stdout.buffer.write(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
