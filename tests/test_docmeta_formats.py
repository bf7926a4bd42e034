"""Metadata extraction over real files written here with real libraries, with controlled metadata.

The builders at the top are shared with the forgery, population and robustness tests.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import docx
import openpyxl
import pikepdf
from lxml import etree
from PIL import Image
from reportlab.pdfgen import canvas

from leaklens.verify.docmeta import extract_metadata

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
DOC = "application/msword"

CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
DCTERMS = "http://purl.org/dc/terms/"
EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"


# --- builders -------------------------------------------------------------------------------


def rewrite_zip_part(path: Path, name: str, transform) -> None:
    """Replace one part of a zip package the way an editing tool would (all other parts kept)."""
    with zipfile.ZipFile(path) as zf:
        parts = [(info, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in parts:
            zf.writestr(info, transform(data) if info.filename == name else data)


def set_xml_text(data: bytes, ns: str, tag: str, text: str, attrib: dict | None = None) -> bytes:
    root = etree.fromstring(data)
    el = root.find(f"{{{ns}}}{tag}")
    if el is None:
        el = etree.SubElement(root, f"{{{ns}}}{tag}", attrib or {})
    el.text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def make_docx(path: Path, *, author: str, last_by: str, created: datetime, modified: datetime,
              revision: int = 3, text: str = "Quarterly budget note.", company: str | None = None) -> Path:
    d = docx.Document()
    d.add_paragraph(text)
    cp = d.core_properties
    cp.author, cp.last_modified_by, cp.revision = author, last_by, revision
    cp.created, cp.modified = created, modified
    d.save(path)
    if company:
        rewrite_zip_part(path, "docProps/app.xml", lambda b: set_xml_text(b, EP, "Company", company))
    return path


def make_xlsx(path: Path, *, author: str, last_by: str, created: datetime, modified: datetime,
              company: str | None = None, workbook_app: str | None = None,
              application: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Amount"
    wb.active["B1"] = 1250
    wb.properties.creator, wb.properties.lastModifiedBy = author, last_by
    wb.properties.created = created.astimezone(UTC).replace(tzinfo=None)
    wb.save(path)
    # openpyxl stamps "now" as the modification time on save; put the controlled one back.
    stamp = modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rewrite_zip_part(path, "docProps/core.xml", lambda b: set_xml_text(b, DCTERMS, "modified", stamp))
    if company:
        rewrite_zip_part(path, "docProps/app.xml", lambda b: set_xml_text(b, EP, "Company", company))
    if application:
        rewrite_zip_part(path, "docProps/app.xml", lambda b: set_xml_text(b, EP, "Application", application))
    if workbook_app:
        def add_file_version(b: bytes) -> bytes:
            root = etree.fromstring(b)
            ns = root.nsmap[None]
            fv = etree.Element(f"{{{ns}}}fileVersion", appName=workbook_app)
            root.insert(0, fv)
            return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        rewrite_zip_part(path, "xl/workbook.xml", add_file_version)
    return path


def pdf_date(value: datetime) -> str:
    off = value.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return value.strftime("D:%Y%m%d%H%M%S") + f"{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"


def make_pdf(path: Path, *, author: str = "Claire Martin", created: datetime, modified: datetime,
             lines: tuple[str, ...] = ("Invoice 2017-114", "Amount due: 1,250.00 EUR"),
             producer: str = "Microsoft: Print To PDF", creator: str = "Microsoft Word",
             xmp_producer: str | None = None) -> Path:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pageCompression=0)
    for i, line in enumerate(lines):
        c.drawString(72, 720 - 20 * i, line)
    c.showPage()
    c.save()
    with pikepdf.open(io.BytesIO(buf.getvalue())) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as xmp:
            xmp["dc:creator"] = [author]
            xmp["xmp:CreateDate"] = created.isoformat()
            xmp["xmp:ModifyDate"] = modified.isoformat()
            xmp["xmp:CreatorTool"] = creator
            xmp["pdf:Producer"] = xmp_producer or producer
        pdf.docinfo["/Author"] = author
        pdf.docinfo["/Producer"] = producer
        pdf.docinfo["/Creator"] = creator
        pdf.docinfo["/CreationDate"] = pdf_date(created)
        pdf.docinfo["/ModDate"] = pdf_date(modified)
        # Uncompressed xref table, like most office PDF writers, so an update can be appended.
        pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.disable, qdf=False,
                 compress_streams=False)
    return path


def append_incremental_update(path: Path, old: str, new: str, *, producer: str | None = None,
                              moddate: datetime | None = None) -> None:
    """Append a real incremental update (new object version, xref section, trailer /Prev)
    that rewrites the page content stream replacing `old` with `new`, as an editor saving
    "incrementally" does."""
    data = path.read_bytes()
    with pikepdf.open(path) as pdf:
        contents = pdf.pages[0].obj.Contents
        num = contents.objgen[0]
        stream = contents.read_bytes().replace(old.encode(), new.encode())
        size = int(pdf.trailer.Size)
        root = pdf.trailer.Root.objgen[0]
        info = pdf.trailer.Info.objgen[0]
        info_dict = {str(k): str(v) for k, v in pdf.docinfo.items()}
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets = {}
    offsets[num] = len(out)
    out += b"%d 0 obj\n<< /Length %d >>\nstream\n" % (num, len(stream)) + stream + b"\nendstream\nendobj\n"
    if producer or moddate:
        if producer:
            info_dict["/Producer"] = producer
        if moddate:
            info_dict["/ModDate"] = pdf_date(moddate)
        offsets[info] = len(out)
        body = b" ".join(b"%s (%s)" % (k.encode(), v.encode("latin-1", "replace")) for k, v in info_dict.items())
        out += b"%d 0 obj\n<< %s >>\nendobj\n" % (info, body)
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for obj in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (obj, offsets[obj])
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size, root, info, prev, xref)
    path.write_bytes(bytes(out))


def append_signature_update(path: Path, producer: str = "Adobe Acrobat Pro DC 21.1") -> None:
    """Append the incremental update a signing tool writes: a signature field with its widget on
    page 1, the page's /Annots, the catalog's /AcroForm and a new Info (other producer)."""
    data = path.read_bytes()
    with pikepdf.open(path) as pdf:
        size = int(pdf.trailer.Size)
        root_num, info_num = pdf.trailer.Root.objgen[0], pdf.trailer.Info.objgen[0]
        page = pdf.pages[0].obj
        page_num = page.objgen[0]
        page_body = page.unparse(resolved=True)
        root_body = pdf.Root.unparse(resolved=True)
        info = {str(k): str(v) for k, v in pdf.docinfo.items()}
    sig = size
    info["/Producer"] = producer
    objects = {
        sig: b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [0 0 0 0] /P %d 0 R >>" % page_num,
        page_num: page_body[:-2] + b" /Annots [%d 0 R] >>" % sig,
        root_num: root_body[:-2] + b" /AcroForm << /Fields [%d 0 R] /SigFlags 3 >> >>" % sig,
        info_num: b"<< " + b" ".join(b"%s (%s)" % (k.encode(), v.encode("latin-1", "replace"))
                                     for k, v in info.items()) + b" >>",
    }
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    offsets = {}
    for num, body in objects.items():
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size + 1, root_num, info_num, prev, xref)
    path.write_bytes(bytes(out))


def add_layers(path: Path, names: tuple[str, ...] = ("Original", "Overlay"), hidden: tuple[str, ...] = ("Original",)):
    """Give a PDF optional-content groups, with content drawn inside one of them."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        ocgs = [pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name=n)) for n in names]
        off = [o for o, n in zip(ocgs, names, strict=True) if n in hidden]
        pdf.Root.OCProperties = pikepdf.Dictionary(
            OCGs=pikepdf.Array(ocgs), D=pikepdf.Dictionary(Order=pikepdf.Array(ocgs), OFF=pikepdf.Array(off)))
        page = pdf.pages[0]
        page.obj.Resources.Properties = pikepdf.Dictionary(L0=ocgs[0])
        page.contents_add(pdf.make_stream(b"/OC /L0 BDC BT /F1 12 Tf 72 600 Td (Hidden text) Tj ET EMC"))
        pdf.save(path)


