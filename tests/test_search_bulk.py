"""Bulk work from search results (web/views/bulk.py): tag and export the hits chosen or all that
match, one export code path with the tag export, CSRF kept; batch search in the web."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest
from fastapi.testclient import TestClient
from helpers import build_case
from lxml import html as lxml_html

from leaklens.case import Case
from leaklens.web.app import create_app


@pytest.fixture
def case(tmp_path, backend) -> Case:
    src = tmp_path / "in"
    src.mkdir()
    for n, (subject, body) in enumerate(
        [("Virements", "Les virements vers Chypre."), ("Transfer", "Bank transfers out."), ("Lunch", "Pizza.")]
    ):
        (src / f"{n}.eml").write_text(
            f"From: a{n}@x.example\nTo: b@x.example\nSubject: {subject}\nDate: Mon, 0{n + 1} May 2017 10:00:00 +0000\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
        )
    c = build_case(tmp_path, src, db=backend)
    yield c
    c.close()


def _client(case: Case) -> tuple[TestClient, str]:
    client = TestClient(create_app(case.root))
    return client, client.get("/api/session").json()["csrf_token"]


def test_tag_all_matching_then_some_and_see_the_tags_on_the_hits(case):
    client, csrf = _client(case)
    q = "virement OR transfer"
    r = client.post("/search/bulk", data={"csrf_token": csrf, "q": q, "all": "1", "action": "tag", "tag": "Story A"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and "tagged=story+a" in r.headers["location"] and "n=2" in r.headers["location"]
    assert case.db.search_count('tag:"story a"') == 2
    page = lxml_html.fromstring(client.get(r.headers["location"]).text)
    assert "Tagged 2 items" in page.xpath("string(//p[@class='notice'])")
    assert [t.text_content() for t in page.xpath("//ul[@class='hit-tags']//a")] == ["story a", "story a"]
    # Some: the ticked ones only (an id the case does not hold is ignored).
    lunch = case.db.search_ids("lunch", limit=5)
    r = client.post("/search/bulk", data={"csrf_token": csrf, "q": "", "id": [*lunch, "nonexistent"], "action": "tag",
                                          "tag": "food"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and case.db.tagged_item_ids("food") == lunch


def test_state_changes_need_the_csrf_token(case):
    client, _ = _client(case)
    r = client.post("/search/bulk", data={"q": "lunch", "all": "1", "action": "tag", "tag": "x"})
    assert r.status_code == 403 and case.db.tagged_item_ids("x") == []
    r = client.post("/search/batch", data={"terms": "lunch"})
    assert r.status_code == 403


def test_export_from_search_is_the_tag_export(case):
    client, csrf = _client(case)
    q = "virement OR transfer"
    got = {f: client.post("/search/bulk", data={"csrf_token": csrf, "q": q, "all": "1", "action": f})
           for f in ("json", "csv", "zip")}  # fmt: skip
    assert all(r.status_code == 200 for r in got.values())
    doc = json.loads(got["json"].text)
    assert doc["search"] == q and sorted(i["email"]["subject"] for i in doc["items"]) == ["Transfer", "Virements"]
    rows = list(csv.DictReader(io.StringIO(got["csv"].text)))
    assert sorted(r["subject"] for r in rows) == ["Transfer", "Virements"]
    z = zipfile.ZipFile(io.BytesIO(got["zip"].content))
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["search"] == q and len(manifest["files"]) == 2 and manifest["missing"] == []
    for entry in manifest["files"]:
        assert hashlib.sha256(z.read(entry["file"])).hexdigest() == entry["sha256"]
    # The same items tagged, exported from the tag: the same items, the same rows.
    client.post("/search/bulk", data={"csrf_token": csrf, "q": q, "all": "1", "action": "tag", "tag": "a"})
    by_tag = json.loads(client.get("/export", params={"tag": "a", "format": "json"}).text)
    assert by_tag["tag"] == "a"
    key = lambda items: sorted((i["id"], i["sha256"], i["verdict"]) for i in items)  # noqa: E731
    assert key(by_tag["items"]) == key(doc["items"])
    assert client.get("/export", params={"tag": "a", "format": "zip"}).status_code == 200


def test_bulk_without_a_choice_or_with_a_bad_tag_says_so(case):
    client, csrf = _client(case)
    r = client.post("/search/bulk", data={"csrf_token": csrf, "q": "lunch", "action": "json"})
    assert r.status_code == 400 and "no item chosen" in r.text
    r = client.post("/search/bulk", data={"csrf_token": csrf, "q": "lunch", "all": "1", "action": "tag", "tag": ""})
    assert r.status_code == 400 and "tag cannot be empty" in r.text
    r = client.post("/search/bulk", data={"csrf_token": csrf, "q": "(lunch", "all": "1", "action": "json"})
    assert r.status_code == 400 and "not closed" in r.text


def test_batch_search_page(case):
    client, csrf = _client(case)
    r = client.post("/search/batch", data={"csrf_token": csrf, "terms": "virement\n# skip\nChypre\nnothing\n(oops\n"})
    assert r.status_code == 200
    rows = lxml_html.fromstring(r.text).xpath("//table[contains(@class,'batch-results')]/tbody/tr")
    cells = [[c.text_content().strip() for c in row.xpath("td")] for row in rows]
    assert [c[:2] for c in cells] == [["virement", "1"], ["Chypre", "1"], ["nothing", "0"], ["(oops", "—"]]
    assert "not closed" in cells[3][2]
    assert rows[0].xpath("string(.//a/@href)") == "/search?q=virement"
    r = client.post("/search/batch", data={"csrf_token": csrf, "terms": "\n# only a comment\n"})
    assert r.status_code == 400 and "no term" in r.text


def test_search_page_says_what_it_cannot_read(case):
    client, _ = _client(case)
    page = lxml_html.fromstring(client.get("/search", params={"q": "virement OR"}).text)
    assert "OR at character 10 needs a term after it" in page.xpath("string(//p[@role='alert'])")
    page = lxml_html.fromstring(client.get("/search", params={"q": "budg* OR virment~", "sort": "-size"}).text)
    assert page.xpath("string(//select[@id='sort']/option[@selected]/@value)") == "-size"
