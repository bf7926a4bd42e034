"""PDFs for the preview tests, made here: pages drawn by reportlab, optional-content layers added
with pikepdf, and an incremental update appended by hand (as an editing tool saves: the old bytes
kept, a new page content and xref section after them)."""

from __future__ import annotations

import io
import re

import pikepdf
from reportlab.pdfgen import canvas

SIZE = (300, 300)
RED_AT = (50, 50)  # a pixel (72 dpi, from the top left) inside page 1's red box: layer 0, shown by default
BLACK_AT = (200, 50)  # inside its black box: layer 1, hidden by default
BLUE_AT = (20, 280)  # inside the blue box the update draws on its page


def pages_pdf(n: int, label: str = "Page") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=SIZE, pageCompression=0)
    for i in range(n):
        c.setFont("Helvetica", 14)
        c.drawString(20, 120, f"{label} {i + 1}: total 12,000 EUR")
        c.showPage()
    c.save()
    return buf.getvalue()


def with_layers(data: bytes) -> bytes:
    """Layer 0 "Red box" (shown by default) and layer 1 "Black box" (hidden by default) on page 1."""
    pdf = pikepdf.open(io.BytesIO(data))
    ocgs = [pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name=n)) for n in ("Red box", "Black box")]
    pdf.Root.OCProperties = pikepdf.Dictionary(
        OCGs=pikepdf.Array(ocgs), D=pikepdf.Dictionary(Order=pikepdf.Array(ocgs), OFF=pikepdf.Array([ocgs[1]]))
    )
    page = pdf.pages[0]
    page.obj.Resources.Properties = pikepdf.Dictionary(L0=ocgs[0], L1=ocgs[1])
    page.contents_add(
        pdf.make_stream(b"/OC /L0 BDC 1 0 0 rg 0 200 100 100 re f EMC /OC /L1 BDC 0 0 0 rg 150 200 100 100 re f EMC")
    )
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def with_update(data: bytes, page_index: int = 1, text: bytes = b"Revised: total 900,000 EUR") -> bytes:
    """`data` plus an incremental update that gives page `page_index` (0-based) a new content stream (one more object,
    the page rewritten, an xref section pointing back at the first)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        size = int(pdf.trailer.Size)
        root = pdf.trailer.Root.objgen[0]
        page = pdf.pages[page_index].obj
        page_num = page.objgen[0]
        body = page.unparse(resolved=True)
    stream_num = size
    body = re.sub(rb"/Contents\s+(\[[^\]]*\]|\d+\s+\d+\s+R)", b"/Contents %d 0 R" % stream_num, body)
    content = b"BT /F1 14 Tf 20 120 Td (" + text + b") Tj ET 0 0 1 rg 0 0 60 60 re f"
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    offsets = {}
    offsets[stream_num] = len(out)
    out += b"%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (stream_num, len(content), content)
    offsets[page_num] = len(out)
    out += b"%d 0 obj\n%s\nendobj\n" % (page_num, body)
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size + 1, root, prev, xref)
    return bytes(out)


def build_case(root, db: str | None = None):
    """A case holding the layered, twice-saved PDF, a 20-page PDF, a PNG, a Word file, an SVG and a
    damaged PDF, ingested by the real walker."""
    import docx
    from PIL import Image

    from leaklens.case import Case
    from leaklens.ingest.walker import ingest

    dump = root / "dump"
    dump.mkdir(parents=True)
    (dump / "ledger.pdf").write_bytes(with_update(with_layers(pages_pdf(3))))
    (dump / "report20.pdf").write_bytes(pages_pdf(20, "Report page"))
    Image.new("RGB", (40, 30), (0, 128, 0)).save(dump / "photo.png")
    d = docx.Document()
    d.add_heading("Budget memo", 1)
    d.add_paragraph("The printer is paid on Friday.")
    d.save(dump / "memo.docx")
    (dump / "logo.svg").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer <<>>\n%%EOF\n"
    (dump / "broken.pdf").write_bytes(broken)
    case = Case.open(root / "case", create=True, db=db)
    ingest(case, [dump], workers=1)
    return case