def make_jpeg(path: Path, *, make: str = "Canon", model: str = "EOS 80D", software: str = "Firmware 1.0",
              original: str = "2017:05:01 09:00:00", changed: str = "2017:05:01 09:00:00",
              artist: str | None = None, gps: bool = True) -> Path:
    ex = Image.Exif()
    ex[271], ex[272], ex[305], ex[306] = make, model, software, changed
    if artist:
        ex[315] = artist
    ex.get_ifd(0x8769).update({36867: original, 36881: "+02:00", 36880: "+02:00"})
    if gps:
        ex.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 21.0, 0.0)})
    Image.new("RGB", (16, 16), "white").save(path, "JPEG", exif=ex)
    return path


def make_rtf(path: Path, *, author: str, operator: str, created: datetime, revised: datetime,
             codepage: int = 1252, lang: int = 1036, company: str = "En Marche") -> Path:
    def enc(s: str) -> str:
        out = []
        for ch in s:
            b = ch.encode(f"cp{codepage}", "replace")
            out.append(ch if ch.isascii() else "".join(f"\\'{x:02x}" for x in b))
        return "".join(out)

    def tim(tag: str, d: datetime) -> str:
        return f"{{\\{tag}\\yr{d.year}\\mo{d.month}\\dy{d.day}\\hr{d.hour}\\min{d.minute}\\sec{d.second}}}"

    text = (
        f"{{\\rtf1\\ansi\\ansicpg{codepage}\\deff0\\deflang{lang}{{\\fonttbl{{\\f0 Arial;}}}}"
        "{\\*\\generator Riched20 10.0.19041}"
        f"{{\\info{{\\author {enc(author)}}}{{\\operator {enc(operator)}}}{{\\company {enc(company)}}}"
        f"{tim('creatim', created)}{tim('revtim', revised)}{{\\version4}}{{\\edmins12}}}}"
        "\\pard Note de service\\par}"
    )
    path.write_bytes(text.encode("ascii"))
    return path


