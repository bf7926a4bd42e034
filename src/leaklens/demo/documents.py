"""Real PDF, DOCX and XLSX files with controlled, deterministic metadata.

The libraries stamp the current time into their output (openpyxl's modified
date, zip entry times, PDF IDs). The demo must be byte-identical run after run
and its metadata must tell a coherent story, so each writer pins every date:
PDFs through reportlab's invariant mode and a fixed date formatter, OOXML by
rewriting docProps/core.xml and docProps/app.xml and every zip entry time.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import docx
import openpyxl
import pikepdf
from lxml import etree
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

from .people import ORG_NAME

# Word and Excel write 1980-01-01 into every zip entry; so do we.
OOXML_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_MIME = "application/pdf"


@dataclass(frozen=True)
class DocMeta:
    """The metadata a document carries about its own making."""

    author: str
    created: datetime  # timezone-aware
    modified: datetime  # timezone-aware
    last_modified_by: str | None = None  # defaults to the author
    company: str = ORG_NAME
    title: str = ""
    revision: int = 1

    @property
    def editor(self) -> str:
        return self.last_modified_by or self.author


def _w3cdtf(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pdf_date(dt: datetime) -> str:
    off = dt.utcoffset()
    minutes = int(off.total_seconds() // 60) if off is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return f"D:{dt.strftime('%Y%m%d%H%M%S')}{sign}{hh:02d}'{mm:02d}'"


# ---------------------------------------------------------------- PDF


def make_pdf(title: str, paragraphs: Sequence[str], meta: DocMeta) -> bytes:
    """A text PDF written by reportlab, dated `meta.created`, authored by `meta.author`."""
    buf = io.BytesIO()
    # invariant=1 fixes the document ID; pageCompression=0 keeps the content
    # streams readable so incremental updates can be built over them.
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=0)
    c.setAuthor(meta.author)
    c.setTitle(meta.title or title)
    c.setSubject(f"{ORG_NAME} campaign")
    c.setCreator(f"{ORG_NAME} campaign office")
    stamp = _pdf_date(meta.created)
    c.setDateFormatter(lambda *_: stamp)
    width, height = A4
    y = height - 72
    c.setFont("Helvetica-Bold", 15)
    c.drawString(72, y, title)
    y -= 30
    for para in paragraphs:
        for line in simpleSplit(para, "Helvetica", 10.5, width - 144) or [""]:
            if y < 72:
                c.showPage()
                y = height - 72
            c.setFont("Helvetica", 10.5)
            c.drawString(72, y, line)
            y -= 14
        y -= 8
    c.showPage()
    c.save()
    return buf.getvalue()


def pdf_incremental_update(original: bytes, revised: bytes, modified: datetime) -> bytes:
    """Append to `original` an incremental update whose first page is `revised`'s.

    This is what an editor that "saves" a PDF does: the old revision stays in
    the file, a new content stream, a new page object and a new Info
    dictionary follow the first %%EOF, chained by a trailer /Prev. Written by
    hand because qpdf (pikepdf) can only rewrite whole files.
    """
    with pikepdf.open(io.BytesIO(original)) as old, pikepdf.open(io.BytesIO(revised)) as new:
        page = old.pages[0].obj
        page_num = page.objgen[0]
        info_num = old.trailer.Info.objgen[0]
        root_num = old.Root.objgen[0]
        size = int(old.trailer.Size)
        trailer_id = old.trailer.ID.unparse().decode("latin-1")
        new_stream = new.pages[0].obj.Contents.read_bytes()
        page_text = page.unparse(resolved=True).decode("latin-1")
        info_text = old.trailer.Info.unparse(resolved=True).decode("latin-1")
    prev = int(re.findall(rb"startxref\s+(\d+)", original)[-1])
    page_text = re.sub(r"/Contents \d+ 0 R", f"/Contents {size} 0 R", page_text)
    info_text = re.sub(r"/ModDate \([^)]*\)", f"/ModDate ({_pdf_date(modified)})", info_text)

    out = bytearray(original)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets: dict[int, int] = {}

    def put(num: int, body: bytes) -> None:
        offsets[num] = len(out)
        out.extend(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    put(size, b"<< /Length %d >>\nstream\n" % len(new_stream) + new_stream + b"\nendstream")
    put(page_num, page_text.encode("latin-1"))
    put(info_num, info_text.encode("latin-1"))
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    out += (
        f"trailer\n<< /Size {size + 1} /Root {root_num} 0 R /Info {info_num} 0 R "
        f"/ID {trailer_id} /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode("latin-1")
    return bytes(out)


def pdf_add_layers(pdf: bytes, hidden_lines: Sequence[str]) -> bytes:
    """Add two optional-content groups; the second, switched off, holds `hidden_lines`.

    Mirrors the forged "offshore account" PDFs: content that a viewer does not
    show by default but that is still in the file.
    """
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        shown = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name=pikepdf.String("Calque 1")))
        hidden = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name=pikepdf.String("Calque 2")))
        doc.Root.OCProperties = pikepdf.Dictionary(
            OCGs=pikepdf.Array([shown, hidden]),
            D=pikepdf.Dictionary(
                Order=pikepdf.Array([shown, hidden]),
                ON=pikepdf.Array([shown]),
                OFF=pikepdf.Array([hidden]),
            ),
        )
        page = doc.pages[0]
        page.obj.Resources.Properties = pikepdf.Dictionary(oc1=shown, oc2=hidden)
        font = next(iter(page.obj.Resources.Font.keys()))
        ops = [f"/OC /oc2 BDC BT {font} 10.5 Tf 72 300 Td 14 TL".encode()]
        for line in hidden_lines:
            ops.append(b"(" + _pdf_escape(line) + b") Tj T*")
        ops.append(b"ET EMC")
        page.contents_add(doc.make_stream(b"\n".join(ops)), prepend=False)
        out = io.BytesIO()
        doc.save(out, deterministic_id=True)
    return out.getvalue()


def _pdf_escape(text: str) -> bytes:
    raw = text.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


# ---------------------------------------------------------------- OOXML

_CORE_NS = (
    'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
_APP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"


def _core_xml(meta: DocMeta, title: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f"<cp:coreProperties {_CORE_NS}>"
        f"<dc:title>{escape(meta.title or title)}</dc:title>"
        f"<dc:creator>{escape(meta.author)}</dc:creator>"
        f"<cp:lastModifiedBy>{escape(meta.editor)}</cp:lastModifiedBy>"
        f"<cp:revision>{meta.revision}</cp:revision>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{_w3cdtf(meta.created)}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{_w3cdtf(meta.modified)}</dcterms:modified>'
        "</cp:coreProperties>"
    ).encode()


def _app_xml(original: bytes, meta: DocMeta) -> bytes:
    root = etree.fromstring(original)
    minutes = max(0, int((meta.modified - meta.created).total_seconds() // 60))
    for tag, value in (("TotalTime", str(min(minutes, 600))), ("Company", meta.company)):
        el = root.find(f"{{{_APP_NS}}}{tag}")
        if el is None:
            el = etree.SubElement(root, f"{{{_APP_NS}}}{tag}")
        el.text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def finalize_ooxml(data: bytes, meta: DocMeta, title: str) -> bytes:
    """Rewrite a library-made OOXML package with our metadata and fixed zip times."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _core_xml(meta, title)
            elif info.filename == "docProps/app.xml":
                body = _app_xml(body, meta)
            elif info.filename == "docProps/thumbnail.jpeg":
                continue  # python-docx's template thumbnail shows someone else's page
            entry = zipfile.ZipInfo(info.filename, date_time=OOXML_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, body)
    return out.getvalue()


def make_docx(title: str, paragraphs: Sequence[str], meta: DocMeta) -> bytes:
    document = docx.Document()
    _drop_thumbnail(document)
    document.add_heading(title, level=1)
    for para in paragraphs:
        document.add_paragraph(para)
    buf = io.BytesIO()
    document.save(buf)
    return finalize_ooxml(buf.getvalue(), meta, title)


def _drop_thumbnail(document: docx.document.Document) -> None:
    package = document.part.package
    for rel_id, rel in list(package.rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del package.rels[rel_id]


def make_xlsx(title: str, header: Sequence[str], rows: Sequence[Sequence[object]], meta: DocMeta,
              sheet: str = "Feuil1", total_column: int | None = None) -> bytes:
    """A one-sheet workbook; `total_column` (0-based) gets a SUM formula row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    if total_column is not None and rows:
        col = openpyxl.utils.get_column_letter(total_column + 1)
        total_row: list[object] = [""] * len(header)
        total_row[0] = "Total"
        total_row[total_column] = f"=SUM({col}2:{col}{len(rows) + 1})"
        ws.append(total_row)
    for i, _ in enumerate(header, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = 22
    buf = io.BytesIO()
    wb.save(buf)
    return finalize_ooxml(buf.getvalue(), meta, title)
