"""Office documents for the office-preview tests, made by the real libraries (python-docx, openpyxl,
odfpy) or written by hand where the format is plain text (RTF) or a library has no call for it (a
docx whose picture is a link to a URL, as Word saves "Insert > Picture > Link to file")."""

from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest

RED_TEXT = "RED INK"  # drawn in red at 40 pt on the docx's first page: red pixels in its drawn page
RLO_NAME = "Rapport_\u202efdp.exe.docx"
REQUIRED = os.environ.get("LEAKLENS_REQUIRE_LIBREOFFICE") == "1"


def need_libreoffice() -> None:
    """Skip the calling module where LibreOffice is missing, except in CI (.ci/run installs it and
    sets LEAKLENS_REQUIRE_LIBREOFFICE=1): there its absence fails the tests."""
    if shutil.which("soffice") or shutil.which("libreoffice"):
        return
    message = "LibreOffice not installed (apt-get install libreoffice-{writer,calc,impress}-nogui)"
    if REQUIRED:
        pytest.fail(message + " and LEAKLENS_REQUIRE_LIBREOFFICE=1", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def docx_bytes(pages: int = 2, marker: str = "") -> bytes:
    """A Word document of `pages` pages: page 1 has RED_TEXT in red, each page its number."""
    import docx
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt, RGBColor

    d = docx.Document()
    d.add_heading(f"Budget memo {marker}".strip(), 1)
    run = d.add_paragraph().add_run(RED_TEXT)
    run.font.size, run.font.color.rgb = Pt(40), RGBColor(0xFF, 0, 0)
    for n in range(1, pages + 1):
        d.add_paragraph(f"Page {n} of the memo: the printer is paid on Friday.")
        for line in range(8):
            d.add_paragraph(f"Line {line} of page {n}: transfer approved, invoice kept for the auditors.")
        if n < pages:
            d.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def xlsx_bytes() -> bytes:
    """A workbook whose B2 is filled solid red and whose A1:A3 hold text and numbers."""
    import openpyxl
    from openpyxl.styles import PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Budget"
    ws["A1"], ws["A2"], ws["A3"] = "Budget 2026", 12000, "transfer approved"
    ws.column_dimensions["B"].width = 30
    ws.row_dimensions[2].height = 60
    ws["B2"].fill = PatternFill("solid", fgColor="FF0000")
    ws["B2"] = "red cell"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def pptx_bytes() -> bytes:
    """A one-slide presentation (16:9, landscape) with a red rectangle and a title."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Inches

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Quarterly transfers"
    box = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(1), Inches(3), Inches(4), Inches(2))
    box.fill.solid()
    box.fill.fore_color.rgb = RGBColor(0xFF, 0, 0)
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def odt_bytes() -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    doc = OpenDocumentText()
    doc.text.addElement(P(text="Minutes of the meeting: the budget is approved."))
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def rtf_bytes() -> bytes:
    """An RTF whose text holds a right-to-left override (U+202E) and a NUL byte (\\'00)."""
    return (b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Helvetica;}}\\f0\\fs32 Invoice Rapport_\\u8238?fdp.exe.docx\\par "
            b"Subject with a NUL:\\'00 after it.\\par}")  # fmt: skip


def linked_image_docx(url: str) -> bytes:
    """A docx whose one picture is not stored in it but linked (r:link, TargetMode External) to `url`:
    a viewer that draws it as laid out fetches the URL."""
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 200, 0)).save(png, "PNG")
    png.seek(0)
    import docx
    from docx.shared import Inches

    d = docx.Document()
    d.add_paragraph("A picture linked to a web address follows.")
    d.add_picture(png, width=Inches(1))
    embedded = io.BytesIO()
    d.save(embedded)
    out = io.BytesIO()
    with zipfile.ZipFile(embedded) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = re.sub(rb'r:embed="(rId\d+)"', rb'r:link="\1"', data)
            elif item.filename == "word/_rels/document.xml.rels":
                data = re.sub(rb'Target="media/image1\.png"', b'Target="%s" TargetMode="External"' % url.encode(), data)
            elif item.filename.startswith("word/media/"):
                continue
            zout.writestr(item, data)
    return out.getvalue()