def make_odt(path: Path, *, initial: str, last: str, created: datetime, modified: datetime,
             language: str = "fr-FR") -> Path:
    from odf import dc, meta
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    doc = OpenDocumentText()
    doc.text.addElement(P(text="Compte rendu de réunion"))
    for el in list(doc.meta.childNodes):
        doc.meta.removeChild(el)
    doc.meta.addElement(meta.InitialCreator(text=initial))
    doc.meta.addElement(dc.Creator(text=last))
    doc.meta.addElement(meta.CreationDate(text=created.strftime("%Y-%m-%dT%H:%M:%S")))
    doc.meta.addElement(dc.Date(text=modified.strftime("%Y-%m-%dT%H:%M:%S")))
    doc.meta.addElement(dc.Language(text=language))
    doc.meta.addElement(meta.Generator(text="LibreOffice/6.4.7.2$Linux_X86_64 LibreOffice_project/40"))
    doc.meta.addElement(meta.EditingCycles(text="7"))
    doc.meta.addElement(meta.EditingDuration(text="PT1H30M12S"))
    doc.save(str(path))
    return path


# --- a minimal Compound File writer (olefile only rewrites existing files) -----------------

_SUMMARY_FMTID = bytes.fromhex("e0859ff2f94f6810ab9108002b27b3d9")
_DOCSUM_FMTID = bytes.fromhex("02d5cdd59c2e1b10939708002b2cf9ae")


