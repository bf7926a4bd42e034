"""Printing, narrow screens and the keyboard, in Chromium: a printed item keeps its verdict (word and
colour) and prints its evidence and body; no page scrolls sideways at 390 px; j/k/o/t and / work."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest
import reading_case
import web_case
from conftest import LiveServer

from leaklens.case import Case

pytestmark = pytest.mark.browser
ALTERED_RED = (198, 40, 40)  # app.css --altered


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    root = tmp_path_factory.mktemp("kept-browser")
    reading_case.build(root).close()
    with LiveServer(root / "case") as server:
        server.case_dir = root / "case"  # type: ignore[attr-defined]  # for the tests' look-ups
        yield server


@pytest.fixture
def kept_page(browser, kept):
    """A page for the `kept` server: anything else is aborted (as conftest's `page` does for `live`)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(kept.url + "/") else r.abort())
    yield context.new_page()
    context.close()


def _pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def _has_colour(data: bytes, rgb: tuple[int, int, int]) -> bool:
    doc = pdfium.PdfDocument(data)
    img = doc[0].render(scale=1).to_pil().convert("RGB")
    return any(all(abs(a - b) <= 6 for a, b in zip(c, rgb, strict=True)) for _, c in img.getcolors(1 << 22))


def test_printing_an_item_keeps_the_verdict_evidence_and_body(page, live, web_case_dir, shots):
    with Case.open(web_case_dir) as case:
        altered = web_case.item_id(case, subject="Offshore payment")
    page.goto(f"{live.url}/items/{altered}")
    # On screen the evidence is folded away...
    evidence = page.locator(".finding", has_text="dkim.body_hash_mismatch").locator("dl.evidence").first
    assert not evidence.is_visible()
    pdf = page.pdf(format="A4")
    (shots / "item-altered-print.pdf").write_bytes(pdf)
    text = _pdf_text(pdf)
    # ...on paper it is printed open, with the verdict's word and colour and the message body.
    assert re.search(r"\bALTERED\b", text), text[:500]
    assert "body_hash_signed" in text
    assert "900000 euros" in text
    assert _has_colour(pdf, ALTERED_RED)
    # The app's controls are not printed.
    assert "Add a tag" not in text and "Download original bytes" not in text and "Search the case" not in text
    assert page.locator("details[open]").count() == 0  # the screen is as it was


def test_printing_a_conversation_keeps_each_verdict(kept_page, kept, shots):
    page = kept_page
    page.goto(kept.url + "/items/" + _id_of(kept, "<t3@kept.example>") + "/thread")
    pdf = page.pdf(format="A4")
    (shots / "conversation-print.pdf").write_bytes(pdf)
    text = _pdf_text(pdf)
    assert text.count("VERIFIED") >= 2 and "ALTERED" in text and "pay the offshore" in text


def _id_of(server: LiveServer, message_id: str) -> str:
    with Case.open(server.case_dir) as case:
        return next(iter(case.db.items("message_id=?", (message_id,))))["id"]


def _no_sideways_scroll(page) -> tuple[int, list[str]]:
    return page.evaluate(
        """() => { const w = document.documentElement.clientWidth, out = [];
        for (const el of document.querySelectorAll('body *')) { const b = el.getBoundingClientRect();
          if (b.width > 0 && b.right > w + 1) out.push(el.tagName + '.' + el.className); }
        return [document.documentElement.scrollWidth, out.slice(0, 5)]; }"""
    )


def test_no_page_scrolls_sideways_at_390px(browser, live, kept, web_case_dir, shots):
    with Case.open(web_case_dir) as case:
        items = [r["id"] for r in case.db.items()]
    with Case.open(kept.case_dir) as case:
        mbox = reading_case.item_named(case, "board.mbox")
        zipped = reading_case.item_named(case, "files.zip")
        copy, original = (r["id"] for r in sorted(case.db.items("name=?", ("budget.txt",)), key=lambda r: r["verdict"]))
    pages = [(live.url, u) for u in ("/", "/search?q=printer", "/search/batch", "/correspondents", "/tags",
                                    "/entities", "/jobs", "/audit", "/spread", "/phishing")]  # fmt: skip
    pages += [(live.url, f"/items/{i}") for i in items]
    reply = _id_of(kept, "<t2@kept.example>")
    pages += [(kept.url, f"/items/{mbox}"), (kept.url, f"/items/{mbox}/members?sort=sender"),
              (kept.url, f"/items/{zipped}/members"), (kept.url, f"/items/{reply}/thread"),
              (kept.url, f"/items/{copy}/compare/{original}")]  # fmt: skip
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    ours = (live.url + "/", kept.url + "/")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(ours) else r.abort())
    pg = context.new_page()
    try:
        wide = []
        for n, (origin, path) in enumerate(pages):
            pg.goto(origin + path)
            width, culprits = _no_sideways_scroll(pg)
            if width > 390:
                wide.append((path, width, culprits))
            if n < 4 or any(k in path for k in ("/members", "/thread", "/compare")):
                pg.screenshot(path=str(shots / f"narrow-{n:02d}.png"), full_page=True)
        assert wide == []
    finally:
        context.close()


