"""Malformed exports: truncated JSON, wrong columns, duplicate ids, unknown files. Each gives counts
and a clear line; the rest loads; nothing is fatal. And the command line around it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from lxml import etree

from leaklens.case import Case
from leaklens.spread.ingest import ingest_files
from leaklens.spread.table import POSTS

LEAKLENS = [sys.executable, "-m", "leaklens"]


def _v2_page(ids: list[int]) -> dict:
    return {
        "data": [
            {"id": str(i), "author_id": "1", "created_at": "2017-05-05T20:00:00.000Z", "text": f"t{i}"} for i in ids
        ],
        "includes": {"users": [{"id": "1", "username": "a"}]},
    }


def _exports(tmp: Path) -> dict[str, Path]:
    out = {}
    out["v2"] = tmp / "cut.jsonl"
    good = json.dumps(_v2_page([1, 2, 3]))
    dup = json.dumps(_v2_page([3, 4]))  # 3 again: one post, merged
    out["v2"].write_text(good + "\n" + "{not json}\n" + dup + "\n" + good[: len(good) // 2], encoding="utf-8")
    out["csv"] = tmp / "cols.csv"
    with open(out["csv"], "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "time", "author", "text", "reply_to", "repost_of", "quote_of", "urls"])
        w.writerow(["p1", "2017-05-05T20:00:00Z", "x", "fine", "", "", "", ""])
        w.writerow(["p2", "2017-05-05T20:01:00Z", "x", "one", "field", "too", "many", "", "!"])
        w.writerow(["", "2017-05-05T20:02:00Z", "x", "no id", "", "", "", ""])
        w.writerow(["p3", "yesterday-ish", "x", "bad time", "", "", "", ""])
        w.writerow(["p4", "2017-05-05T20:03:00Z", "y", "multi\nline\ntext", "p1", "", "", "https://a.example/x"])
    out["4chan"] = tmp / "thread.json"
    out["4chan"].write_text('{"posts": [{"no": 1, "resto": 0, "time": 1494009480, "com": "cut', encoding="utf-8")
    out["telegram"] = tmp / "result.json"
    out["telegram"].write_text(
        json.dumps(
            {
                "name": "c",
                "type": "public_channel",
                "id": 5,
                "messages": [
                    {
                        "id": 1,
                        "type": "message",
                        "date": "2017-05-05T20:00:00",
                        "from": "c",
                        "from_id": "channel5",
                        "text": "ok",
                    },
                    "garbage",
                    {"type": "message", "text": "no id"},
                ],
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    out["unknown"] = tmp / "notes.txt"
    out["unknown"].write_text("just some notes\n", encoding="utf-8")
    return out


def test_malformed_exports_are_counted_and_the_rest_loads(tmp_path):
    files = _exports(tmp_path)
    with Case.open(tmp_path / "case", create=True) as case:
        reps = {Path(r.path).name: r for r in ingest_files(case, list(files.values()))}
        case.db.commit()
        v2 = reps["cut.jsonl"]
        assert (v2.posts, v2.new, v2.merged, v2.malformed) == (5, 4, 1, 2)
        assert "truncated" in v2.examples[-1]["reason"] and v2.examples[0]["where"] == "line 2"
        c = reps["cols.csv"]
        assert (c.posts, c.malformed) == (2, 3)
        assert [e["reason"] for e in c.examples] == [
            "9 fields where the header has 8",
            "a row without an id",
            "unreadable time 'yesterday-ish'",
        ]
        assert (reps["thread.json"].format, reps["thread.json"].posts, reps["thread.json"].malformed) == ("4chan", 0, 1)
        assert (reps["result.json"].posts, reps["result.json"].malformed) == (1, 2)
        assert reps["notes.txt"].message.startswith("not an export format leaklens reads")
        assert case.db.count_rows(POSTS) == 4 + 2 + 1
        multi = case.db.get_row(POSTS, ("other:p4",))
        assert multi["text"] == "multi\nline\ntext" and multi["reply_to"] == "other:p1"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}  # wide tables: names are not wrapped
    return subprocess.run([*LEAKLENS, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def test_command_line(tmp_path):
    files = _exports(tmp_path)
    r = _run("spread", "ingest", *map(str, files.values()), "--case", "c", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "8 posts read, 7 new" in " ".join(r.stdout.split())
    assert "cut.jsonl: 2 malformed" in r.stderr and "notes.txt: not an export format" in r.stderr
    r = _run("spread", "analyse", "--case", "c", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    a = json.loads(r.stdout)
    assert a["posts"] == 7 and set(a["coordination"]["methods"]) >= {
        "co-repost",
        "co-post",
        "co-link",
        "co-reply",
        "co-similarity",
        "tfidf-projection",
    }
    r = _run("spread", "analyse", "--case", "c", "--format", "graphml", "-o", "n.graphml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    etree.parse(str(tmp_path / "n.graphml"))  # well-formed GraphML
    r = _run("spread", "analyse", "--case", "c", "--match", "#nothing", cwd=tmp_path)
    assert r.returncode == 0 and "0 posts" in r.stdout
    r = _run("spread", "ingest", str(files["unknown"]), "--case", "d", cwd=tmp_path)
    assert r.returncode == 2 and "no posts read" in r.stderr and "Traceback" not in r.stderr
    r = _run("spread", "analyse", "--case", "d", cwd=tmp_path)
    assert r.returncode == 2 and "no posts in" in r.stderr
    r = _run("spread", "analyse", "--case", "nowhere", cwd=tmp_path)
    assert r.returncode == 2 and "no case at" in r.stderr
