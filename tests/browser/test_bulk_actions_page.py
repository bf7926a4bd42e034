"""Search as Aleph and Datashare users search, in Chromium: the query operators, batch search,
and bulk tag and export from search results."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
import zipfile

import pytest

pytestmark = pytest.mark.browser


def _count(page) -> int:
    return int(re.match(r"([\d,]+) result", page.locator(".results h2").inner_text())[1].replace(",", ""))


@pytest.mark.parametrize(
    "query,expected",
    [
        ("printer", 3),
        ("printer OR euros", None),  # at least each side's count (checked below)
        ('"printer is paid"', 1),
        ("print*", 3),
        ("priner~", 3),
        ("printer -lunch", 3),
        ("(printer OR lunch) AND NOT kind:attachment", None),
    ],
)
def test_each_operator_in_the_search_box(page, live, query, expected):
    page.goto(live.url + "/search")
    page.locator("#q").fill(query)
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    n = _count(page)
    assert page.locator("p.error").count() == 0
    if expected is not None:
        assert n == expected, query
    else:
        assert n > 0, query
    assert page.locator(".hit").count() == min(n, 25)


def test_what_the_box_cannot_read_is_said(page, live, shots):
    page.goto(live.url + "/search?q=" + urllib.parse.quote("(printer OR"))
    alert = page.get_by_role("alert")
    assert "needs a term after it" in alert.inner_text() or "not closed" in alert.inner_text()
    page.screenshot(path=str(shots / "search-error.png"), full_page=True)


def test_batch_search(page, live, shots):
    page.goto(live.url + "/search")
    page.locator("#syntax summary").click()
    page.get_by_role("link", name="Batch search").click()
    page.wait_for_url(re.compile(r"/search/batch$"))
    page.get_by_label("Terms, one a line").fill("printer\n# a comment\neuros\nkingfisher-nowhere\n(oops\n")
    page.get_by_role("button", name="Count each").click()
    page.wait_for_load_state()
    rows = page.locator("table.batch-results tbody tr")
    assert rows.count() == 4
    cells = [[c.inner_text().strip() for c in r.locator("td").all()] for r in rows.all()]
    assert cells[0][:2] == ["printer", "3"] and cells[2][:2] == ["kingfisher-nowhere", "0"]
    assert "not closed" in cells[3][2]
    page.screenshot(path=str(shots / "batch-search.png"), full_page=True)
    rows.first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/search\?q=printer$"))
    assert _count(page) == 3
    assert page.recorder.outside() == []


def test_bulk_tag_then_export_all_matching(page, live, shots, tmp_path):
    page.goto(live.url + "/search?q=" + urllib.parse.quote("printer"))
    total = _count(page)
    page.get_by_label("This page").check()
    assert all(p.is_checked() for p in page.locator("input.pick").all())
    page.locator("#bulk-tag").fill("Bulk story")
    page.get_by_role("button", name="Tag chosen").click()
    page.wait_for_url(re.compile(r"tagged=bulk\+story"))
    assert f"Tagged {total} items" in page.get_by_role("status").inner_text()
    chips = page.locator(".hit-tags .tag")
    assert chips.count() == total and all(c.inner_text() == "bulk story" for c in chips.all())
    page.screenshot(path=str(shots / "search-bulk-tagged.png"), full_page=True)
    # Some only: untick one, tag the others.
    page.goto(live.url + "/search?q=" + urllib.parse.quote("printer") + "&sort=date")
    page.locator("input.pick").first.check()
    page.locator("#bulk-tag").fill("just one")
    page.get_by_role("button", name="Tag chosen").click()
    page.wait_for_url(re.compile(r"tagged=just\+one"))
    assert "Tagged 1 item" in page.get_by_role("status").inner_text()
    # Export every match of the tag's search: JSON, then the original files with their manifest.
    page.goto(live.url + "/search?q=" + urllib.parse.quote('tag:"bulk story"'))
    assert _count(page) == total
    page.get_by_label(re.compile(r"All \d+ matching")).check()
    assert all(p.is_disabled() for p in page.locator("input.pick").all())
    with page.expect_download() as got:
        page.get_by_role("button", name="JSON").click()
    doc = json.loads(open(got.value.path(), encoding="utf-8").read())
    assert doc["search"] == 'tag:"bulk story"' and len(doc["items"]) == total
    with page.expect_download() as got:
        page.get_by_role("button", name="Original files (zip)").click()
    z = zipfile.ZipFile(got.value.path())
    manifest = json.loads(z.read("manifest.json"))
    assert len(manifest["files"]) + len(manifest["missing"]) == total and manifest["files"]
    for entry in manifest["files"]:
        assert hashlib.sha256(z.read(entry["file"])).hexdigest() == entry["sha256"]
    assert page.recorder.outside() == []
