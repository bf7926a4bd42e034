"""Text extraction from real files: planted words come out, hostile files never crash it."""

from __future__ import annotations

import io
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sniff import WORDS, make_ole, make_pdf, samples

from leaklens.ingest import sniff as S
from leaklens.ingest.text import STATUSES, TextResult, decode_text, extract_text
from leaklens.model import SEVERITIES


def run(tmp_path: Path, data: bytes, mime: str, name: str = "blob", **kw) -> TextResult:
    path = tmp_path / name
    path.write_bytes(data)
    result = extract_text(path, mime, **kw)
    check_result(result)
    return result


def check_result(result: TextResult) -> None:
    """What every caller may rely on, whatever the input."""
    assert result.status in STATUSES
    assert (result.text is None) == (result.status in ("unsupported", "failed"))
    if result.text is not None:
        result.text.encode("utf-8")  # no lone surrogates: storable anywhere (a NUL is kept: issue 16)
    for f in result.findings:
        assert f.severity in SEVERITIES and "\n" not in f.message
    if result.status in ("failed", "truncated"):
        assert result.findings


def codes(result: TextResult) -> list[str]:
    return [f.code for f in result.findings]


def rewrite_zip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """The same package with some members' bytes replaced (or added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, replace.pop(info.filename, None) or src.read(info))
        for name, content in replace.items():
            dst.writestr(name, content)
    return out.getvalue()


# -- planted words -------------------------------------------------------------------------

@pytest.mark.parametrize("label", ["pdf", "docx", "xlsx", "pptx", "odt", "ods", "odp"])
def test_planted_words_come_out(label: str, tmp_path: Path) -> None:
    data, mime = samples()[label]
    result = run(tmp_path, data, mime)
    assert result.status == "extracted", result.findings
    for word in WORDS[label]:
        assert word in result.text, (word, result.text)


def test_pdf_pages_in_order_separated_by_form_feed(tmp_path: Path) -> None:
    result = run(tmp_path, make_pdf("alpha", pages=3), S.PDF)
    pages = result.text.split("\f")
    assert [p.strip() for p in pages] == ["alpha page1", "alpha page2", "alpha page3"]


def test_docx_keeps_tabs_and_paragraphs(tmp_path: Path) -> None:
    text = run(tmp_path, samples()["docx"][0], S.DOCX).text
    assert "The marmalade is\ton the table" in text
    assert "tablecellword\nsecond cell" in text


def test_xlsx_cells_rows_and_sheets(tmp_path: Path) -> None:
    text = run(tmp_path, samples()["xlsx"][0], S.XLSX).text
    lines = text.splitlines()
    assert lines[0] == "Budget"
    assert lines[1] == "spreadsheetword\t4242\tTRUE"
    assert "Other" in lines and "secondsheetword" in lines
    assert "1+1" not in text  # a formula is not what the reader sees


def test_xlsx_inline_strings(tmp_path: Path) -> None:
    data = samples()["xlsx"][0]
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>inlineword</t>'
             b'</is></c><c r="B1" t="str"><v>formularesult</v></c><c r="C1" t="s"><v>999</v></c>'
             b"</row></sheetData></worksheet>")
    result = run(tmp_path, rewrite_zip(data, {"xl/worksheets/sheet2.xml": sheet}), S.XLSX)
    assert "inlineword\tformularesult" in result.text  # a bad shared-string index is just skipped


def test_pptx_slides_in_presentation_order_with_notes(tmp_path: Path) -> None:
    text = run(tmp_path, samples()["pptx"][0], S.PPTX).text
    assert text.index("slideonetitle") < text.index("speakernote") < text.index("slidetwobody")


def test_ods_ignores_a_million_repeated_empty_rows(tmp_path: Path) -> None:
    start = time.perf_counter()
    text = run(tmp_path, samples()["ods"][0], S.ODS).text
    assert time.perf_counter() - start < 2
    assert text == "odscellword\tthird"


def test_odt_expands_spaces(tmp_path: Path) -> None:
    text = run(tmp_path, samples()["odt"][0], S.ODT).text
    assert "opendocword   after spaces" in text


def test_html_visible_text_only(tmp_path: Path) -> None:
    page = (b"<html><head><title>titleword</title><style>body{color:red}</style>"
            b"<script>var hidden='scriptword';</script></head>"
            b"<body><h1>Heading</h1><p>Visible <b>bold</b>text &amp; more</p>"
            b"<script>alert(1)</script><noscript>fallbackword</noscript>"
            b"<table><tr><td>c1</td><td>c2</td></tr></table><!-- commentword -->"
            b'<a href="https://evil.example/track">linkword</a><img src="http://evil.example/x.png"></body></html>')
    text = run(tmp_path, page, S.HTML).text
    for hidden in ("alert", "scriptword", "color:red", "titleword", "commentword", "evil.example"):
        assert hidden not in text
    assert "Heading" in text and "Visible boldtext & more" in text and "linkword" in text
    assert "c1\tc2" in text


def test_html_charset_from_meta_and_utf8_fallback(tmp_path: Path) -> None:
    latin = '<meta charset="windows-1251"><p>Привет</p>'.encode("cp1251")
    assert "Привет" in run(tmp_path, latin, S.HTML).text
    utf8 = "<p>Zoë – “quoted”</p>".encode()
    assert "Zoë – “quoted”" in run(tmp_path, utf8, S.HTML).text
    liar = '<meta charset="no-such-charset"><p>caf\u00e9</p>'.encode()
    result = run(tmp_path, liar, S.HTML)
    assert "café" in result.text and "mime.unknown_charset" in codes(result)


def test_hostile_html_deep_nesting_and_huge_entities(tmp_path: Path) -> None:
    deep = b"<div>" * 50_000 + b"deepword" + b"</div>" * 50_000
    result = run(tmp_path, deep, S.HTML)
    assert result.status in ("extracted", "empty", "failed")
    dtd = b'<!DOCTYPE html [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]><p>&y;&y;safe</p>'
    result = run(tmp_path, dtd, S.HTML)
    assert "safe" in (result.text or "")


RTF = (rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial;}{\f1\fcharset204 Times Cyr;}}"
       rb"{\colortbl;\red255\green0\blue0;}{\*\generator Hand 1.0;}{\info{\title infotitle}{\author someone}}"
       rb"\pard\f0 Caf\'e9 cr\'e8me\par"
       rb"\f1 \'cf\'f0\'e8\'e2\'e5\'f2\f0\par"
       rb"\uc1\u1055?\u1088?\u1080? unicode\par"
       rb"\u-10179?\u-8704? emoji\par"
       rb"{\field{\*\fldinst HYPERLINK \"http://x.example\"}{\fldrslt linkresult}}\par "
       rb"tab\tab here\line next\par"
       rb"{\pict\pngblip 89504e470d0a1a0a0000}"
       rb"before\bin4 \x00\x01\x02\x03after\par"
       rb"\{braces\} and \\backslash\par}")


def test_rtf(tmp_path: Path) -> None:
    text = run(tmp_path, RTF, S.RTF).text
    assert "Café crème" in text
    assert "Привет" in text  # \'hh bytes in the font's charset (cp1251)
    assert "При unicode" in text  # \uN with its '?' fallback skipped
    assert "\U0001f600 emoji" in text  # a surrogate pair
    assert "linkresult" in text and "HYPERLINK" not in text
    assert "tab\there\nnext" in text
    assert "beforeafter" in text
    assert "{braces} and \\backslash" in text
    for hidden in ("Arial", "infotitle", "Hand 1.0", "89504e", "red255"):
        assert hidden not in text


def test_rtf_tolerates_junk(tmp_path: Path) -> None:
    for junk in (b"{\\rtf1 unclosed {{{ group", b"}}}}\\", b"{" * 5000 + b"deep" + b"}" * 10,
                 b"{\\rtf1\\ansicpg99999 \\'zz \\u99999999999 \\bin999999999}"):
        run(tmp_path, junk, S.RTF)


@pytest.mark.parametrize(("data", "expected"), [
    ("naïve café\n".encode(), "naïve café"),
    ("naïve café\n".encode("cp1252"), "naïve café"),
    ("\u201cquoted\u201d".encode("cp1252"), "\u201cquoted\u201d"),
    ("UTF-16 text".encode("utf-16"), "UTF-16 text"),
    (b"\xef\xbb\xbfwith bom", "with bom"),
    (b"a\x00b", "a\x00b"),  # kept, never cut or dropped (issue 16); pages show it as a marker
])
def test_plain_text_decoding(data: bytes, expected: str, tmp_path: Path) -> None:
    assert run(tmp_path, data, S.TEXT).text == expected


def test_csv_and_other_text_types_read_as_text(tmp_path: Path) -> None:
    assert run(tmp_path, b"a,b\n1,2\n", "text/csv").text == "a,b\n1,2"
    assert run(tmp_path, b'{"k": "v"}', "application/json").text == '{"k": "v"}'


def test_xml_text_nodes(tmp_path: Path) -> None:
    data = b'<?xml version="1.0"?><r><a>one</a><b>two <i>three</i> four</b><!--c--></r>'
    assert run(tmp_path, data, S.XML).text.split() == ["one", "two", "three", "four"]


BOMB_DTD = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                       for i in range(1, 10))
            + b"]>")


def test_billion_laughs_in_plain_xml_is_not_expanded(tmp_path: Path) -> None:
    data = b'<?xml version="1.0"?>' + BOMB_DTD + b"<r>before &lol9; after</r>"
    start = time.perf_counter()
    result = run(tmp_path, data, S.XML)
    assert time.perf_counter() - start < 2
    assert "lollol" not in (result.text or "")


@pytest.mark.parametrize("member", ["word/document.xml", "word/header1.xml", "word/comments.xml"])
def test_billion_laughs_inside_a_docx(member: str, tmp_path: Path) -> None:
    body = (b'<?xml version="1.0" encoding="UTF-8"?>' + BOMB_DTD
            + b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            b"<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>")
    data = rewrite_zip(samples()["docx"][0], {member: body})
    start = time.perf_counter()
    result = run(tmp_path, data, S.DOCX)
    assert time.perf_counter() - start < 2
    assert "ingest.xml_dtd" in codes(result)
    assert "lollol" not in (result.text or "")
    if member != "word/document.xml":
        assert "marmalade" in result.text  # the body before the bad part is kept
    else:
        assert result.status == "failed"


def test_doctype_disguised_by_utf7_is_refused(tmp_path: Path) -> None:
    body = (b'<?xml version="1.0" encoding="UTF-7"?>'
            b"+ADw-!DOCTYPE x +AFs-+ADw-!ENTITY a +ACI-boom+ACI-+AD4-+AF0-+AD4-"
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
            b"<w:r><w:t>&a;</w:t></w:r></w:p></w:body></w:document>")
    result = run(tmp_path, rewrite_zip(samples()["docx"][0], {"word/document.xml": body}), S.DOCX)
    assert "ingest.xml_dtd" in codes(result)
    assert "boom" not in (result.text or "")


def test_enormous_zip_member_is_capped(tmp_path: Path) -> None:
    para = b"<w:p><w:r><w:t>filler</w:t></w:r></w:p>"
    body = (b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
            + para * 200_000 + b"</w:body></w:document>")
    data = rewrite_zip(samples()["docx"][0], {"word/document.xml": body})
    assert len(data) < len(body) / 50  # a high compression ratio, as in a zip bomb
    result = run(tmp_path, data, S.DOCX, max_bytes=1 << 20)
    assert result.status == "truncated"
    assert "ingest.member_too_large" in codes(result)
    assert "filler" in result.text


def test_zip_bomb_spread_over_many_parts_is_capped_in_total(tmp_path: Path) -> None:
    para = b"<w:p><w:r><w:t>headerfill</w:t></w:r></w:p>"
    header = (b'<w:hdr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
              + para * 8_000 + b"</w:hdr>")  # ~350 KB each
    parts = {f"word/header{i}.xml": header for i in range(2, 12)}
    data = rewrite_zip(samples()["docx"][0], parts)
    result = run(tmp_path, data, S.DOCX, max_bytes=1 << 20)  # each part fits, all of them do not
    assert result.status == "truncated"
    assert "ingest.member_too_large" in codes(result)
    assert "marmalade" in result.text


# -- statuses ------------------------------------------------------------------------------

def test_max_chars_truncates_with_a_finding(tmp_path: Path) -> None:
    for label in ("pdf", "docx", "xlsx", "odt", "txt"):
        data, mime = samples()[label]
        result = run(tmp_path, data, mime, max_chars=12)
        assert result.status == "truncated", label
        assert len(result.text) <= 12
        assert codes(result) == ["ingest.text_truncated"]
        assert result.findings[0].evidence["max_chars"] == 12


def test_big_plain_text_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    data = "é".encode() * 3_000_000
    result = run(tmp_path, data, S.TEXT, max_chars=1000)
    assert result.status == "truncated" and set(result.text) == {"é"}


@pytest.mark.parametrize("label", ["png", "jpeg", "gif", "doc", "xls", "msg", "zip", "bin", "pst"])
def test_formats_without_text_are_unsupported(label: str, tmp_path: Path) -> None:
    data, mime = samples()[label]
    result = run(tmp_path, data, mime)
    assert result == TextResult(None, "unsupported", [])


def test_scanned_pdf_and_empty_files_are_empty(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.rect(10, 10, 100, 100, fill=1)  # an image-only page has no text layer
    c.showPage()
    c.save()
    assert run(tmp_path, buf.getvalue(), S.PDF).status == "empty"
    assert run(tmp_path, b"", S.EMPTY) == TextResult("", "empty", [])
    assert run(tmp_path, b"  \n\n ", S.TEXT).status == "empty"


@pytest.mark.parametrize(("label", "damage"), [
    ("pdf", lambda d: d[:300]),
    ("pdf", lambda d: b"%PDF-1.4\n" + b"\x00garbage" * 50),
    ("docx", lambda d: d[: len(d) // 2]),
    ("docx", lambda d: b"PK\x03\x04" + b"\xff" * 500),
    ("xlsx", lambda d: d[:-30]),
    ("odt", lambda d: b"not a zip at all"),
])
def test_corrupt_files_fail_with_a_finding(label: str, damage, tmp_path: Path) -> None:
    data, mime = samples()[label]
    result = run(tmp_path, damage(data), mime)
    assert result.status == "failed"
    assert codes(result) == ["ingest.text_failed"]
    finding = result.findings[0]
    assert finding.severity == "warning" and finding.evidence["error"]


def test_missing_file_fails_with_a_finding(tmp_path: Path) -> None:
    result = extract_text(tmp_path / "gone.pdf", S.PDF)
    assert result.status == "failed" and codes(result) == ["ingest.text_failed"]


def test_encrypted_pdf(tmp_path: Path) -> None:
    import pikepdf

    src = tmp_path / "plain.pdf"
    src.write_bytes(make_pdf("secretword"))
    with pikepdf.open(src) as pdf:
        pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(owner="o", user="u", R=6))
        # Owner-only protection (empty user password) opens for anyone: its text is readable.
        pdf.save(tmp_path / "owner.pdf", encryption=pikepdf.Encryption(owner="o", user="", R=4))
    locked = extract_text(tmp_path / "locked.pdf", S.PDF)
    check_result(locked)
    assert locked.status == "failed" and codes(locked) == ["ingest.encrypted"]
    assert locked.findings[0].severity == "warning"
    owner = extract_text(tmp_path / "owner.pdf", S.PDF)
    assert owner.status == "extracted" and "secretword" in owner.text


def test_encrypted_office_and_opendocument(tmp_path: Path) -> None:
    locked = run(tmp_path, make_ole("EncryptionInfo", "EncryptedPackage"), S.DOCX)
    assert locked.status == "failed" and codes(locked) == ["ingest.encrypted"]
    odt = samples()["odt"][0]
    with zipfile.ZipFile(io.BytesIO(odt)) as zf:
        manifest = zf.read("META-INF/manifest.xml")
    encryption = b"<manifest:encryption-data manifest:checksum-type='SHA1'/>"
    manifest = manifest.replace(b"</manifest:manifest>", encryption + b"</manifest:manifest>")
    result = run(tmp_path, rewrite_zip(odt, {"META-INF/manifest.xml": manifest}), S.ODT)
    assert result.status == "failed" and codes(result) == ["ingest.encrypted"]


# -- decode_text ---------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "charset", "text", "finding"), [
    ("héllo".encode(), "utf-8", "héllo", None),
    ("héllo".encode("latin-1"), "ISO-8859-1", "héllo", None),
    ("\u201cq\u201d".encode("cp1252"), "iso-8859-1", "\u201cq\u201d", None),  # browsers' rule
    ("héllo".encode(), "iso-8859-1", "héllo", None),  # mislabelled UTF-8
    ("Привет".encode("koi8-r"), '"KOI8-R"', "Привет", None),
    ("日本語".encode("shift_jis"), "Shift_JIS", "日本語", None),
    ("中文".encode("gb18030"), "gb2312", "中文", None),
    ("héllo".encode("cp1252"), "utf-8", "héllo", "mime.bad_charset"),
    (b"hello", "x-klingon", "hello", "mime.unknown_charset"),
    (b"aGVsbG8=", "base64", "aGVsbG8=", "mime.unknown_charset"),  # a codec, but not a charset
    ("héllo".encode(), None, "héllo", None),
    ("héllo".encode("cp1252"), None, "héllo", None),
    (b"\x81\x8d\x8f", None, "\x81\x8d\x8f", None),  # bytes undefined in Windows-1252
    ("héllo".encode("utf-16"), None, "héllo", None),
    (b"+2D3eAA-", "utf-7", "\U0001f600", None),
    (b"plain", "unknown-8bit", "plain", None),
    (b"\xef\xbb\xbfbom and declared", "utf-8", "bom and declared", None),
])
def test_decode_text(data: bytes, charset: str | None, text: str, finding: str | None) -> None:
    decoded, findings = decode_text(data, charset)
    assert decoded == text
    assert [f.code for f in findings] == ([finding] if finding else [])
    if findings:
        assert findings[0].severity == "info"


def test_decode_text_replaces_lone_surrogates() -> None:
    text, _ = decode_text(b"+2D0-", "utf-7")  # half of a surrogate pair
    assert set(text) == {"\ufffd"}
    text.encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=500), st.one_of(st.none(), st.text(max_size=30), st.sampled_from(
    ["utf-8", "utf-16", "utf-7", "shift_jis", "iso-2022-jp", "big5", "rot13", "zlib", "idna", "punycode",
     "utf-32", "cp037", "mbcs", "raw_unicode_escape", "unicode_escape"])))
def test_decode_text_never_raises(data: bytes, charset: str | None) -> None:
    text, findings = decode_text(data, charset)
    text.encode("utf-8")
    assert all(f.severity in SEVERITIES for f in findings)


# -- damaged copies of real files ------------------------------------------------------------

FUZZ_LABELS = ["pdf", "docx", "xlsx", "pptx", "odt", "ods", "rtf", "html", "xml", "txt", "eml"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FUZZ_LABELS), st.data())
def test_extract_text_never_raises_on_damaged_real_files(label: str, data) -> None:
    raw = bytearray(samples()[label][0])
    mime = samples()[label][1]
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    for _ in range(data.draw(st.integers(0, 8))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged"
        path.write_bytes(bytes(raw))
        check_result(extract_text(path, mime, max_chars=data.draw(st.sampled_from([50, 5_000_000]))))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([S.PDF, S.DOCX, S.XLSX, S.PPTX, S.ODT, S.RTF, S.HTML,
                                                   S.XML, S.TEXT]))
def test_extract_text_never_raises_on_random_bytes(data: bytes, mime: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random"
        path.write_bytes(data)
        check_result(extract_text(path, mime))
