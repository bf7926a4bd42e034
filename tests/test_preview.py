"""Document preview: PDF pages drawn as PNGs by leaklens (of any revision, with chosen layers),
layers listed as the document declares them, revisions side by side, images re-drawn, office
documents as their text; never the file itself, and a damaged file is one clear line."""

from __future__ import annotations

import io

import preview_fixtures as pf
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from PIL import Image

from leaklens.case import Case
from leaklens.web.app import create_app


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Case:
    return pf.build_case(tmp_path_factory.mktemp("preview"))


@pytest.fixture(scope="module")
def client(case) -> TestClient:
    return TestClient(create_app(case.root))


def _id(case, name: str) -> str:
    return next(iter(case.db.items("name=?", (name,))))["id"]


def _pixels(png: bytes, dpi: int, *points) -> list[tuple[int, int, int]]:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    s = dpi / 72
    return [img.getpixel((int(x * s), int(y * s))) for x, y in points]


RED, BLACK, WHITE, BLUE = (255, 0, 0), (0, 0, 0), (255, 255, 255), (0, 0, 255)


def _png(client, url: str) -> bytes:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.content.startswith(b"\x89PNG")
    assert r.headers["x-content-type-options"] == "nosniff" and "sandbox" in r.headers["content-security-policy"]
    return r.content


def test_layers_default_view_and_the_readers_choice(client, case):
    ledger = _id(case, "ledger.pdf")
    at = (pf.RED_AT, pf.BLACK_AT)
    assert _pixels(_png(client, f"/items/{ledger}/preview/1.png"), 110, *at) == [RED, WHITE]
    assert _pixels(_png(client, f"/items/{ledger}/preview/1.png?off="), 110, *at) == [RED, BLACK]  # all shown
    assert _pixels(_png(client, f"/items/{ledger}/preview/1.png?off=0"), 110, *at) == [WHITE, BLACK]
    assert _pixels(_png(client, f"/items/{ledger}/preview/1.png?off=0,1"), 110, *at) == [WHITE, WHITE]


def test_an_earlier_revision_is_drawn_as_it_was_saved(client, case):
    ledger = _id(case, "ledger.pdf")
    assert _pixels(_png(client, f"/items/{ledger}/preview/2.png"), 110, pf.BLUE_AT) == [BLUE]  # the update's box
    assert _pixels(_png(client, f"/items/{ledger}/preview/2.png?rev=1"), 110, pf.BLUE_AT) == [WHITE]
    assert client.get(f"/items/{ledger}/preview/2.png?rev=9").status_code == 200  # past the last: the file as is


def test_preview_page_lists_layers_and_revisions_and_compares(client, case):
    ledger = _id(case, "ledger.pdf")
    doc = lxml_html.fromstring(client.get(f"/items/{ledger}/preview").text)
    layers = doc.xpath("//section[@id='layers']//li")
    assert [li.xpath("string(.//label)").strip() for li in layers] == ["Red box", "Black box"]
    assert [bool(li.xpath(".//input[@checked]")) for li in layers] == [True, False]
    assert "hidden by default" in layers[1].text_content()
    revs = doc.xpath("//section[@id='revisions']//li")
    assert len(revs) == 2 and "compare with the final" in revs[0].text_content()
    side = lxml_html.fromstring(client.get(f"/items/{ledger}/preview?page=2&compare=1").text)
    srcs = side.xpath("//div[@id='compare']//img/@src")
    assert srcs == [f"/items/{ledger}/preview/2.png?rev=1", f"/items/{ledger}/preview/2.png"]
    # The layers form: the ticked boxes are shown, the rest hidden, carried to every image.
    chosen = lxml_html.fromstring(client.get(f"/items/{ledger}/preview?page=1&layers=1&show=1").text)
    assert chosen.xpath("//img[@id='page-img']/@src") == [f"/items/{ledger}/preview/1.png?off=0"]
    assert [bool(li.xpath(".//input[@checked]")) for li in chosen.xpath("//section[@id='layers']//li")] == [
        False,
        True,
    ]


def test_never_the_file_itself(client, case):
    ledger = _id(case, "ledger.pdf")
    page = client.get(f"/items/{ledger}/preview").text
    doc = lxml_html.fromstring(page)
    assert not doc.xpath("//iframe|//embed|//object")
    assert all(src.startswith(f"/items/{ledger}/preview/") for src in doc.xpath("//main//img/@src"))
    assert f"/items/{ledger}/raw" not in "".join(doc.xpath("//main//img/@src"))


