"""The workbench in a real browser: a journalist's path through it, and hostile HTML kept inert."""

from __future__ import annotations

import re
import urllib.parse

import pytest

pytestmark = pytest.mark.browser


def test_dashboard_quotes_the_figures(page, live, shots):
    page.goto(live.url + "/")
    quote = page.locator(".headline .quote").inner_text()
    assert re.search(r"3 of 6 emails\s+are verified by DKIM", quote), quote
    assert "1 item proven altered" in quote
    # The timeline is inline SVG, drawn by the server, with verdicts named in its legend.
    svg = page.locator("svg.timeline")
    assert svg.count() == 1
    assert "Verified" in svg.inner_html() and "Altered" in svg.inner_html()
    assert page.locator("#h-signers + ol li").first.inner_text().startswith("horizon.example")
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    assert page.recorder.outside() == []


def test_search_facet_open_item_see_verdict_and_findings(page, live, shots):
    page.goto(live.url + "/search?q=" + urllib.parse.quote("printer"))
    assert page.locator(".results h2").inner_text().startswith("3 results")
    assert page.locator(".snippet mark").count() >= 1
    page.screenshot(path=str(shots / "search.png"), full_page=True)
    # Narrow a search for "payment OR budget" style words by the verdict facet.
    page.goto(live.url + "/search?q=" + urllib.parse.quote("euros"))
    facet = page.locator(".facet a", has=page.locator(".v-altered"))
    facet.click()
    page.wait_for_url(re.compile(r"verdict%3Aaltered|verdict:altered"))
    assert "verdict:altered" in page.locator("#q").input_value()
    hits = page.locator(".hit")
    assert hits.count() == 1
    hits.first.locator("a.hit-title").click()
    page.wait_for_url(re.compile(r"/items/[0-9a-f]{20}$"))
    assert page.locator(".item-verdict .verdict").inner_text().strip().lower().endswith("altered")
    findings = page.locator(".finding")
    codes = [c.inner_text() for c in page.locator(".finding code.code").all()]
    assert "dkim.body_hash_mismatch" in codes
    body_hash = findings.filter(has_text="dkim.body_hash_mismatch").first
    body_hash.locator("summary", has_text="Evidence").click()
    assert body_hash.locator("dl.evidence").first.is_visible()
    assert "body_hash_signed" in body_hash.locator("dl.evidence").first.inner_text()
    page.screenshot(path=str(shots / "item-altered.png"), full_page=True)
    assert page.recorder.outside() == []


def test_thread_navigation(page, live, shots):
    page.goto(live.url + "/search?q=" + urllib.parse.quote('"Done, the printer is paid"'))
    page.locator("a.hit-title").first.click()
    page.wait_for_url(re.compile(r"/items/"))
    tree = page.locator(".thread-tree li")
    assert tree.count() == 3
    assert page.locator('.thread-tree li[aria-current="true"]').inner_text().startswith("Re: Printer budget")
    page.get_by_role("link", name="← Parent message").click()
    page.wait_for_url(re.compile(r"/items/"))
    assert page.locator("h1").inner_text() == "Printer budget"
    assert page.locator(".item-verdict .verdict").inner_text().strip().lower().endswith("verified")
    # The parent's attachment is listed with its verdict, and is identical to the reply's copy.
    assert page.locator("#h-children").is_visible()
    assert "ledger.pdf" in page.locator("table.list").inner_text()
    page.screenshot(path=str(shots / "item-verified.png"), full_page=True)
    page.get_by_role("link", name="First reply →").click()
    page.wait_for_url(re.compile(r"/items/"))
    assert page.locator("h1").inner_text() == "Re: Printer budget"
    assert page.recorder.outside() == []


def test_tag_an_item_and_find_it_by_tag(page, live):
    page.goto(live.url + "/search?q=lunch")
    page.locator("a.hit-title").first.click()
    page.wait_for_url(re.compile(r"/items/"))
    page.get_by_label("Add a tag").fill("Follow up")
    page.get_by_role("button", name="Add tag").click()
    page.wait_for_load_state()
    assert page.locator("#notes .tag a").first.inner_text() == "follow up"
    page.get_by_label("Add a note").fill("Ask the source who sent this.")
    page.get_by_role("button", name="Save note").click()
    page.wait_for_load_state()
    assert "Ask the source who sent this." in page.locator(".note-body").first.inner_text()
    page.locator("#notes .tag a").first.click()
    page.wait_for_url(re.compile(r"/search\?"))
    assert page.locator(".hit").count() == 1
    assert page.locator(".hit-title").inner_text() == "Lunch next week?"


def test_hostile_html_email_is_inert(page, live, shots):
    page.goto(live.url + "/search?q=" + urllib.parse.quote('"Offshore account verification"'))
    page.locator("a.hit-title").first.click()
    page.wait_for_url(re.compile(r"/items/[0-9a-f]{20}$"))
    item_url = page.url
    frame_el = page.locator("iframe.html-body")
    assert frame_el.get_attribute("sandbox") == ""
    frame_el.scroll_into_view_if_needed()
    frame = frame_el.content_frame
    frame.locator("#greeting").wait_for()
    assert "offshore" in frame.locator("#greeting").inner_text()
    page.wait_for_timeout(1500)  # give a meta refresh or a late script every chance to fire
    # No script ran: not in the page, not in the frame.
    assert page.title() != "" and "PWNED" not in page.title()
    assert page.evaluate("() => typeof window.pwned") == "undefined"
    frame_title = page.frames[1].title() if len(page.frames) > 1 else ""
    assert "PWNED" not in frame_title
    # Links and forms are gone; the remote image is replaced by a note.
    assert frame.locator("a[href]").count() == 0
    assert frame.locator("form, input, script, iframe, object, meta:not([charset]), base, link").count() == 0
    assert frame.locator("img[src]").count() == 0
    # Clicking the former link goes nowhere.
    frame.locator("#phish").click()
    page.wait_for_timeout(300)
    assert page.url == item_url
    assert len(page.frames) == 2 and page.frames[1].url.endswith("/body.html")
    # The sanitised source can be read too.
    page.locator("summary", has_text="Sanitised HTML source").click()
    assert "remote image blocked" in page.locator("pre.source").inner_text()
    page.screenshot(path=str(shots / "item-hostile-html.png"), full_page=True)
    assert page.recorder.outside() == [], page.recorder.outside()
    assert all(u.startswith(live.url) for u in page.recorder.requests)


def test_narrow_screen_and_keyboard(browser, live, shots):
    context = browser.new_context(viewport={"width": 390, "height": 840})
    pg = context.new_page()
    try:
        pg.goto(live.url + "/search?q=printer")
        # Nothing wider than the screen.
        width = pg.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 392
        pg.screenshot(path=str(shots / "search-narrow.png"), full_page=True)
        # The skip link is the first stop and is visible when focused.
        pg.keyboard.press("Tab")
        assert pg.evaluate("() => document.activeElement.className") == "skip"
        pg.goto(live.url + "/")
        pg.keyboard.press("/")
        assert pg.evaluate("() => document.activeElement.id") == "top-q"
    finally:
        context.close()


def test_correspondents_graph(page, live, shots):
    page.goto(live.url + "/correspondents")
    svg = page.locator("svg.graph")
    assert svg.count() == 1
    assert "anne@horizon.example" in svg.inner_html()
    page.goto(live.url + "/correspondents?verdict=altered")
    assert "claire@horizon.example" in page.locator("svg.graph").inner_html()
    assert "paul@horizon.example" not in page.locator("svg.graph").inner_html()
    page.screenshot(path=str(shots / "correspondents.png"), full_page=True)