def _filetime(d: datetime) -> int:
    return int((d - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)


def property_set(fmtid: bytes, props: dict[int, object], codepage: int) -> bytes:
    """A one-section property-set stream (MS-OLEPS) with I2, I4, LPSTR and FILETIME values."""
    entries = []
    for pid, value in sorted(props.items()):
        if pid == 1:
            blob = struct.pack("<HHhH", 2, 0, value, 0)  # VT_I2 codepage, padded
        elif isinstance(value, datetime):
            blob = struct.pack("<HHQ", 0x40, 0, _filetime(value))
        elif isinstance(value, timedelta):
            blob = struct.pack("<HHQ", 0x40, 0, int(value.total_seconds() * 10_000_000))
        elif isinstance(value, int):
            blob = struct.pack("<HHi", 3, 0, value)
        else:
            raw = str(value).encode(f"cp{codepage}") + b"\x00"
            raw += b"\x00" * (-len(raw) % 4)
            blob = struct.pack("<HHI", 0x1E, 0, len(raw)) + raw
        entries.append((pid, blob))
    header_len = 8 + 8 * len(entries)
    offsets, body, pos = [], b"", header_len
    for pid, blob in entries:
        offsets.append(struct.pack("<II", pid, pos))
        body += blob
        pos += len(blob)
    section = struct.pack("<II", header_len + len(body), len(entries)) + b"".join(offsets) + body
    stream = struct.pack("<HHI", 0xFFFE, 0, 0x00020006) + b"\x00" * 16 + struct.pack("<I", 1)
    stream += fmtid + struct.pack("<I", 48) + section
    return stream


def write_cfb(path: Path, streams: dict[str, bytes]) -> Path:
    """Write a version-3 compound file holding the given root-level streams.

    Every stream is padded to the 4096-byte mini-stream cutoff so that all of them live in
    ordinary sectors (no mini FAT needed); property-set readers stop at the section size.
    """
    sec = 512
    data = {n: s + b"\x00" * max(0, 4096 - len(s)) for n, s in streams.items()}
    data = {n: s + b"\x00" * (-len(s) % sec) for n, s in data.items()}
    names = sorted(data, key=lambda n: (len(n), n.upper()))
    n_dir_sectors = (len(names) + 1 + 3) // 4
    next_sector = 1 + n_dir_sectors
    fat = [0xFFFFFFFD] + [0xFFFFFFFE if i == n_dir_sectors - 1 else 1 + i + 1 for i in range(n_dir_sectors)]
    starts = {}
    for name in names:
        count = len(data[name]) // sec
        starts[name] = next_sector
        fat += [next_sector + i + 1 for i in range(count - 1)] + [0xFFFFFFFE]
        next_sector += count
    assert len(fat) <= 128
    fat += [0xFFFFFFFF] * (128 - len(fat))

    # Directory: entry 0 is the root; children form a balanced binary search tree.
    ids = {name: i + 1 for i, name in enumerate(names)}
    links: dict[str, tuple[int, int]] = {}

    def tree(items: list[str]) -> int:
        if not items:
            return 0xFFFFFFFF
        mid = len(items) // 2
        links[items[mid]] = (tree(items[:mid]), tree(items[mid + 1 :]))
        return ids[items[mid]]

    root_child = tree(names)

    def entry(name: str, kind: int, left: int, right: int, child: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", left, right, child) + b"\x00" * 16 + struct.pack("<I", 0)
                + struct.pack("<QQ", 0, 0) + struct.pack("<IQ", start, size))

    directory = entry("Root Entry", 5, 0xFFFFFFFF, 0xFFFFFFFF, root_child, 0xFFFFFFFE, 0)
    for name in names:
        left, right = links[name]
        directory += entry(name, 2, left, right, 0xFFFFFFFF, starts[name], len(streams[name]) if
                           len(streams[name]) >= 4096 else 4096)
    empty = b"\x00" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", *(0xFFFFFFFF,) * 3) + b"\x00" * 52
    while len(directory) < n_dir_sectors * sec:
        directory += empty

    header = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    header += struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    header += struct.pack("<I", 0) + struct.pack("<I", 0xFFFFFFFF) * 108
    body = b"".join(data[n] for n in names)
    path.write_bytes(header + struct.pack("<128I", *fat) + directory + body)
    return path


def make_doc(path: Path, *, author: str, last_by: str, created: datetime, modified: datetime,
             codepage: int = 1252, lid: int = 0x040C, company: str = "En Marche",
             application: str = "Microsoft Office Word", kind_stream: str = "WordDocument") -> Path:
    summary = {1: codepage, 4: author, 8: last_by, 9: "5", 10: timedelta(minutes=42), 12: created,
               13: modified, 18: application, 19: 0}
    docsum = {1: codepage, 15: company}
    fib = struct.pack("<HHHHHH", 0xA5EC, 0x00C1, 0, lid, 0, 0)
    return write_cfb(path, {
        "\x05SummaryInformation": property_set(_SUMMARY_FMTID, summary, codepage),
        "\x05DocumentSummaryInformation": property_set(_DOCSUM_FMTID, docsum, codepage),
        kind_stream: fib,
    })


# --- tests ------------------------------------------------------------------------------------

T0 = datetime(2017, 3, 1, 9, 30, tzinfo=UTC)
T1 = datetime(2017, 4, 20, 17, 5, tzinfo=UTC)


def _json_roundtrip(meta) -> dict:
    d = meta.to_dict()
    return json.loads(json.dumps(d))


def test_docx_core_app_rsids_and_language(tmp_path: Path) -> None:
    p = make_docx(tmp_path / "a.docx", author="Claire Martin", last_by="Paul Durand", created=T0, modified=T1,
                  company="En Marche")
    m = extract_metadata(p, DOCX)
    assert (m.family, m.author, m.last_modified_by, m.company) == ("ooxml", "Claire Martin", "Paul Durand",
                                                                  "En Marche")
    assert (m.created, m.modified, m.revision) == (T0, T1, "3")
    assert m.application and "Word" in m.application
    assert m.raw["package"] == "docx" and m.raw["rsid_count"] >= 1
    assert m.raw["editing_languages"]  # python-docx's template carries Word's default language
    assert m.findings == []
    assert _json_roundtrip(m)["created"] == T0.isoformat()


def test_docx_remote_template_and_macros_recorded(tmp_path: Path) -> None:
    # Template injection, a phishing technique: settings.xml.rels points Word at a remote template.
    p = make_docx(tmp_path / "t.docx", author="Claire Martin", last_by="Claire Martin", created=T0, modified=T1)
    rels = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'attachedTemplate" Target="https://mail-en-marche.fr/t.dotm" TargetMode="External"/></Relationships>')
    with zipfile.ZipFile(p, "a") as zf:
        zf.writestr("word/_rels/settings.xml.rels", rels)
        zf.writestr("word/vbaProject.bin", b"\x00" * 16)
    m = extract_metadata(p, DOCX)
    assert m.raw["external_targets"] == [{"part": "word/_rels/settings.xml.rels", "type": "attachedTemplate",
                                          "target": "https://mail-en-marche.fr/t.dotm"}]
    assert m.raw["macros"] is True


