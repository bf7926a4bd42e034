"""Office documents previewed as pages: converted to PDF by the real LibreOffice (a throw-away profile,
no network, no macros, a deadline), cached per sha256 in the case folder, drawn by the PDF renderers
and served as PNGs only; where LibreOffice is missing or fails, the text read at ingest with the
reason, never a 500. Skipped without LibreOffice, failed instead with LEAKLENS_REQUIRE_LIBREOFFICE=1."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import office_fixtures as of
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from PIL import Image

from leaklens import integrity
from leaklens.case import Case
from leaklens.preview import office
from leaklens.web.app import create_app

of.need_libreoffice()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Case:
    return of.build_case(tmp_path_factory.mktemp("office"))


@pytest.fixture(scope="module")
def client(case) -> TestClient:
    return TestClient(create_app(case.root))


def _row(case, name: str):
    return next(iter(case.db.items("name=?", (name,))))


def _png(client, url: str) -> Image.Image:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG")
    assert "sandbox" in r.headers["content-security-policy"]
    return Image.open(io.BytesIO(r.content)).convert("RGB")


def _reds(img: Image.Image) -> int:
    raw = img.tobytes()
    return sum(1 for i in range(0, len(raw), 3) if raw[i] > 200 and raw[i + 1] < 80 and raw[i + 2] < 80)


def test_a_docx_is_drawn_page_by_page_from_libreoffices_pdf(client, case):
    memo = _row(case, "memo.docx")
    r = client.get(f"/items/{memo['id']}/preview")
    assert r.status_code == 200
    doc = lxml_html.fromstring(r.text)
    assert doc.xpath("string(//h2[@id='h-page'])").strip() == "Page 1 of 2"
    assert doc.xpath("//img[@id='page-img']/@src") == [f"/items/{memo['id']}/preview/1.png"]
    assert "LibreOffice made" in doc.xpath("string(//*[@id='office-note'])")
    assert not doc.xpath("//aside[@class='preview-side']")  # no layers/revisions of a PDF we made
    # The text read at ingest is still there, folded, for copying and reading without layout.
    assert "the printer is paid on Friday" in doc.xpath("string(//details[@class='office-text'])")
    first, second = (
        _png(client, f"/items/{memo['id']}/preview/1.png"),
        _png(client, f"/items/{memo['id']}/preview/2.png"),
    )
    assert first.height > first.width  # a page, portrait
    assert _reds(first) > 500 and _reds(second) == 0  # RED_TEXT is on page 1 only
    assert client.get(f"/items/{memo['id']}/preview/3.png").status_code == 422
    # Never the PDF, never the document: every URL the page names is a PNG route or the app's own.
    assert not [u for u in doc.xpath("//@src | //@href") if u.endswith((".pdf", ".docx")) or "cache" in u]


def test_a_spreadsheet_cell_fill_and_an_odt_are_drawn(client, case):
    budget = _row(case, "budget.xlsx")
    assert _reds(_png(client, f"/items/{budget['id']}/preview/1.png")) > 500  # B2, filled red
    minutes = _row(case, "minutes.odt")
    page = lxml_html.fromstring(client.get(f"/items/{minutes['id']}/preview").text)
    assert page.xpath("string(//h2[@id='h-page'])").strip() == "Page 1 of 1"
    img = _png(client, f"/items/{minutes['id']}/preview/1.png")
    assert min(img.convert("L").tobytes()) < 100  # its text, drawn in black


def test_a_slide_is_drawn_landscape(client, case):
    slides = _row(case, "slides.pptx")
    img = _png(client, f"/items/{slides['id']}/preview/1.png")
    assert img.width > img.height and _reds(img) > 5000  # 16:9, the red rectangle


def test_the_pdf_is_cached_per_sha256_in_the_case_folder_not_among_the_blobs(client, case, monkeypatch):
    memo = _row(case, "memo.docx")
    client.get(f"/items/{memo['id']}/preview")
    cached = office.cache_path(case.root, memo["sha256"])
    assert cached.is_file() and cached.read_bytes().startswith(b"%PDF-")
    assert case.root / "cache" in cached.parents and case.blobs.root not in cached.parents
    # The original is untouched by the conversion (LibreOffice read a copy).
    assert hashlib.sha256(case.blobs.path(memo["sha256"]).read_bytes()).hexdigest() == memo["sha256"]

    # A second view converts nothing: the cached PDF is drawn.
    def no_conversion(*a, **k):
        raise AssertionError("converted again")

    monkeypatch.setattr(office, "convert", no_conversion)
    assert office.pdf_of(case.root, case.blobs.path(memo["sha256"]), memo["sha256"], memo["mime"]) == cached
    assert client.get(f"/items/{memo['id']}/preview").status_code == 200
    # fsck counts blobs only: the cache is derived data, not an unowned blob or a problem.
    report = integrity.fsck(case)
    assert report.clean, [p.message for p in report.problems]
    assert report.blobs == len({r["sha256"] for r in case.db.items() if r["sha256"]})


def test_two_requests_for_one_document_convert_it_once(tmp_path, monkeypatch):
    blob = tmp_path / "memo.docx"
    blob.write_bytes(of.docx_bytes(1, "locked"))
    sha = hashlib.sha256(blob.read_bytes()).hexdigest()
    real, calls = office.convert, []

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(office, "convert", counted)
    results, start = [], threading.Barrier(3)

    def view():
        start.wait()
        results.append(office.pdf_of(tmp_path / "case", blob, sha, DOCX))

    threads = [threading.Thread(target=view) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 3 and len(set(results)) == 1 and len(calls) == 1


def _office_processes(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if pid.isdigit() and marker.encode() in cmd:
            found.append(int(pid))
    return found


def test_a_conversion_over_its_deadline_is_killed_whole(tmp_path, monkeypatch):
    blob = tmp_path / "memo.docx"
    blob.write_bytes(of.docx_bytes(1, "slow"))
    # The throw-away folder is made under our own prefix here, so that this test's LibreOffice
    # processes (soffice and the soffice.bin it starts) can be told from any other.
    marker = f"leaklens-office-{os.getpid()}-deadline-"
    real = office.tempfile.TemporaryDirectory
    monkeypatch.setattr(office.tempfile, "TemporaryDirectory", lambda prefix: real(prefix=marker))
    with pytest.raises(office.ConvertError, match=r"LibreOffice took over 0.3 s"):
        office.convert(blob, DOCX, tmp_path / "out.pdf", timeout=0.3)
    assert not (tmp_path / "out.pdf").exists()
    assert _office_processes(marker) == []


def test_a_document_libreoffice_cannot_read_is_its_text_and_one_line(client, case):
    damaged = _row(case, "damaged.docx")
    r = client.get(f"/items/{damaged['id']}/preview")
    assert r.status_code == 200 and "Traceback" not in r.text
    note = lxml_html.fromstring(r.text).xpath("string(//*[@id='office-note'])")
    assert note.startswith("Not drawn as pages: LibreOffice could not read this document")
    assert client.get(f"/items/{damaged['id']}/preview/1.png").status_code == 422
    assert not office.cache_path(case.root, damaged["sha256"]).exists()


def test_a_timeout_in_the_web_view_falls_back_to_the_text(tmp_path, monkeypatch):
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "slow.docx").write_bytes(of.docx_bytes(1, "timeout"))
    from leaklens.ingest.walker import ingest

    with Case.open(tmp_path / "case", create=True) as c:
        ingest(c, [dump], workers=1)
        row = _row(c, "slow.docx")
    monkeypatch.setattr(office, "CONVERT_TIMEOUT", 0.2)
    r = TestClient(create_app(tmp_path / "case")).get(f"/items/{row['id']}/preview")
    assert r.status_code == 200
    doc = lxml_html.fromstring(r.text)
    assert doc.xpath("string(//*[@id='office-note'])").startswith("Not drawn as pages: LibreOffice took over 0.2 s")
    assert "the printer is paid on Friday" in doc.xpath("string(//pre)")


def test_without_libreoffice_the_page_says_so_and_shows_the_text(client, case, monkeypatch):
    monkeypatch.setattr(office, "soffice", lambda: None)
    minutes = _row(case, "minutes.odt")
    doc = lxml_html.fromstring(client.get(f"/items/{minutes['id']}/preview").text)
    assert "LibreOffice is installed, and it is not installed here" in doc.xpath("string(//*[@id='office-note'])")
    assert "the budget is approved" in doc.xpath("string(//pre)")
    assert client.get(f"/items/{minutes['id']}/preview/1.png").status_code == 404


def test_rlo_and_nul_in_the_text_are_drawn_and_marked(client, case):
    rtf = _row(case, "invoice.rtf")
    r = client.get(f"/items/{rtf['id']}/preview")
    assert r.status_code == 200
    doc = lxml_html.fromstring(r.text)
    assert doc.xpath("string(//h2[@id='h-page'])").strip() == "Page 1 of 1"
    _png(client, f"/items/{rtf['id']}/preview/1.png")
    # In the text beside the pages, the override is isolated and shown as a marker, not obeyed, and the
    # NUL the text keeps (ingest drops none) is shown as a marker too.
    text = doc.xpath("//details[@class='office-text']//pre")[0]
    assert "\u202e" not in text.text_content() and "\x00" not in text.text_content()
    assert text.xpath(".//bdi[@class='leak']/span[@class='hidden-char']/text()") == ["RLO", "NUL"]
    assert "Invoice Rapport_" in text.text_content() and "fdp.exe.docx" in text.text_content()
    # The blob LibreOffice read a copy of is byte for byte what was ingested (the NUL kept).
    stored = case.blobs.path(rtf["sha256"]).read_bytes()
    assert stored == of.rtf_bytes() and b"\\'00" in stored


class _Listener(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def _any(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.end_headers()

    do_GET = do_HEAD = do_OPTIONS = do_PROPFIND = _any

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def listener():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("L", (_Listener,), {"seen": []}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_linked_image_is_not_fetched(tmp_path, listener, monkeypatch):
    url = f"http://127.0.0.1:{listener.server_port}/x.png"
    blob = tmp_path / "linked.docx"
    blob.write_bytes(of.linked_image_docx(url))
    # The control: LibreOffice as it comes, in a fresh profile, does fetch it (so this test can fail).
    subprocess.run([office.soffice(), f"-env:UserInstallation={(tmp_path / 'plain').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path / "plain-out"), str(blob)],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    assert any(s.endswith("/x.png") for s in listener.RequestHandlerClass.seen)
    listener.RequestHandlerClass.seen.clear()
    # leaklens's conversion: no request, with the network namespace and with the profile alone.
    office.convert(blob, DOCX, tmp_path / "isolated.pdf")
    monkeypatch.setattr(office, "isolation", lambda: ())
    office.convert(blob, DOCX, tmp_path / "profile-only.pdf")
    assert (tmp_path / "isolated.pdf").read_bytes().startswith(b"%PDF-")
    assert (tmp_path / "profile-only.pdf").read_bytes().startswith(b"%PDF-")
    assert listener.RequestHandlerClass.seen == []


def test_an_oversized_output_is_refused(tmp_path, monkeypatch):
    blob = tmp_path / "noise.docx"
    blob.write_bytes(of.noise_docx())  # a picture of random pixels: LibreOffice's PDF of it is over 1 MB
    # The cap is per file (RLIMIT_FSIZE) and LibreOffice's own profile files reach ~80 kB: 300 kB.
    monkeypatch.setattr(office, "MAX_PDF_BYTES", 300_000)
    with pytest.raises(office.ConvertError, match="over the 300,000-byte cap"):
        office.convert(blob, DOCX, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()
    monkeypatch.setattr(office, "MAX_PDF_BYTES", 64 << 20)  # the control: under a larger cap it converts
    office.convert(blob, DOCX, tmp_path / "out.pdf")
    assert (tmp_path / "out.pdf").stat().st_size > 300_000


def _opened_with_macros_allowed(doc: Path, profile: Path, marker: Path, wait: float = 60.0) -> bool:
    """The control: `doc` opened (not converted) by LibreOffice with macro security Low, as a user
    who allows macros would; whether its macro wrote `marker` before `wait` s."""
    xcu = office.profile_xcu((("org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "int", "0"),))
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(xcu)
    proc = subprocess.Popen([office.soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                             "--norestore", str(doc)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + wait
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        return marker.exists()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_documents_macro_is_not_run_by_the_conversion(tmp_path, monkeypatch):
    marker = tmp_path / "macro-ran.txt"
    doc = tmp_path / "macro.odt"
    doc.write_bytes(of.macro_odt(marker))
    assert _opened_with_macros_allowed(doc, tmp_path / "low", marker)  # the macro is real and runs
    marker.unlink()
    office.convert(doc, ODT, tmp_path / "ours.pdf")
    assert (tmp_path / "ours.pdf").read_bytes().startswith(b"%PDF-") and not marker.exists()
    # Even with the profile's macro settings at their lowest, a conversion loads the document hidden,
    # which LibreOffice opens with MacroExecutionMode NEVER_EXECUTE: the macro still does not run.
    scripting = "org.openoffice.Office.Common/Security/Scripting"
    low = ((scripting, "MacroSecurityLevel", "int", "0"), (scripting, "DisableMacrosExecution", "boolean", "false"))
    monkeypatch.setattr(office, "SETTINGS", low)
    office.convert(doc, ODT, tmp_path / "low.pdf")
    assert (tmp_path / "low.pdf").read_bytes().startswith(b"%PDF-") and not marker.exists()


def test_a_conversion_over_its_memory_cap_fails_in_one_line(tmp_path, monkeypatch):
    blob = tmp_path / "memo.docx"
    blob.write_bytes(of.docx_bytes(1, "memory"))
    monkeypatch.setattr(office, "MAX_MEMORY", 64 << 20)  # LibreOffice cannot even start in 64 MB
    with pytest.raises(office.ConvertError, match="^LibreOffice (stopped on|could not convert|could not read)"):
        office.convert(blob, DOCX, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()
    monkeypatch.setattr(office, "MAX_MEMORY", 2 << 30)  # the control: the default converts it
    office.convert(blob, DOCX, tmp_path / "out.pdf")