def test_keyboard_through_search_results(page, live):
    page.goto(live.url + "/search?q=printer")
    hits = page.locator("ol.hits > li.hit")
    assert hits.count() >= 3
    page.keyboard.press("j")
    assert "kb-current" in (hits.nth(0).get_attribute("class") or "")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "kb-current" in (hits.nth(1).get_attribute("class") or "")
    assert "kb-current" not in (hits.nth(0).get_attribute("class") or "")
    # The current result's link has the focus, drawn by the browser's focus ring.
    focused = page.evaluate("document.activeElement.className")
    assert focused == "hit-title"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    # t ticks the current result and goes to the tag box; typing there is not a shortcut.
    page.keyboard.press("t")
    assert page.evaluate("document.activeElement.id") == "bulk-tag"
    assert hits.nth(1).locator("input.pick").is_checked() and not hits.nth(0).locator("input.pick").is_checked()
    page.keyboard.type("jk")
    assert page.locator("#bulk-tag").input_value() == "jk"
    # / goes to the search box; o opens the current result.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    href = hits.nth(1).locator("a.hit-title").get_attribute("href")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    page.keyboard.press("t")
    assert page.evaluate("document.activeElement.id") == "new-tag"


def test_question_mark_lists_the_shortcuts(page, live):
    page.goto(live.url + "/search?q=printer")
    page.keyboard.press("?")
    dialog = page.locator("dialog#keys-help")
    assert dialog.is_visible() and "next / previous" in dialog.inner_text()
    assert page.evaluate("document.activeElement.textContent") == "Close"  # the focus is inside it
    page.keyboard.press("j")  # shortcuts wait while it is open
    assert page.locator("ol.hits > li.kb-current").count() == 0
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    page.keyboard.press("j")
    assert page.locator("ol.hits > li.kb-current").count() == 1


def test_keyboard_through_a_mailbox(kept_page, kept):
    page = kept_page
    with Case.open(kept.case_dir) as case:
        mbox = reading_case.item_named(case, "board.mbox")
    page.goto(f"{kept.url}/items/{mbox}/members?sort=verdict")
    page.keyboard.press("j")
    row = page.locator("table.members tbody tr").first
    assert "kb-current" in (row.get_attribute("class") or "")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r"/items/[0-9a-f]{20}$"))
    assert page.locator(".item-verdict .verdict").first.inner_text().strip().lower().endswith("altered")


def test_facet_counts_stay_whole(page, live, shots):
    page.goto(live.url + "/search?q=")
    # A long value beside a large count, as a big case's sender-domain facet has: drawn with the
    # app's own stylesheet, in the facets column.
    page.evaluate(
        """() => { const ul = document.querySelector('.facet ul'); const li = document.createElement('li');
        li.id = 'long-facet'; li.innerHTML = '<a href="#">' + 'mail.regional-campaign-office.'.repeat(3)
          + 'example</a> <span class="count">123,456</span>'; ul.prepend(li); }"""
    )
    lines = """el => { const r = document.createRange(); r.selectNodeContents(el);
        return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }"""
    assert page.locator("#long-facet .count").evaluate(lines) == 1  # one line, not a digit a line
    assert page.locator("#long-facet a").evaluate(lines) > 1  # the value wraps instead
    page.locator(".facets").screenshot(path=str(shots / "facets-long-value.png"))


def test_timeline_axis_labels_fit_the_drawing(page, live):
    from datetime import date, timedelta

    from leaklens.web.charts import timeline_svg

    days = [((date(2017, 3, 1) + timedelta(days=n)).isoformat(), "verified", 1 + n % 5) for n in range(60)]
    page.goto(live.url + "/tags")  # a page of the app, for its stylesheet and fonts
    page.evaluate("svg => { document.querySelector('main').innerHTML = svg; }", timeline_svg(days))
    outside = page.evaluate(
        """() => { const svg = document.querySelector('svg.timeline'); const w = svg.viewBox.baseVal.width;
        return [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBBox()])
          .filter(([, b]) => b.x < 0 || b.x + b.width > w).map(([s]) => s); }"""
    )
    assert outside == []


def test_report_table_headers_break_between_words(browser, web_case_dir, tmp_path, shots):
    from leaklens.report.html_report import write_html

    out = tmp_path / "report.html"
    with Case.open(web_case_dir) as case, out.open("w", encoding="utf-8") as fh:
        write_html(case, fh)
    # Every word of every header, on one line (a word whose rectangles sit on two lines was split).
    split_words = """() => { const bad = [];
      for (const th of document.querySelectorAll('th')) {
        const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
        for (let node = walk.nextNode(); node; node = walk.nextNode()) {
          for (const m of node.data.matchAll(/\\S+/g)) {
            const r = document.createRange(); r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
            if (new Set([...r.getClientRects()].map(b => Math.round(b.top))).size > 1) bad.push(m[0]);
          } } }
      return bad; }"""
    for width in (390, 700, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.route("**/*", lambda r: r.abort())  # the report opens with nothing beside it
        pg = context.new_page()
        try:
            pg.set_content(out.read_text(encoding="utf-8"))
            assert pg.locator("th").count() > 5
            assert pg.evaluate(split_words) == [], width
            assert pg.evaluate("document.documentElement.scrollWidth") <= width  # and nothing scrolls sideways
            if width == 390:
                pg.screenshot(path=str(shots / "report-390.png"), full_page=True)
            if width == 1280:
                # Printed, the offline report keeps its verdicts' colour and word, evidence included.
                pdf = pg.pdf(format="A4")
                (shots / "report-print.pdf").write_bytes(pdf)
                text = _pdf_text(pdf)
                assert "ALTERED" in text and "body_hash_signed" in text
                assert _has_colour(pdf, ALTERED_RED)
                # The badges' colour is a background, which a browser drops on paper unless told.
                pg.emulate_media(media="print")
                adjust = pg.locator(".verdict.v-altered").first.evaluate("el => getComputedStyle(el).printColorAdjust")
                assert adjust == "exact"
        finally:
            context.close()
