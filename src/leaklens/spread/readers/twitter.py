"""Twitter exports: API v1.1 statuses (JSON array, JSONL, `{"statuses": [...]}`) and API v2 (JSONL of
response pages with `data` + `includes`, as twarc2 writes them, or of flattened tweets, as `twarc2 flatten`
writes them). Pages are read as they are: no separate flatten step.

Referenced tweets that a page carries in `includes.tweets` (or a flattened tweet inline) are posts too:
the retweeted original is a cascade's root. API error objects (`errors`, a suspended account) are
counted, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..model import Bad, Post, parse_time, uid
from . import reader, sniffer
from .jsonlines import first_char, objects

P = "twitter"
_REFS = {"retweeted": "repost_of", "quoted": "quote_of", "replied_to": "reply_to"}


def _is_v1(o: Any) -> bool:
    return isinstance(o, dict) and ("id_str" in o or isinstance(o.get("user"), dict))


def _is_v2_tweet(o: Any) -> bool:
    return (
        isinstance(o, dict)
        and "id" in o
        and (
            "author_id" in o or "edit_history_tweet_ids" in o or ("text" in o and "created_at" in o and "user" not in o)
        )
    )


def _sample(head: bytes) -> Any:
    if first_char(head) == "[":
        return None
    line = head.lstrip().split(b"\n", 1)[0]
    try:
        return json.loads(line)
    except ValueError:
        return None


def _sniff_v1(head: bytes, name: str) -> int:
    o = _sample(head)
    if isinstance(o, dict) and (_is_v1(o) or isinstance(o.get("statuses"), list)):
        return 80
    if first_char(head) in "[{" and b'"id_str"' in head and b'"screen_name"' in head:
        return 60
    return 0


def _sniff_v2(head: bytes, name: str) -> int:
    o = _sample(head)
    if isinstance(o, dict) and (
        "data" in o and ("includes" in o or "meta" in o or "__twarc" in o or "matching_rules" in o) or _is_v2_tweet(o)
    ):
        return 80
    if first_char(head) == "{" and b'"author_id"' in head and b'"data"' in head:
        return 50  # a first line longer than the head
    return 0


# --- v1.1 ---------------------------------------------------------------------------------------
def _obj(value: Any) -> dict:
    """A field that should hold an object: anything else (a string, a number) reads as none."""
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list:
    return value if isinstance(value, list) else []


def _v1_post(t: dict, where: str, out: list[Post]) -> Post:
    user = _obj(t.get("user"))
    ext = _obj(t.get("extended_tweet"))
    ents = _obj(ext.get("entities")) or _obj(t.get("entities"))
    text = ext.get("full_text") or t.get("full_text") or t.get("text") or ""
    post = Post(
        uid=uid(P, t.get("id_str") or t.get("id")),
        platform=P,
        ts=parse_time(t.get("created_at")),
        author_id=str(user.get("id_str") or user.get("id") or ""),
        author=user.get("screen_name") or "",
        author_created=parse_time(user.get("created_at")),
        text=text,
        reply_to=uid(P, t.get("in_reply_to_status_id_str") or t.get("in_reply_to_status_id")),
        quote_of=uid(P, t.get("quoted_status_id_str") or t.get("quoted_status_id")),
        urls=[
            u.get("expanded_url") or u.get("url")
            for u in _items(ents.get("urls"))
            if isinstance(u, dict) and (u.get("expanded_url") or u.get("url"))
        ],
        hashtags=[str(h.get("text", "")).lower() for h in _items(ents.get("hashtags")) if isinstance(h, dict)],
        context=str(t.get("in_reply_to_status_id_str") or ""),
        origin=where,
    )
    rt = t.get("retweeted_status")
    if isinstance(rt, dict):
        post.repost_of = uid(P, rt.get("id_str") or rt.get("id"))
        inner = _v1_post(rt, where + " retweeted_status", out)
        inner.partial = True
    qt = t.get("quoted_status")
    if isinstance(qt, dict):
        inner = _v1_post(qt, where + " quoted_status", out)
        inner.partial = True
        post.quote_of = post.quote_of or inner.uid
    out.append(post)
    return post


@reader("twitter-v1", 'Twitter API v1.1 statuses: JSON array, JSONL, or a search response ({"statuses": [...]})')
@sniffer(_sniff_v1)
def read_v1(path: Path) -> Iterator[Post | Bad]:
    for got in objects(path):
        if isinstance(got, Bad):
            yield got
            continue
        where, value = got
        values = (
            value
            if isinstance(value, list)
            else value.get("statuses")
            if isinstance(value, dict) and isinstance(value.get("statuses"), list)
            else [value]
        )
        for i, t in enumerate(values):
            at = where if len(values) == 1 and where != "document" else f"{where} [{i}]"
            yield from _v1_one(t, at)


def _v1_one(t: Any, where: str) -> Iterator[Post | Bad]:
    if isinstance(t, dict) and ("errors" in t or "error" in t) and not _is_v1(t):
        yield Bad(where, f"API error object: {str(t.get('errors') or t.get('error'))[:120]}", "error")
    elif not _is_v1(t) or not (t.get("id_str") or t.get("id")):
        yield Bad(where, "not a v1.1 status (no id_str or user)")
    else:
        out: list[Post] = []
        _v1_post(t, where, out)
        yield from out


# --- v2 -----------------------------------------------------------------------------------------
def _v2_post(t: dict, where: str, users: dict[str, dict], *, partial: bool) -> Post:
    author = t.get("author") if isinstance(t.get("author"), dict) else users.get(str(t.get("author_id")), {})
    ents = t.get("entities") or {}
    post = Post(
        uid=uid(P, t.get("id")),
        platform=P,
        ts=parse_time(t.get("created_at")),
        author_id=str(t.get("author_id") or author.get("id") or ""),
        author=author.get("username") or "",
        author_created=parse_time(author.get("created_at")),
        text=t.get("text") or "",
        urls=[
            u.get("unwound_url") or u.get("expanded_url") or u.get("url")
            for u in ents.get("urls") or []
            if isinstance(u, dict) and (u.get("expanded_url") or u.get("url"))
        ],
        hashtags=[str(h.get("tag", "")).lower() for h in ents.get("hashtags") or [] if isinstance(h, dict)],
        context=str(t.get("conversation_id") or ""),
        origin=where,
        partial=partial,
    )
    for ref in t.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") in _REFS:
            setattr(post, _REFS[ref["type"]], uid(P, ref.get("id")))
    return post


def _v2_tweets(t: dict, where: str, users: dict[str, dict], partial: bool) -> Iterator[Post]:
    yield _v2_post(t, where, users, partial=partial)
    for k, ref in enumerate(t.get("referenced_tweets") or []):
        # A flattened tweet carries what it references inline (when the API returned it: more than type+id).
        if isinstance(ref, dict) and "created_at" in ref and "id" in ref:
            yield from _v2_tweets(ref, f"{where} referenced_tweets[{k}]", users, True)


@reader("twitter-v2", "Twitter API v2 JSONL: response pages (data + includes, twarc2) or flattened tweets")
@sniffer(_sniff_v2)
def read_v2(path: Path) -> Iterator[Post | Bad]:
    for got in objects(path):
        if isinstance(got, Bad):
            yield got
            continue
        where, o = got
        for value in o if isinstance(o, list) else [o]:
            yield from _v2_one(value, where)


def _v2_one(o: Any, where: str) -> Iterator[Post | Bad]:
    if not isinstance(o, dict):
        yield Bad(where, "not a JSON object")
        return
    if "data" in o:
        includes = o.get("includes") if isinstance(o.get("includes"), dict) else {}
        users = {str(u.get("id")): u for u in includes.get("users") or [] if isinstance(u, dict)}
        data = o["data"]
        for i, t in enumerate(data if isinstance(data, list) else [data]):
            at = f"{where} data[{i}]" if isinstance(data, list) else f"{where} data"
            if isinstance(t, dict) and t.get("id"):
                yield from _v2_tweets(t, at, users, False)
            else:
                yield Bad(at, "a data entry without a tweet id")
        for i, t in enumerate(includes.get("tweets") or []):
            if isinstance(t, dict) and t.get("id"):
                yield _v2_post(t, f"{where} includes.tweets[{i}]", users, partial=True)
        for i, e in enumerate(o.get("errors") or []):
            detail = e.get("detail") or e.get("title") if isinstance(e, dict) else e
            yield Bad(f"{where} errors[{i}]", f"API error object: {str(detail)[:120]}", "error")
    elif _is_v2_tweet(o):
        yield from _v2_tweets(o, where, {}, False)
    elif "errors" in o or "title" in o:
        yield Bad(where, f"API error object: {str(o.get('errors') or o.get('title'))[:120]}", "error")
    else:
        yield Bad(where, "neither a v2 response page nor a tweet")