def test_encrypted_odf_is_reported(tmp_path: Path) -> None:
    p = make_odt(tmp_path / "a.odt", initial="A", last="B", created=T0, modified=T1)
    def encrypt_entry(b: bytes) -> bytes:
        root = etree.fromstring(b)
        ns = root.nsmap["manifest"]
        entry = root.find(f"{{{ns}}}file-entry[@{{{ns}}}full-path='content.xml']")
        etree.SubElement(entry, f"{{{ns}}}encryption-data", {f"{{{ns}}}checksum-type": "SHA1/1K"})
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    rewrite_zip_part(p, "META-INF/manifest.xml", encrypt_entry)
    assert b"encryption-data" in zipfile.ZipFile(p).read("META-INF/manifest.xml")
    m = extract_metadata(p, ODT)
    assert [f.code for f in m.findings] == ["ingest.encrypted"]


def test_xlsx_properties_and_workbook_fingerprint(tmp_path: Path) -> None:
    p = make_xlsx(tmp_path / "a.xlsx", author="Claire Martin", last_by="Paul Durand", created=T0, modified=T1,
                  company="En Marche", workbook_app="Calc", application="Microsoft Excel")
    m = extract_metadata(p, XLSX)
    assert (m.author, m.last_modified_by, m.company, m.created, m.modified) == (
        "Claire Martin", "Paul Durand", "En Marche", T0, T1)
    assert m.application == "Microsoft Excel"
    assert m.raw["structure_app"]["family"] == "libreoffice"
    assert isinstance(m.raw["zip_timestamps"], dict)  # openpyxl stamps real times, Office would not


