"""The verdict inside the content and attacker presentation neutralised (issue 16), in Chromium:
the banner on every verdict, a fake-badge email kept inside its frame, a right-to-left override
shown as a marker without reordering the page, the display-name attack not matched by from:."""

from __future__ import annotations

import re
import urllib.parse

import banner_case as bc
import pytest
from conftest import LiveServer

from leaklens.case import Case

pytestmark = pytest.mark.browser

VERDICT_ITEMS = {
    "verified": "01-verified.eml",
    "altered": "02-altered.eml",
    "suspicious": "04-limited.eml",
    "unverified": "05-unsigned.eml",
    "error": "09-unreadable.eml",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("banner-browser")
    bc.build(root).close()
    with LiveServer(root / "case") as server, Case.open(root / "case") as case:
        server.ids = {r["name"]: r["id"] for r in case.db.items()}  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def bpage(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def gate(route):
        if route.request.url.startswith(site.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    pg = context.new_page()
    pg.outside = outside  # type: ignore[attr-defined]
    yield pg
    context.close()


def _open(page, site, name: str) -> None:
    page.goto(f"{site.url}/items/{site.ids[name]}")


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@pytest.mark.parametrize("verdict", list(VERDICT_ITEMS))
def test_the_banner_tops_the_content_on_every_verdict(bpage, site, shots, verdict):
    _open(bpage, site, VERDICT_ITEMS[verdict])
    panel = bpage.locator("section.content-panel").first
    banner = panel.locator(".verdict-banner")
    assert banner.count() == 1 and banner.is_visible()
    assert f"vb-{verdict}" in banner.get_attribute("class")
    word = banner.locator(".vb-verdict .verdict").inner_text().strip().lower()
    assert word.endswith(verdict)
    assert banner.locator(".vb-reason").inner_text().strip()  # the one-sentence reason
    assert banner.locator(".vb-signer").inner_text().strip()
    body = panel.locator("pre.body-text").first
    # Read with the content: the banner sits right above the text, in the same panel.
    assert banner.bounding_box()["y"] + banner.bounding_box()["height"] <= body.bounding_box()["y"]
    bpage.screenshot(path=str(shots / f"banner-{verdict}.png"), full_page=True)
    assert bpage.outside == []


def test_the_unsigned_tail_is_highlighted_in_the_body(bpage, site):
    _open(bpage, site, "04-limited.eml")
    tail = bpage.locator("pre.body-text .unsigned-tail")
    assert tail.inner_text().strip() == bc.APPENDED
    style = tail.evaluate("e => getComputedStyle(e).outlineStyle")
    assert style == "dashed"


def test_a_forged_subject_is_named_in_the_title_and_the_headers(bpage, site):
    _open(bpage, site, "03-forged.eml")
    assert bpage.title().startswith("⚠ Forged Subject: Q3 budget: resign now")
    row = bpage.locator("table.headers:not(.all) tr.changed")
    assert row.locator("th").inner_text() == "Subject"
    assert "changed after signing" in row.inner_text() and row.locator("q").inner_text() == "Q3 budget"


def test_a_fake_badge_stays_inside_the_frame(bpage, site, shots):
    _open(bpage, site, "06-fake-badge.eml")
    frame_el = bpage.locator("iframe.html-body")
    frame_el.scroll_into_view_if_needed()
    frame = frame_el.content_frame
    frame.locator("#badge").wait_for()
    box = frame_el.bounding_box()
    for sel in ("#badge", "#cover", "#text", "#lifted"):
        el = frame.locator(sel)
        assert el.evaluate("e => getComputedStyle(e).position") == "static", sel
        assert el.evaluate("e => getComputedStyle(e).zIndex") == "auto", sel
        assert el.evaluate("e => getComputedStyle(e).transform") == "none", sel
        inner = el.bounding_box()
        # Never above, left of or wider than the frame (the 3000 px cover is cut to its width; a box
        # taller than the frame runs on below, where the frame scrolls to it).
        assert inner["x"] >= box["x"] - 0.5 and inner["y"] >= box["y"] - 0.5, (sel, inner, box)
        assert inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5, (sel, inner, box)
    assert _inside(frame.locator("#badge").bounding_box(), box)
    badge, text = frame.locator("#badge").bounding_box(), frame.locator("#text").bounding_box()
    assert badge["y"] + badge["height"] <= text["y"] + 0.5  # it covers no text: it is above it, in the flow
    bpage.screenshot(path=str(shots / "fake-badge-framed.png"), full_page=True)
    # Not pinned: scrolling the frame carries the badge away with the text.
    before = frame.locator("#badge").bounding_box()["y"]
    frame.locator("body").evaluate("b => window.scrollTo(0, 200)")
    bpage.wait_for_timeout(100)
    after = frame.locator("#badge").bounding_box()["y"]
    assert after < before
    # The label sits outside the frame, where the email cannot draw, and says what the frame holds.
    label = bpage.locator("figure.leak-frame figcaption")
    assert "Content from the leak" in label.inner_text()
    lbox = label.bounding_box()
    assert lbox["y"] + lbox["height"] <= box["y"] + 0.5
    # What is at the banner's centre is the app's banner, not something the email drew.
    banner = bpage.locator("section.content-panel .verdict-banner")
    banner.scroll_into_view_if_needed()
    b = banner.bounding_box()
    hit = bpage.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('.verdict-banner') !== null",
        [b["x"] + b["width"] / 2, b["y"] + b["height"] / 2],
    )
    assert hit
    assert bpage.outside == []


# Where each character of a text node is drawn: x of its first and last occurrence, left to right.
_ORDER = """([sel, chars]) => {
  const root = document.querySelector(sel);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const out = {};
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (let i = 0; i < n.data.length; i++) {
      if (!chars.includes(n.data[i]) || n.data[i] in out) continue;
      const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
      out[n.data[i]] = r.getBoundingClientRect().x;
    }
  }
  return out;
}"""


def test_a_right_to_left_override_in_a_file_name_is_a_marker_and_reorders_nothing(bpage, site, shots):
    _open(bpage, site, "01-verified.eml")
    link = bpage.locator("section[aria-labelledby='h-children'] td a").first
    assert link.inner_text().replace("\n", "") == "Rapport_RLOfdp.exe.docx"
    marker = link.locator(".hidden-char")
    assert marker.is_visible() and marker.get_attribute("title").startswith("U+202E RIGHT-TO-LEFT OVERRIDE")
    # Drawn left to right as stored: "R" of Rapport before "f" of fdp before "x" of docx.
    x = bpage.evaluate(_ORDER, ["section[aria-labelledby='h-children'] td a", "Rfx"])
    assert x["R"] < x["f"] < x["x"]
    # The app's text after it in the row is where it belongs: the verdict cell right of the name.
    row = bpage.locator("section[aria-labelledby='h-children'] tbody tr").first
    assert row.locator("td").nth(0).bounding_box()["x"] < row.locator("td").nth(1).bounding_box()["x"]
    bpage.screenshot(path=str(shots / "rlo-file-name.png"), full_page=True)


def test_a_right_to_left_override_in_a_subject_is_isolated_in_titles_and_around_app_text(bpage, site, shots):
    _open(bpage, site, "05-unsigned.eml")
    assert bpage.title() == "Facture [RLO]FDP.exe · case"
    h1 = bpage.locator("h1")
    assert h1.locator(".hidden-char").inner_text() == "RLO"
    x = bpage.evaluate(_ORDER, ["h1", "FD"])
    assert x["F"] < x["D"]  # "FDP" read as written, not turned around
    # The thread tree says "(this message)" after the subject: the app's words stay in their order.
    current = bpage.locator('.thread-tree li[aria-current="true"]')
    assert "(this message)" in current.inner_text()
    x = bpage.evaluate(_ORDER, ['.thread-tree li[aria-current="true"] .muted', "()"])
    assert x["("] < x[")"]
    bpage.screenshot(path=str(shots / "rlo-subject.png"), full_page=True)
    # And in search results, the hit's title is isolated too.
    bpage.goto(site.url + "/search?q=facture")
    title = bpage.locator("a.hit-title").first
    assert title.locator(".hidden-char").count() == 1


def test_the_display_name_attack_is_not_matched_by_from(bpage, site, shots):
    bpage.goto(site.url + "/search?q=" + urllib.parse.quote("from:horizon-campaign.example"))
    titles = [t.strip() for t in bpage.locator("a.hit-title").all_inner_texts()]
    assert titles and "Urgent transfer" not in titles
    bpage.goto(site.url + "/search?q=" + urllib.parse.quote("from:evil.example"))
    assert [t.strip() for t in bpage.locator("a.hit-title").all_inner_texts()] == ["Urgent transfer"]
    bpage.goto(site.url + "/search")
    facet = bpage.locator(".facet", has=bpage.locator("h3", has_text="Sender domain"))
    values = [re.sub(r"\s+\d[\d,]*$", "", v.strip()) for v in facet.locator("li").all_inner_texts()]
    assert "evil.example" in " ".join(values)
    assert not any('"' in v or "<" in v for v in values)
    bpage.screenshot(path=str(shots / "sender-domain-facet.png"), full_page=True)


def test_nul_in_subject_file_name_and_body_is_shown_as_a_marker(bpage, site):
    _open(bpage, site, "08-nul.eml")
    assert bpage.title().endswith("Budget[NUL]hidden part · case")
    assert bpage.locator("h1 .hidden-char").inner_text() == "NUL"
    assert bpage.locator("h1").inner_text().endswith("BudgetNULhidden part")
    assert bpage.locator("pre.body-text .hidden-char").first.inner_text() == "NUL"
    link = bpage.locator("section[aria-labelledby='h-children'] td a").first
    assert link.inner_text().replace("\n", "") == "repNULort.pdf"


@pytest.mark.parametrize("name", ["03-forged.eml", "04-limited.eml", "06-fake-badge.eml", "01-verified.eml"])
def test_banners_marks_and_frame_fit_a_narrow_screen(browser, site, shots, name):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(site.url + "/") else r.abort())
    page = context.new_page()
    try:
        _open(page, site, name)
        page.locator("details", has_text="All").first.locator("summary").click()  # the full headers table too
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(shots / f"banner-390-{name.split('.')[0]}.png"), full_page=True)
    finally:
        context.close()


def test_header_values_keep_their_width_on_a_narrow_screen(browser, site):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(site.url + "/") else r.abort())
    page = context.new_page()
    try:
        _open(page, site, "03-forged.eml")
        value = page.locator("table.headers:not(.all) tr.changed td.hv")
        # Not squeezed to a letter per line by the signed/unsigned mark beside it.
        assert value.bounding_box()["width"] > 150
        assert page.locator("h1").bounding_box()["height"] < 200
    finally:
        context.close()
