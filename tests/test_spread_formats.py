"""spread over real-format exports of every other format (tests/spread_fixtures.py): each read and
counted, and the planted story found: the cross-platform hop, the cascade, the coordinated group, the
organic burst left alone, the posts that share the dump's file."""

from __future__ import annotations

import json

import pytest
import spread_fixtures as fx

from leaklens.case import Case
from leaklens.ingest.walker import ingest
from leaklens.spread.analyse import analyse
from leaklens.spread.ingest import ingest_files
from leaklens.spread.links import link_posts, posts_for_item
from leaklens.spread.table import POST_LINKS, POSTS


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    root = tmp_path_factory.mktemp("spread-story")
    files = fx.build(root / "exports")
    case = Case.open(root / "case", create=True)
    ingest(case, [files["dump"]], workers=1)
    order = ["4chan", "telegram", "v1", "v1_array", "v2", "twarc_csv", "csv", "telegram_chat"]
    reports = ingest_files(case, [files[k] for k in order])
    link_posts(case)
    case.db.commit()
    result = analyse(case, ["#MacronLeaks", fx.DUMP_NAME])
    whole = analyse(case)
    yield case, dict(zip(order, reports, strict=True)), result, whole
    case.close()


def test_each_format_is_recognised_and_counted(story):
    _case, reports, _a, _w = story
    got = {k: (r.format, r.posts, r.malformed, r.skipped) for k, r in reports.items()}
    assert got["4chan"] == ("4chan", 6, 0, 0)
    assert got["telegram"] == ("telegram", 3, 0, 1)  # the channel's creation is a service message
    assert got["telegram_chat"] == ("telegram", 2, 0, 1)
    assert reports["telegram_chat"].merged == 2  # the same channel, exported alone: merged, not doubled
    v1 = reports["v1"].posts + reports["v1_array"].posts
    # 1 first tweet, 30 retweets (each carrying the original), 12 sources, 96 group retweets (each carrying its
    # source), 48 slogans
    assert (reports["v1"].format, reports["v1_array"].format) == ("twitter-v1", "twitter-v1")
    assert v1 == 1 + 30 * 2 + 12 + 96 * 2 + 48
    assert reports["v2"].format == "twitter-v2" and reports["v2"].posts == fx.ORGANIC_N + 2  # + the story, twice
    assert reports["twarc_csv"].format == "twarc-csv" and reports["twarc_csv"].posts == 17
    assert reports["twarc_csv"].merged == 16  # the slogans were read from the v1.1 export already
    assert reports["csv"].format == "csv" and reports["csv"].posts == 2
    assert all(r.malformed == 0 for r in reports.values())


def test_csv_fields_with_newlines_stay_one_post(story):
    case, *_ = story
    quote = [r for r in case.db.table_rows(POSTS, platform="twitter") if r["author_id"] == "7777"]
    assert len(quote) == 1 and quote[0]["text"] == "Is this real?\nLooks like it"
    assert quote[0]["quote_of"] == f"twitter:{fx.FIRST_TWEET}"


def test_first_movers_and_the_cross_platform_hop(story):
    *_, a, _w = story
    hops = a["first_movers"]["hops"]
    assert [h["platform"] for h in hops] == ["4chan", "telegram", "twitter", "other"]
    assert hops[0]["uid"] == "4chan:123456700" and hops[0]["author"] == "Xk3pQ9aB"
    assert hops[1]["after_first_s"] == 40 * 60 and hops[1]["from_platform"] == "4chan"
    assert hops[2]["uid"] == f"twitter:{fx.FIRST_TWEET}" and hops[2]["after_previous_s"] == 80 * 60


def test_the_planted_cascade(story):
    *_, a, _w = story
    top = next(c for c in a["cascades"]["cascades"] if c["root"] == f"twitter:{fx.FIRST_TWEET}")
    assert (top["size"], top["repost"], top["quote"], top["depth"]) == (32, 30, 1, 1)
    assert (top["within_1min"], top["within_5min"]) == (15, 31)
    assert top["root_author"] == "leakfirst"
    thread = next(c for c in a["cascades"]["cascades"] if c["root"] == "4chan:123456700")
    assert (thread["size"], thread["depth"], thread["reply"]) == (6, 5, 5)
    amp = {x["author"]: x for x in a["amplifiers"]}
    assert amp["leakfirst"]["reposts_caused"] == 30 and amp["leakfirst"]["quotes_caused"] == 1


def _flagged(a: dict, method: str) -> set[str]:
    return {x["author"] for g in a["coordination"]["methods"][method]["groups"] for x in g["accounts"]}


def test_the_planted_group_is_found_with_its_evidence(story):
    *_, a, _w = story
    m = a["coordination"]["methods"]
    assert _flagged(a, "co-repost") == set(fx.GROUP)
    g = m["co-repost"]["groups"][0]
    assert g["size"] == 8 and g["shared_objects"] == 12 and g["edges"][0]["weight"] >= 3
    assert m["co-repost"]["parameters"]["window_s"] > 0 and "window_source" in m["co-repost"]["parameters"]
    assert _flagged(a, "co-post") == set(fx.GROUP)
    assert _flagged(a, "co-similarity") == set(fx.GROUP)
    assert set(fx.GROUP) <= _flagged(a, "tfidf-projection")
    burst = m["new-accounts"]["groups"]
    assert len(burst) == 1 and {x["author"] for x in burst[0]["accounts"]} == set(fx.GROUP)
    assert "bot" not in json.dumps(a["coordination"]).lower()


def test_the_organic_burst_is_not_reported_as_coordinated(story):
    *_, _a, whole = story
    organic = {f"twitter:{50000 + k}" for k in range(fx.ORGANIC_N)}
    flagged = {x["account"] for x in whole["coordination"]["accounts"]}
    assert len(organic & flagged) <= 0.05 * fx.ORGANIC_N
    assert {f"twitter:{3000 + k}" for k in range(8)} <= flagged  # while the planted group is


def test_posts_sharing_the_dump_item(story):
    case, *_rest, a, _w = story
    item = next(
        r
        for r in case.db.select_items(__import__("leaklens.store.base", fromlist=["ItemQuery"]).ItemQuery())
        if r["name"] == fx.DUMP_NAME
    )
    how = {(r["uid"], r["how"]) for r in case.db.table_rows(POST_LINKS, item_id=item["id"])}
    assert ("4chan:123456700", "md5") in how and ("4chan:123456700", "name") in how
    assert ("telegram:1099887766/2", "name") in how
    assert (f"twitter:{fx.FIRST_TWEET}", "sha256") in how and (f"twitter:{fx.FIRST_TWEET}", "url") in how
    f = [x for x in case.db.findings_for(item["id"]) if x.code == "spread.shared"]
    assert len(f) == 1 and f[0].message.startswith("First shared on 4chan at 2017-05-05T18:38:00Z, by Xk3pQ9aB")
    assert case.db.item(item["id"])["verdict"] == "unverified"  # information, no effect on the verdict
    assert posts_for_item(case, item["id"])[0]["uid"] == "4chan:123456700"
    assert {x["uid"] for x in a["dump_links"]} >= {"4chan:123456700", f"twitter:{fx.FIRST_TWEET}"}
