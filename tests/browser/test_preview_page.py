"""Document preview in Chromium: a PDF with layers and revisions previewed, a layer switched on and
off by the reader, a revision beside the final; only images leaklens drew are loaded."""

from __future__ import annotations

import io

import preview_fixtures as pf
import pytest
from conftest import LiveServer
from PIL import Image

from leaklens.case import Case

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    root = tmp_path_factory.mktemp("preview-browser")
    pf.build_case(root).close()
    with LiveServer(root / "case") as server, Case.open(root / "case") as case:
        server.ids = {r["name"]: r["id"] for r in case.db.items()}  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def docs_page(browser, docs):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(docs.url + "/") else r.abort())
    pg = context.new_page()
    pg.seen = seen  # type: ignore[attr-defined]
    yield pg
    context.close()


def _drawn(page, selector: str) -> Image.Image:
    """The image as Chromium shows it (a screenshot of the element), in RGB."""
    return Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")


def _at(img: Image.Image, point: tuple[int, int], page_width: float = pf.SIZE[0]) -> tuple[int, int, int]:
    s = img.width / page_width
    return img.getpixel((int(point[0] * s), int(point[1] * s)))


def test_layers_switched_by_the_reader(docs_page, docs, shots):
    page, ledger = docs_page, docs.ids["ledger.pdf"]
    page.goto(f"{docs.url}/items/{ledger}")
    page.locator(".read-as-kept a", has_text="Preview").first.click()
    page.wait_for_url(f"**/items/{ledger}/preview")
    page.wait_for_function("document.getElementById('page-img').complete")
    img = _drawn(page, "#page-img")
    assert _at(img, pf.RED_AT) == (255, 0, 0) and _at(img, pf.BLACK_AT) == (255, 255, 255)
    assert page.locator("#layers li", has_text="Black box").locator(".sev").inner_text().lower() == "hidden by default"
    page.screenshot(path=str(shots / "preview-default.png"), full_page=True)
    # Show the hidden layer, hide the visible one.
    page.locator("#layers label", has_text="Black box").locator("input").check()
    page.locator("#layers label", has_text="Red box").locator("input").uncheck()
    page.locator("#layers button").click()
    page.wait_for_url("**layers=1**")
    page.wait_for_function("document.getElementById('page-img').complete")
    img = _drawn(page, "#page-img")
    assert _at(img, pf.RED_AT) == (255, 255, 255) and _at(img, pf.BLACK_AT) == (0, 0, 0)
    page.screenshot(path=str(shots / "preview-layers-switched.png"), full_page=True)
    outside = [u for u in page.seen if not u.startswith(docs.url + "/")]
    assert outside == []
    assert not [u for u in page.seen if "/raw" in u]  # the file itself is never fetched


def test_a_revision_beside_the_final(docs_page, docs, shots):
    page, ledger = docs_page, docs.ids["ledger.pdf"]
    page.goto(f"{docs.url}/items/{ledger}/preview?page=2")
    page.locator("#revisions a", has_text="compare with the final").click()
    page.wait_for_url("**compare=1**")
    page.wait_for_function("[...document.querySelectorAll('#compare img')].every(i => i.complete)")
    boxes = page.locator("#compare figure").all()
    assert len(boxes) == 2
    left, right = boxes[0].bounding_box(), boxes[1].bounding_box()
    assert left["x"] + left["width"] <= right["x"] and abs(left["y"] - right["y"]) < 2  # side by side
    earlier = Image.open(io.BytesIO(boxes[0].locator("img").screenshot())).convert("RGB")
    final = Image.open(io.BytesIO(boxes[1].locator("img").screenshot())).convert("RGB")
    assert _at(earlier, pf.BLUE_AT) == (255, 255, 255) and _at(final, pf.BLUE_AT) == (0, 0, 255)
    page.screenshot(path=str(shots / "preview-revisions.png"), full_page=True)


def test_preview_pages_fit_390px(browser, docs, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(docs.url + "/") else r.abort())
    pg = context.new_page()
    try:
        ledger = docs.ids["ledger.pdf"]
        for n, path in enumerate(
            [f"/items/{ledger}/preview", f"/items/{ledger}/preview?page=2&compare=1",
             f"/items/{docs.ids['report20.pdf']}/preview", f"/items/{docs.ids['memo.docx']}/preview",
             f"/items/{docs.ids['photo.png']}/preview", f"/items/{docs.ids['broken.pdf']}/preview"]  # fmt: skip
        ):
            pg.goto(docs.url + path)
            assert pg.evaluate("document.documentElement.scrollWidth") <= 390, path
            pg.screenshot(path=str(shots / f"preview-narrow-{n}.png"), full_page=True)
    finally:
        context.close()