def test_pdf_info_xmp_and_single_revision(tmp_path: Path) -> None:
    created = datetime(2017, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    p = make_pdf(tmp_path / "a.pdf", created=created, modified=created + timedelta(hours=2))
    m = extract_metadata(p, "application/pdf")
    assert (m.author, m.producer, m.application) == ("Claire Martin", "Microsoft: Print To PDF", "Microsoft Word")
    assert m.created == created and m.modified == created + timedelta(hours=2)
    assert m.raw["xmp"]["xmp:CreatorTool"] == "Microsoft Word"
    assert m.raw["revisions"] == 1 and m.raw["bytes_after_last_eof"] == 0
    assert "+01:00" in m.raw["tz_offsets"]
    assert not m.raw["javascript"] and m.raw["signature_fields"] == []
    _json_roundtrip(m)


def test_pdf_incremental_update_lists_changed_object_and_text(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "inv.pdf", created=T0, modified=T0)
    append_incremental_update(p, "1,250.00", "9,250.00", producer="PDF-XChange Editor 7.0", moddate=T1)
    m = extract_metadata(p, "application/pdf")
    assert m.raw["revisions"] == 2
    (change,) = m.raw["revision_changes"]
    assert change["changed"] and "content" in change["kinds"]
    (text,) = change["text_changes"]
    assert "1,250.00" in text["old_text"] and "9,250.00" in text["new_text"]
    assert m.raw["revision_producers"] == ["Microsoft: Print To PDF", "PDF-XChange Editor 7.0"]
    with pikepdf.open(p) as pdf:
        info_number = pdf.trailer.Info.objgen[0]
    assert info_number in change["changed"]  # the rewritten Info dictionary is listed too
    assert m.modified == T1


def test_linearized_pdf_is_one_revision_until_updated(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "a.pdf", created=T0, modified=T0)
    with pikepdf.open(p) as pdf:
        pdf.save(tmp_path / "lin.pdf", linearize=True)
    lin = tmp_path / "lin.pdf"
    assert lin.read_bytes().count(b"%%EOF") == 2  # the first-page section has its own
    m = extract_metadata(lin, "application/pdf")
    assert (m.raw["linearized"], m.raw["revisions"]) == (True, 1)
    append_incremental_update(lin, "1,250.00", "9,250.00")
    m = extract_metadata(lin, "application/pdf")
    assert m.raw["revisions"] == 2 and m.raw["revision_changes"][0]["text_changes"]


def test_pdf_bytes_after_last_eof_counted(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "a.pdf", created=T0, modified=T0)
    p.write_bytes(p.read_bytes() + b"\r\n" + b"PK\x03\x04 appended archive" + b"\n\x00\x00")
    m = extract_metadata(p, "application/pdf")
    assert m.raw["revisions"] == 1 and m.raw["bytes_after_last_eof"] == len(b"PK\x03\x04 appended archive")


def test_pdf_layers_named_and_hidden_flagged(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "layers.pdf", created=T0, modified=T0)
    add_layers(p)
    m = extract_metadata(p, "application/pdf")
    assert m.raw["ocg_layers"] == [{"name": "Original", "hidden": True}, {"name": "Overlay", "hidden": False}]


XMP_WITH_HISTORY = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
  xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
  xmp:CreatorTool="Adobe Photoshop CS6 (Windows)" xmp:CreateDate="2016-03-02T10:00:00+03:00"
  pdf:Producer="Adobe Photoshop CS6 (Windows)">
 <xmpMM:History><rdf:Seq>
  <rdf:li stEvt:action="created" stEvt:when="2016-03-02T10:00:00+03:00"
          stEvt:softwareAgent="Adobe Photoshop CS6 (Windows)"/>
  <rdf:li rdf:parseType="Resource"><stEvt:action>saved</stEvt:action>
          <stEvt:when>2017-05-04T21:55:00+03:00</stEvt:when><stEvt:changed>/</stEvt:changed></rdf:li>
 </rdf:Seq></xmpMM:History>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def test_pdf_xmp_history_and_active_content(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "a.pdf", created=T0, modified=T1)
    with pikepdf.open(p, allow_overwriting_input=True) as pdf:
        pdf.Root.Metadata = pdf.make_stream(XMP_WITH_HISTORY, Type=pikepdf.Name.Metadata,
                                            Subtype=pikepdf.Name.XML)
        pdf.attachments["accounts.xlsx"] = pikepdf.AttachedFileSpec(pdf, b"PK\x03\x04 not really")
        pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
        amount = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Tx, T=pikepdf.String("amount")))
        sig = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String("Signature1")))
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([amount, sig]))
        pdf.save(p)
    m = extract_metadata(p, "application/pdf")
    assert m.raw["xmp_history"] == [
        {"action": "created", "when": "2016-03-02T10:00:00+03:00", "softwareAgent": "Adobe Photoshop CS6 (Windows)"},
        {"action": "saved", "when": "2017-05-04T21:55:00+03:00", "changed": "/"},
    ]
    assert m.creator_tool == "Adobe Photoshop CS6 (Windows)"
    assert m.raw["embedded_files"] == ["accounts.xlsx"] and m.raw["javascript"] is True
    assert m.raw["form_fields"] == ["amount"]
    assert m.raw["signature_fields"] == [{"name": "Signature1", "signed": False}]


