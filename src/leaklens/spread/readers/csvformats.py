"""CSV exports: twarc-csv's (`twarc2 csv`, one row per tweet, its default columns) and a generic one
(`id, time, author, text, reply_to, repost_of, quote_of, urls`, optionally `platform`, `author_id`,
`author_created`, `hashtags`, `file_name`, `md5`, `sha256`).

Fields may hold newlines (quoted, as RFC 4180 allows): the csv module reads them as one field, so a
multi-line text is one post, not several broken rows. A row with the wrong number of fields, or
without an id, is counted as malformed and the rest is read.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from ..model import PLATFORMS, Bad, Post, parse_time, uid
from . import reader, sniffer

csv.field_size_limit(min(sys.maxsize, 1 << 30))
GENERIC = ("id", "time", "author", "text", "reply_to", "repost_of", "quote_of", "urls")


def _header(head: bytes) -> list[str]:
    text = head.decode("utf-8-sig", "replace")
    try:
        return [h.strip().lower() for h in next(csv.reader(io.StringIO(text)))]
    except (StopIteration, csv.Error):
        return []


def _sniff_twarc(head: bytes, name: str) -> int:
    h = _header(head)
    return (
        90
        if {"id", "author_id", "created_at", "text"} <= set(h)
        and any(c.startswith(("referenced_tweets.", "author.", "__twarc.")) for c in h)
        else 0
    )


def _sniff_generic(head: bytes, name: str) -> int:
    h = set(_header(head))
    return 70 if {"id", "time", "text"} <= h and ("author" in h or "author_id" in h) else 0


def _list(value: str | None) -> list[str]:
    value = (value or "").strip()
    if not value:
        return []
    if value.startswith("["):
        try:
            got = json.loads(value)
            return [str(v) for v in got if v] if isinstance(got, list) else []
        except ValueError:
            pass
    return [v for v in value.replace(",", " ").split() if v]


def _rows(path: Path) -> Iterator[tuple[str, dict[str, str]] | Bad]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        rows = csv.reader(f)
        try:
            header = [h.strip() for h in next(rows)]
        except (StopIteration, csv.Error) as exc:
            yield Bad("header", f"no CSV header ({exc})")
            return
        names = [h.lower() for h in header]
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Bad(f"line {rows.line_num}", f"unreadable CSV ({exc})")
                continue
            if not row or row == [""]:
                continue
            if len(row) != len(names):
                yield Bad(f"line {rows.line_num}", f"{len(row)} fields where the header has {len(names)}")
                continue
            yield f"line {rows.line_num}", dict(zip(names, row, strict=True))


@reader("twarc-csv", "twarc-csv CSV (twarc2 csv): its default tweet columns")
@sniffer(_sniff_twarc)
def read_twarc_csv(path: Path) -> Iterator[Post | Bad]:
    for got in _rows(path):
        if isinstance(got, Bad):
            yield got
            continue
        where, r = got
        if not r.get("id"):
            yield Bad(where, "a row without a tweet id")
            continue
        yield Post(
            uid=uid("twitter", r["id"]),
            platform="twitter",
            ts=parse_time(r.get("created_at")),
            author_id=r.get("author_id") or r.get("author.id") or "",
            author=r.get("author.username") or "",
            author_created=parse_time(r.get("author.created_at")),
            text=r.get("text") or "",
            reply_to=uid("twitter", r.get("referenced_tweets.replied_to.id")),
            repost_of=uid("twitter", r.get("referenced_tweets.retweeted.id")),
            quote_of=uid("twitter", r.get("referenced_tweets.quoted.id")),
            urls=_list(r.get("entities.urls")),
            hashtags=[h.lstrip("#").lower() for h in _list(r.get("entities.hashtags"))],
            context=r.get("conversation_id") or "",
            origin=where,
        )


def _ref(platform: str, value: str | None) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    head, _, _rest = value.partition(":")
    return value if head in PLATFORMS else uid(platform, value)


@reader("csv", "generic CSV: id, time, author, text, reply_to, repost_of, quote_of, urls (+ platform, ...)")
@sniffer(_sniff_generic)
def read_generic_csv(path: Path) -> Iterator[Post | Bad]:
    for got in _rows(path):
        if isinstance(got, Bad):
            yield got
            continue
        where, r = got
        platform = (r.get("platform") or "other").strip().lower() or "other"
        if platform not in PLATFORMS:
            platform = "other"
        if not (r.get("id") or "").strip():
            yield Bad(where, "a row without an id")
            continue
        ts = parse_time(r.get("time"))
        if ts is None and r.get("time"):
            yield Bad(where, f"unreadable time {r['time'][:40]!r}")
            continue
        files = []
        if r.get("file_name") or r.get("md5") or r.get("sha256"):
            files.append(
                {
                    k: v
                    for k, v in (
                        ("name", r.get("file_name")),
                        ("md5", (r.get("md5") or "").lower()),
                        ("sha256", (r.get("sha256") or "").lower()),
                    )
                    if v
                }
            )
        yield Post(
            uid=_ref(platform, r["id"]),
            platform=platform,
            ts=ts,
            author_id=r.get("author_id") or r.get("author") or "",
            author=r.get("author") or r.get("author_id") or "",
            author_created=parse_time(r.get("author_created")),
            text=r.get("text") or "",
            reply_to=_ref(platform, r.get("reply_to")),
            repost_of=_ref(platform, r.get("repost_of")),
            quote_of=_ref(platform, r.get("quote_of")),
            urls=_list(r.get("urls")),
            hashtags=[h.lstrip("#").lower() for h in _list(r.get("hashtags"))],
            files=files,
            origin=where,
        )
