"""The workbench's Spread page and post pages over the planted story, with hostile post content:
everything a post carries is shown as inert text."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
import spread_fixtures as fx
from fastapi.testclient import TestClient
from lxml import html as lxml_html

from leaklens.case import Case
from leaklens.ingest.walker import ingest
from leaklens.spread.ingest import ingest_files
from leaklens.spread.links import link_posts
from leaklens.store.base import ItemQuery
from leaklens.web.app import create_app

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script><a href="javascript:alert(3)">x</a>'


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("spread-web")
    files = fx.build(root / "exports")
    hostile = root / "exports" / "hostile.json"
    hostile.write_text(
        json.dumps(
            {
                "name": HOSTILE,
                "type": "public_channel",
                "id": 666,
                "messages": [
                    {
                        "id": 1,
                        "type": "message",
                        "date_unixtime": "1494020000",
                        "from": HOSTILE,
                        "from_id": "channel666",
                        "text": [HOSTILE, {"type": "link", "text": "javascript:alert(4)"}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    with Case.open(root / "case", create=True) as case:
        ingest(case, [files["dump"]], workers=1)
        ingest_files(
            case, [files[k] for k in ("4chan", "telegram", "v1", "v1_array", "v2", "twarc_csv", "csv")] + [hostile]
        )
        link_posts(case)
        case.db.commit()
        item = next(r["id"] for r in case.db.select_items(ItemQuery()) if r["name"] == fx.DUMP_NAME)
    with TestClient(create_app(root / "case")) as c:
        c.item_id = item
        yield c


def _inert(page: str) -> None:
    doc = lxml_html.fromstring(page)
    # Only the app's own scripts, none inline: no script from a post reached the page.
    scripts = list(doc.iter("script"))
    assert scripts and all((s.get("src") or "").startswith("/static/") and not (s.text or "").strip() for s in scripts)
    assert not doc.xpath("//img") and not doc.xpath("//*[@onerror]")
    assert not [a for a in doc.iter("a") if (a.get("href") or "").lower().startswith("javascript")]


def test_spread_page(client):
    r = client.get("/spread")
    assert r.status_code == 200
    _inert(r.text)
    doc = lxml_html.fromstring(r.text)
    svgs = doc.xpath("//svg")
    assert len(svgs) >= 2  # the timeline and the largest cascade
    assert "leakfirst" in r.text and "co-repost" in r.text and "relay3" in r.text
    assert "4chan:123456700" in r.text and not re.search(r"\bbots?\b", r.text, re.I)
    assert HOSTILE not in r.text and "&lt;script&gt;" in r.text  # the channel's name, escaped


def test_spread_page_with_a_match(client):
    r = client.get("/spread", params={"match": "#MacronLeaks"})
    assert r.status_code == 200 and "hashtag macronleaks" in r.text
    r = client.get("/spread", params={"match": f"item:{client.item_id}"})
    assert r.status_code == 200 and "Xk3pQ9aB" in r.text


def test_post_pages(client):
    r = client.get("/spread/post", params={"uid": "telegram:666/1"})
    assert r.status_code == 200
    _inert(r.text)
    assert "javascript:alert(4)" in r.text  # shown as text
    r = client.get("/spread/post", params={"uid": "4chan:123456700"})
    assert r.status_code == 200 and fx.DUMP_NAME in r.text and f"/items/{quote(client.item_id)}" in r.text
    assert "thread.json, /posts/0" in r.text
    assert client.get("/spread/post", params={"uid": "twitter:1"}).status_code == 404


def test_the_item_page_says_where_it_was_first_shared(client):
    r = client.get(f"/items/{client.item_id}")
    assert r.status_code == 200
    assert "First shared on 4chan at 2017-05-05T18:38:00Z, by Xk3pQ9aB" in r.text
    assert "/spread/post?uid=4chan%3A123456700" in r.text
