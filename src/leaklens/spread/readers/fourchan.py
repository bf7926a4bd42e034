"""4chan threads as the 4chan API serves them (`https://a.4cdn.org/<board>/thread/<no>.json`):
`{"posts": [{"no", "resto", "time", "name", "id", "trip", "com", "filename", "ext", "fsize", "md5"}, ...]}`.

`com` is HTML: quote links (`<a href="#p123" class="quotelink">&gt;&gt;123</a>`) name the posts a
reply answers; the first is its parent, else the thread's opening post. `md5` is the attachment's
MD5 in base64, which links a post to the dump's file with those bytes. Posters are anonymous: the
per-thread poster `id` (on boards that show one) or a tripcode is the closest thing to an account,
and "Anonymous" is no account at all (left empty, so no one is merged into one author).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterator
from pathlib import Path

from ..model import Bad, Post, parse_time, uid
from . import reader, sniffer
from .jsonlines import first_char, objects

QUOTE = re.compile(r'href="(?:[^"#]*)#p(\d+)"')
TAG = re.compile(r"<[^>]*>")
URL = re.compile(r"https?://[^\s<>\"']+")


def _sniff(head: bytes, name: str) -> int:
    if first_char(head) == "{" and b'"posts"' in head and b'"no"' in head and (b'"resto"' in head or b'"now"' in head):
        return 85
    return 0


def plain(com: str) -> str:
    """4chan's comment HTML as text (tags dropped, <br> as newlines, entities decoded); never rendered."""
    text = com.replace("<wbr>", "").replace("<br>", "\n")
    return html.unescape(TAG.sub("", text))


def md5_hex(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return raw.hex() if len(raw) == 16 else ""


@reader("4chan", "4chan thread JSON as the 4chan API serves it")
@sniffer(_sniff)
def read_4chan(path: Path) -> Iterator[Post | Bad]:
    for got in objects(path):
        if isinstance(got, Bad):
            yield got
            continue
        where, doc = got
        posts = doc.get("posts") if isinstance(doc, dict) else None
        if not isinstance(posts, list):
            yield Bad(where, 'not a 4chan thread (no "posts" list)')
            continue
        board = str(doc.get("board") or "")
        prefix = f"{board}/" if board else ""
        op = next((p.get("no") for p in posts if isinstance(p, dict) and p.get("resto") in (0, None)), None)
        for i, p in enumerate(posts):
            at = f"/posts/{i}"
            if not isinstance(p, dict) or not isinstance(p.get("no"), int):
                yield Bad(at, "a post without a number (no)")
                continue
            thread = p.get("resto") or p["no"]
            com = str(p.get("com") or "")
            quoted = [q for q in QUOTE.findall(com) if int(q) != p["no"]]
            parent = quoted[0] if quoted else (thread if p.get("resto") else None)
            poster = (
                p.get("id") or p.get("trip") or ("" if (p.get("name") or "Anonymous") == "Anonymous" else p.get("name"))
            )
            text = plain(com)
            if p.get("sub"):
                text = html.unescape(str(p["sub"])) + "\n" + text
            files = []
            if p.get("filename") is not None or p.get("md5"):
                files.append(
                    {
                        k: v
                        for k, v in (
                            ("name", html.unescape(f"{p.get('filename', '')}{p.get('ext', '')}")),
                            ("md5", md5_hex(str(p.get("md5") or ""))),
                            ("size", p.get("fsize")),
                        )
                        if v
                    }
                )
            yield Post(
                uid=uid("4chan", f"{prefix}{p['no']}"),
                platform="4chan",
                # through parse_time: a time past what a date can show (10**20) is no time, not a crash later
                ts=parse_time(p["time"]) if isinstance(p.get("time"), int | float) else None,
                # per-thread poster ids: "ab12CD34" in one thread is not the same person in another
                author_id=f"{prefix}{thread}/{poster}" if poster else "",
                author=str(poster or ""),
                text=text,
                reply_to=uid("4chan", f"{prefix}{parent}") if parent else "",
                urls=URL.findall(text),
                files=files,
                context=f"{prefix}{thread if op is None else op}",
                origin=at,
            )
