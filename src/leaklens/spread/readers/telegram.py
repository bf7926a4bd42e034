"""Telegram Desktop exports (Settings > Export chat history / Export Telegram data, as JSON):
one chat (`{"name", "type", "id", "messages": [...]}`) or a full export
(`{"chats": {"list": [chat, ...]}, "left_chats": {...}, ...}`).

A message's `text` is a string or a list of parts (strings and `{"type": "link"|"text_link"|
"hashtag"..., "text", "href"}`); `date_unixtime` (newer exports) is the time, else `date`, which
Telegram writes in the exporting computer's local time without a zone (read as UTC; the README says
so). Service messages (joins, pins) are counted as skipped, not posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from ..model import Bad, Post, parse_time, uid
from . import reader, sniffer
from .jsonlines import first_char, objects


def _sniff(head: bytes, name: str) -> int:
    if first_char(head) != "{":
        return 0
    if b'"messages"' in head and (b'"date_unixtime"' in head or b'"from_id"' in head or b'"type": "message"' in head):
        return 85
    if b'"chats"' in head and (b'"personal_information"' in head or b'"about"' in head):
        return 85
    return 0


def _parts(value: Any) -> tuple[str, list[str], list[str]]:
    """(text, urls, hashtags) of a message's text field."""
    if isinstance(value, str):
        return value, [], []
    text, urls, tags = [], [], []
    for part in value if isinstance(value, list) else []:
        if isinstance(part, str):
            text.append(part)
        elif isinstance(part, dict):
            t = str(part.get("text") or "")
            text.append(t)
            kind = part.get("type")
            if kind == "link":
                urls.append(t)
            elif kind == "text_link" and part.get("href"):
                urls.append(str(part["href"]))
            elif kind == "hashtag":
                tags.append(t.lstrip("#").lower())
    return "".join(text), urls, tags


def _chat(chat: dict, where: str) -> Iterator[Post | Bad]:
    chat_id = chat.get("id")
    messages = chat.get("messages")
    if chat_id is None or not isinstance(messages, list):
        yield Bad(where, "a chat without an id or messages")
        return
    for i, m in enumerate(messages):
        at = f"{where}/messages/{i}"
        if not isinstance(m, dict) or m.get("id") is None:
            yield Bad(at, "a message without an id")
            continue
        if m.get("type", "message") != "message":
            yield Bad(at, f"a {m.get('type')} message (not a post)", "skipped")
            continue
        text, urls, tags = _parts(m.get("text"))
        if isinstance(m.get("text_entities"), list) and not urls and not tags:
            _t, urls, tags = _parts(m["text_entities"])
        files = []
        for key in ("file", "photo"):
            ref = m.get(key)
            if isinstance(ref, str) and ref and not ref.startswith("("):  # "(File not included. ...)"
                files.append(
                    {"name": m.get("file_name") if key == "file" and m.get("file_name") else PurePosixPath(ref).name}
                )
            elif key == "file" and m.get("file_name"):
                files.append({"name": str(m["file_name"])})
        reply = m.get("reply_to_message_id")
        yield Post(
            uid=uid("telegram", f"{chat_id}/{m['id']}"),
            platform="telegram",
            ts=parse_time(m.get("date_unixtime") or m.get("date")),
            author_id=str(m.get("from_id") or m.get("actor_id") or ""),
            author=str(m.get("from") or m.get("author") or ""),
            text=text,
            reply_to=uid("telegram", f"{chat_id}/{reply}") if reply is not None else "",
            urls=urls,
            hashtags=tags,
            files=files,
            context=str(chat.get("name") or chat_id),
            origin=at,
        )


@reader("telegram", "Telegram Desktop JSON export: one chat (result.json) or the full export")
@sniffer(_sniff)
def read_telegram(path: Path) -> Iterator[Post | Bad]:
    for got in objects(path):
        if isinstance(got, Bad):
            yield got
            continue
        where, doc = got
        if not isinstance(doc, dict):
            yield Bad(where, "not a Telegram export object")
        elif isinstance(doc.get("messages"), list):
            yield from _chat(doc, "")
        elif isinstance(doc.get("chats"), dict):
            for section in ("chats", "left_chats"):
                chats = (doc.get(section) or {}).get("list") or []
                for i, chat in enumerate(chats):
                    if isinstance(chat, dict):
                        yield from _chat(chat, f"/{section}/list/{i}")
                    else:
                        yield Bad(f"/{section}/list/{i}", "not a chat")
        else:
            yield Bad(where, "neither a chat (messages) nor a full export (chats)")
