"""Every metadata parser, fed truncated and mutated versions of real files, returns a record
(possibly with a `doc.metadata_unreadable` finding) and never raises."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_docmeta_formats import (
    DOC,
    DOCX,
    ODT,
    XLSX,
    append_incremental_update,
    make_doc,
    make_docx,
    make_jpeg,
    make_odt,
    make_pdf,
    make_rtf,
    make_xlsx,
)

from leaklens.verify.docmeta import extract_metadata

T0 = datetime(2017, 3, 1, 9, 30, tzinfo=UTC)
T1 = datetime(2017, 4, 20, 17, 5, tzinfo=UTC)


def _samples() -> dict[str, tuple[bytes, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        pdf = make_pdf(d / "a.pdf", created=T0, modified=T1)
        append_incremental_update(pdf, "1,250.00", "9,250.00")
        files = {
            "pdf": (pdf, "application/pdf"),
            "docx": (make_docx(d / "a.docx", author="A", last_by="B", created=T0, modified=T1), DOCX),
            "xlsx": (make_xlsx(d / "a.xlsx", author="A", last_by="B", created=T0, modified=T1), XLSX),
            "odt": (make_odt(d / "a.odt", initial="A", last="B", created=T0, modified=T1), ODT),
            "doc": (make_doc(d / "a.doc", author="A", last_by="B", created=T0, modified=T1), DOC),
            "rtf": (make_rtf(d / "a.rtf", author="A", operator="B", created=T0, revised=T1), "application/rtf"),
            "jpeg": (make_jpeg(d / "a.jpg"), "image/jpeg"),
        }
        return {k: (p.read_bytes(), mime) for k, (p, mime) in files.items()}


SAMPLES = _samples()


def _check(data: bytes, mime: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "f"
        p.write_bytes(data)
        meta = extract_metadata(p, mime)
    json.dumps(meta.to_dict())  # always serialisable, whatever was parsed
    assert all(f.code in ("doc.metadata_unreadable", "ingest.encrypted") for f in meta.findings)


mutation = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=12)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1), flips=mutation)
def test_truncated_and_mutated_files_never_raise(kind: str, cut: float, flips: list[tuple[float, int]]) -> None:
    data, mime = SAMPLES[kind]
    _check(data[: int(len(data) * cut)], mime)
    mutated = bytearray(data)
    for where, value in flips:
        mutated[int(where * len(mutated))] = value
    _check(bytes(mutated), mime)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2048), mime=st.sampled_from(
    ["application/pdf", DOCX, XLSX, ODT, DOC, "application/rtf", "image/jpeg", "image/png", "image/tiff",
     "application/octet-stream"]))
def test_arbitrary_bytes_never_raise(data: bytes, mime: str) -> None:
    _check(data, mime)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_byte_region_mutated(kind: str) -> None:
    # Deterministic sweep: corrupt 64-byte windows across the whole file (headers, tables, tails).
    data, mime = SAMPLES[kind]
    step = max(len(data) // 40, 64)
    for start in range(0, len(data), step):
        mutated = bytearray(data)
        mutated[start : start + 64] = b"\xff" * len(mutated[start : start + 64])
        _check(bytes(mutated), mime)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_date_parsers_never_raise(text: str) -> None:
    from leaklens.verify.docmeta.common import parse_iso
    from leaklens.verify.docmeta.exif import parse_exif_date
    from leaklens.verify.docmeta.odf import duration_minutes
    from leaklens.verify.docmeta.pdf import parse_pdf_date

    for value in (parse_pdf_date(text), parse_pdf_date("D:" + text), parse_iso(text), parse_exif_date(text, text)):
        assert value is None or value.year >= 1
    assert duration_minutes(text) is None or duration_minutes(text) >= 0


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_pdf_content_text_never_raises(data: bytes) -> None:
    from leaklens.verify.docmeta.pdf import content_text

    assert isinstance(content_text(b"BT (" + data + b") Tj ET"), str)
