"""The correspondents graph in Chromium, on a case with 34 correspondents on 6 domains (graph_case):
no two labels' rendered boxes overlap at desktop or phone width, a label cut short shows the full
address on keyboard focus, the filters apply, and at 390 px nothing scrolls sideways."""

from __future__ import annotations

import itertools

import graph_case
import pytest
from conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def graph_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("graph-browser")
    graph_case.build(root).close()
    with LiveServer(root / "case") as server:
        yield server


@pytest.fixture
def graph_page(browser, graph_server):
    # Anything not for the local server is aborted, as conftest's `page` does for `live`.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(graph_server.url + "/") else r.abort())
    yield context.new_page()
    context.close()


def _boxes(page, svg: str) -> list[dict]:
    return page.eval_on_selector_all(
        f"{svg} text.label",
        "els => els.map(e => { const b = e.getBoundingClientRect();"
        " return {x0: b.left, y0: b.top, x1: b.right, y1: b.bottom, text: e.textContent}; })",
    )


def _overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    return [
        (a["text"], b["text"])
        for a, b in itertools.combinations(boxes, 2)
        if a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]
    ]


def test_labels_do_not_overlap_and_focus_shows_the_full_address(graph_page, graph_server, shots):
    page = graph_page
    page.goto(graph_server.url + "/correspondents")
    boxes = _boxes(page, "svg.wide")
    assert len(boxes) == 34
    assert all(b["x1"] > b["x0"] and b["y1"] > b["y0"] for b in boxes)
    assert _overlapping(boxes) == []
    # Every label inside the drawing, none cut at its edge.
    svg = page.locator("svg.wide").bounding_box()
    assert all(svg["x"] <= b["x0"] and b["x1"] <= svg["x"] + svg["width"] for b in boxes)
    # The long address's label is cut; focusing its node shows the whole address in its place.
    node = page.locator("svg.wide a.node", has=page.locator("title", has_text=graph_case.LONG))
    label, full = node.locator("text.label"), node.locator("text.full")
    assert label.text_content() != graph_case.LONG and full.text_content() == graph_case.LONG
    assert not full.is_visible()
    node.focus()
    assert full.is_visible() and not label.is_visible()
    shown = full.bounding_box()
    assert svg["x"] <= shown["x"] and shown["x"] + shown["width"] <= svg["x"] + svg["width"]
    page.screenshot(path=str(shots / "correspondents-graph.png"), full_page=True)
    # Arrows: one path per direction, each ending in the arrow marker.
    assert page.locator("svg.wide path.edge[marker-end='url(#arrow)']").count() > 100


def test_filters_apply_on_the_page(graph_page, graph_server):
    page = graph_page
    page.goto(graph_server.url + "/correspondents")
    page.fill("#domain", "evil.example")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**domain=evil.example**")
    titles = page.locator("svg.wide a.node title").all_text_contents()
    assert any(t.startswith(graph_case.ATTACKER) for t in titles)
    assert any(t.startswith(graph_case.PAUL) for t in titles)
    assert not any("press.example" in t for t in titles)
    page.goto(graph_server.url + "/correspondents?after=2017-05-03&before=2017-05-04")
    assert page.locator("svg.wide path.edge title").all_text_contents() == [
        f"{graph_case.PAUL} → {graph_case.ANNE}: 1 message"
    ]


def test_390px_no_sideways_scroll_and_readable_numbers(browser, graph_server, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(graph_server.url + "/") else r.abort())
    page = context.new_page()
    try:
        page.goto(graph_server.url + "/correspondents")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert not page.locator("svg.wide").is_visible() and page.locator("svg.narrow").is_visible()
        boxes = _boxes(page, "svg.narrow")
        assert len(boxes) == 34 and _overlapping(boxes) == []
        # Numbers drawn at a size a phone can read (at least 8 CSS px high), all on the screen.
        assert min(b["y1"] - b["y0"] for b in boxes) >= 8
        assert all(0 <= b["x0"] and b["x1"] <= 390 for b in boxes)
        # The people table the numbers refer to: full addresses, wrapped, not cut.
        cell = page.locator("table.people td.addr", has_text=graph_case.LONG)
        assert cell.count() == 1
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= 390
        page.screenshot(path=str(shots / "correspondents-graph-390.png"), full_page=True)
    finally:
        context.close()