def test_twenty_pages_thumbnails_and_page_links(client, case):
    report = _id(case, "report20.pdf")
    doc = lxml_html.fromstring(client.get(f"/items/{report}/preview?page=20").text)
    assert len(doc.xpath("//ol[@class='thumbs']/li")) == 20
    assert doc.xpath("//nav[@class='pager']/a[@rel='prev']/@href") == [f"/items/{report}/preview?page=19"]
    assert not doc.xpath("//nav[@class='pager']/a[@rel='next']")
    assert client.get(f"/items/{report}/preview?page=21").status_code == 404
    assert client.get(f"/items/{report}/preview/21.png").status_code == 422


def test_image_redrawn_office_as_text_svg_not_drawn(client, case):
    photo = _id(case, "photo.png")
    png = _png(client, f"/items/{photo}/preview/1.png")
    assert Image.open(io.BytesIO(png)).convert("RGB").getpixel((5, 5)) == (0, 128, 0)
    memo = client.get(f"/items/{_id(case, 'memo.docx')}/preview").text
    assert "The printer is paid on Friday." in memo and "LibreOffice" in memo
    svg = _id(case, "logo.svg")
    assert client.get(f"/items/{svg}/preview/1.png").status_code == 404
    assert "<script>" not in client.get(f"/items/{svg}/preview").text


def test_a_damaged_pdf_is_one_clear_line(client, case):
    broken = _id(case, "broken.pdf")
    r = client.get(f"/items/{broken}/preview")
    assert r.status_code == 200 and "cannot be previewed" in r.text and "Traceback" not in r.text
    r = client.get(f"/items/{broken}/preview/1.png")
    assert r.status_code == 422 and "cannot be drawn" in r.text


def test_bad_parameters_are_one_clear_line(client, case):
    ledger = _id(case, "ledger.pdf")
    r = client.get(f"/items/{ledger}/preview/1.png?off=a,b")
    assert r.status_code == 400 and "off:" in r.text
    assert client.get(f"/items/{ledger}/preview?compare=5").status_code == 404
    assert client.get("/items/0123456789abcdef0123/preview").status_code == 404


def test_item_page_offers_the_preview(client, case):
    ledger = _id(case, "ledger.pdf")
    page = client.get(f"/items/{ledger}").text
    assert f'href="/items/{ledger}/preview"' in page and f"/items/{ledger}/preview/1.png?dpi=50" in page
    assert f'href="/items/{_id(case, "broken.pdf")}/preview"' in client.get(f"/items/{_id(case, 'broken.pdf')}").text


def test_a_renderer_over_its_deadline_or_killed_is_replaced(tmp_path):
    from leaklens import preview

    doc = tmp_path / "twenty.pdf"
    doc.write_bytes(pf.pages_pdf(20))
    worker = preview._Worker()
    try:
        status, body = worker.call({"cmd": "info", "path": str(doc), "mime": preview.PDF}, 30)
        assert status == b"J" and b'"pages": 20' in body
        first = worker.proc
        # A request that cannot finish in time ends the child: one line, no hang.
        with pytest.raises(preview.PreviewError, match="took over"):
            worker.call({"cmd": "page", "path": str(doc), "mime": preview.PDF, "page": 3, "dpi": 160}, 0.001)
        assert worker.proc is None and first.poll() is not None
        status, body = worker.call({"cmd": "page", "path": str(doc), "mime": preview.PDF, "page": 3}, 30)
        assert status == b"P" and body.startswith(b"\x89PNG")
        # A child that dies (as on a renderer crash) is one line too, and the next call starts another.
        worker.proc.kill()
        worker.proc.wait()
        status, _ = worker.call({"cmd": "info", "path": str(doc), "mime": preview.PDF}, 30)
        assert status == b"J"
        # Its errors are answers, not crashes: the same child serves the next request.
        alive = worker.proc
        status, body = worker.call({"cmd": "page", "path": str(doc), "mime": preview.PDF, "page": 99}, 30)
        assert status == b"E" and b"no page 99" in body and worker.proc is alive
    finally:
        worker.stop()


def test_warm_starts_every_renderer_ahead_of_the_first_preview():
    import time

    from leaklens import preview

    preview.warm()
    deadline = time.monotonic() + 60
    workers = preview._pool._idle
    while time.monotonic() < deadline and not (
        len(workers) == preview._pool.size and all(w.proc is not None and w.served >= 1 for w in workers)
    ):
        time.sleep(0.1)
    assert len(workers) == preview._pool.size
    assert all(w.proc is not None and w.proc.poll() is None and w.served >= 1 for w in workers)
