"""Office previews in Chromium: a docx and an xlsx shown as the pages leaklens drew from the PDF
LibreOffice made of them (PNGs only: no PDF, no office file, nothing from outside the server)."""

from __future__ import annotations

import io

import office_fixtures as of
import pytest
from conftest import LiveServer
from PIL import Image

from leaklens.case import Case

pytestmark = pytest.mark.browser
of.need_libreoffice()


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    root = tmp_path_factory.mktemp("office-browser")
    of.build_case(root).close()
    with LiveServer(root / "case") as server, Case.open(root / "case") as case:
        server.ids = {r["name"]: r["id"] for r in case.db.items()}  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def office_page(browser, docs):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    responses: list[tuple[str, str]] = []
    context.on("response", lambda r: responses.append((r.url, r.headers.get("content-type", ""))))
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(docs.url + "/") else r.abort())
    pg = context.new_page()
    pg.responses = responses  # type: ignore[attr-defined]
    yield pg
    context.close()


def _reds(img: Image.Image) -> int:
    raw = img.convert("RGB").tobytes()
    return sum(1 for i in range(0, len(raw), 3) if raw[i] > 200 and raw[i + 1] < 80 and raw[i + 2] < 80)


def _shown(page, selector: str) -> Image.Image:
    page.wait_for_function(f"(() => {{ const i = document.querySelector({selector!r}); "
                           "return i && i.complete && i.naturalWidth > 0; })()")  # fmt: skip
    return Image.open(io.BytesIO(page.locator(selector).screenshot()))


def _only_pngs_and_the_app(page, docs) -> None:
    assert all(url.startswith(docs.url + "/") for url, _ in page.responses)
    drawn = [ctype for url, ctype in page.responses if "/preview/" in url]
    assert drawn and all(ctype == "image/png" for ctype in drawn)
    assert not [ctype for _, ctype in page.responses if "pdf" in ctype or "officedocument" in ctype]


def test_a_docx_is_shown_as_drawn_pages(office_page, docs, shots):
    page, memo = office_page, docs.ids["memo.docx"]
    page.goto(f"{docs.url}/items/{memo}/preview")
    assert page.locator("#h-page").inner_text() == "Page 1 of 2"
    assert "LibreOffice made" in page.locator("#office-note").inner_text()
    first = _shown(page, "#page-img")
    assert first.height > first.width and _reds(first) > 200  # page 1, with its red heading drawn
    assert page.locator(".thumbs img").count() == 2
    page.screenshot(path=str(shots / "office-preview-docx.png"), full_page=True)
    page.locator("nav.pager a[rel=next]").click()
    page.wait_for_url(f"**/items/{memo}/preview?page=2")
    second = _shown(page, "#page-img")
    assert _reds(second) == 0  # page 2: no red on it
    # The text read at ingest stays folded under the pages, one click away.
    assert not page.locator("details.office-text pre").is_visible()
    page.locator("details.office-text summary").click()
    assert "the printer is paid on Friday" in page.locator("details.office-text pre").inner_text()
    _only_pngs_and_the_app(page, docs)


def test_an_xlsx_is_shown_as_a_drawn_page(office_page, docs, shots):
    page, budget = office_page, docs.ids["budget.xlsx"]
    page.goto(f"{docs.url}/items/{budget}/preview")
    assert page.locator("#h-page").inner_text() == "Page 1 of 1"
    assert _reds(_shown(page, "#page-img")) > 200  # the red-filled cell
    page.screenshot(path=str(shots / "office-preview-xlsx.png"), full_page=True)
    _only_pngs_and_the_app(page, docs)


def test_a_document_libreoffice_cannot_read_shows_its_reason(office_page, docs, shots):
    page = office_page
    page.goto(f"{docs.url}/items/{docs.ids['damaged.docx']}/preview")
    assert page.locator("#office-note").inner_text().startswith("Not drawn as pages: LibreOffice could not read")
    assert page.locator("#page-img").count() == 0
    page.screenshot(path=str(shots / "office-preview-failed.png"), full_page=True)