def test_pptx_properties(tmp_path: Path) -> None:
    import pptx

    deck = pptx.Presentation()
    deck.core_properties.author = "Sophie Lefèvre"
    deck.core_properties.last_modified_by = "Thomas Bernard"
    deck.core_properties.created, deck.core_properties.modified = T0, T1
    deck.save(tmp_path / "a.pptx")
    m = extract_metadata(tmp_path / "a.pptx",
                         "application/vnd.openxmlformats-officedocument.presentationml.presentation")
    assert (m.raw["package"], m.author, m.last_modified_by, m.created, m.modified) == (
        "pptx", "Sophie Lefèvre", "Thomas Bernard", T0, T1)


def test_pdf_encrypted_is_a_finding(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "a.pdf", created=T0, modified=T0)
    with pikepdf.open(p) as pdf:
        pdf.save(tmp_path / "enc.pdf", encryption=pikepdf.Encryption(owner="o", user="secret"))
    m = extract_metadata(tmp_path / "enc.pdf", "application/pdf")
    assert [f.code for f in m.findings] == ["ingest.encrypted"]


def test_jpeg_exif_camera_dates_gps(tmp_path: Path) -> None:
    p = make_jpeg(tmp_path / "a.jpg", artist="Claire Martin", changed="2017:05:02 10:00:00")
    m = extract_metadata(p, "image/jpeg")
    assert m.raw["camera"] == "Canon EOS 80D" and m.application == "Firmware 1.0" and m.author == "Claire Martin"
    assert m.created == datetime(2017, 5, 1, 7, 0, tzinfo=UTC)
    assert m.modified == datetime(2017, 5, 2, 8, 0, tzinfo=UTC)
    assert m.raw["gps"] == {"latitude": 48.858333, "longitude": 2.35}