def noise_docx() -> bytes:
    """A docx holding one 900 x 900 picture of random pixels (it compresses to nothing less)."""
    import random

    import docx
    from docx.shared import Inches
    from PIL import Image

    rng = random.Random(16)
    img = Image.frombytes("RGB", (900, 900), bytes(rng.getrandbits(8) for _ in range(900 * 900 * 3)))
    png = io.BytesIO()
    img.save(png, "PNG")
    png.seek(0)
    d = docx.Document()
    d.add_picture(png, width=Inches(6))
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def macro_odt(marker: Path) -> bytes:
    """An .odt whose Basic macro, bound to the document's OnLoad event, writes the file `marker`: run,
    it leaves a trace. (The Basic library layout LibreOffice itself saves: Basic/script-lc.xml, the
    library's script-lb.xml and module, and their folders in the manifest.)"""
    office_ns = 'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {office_ns} '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:ooo="http://openoffice.org/2004/office" xmlns:dom="http://www.w3.org/2001/xml-events" '
        'office:version="1.2"><office:scripts><office:event-listeners><script:event-listener '
        'script:language="ooo:script" script:event-name="dom:load" xlink:type="simple" '
        'xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/>'
        "</office:event-listeners></office:scripts><office:body><office:text>"
        "<text:p>A document with an OnLoad macro.</text:p></office:text></office:body></office:document-content>"
    )
    module = (
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument '
        '1.0//EN" "module.dtd"><script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" '
        f'script:language="StarBasic">Sub Main\n  Open &quot;{marker}&quot; For Output As #1\n'
        "  Print #1, &quot;ran&quot;\n  Close #1\nEnd Sub\n</script:module>"
    )
    library = (
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument'
        ' 1.0//EN" "library.dtd"><library:library xmlns:library="http://openoffice.org/2000/library" '
        'library:name="Standard" library:readonly="false" library:passwordprotected="false">'
        '<library:element library:name="Module1"/></library:library>'
    )
    libraries = (
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE library:libraries PUBLIC "-//OpenOffice.org//DTD '
        'OfficeDocument 1.0//EN" "libraries.dtd"><library:libraries xmlns:library="http://openoffice.org/2000/library"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink"><library:library library:name="Standard" library:link="false"/>'
        "</library:libraries>"
    )
    entries = [("/", "application/vnd.oasis.opendocument.text"), ("content.xml", "text/xml"), ("Basic/", ""),
               ("Basic/Standard/", ""), ("Basic/script-lc.xml", "text/xml"),
               ("Basic/Standard/script-lb.xml", "text/xml"), ("Basic/Standard/Module1.xml", "text/xml")]  # fmt: skip
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        + "".join(f'<manifest:file-entry manifest:full-path="{p}" manifest:media-type="{t}"/>' for p, t in entries)
        + "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
        z.writestr("Basic/script-lc.xml", libraries)
        z.writestr("Basic/Standard/script-lb.xml", library)
        z.writestr("Basic/Standard/Module1.xml", module)
        z.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def build_case(root: Path):
    """A case of a 2-page docx, an xlsx, a pptx, an odt, an RTF with U+202E and NUL, and a damaged docx
    (its zip cut in half), ingested by the real walker."""
    from leaklens.case import Case
    from leaklens.ingest.walker import ingest

    dump = root / "dump"
    dump.mkdir(parents=True)
    (dump / "memo.docx").write_bytes(docx_bytes(2))
    (dump / "budget.xlsx").write_bytes(xlsx_bytes())
    (dump / "minutes.odt").write_bytes(odt_bytes())
    (dump / "slides.pptx").write_bytes(pptx_bytes())
    (dump / "invoice.rtf").write_bytes(rtf_bytes())
    whole = docx_bytes(1, "damaged")
    (dump / "damaged.docx").write_bytes(whole[: len(whole) // 2])
    case = Case.open(root / "case", create=True)
    ingest(case, [dump], workers=1)
    return case
