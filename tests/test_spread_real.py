"""spread ingest over the real Twitter API v2 exports in ../shared/corpus/real/twitter-v2/ (twarc2 pages,
flattened tweets, a stream that ends mid-line, a page with an API error object): every post read and
counted, against a count made here from the raw JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leaklens.case import Case
from leaklens.spread.analyse import analyse
from leaklens.spread.ingest import ingest_files
from leaklens.spread.table import POSTS, load_posts

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "real" / "twitter-v2"
FILES = sorted(CORPUS.glob("*.jsonl"))
pytestmark = pytest.mark.skipif(not FILES, reason="the shared corpus is not here")


def _expected(path: Path) -> tuple[set[str], int, int, int]:
    """(ids of every tweet in the file, tweets read with repeats, API error objects, lines that do not parse)."""
    ids: set[str] = set()
    read = errors = bad = 0
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if "data" in o:
            data = o["data"] if isinstance(o["data"], list) else [o["data"]]
            tweets = data + o.get("includes", {}).get("tweets", [])
            errors += len(o.get("errors", []))
        else:  # a flattened tweet carries what it references inline, at any depth
            tweets, todo = [], [o]
            while todo:
                t = todo.pop()
                tweets.append(t)
                todo.extend(r for r in t.get("referenced_tweets", []) if "created_at" in r)
        read += len(tweets)
        ids.update(t["id"] for t in tweets)
    return ids, read, errors, bad


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spread-real")
    copies = []
    for f in FILES:
        shutil.copy(f, tmp / f.name)
        copies.append(tmp / f.name)
    case = Case.open(tmp / "case", create=True)
    reports = ingest_files(case, copies)
    case.db.commit()
    yield case, {Path(r.path).name: r for r in reports}
    case.close()


def test_every_post_in_the_real_exports_is_read_and_counted(loaded):
    case, reports = loaded
    every: set[str] = set()
    for f in FILES:
        ids, read, errors, bad = _expected(f)
        r = reports[f.name]
        assert r.format == "twitter-v2", f.name
        assert (r.posts, r.errors, r.malformed) == (read, errors, bad), f.name
        assert r.new + r.merged == r.posts
        every |= ids
    stored = {k[0] for k in case.db.table_keys(POSTS)}
    assert stored == {f"twitter:{i}" for i in every}
    # the stream that ends mid-line: its seven whole lines are read, the cut one is counted as malformed
    stream = reports["streaming_output_with_error.jsonl"]
    assert stream.malformed == 1 and "truncated" in stream.examples[0]["reason"]
    # the page with the suspended account's error object: counted as an API error, its 100 tweets read
    assert reports["noflat.jsonl"].errors == 1 and "suspended" in reports["noflat.jsonl"].examples[0]["reason"]


def test_pages_and_flattened_tweets_say_the_same(loaded):
    """noflat.jsonl (pages) and flat.jsonl (twarc2 flatten of the same search) merge into the same posts."""
    case, reports = loaded
    assert reports["noflat.jsonl"].new == 0  # flat.jsonl was read first: every tweet merged
    ps = load_posts(case.db)
    rt = ps.index["twitter:1380242611781386245"]  # a retweet in both files
    assert ps.repost_of[rt] == "twitter:1380175475545362437"
    assert ps.author[rt] == "Alexandravm12"
    assert ps.author_created[rt] is not None  # from includes.users (pages) or author (flattened)
    assert ps.text[ps.index["twitter:1380175475545362437"]].startswith("De manera simult")


def test_reading_the_same_file_again_adds_nothing(loaded, tmp_path):
    case, _ = loaded
    before = case.db.count_rows(POSTS)
    again = ingest_files(case, [FILES[0]])
    assert again[0].message.startswith("read before") and case.db.count_rows(POSTS) == before


def test_analysis_of_the_real_exports(loaded):
    case, _ = loaded
    a = analyse(case, ["obama"])
    assert a["posts"] > 100 and a["platforms"] == ["twitter"]
    top = a["cascades"]["cascades"][0]
    assert top["size"] >= 5 and top["repost"] + top["quote"] + top["reply"] == top["size"] - 1
    assert a["amplifiers"][0]["reposts_caused"] + a["amplifiers"][0]["quotes_caused"] >= 4
    json.dumps(a)  # the whole answer is JSON