def test_png_without_exif_is_empty_not_an_error(tmp_path: Path) -> None:
    p = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(p)
    m = extract_metadata(p, "image/png")
    assert m.findings == [] and m.created is None


def test_rtf_info_group_with_cyrillic_operator(tmp_path: Path) -> None:
    p = make_rtf(tmp_path / "a.rtf", author="Claire Martin", operator="Рошка Георгий Петрович",
                 created=datetime(2016, 1, 5, 10, 0), revised=datetime(2017, 4, 20, 11, 0), codepage=1251,
                 lang=1049)
    m = extract_metadata(p, "application/rtf")
    assert (m.author, m.last_modified_by, m.company) == ("Claire Martin", "Рошка Георгий Петрович", "En Marche")
    assert (m.codepage, m.language, m.revision, m.total_time) == (1251, "ru-RU", "4", 12)
    assert m.application == "Riched20 10.0.19041"
    assert m.created == datetime(2016, 1, 5, 10, 0, tzinfo=UTC) and m.naive("created")


def test_odt_meta(tmp_path: Path) -> None:
    p = make_odt(tmp_path / "a.odt", initial="Claire Martin", last="Paul Durand", created=T0, modified=T1)
    m = extract_metadata(p, ODT)
    assert (m.author, m.last_modified_by, m.language, m.revision, m.total_time) == (
        "Claire Martin", "Paul Durand", "fr-FR", "7", 90)
    assert m.application.startswith("ODFPY/")  # odfpy stamps its own generator on save
    assert m.created == T0 and m.modified == T1 and m.naive("modified")


def test_ole_doc_summary_information(tmp_path: Path) -> None:
    p = make_doc(tmp_path / "a.doc", author="Рошка Георгий Петрович", last_by="Рошка Георгий Петрович",
                 created=T0, modified=T1, codepage=1251, lid=0x0419, company="Компания")
    m = extract_metadata(p, DOC)
    assert (m.author, m.last_modified_by, m.company, m.codepage) == (
        "Рошка Георгий Петрович", "Рошка Георгий Петрович", "Компания", 1251)
    assert (m.created, m.modified, m.revision, m.total_time) == (T0, T1, "5", 42)
    assert m.application == "Microsoft Office Word" and m.language == "ru-RU"
    assert m.raw["ole_kind"] == "word" and m.findings == []


def test_real_ole_container_without_properties() -> None:
    # A real OLE2 file shipped by Debian's cmake (no Office property sets): read without error.
    sample = Path("/usr/share/cmake-3.25/Templates/CMakeVSMacros2.vsmacros")
    if not sample.exists():
        import pytest

        pytest.skip("cmake's OLE template not installed")
    m = extract_metadata(sample, "application/x-ole-storage")
    assert m.family == "ole" and m.raw["ole_kind"] == "other" and m.findings == [] and m.author is None


def test_encrypted_ooxml_inside_ole_is_reported(tmp_path: Path) -> None:
    p = write_cfb(tmp_path / "secret.xlsx", {"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"x" * 64})
    m = extract_metadata(p, XLSX)
    assert [f.code for f in m.findings] == ["ingest.encrypted"]


def test_garbage_labelled_pdf_is_a_finding_not_an_exception(tmp_path: Path) -> None:
    p = tmp_path / "bad.pdf"
    p.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    m = extract_metadata(p, "application/pdf")
    assert [f.code for f in m.findings] == ["doc.metadata_unreadable"]
    assert "PdfError" in m.findings[0].evidence["error"]
