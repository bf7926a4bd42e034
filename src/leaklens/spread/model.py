"""A post as every reader yields it, whatever the platform: one record, declared once.

`uid` is "<platform>:<id>", so the same number on two platforms never collides, and references
(reply_to, repost_of, quote_of) are uids too: a cascade crosses files, and can cross platforms.
Times are seconds since the epoch, UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

PLATFORMS = ("twitter", "4chan", "telegram", "other")


@dataclass(slots=True)
class PostFile:
    """A file a post carries: what it is called and the digests the export gives (md5 is 4chan's, base64)."""

    name: str = ""
    md5: str = ""  # hex
    sha256: str = ""
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (("name", self.name), ("md5", self.md5), ("sha256", self.sha256), ("size", self.size))
            if v not in ("", None)
        }


@dataclass(slots=True)
class Post:
    uid: str
    platform: str
    ts: float | None
    author_id: str = ""
    author: str = ""  # a handle or display name as the export gives it
    author_created: float | None = None  # when the account was made, if the export says
    text: str = ""
    reply_to: str = ""
    repost_of: str = ""
    quote_of: str = ""
    urls: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)  # lower case, without '#'
    files: list[dict[str, Any]] = field(default_factory=list)
    context: str = ""  # the thread or chat it was posted in
    origin: str = ""  # where in its export file it was read: "line 12", "/posts/3"...
    partial: bool = False  # known only as the target of a reference (an API expansion): fewer fields

    @property
    def post_id(self) -> str:
        return self.uid.partition(":")[2]


@dataclass(slots=True)
class Bad:
    """Something in an export that is not a post: a malformed line, an API error object, a wrong row."""

    where: str
    reason: str
    kind: str = "malformed"  # malformed, error (an API error object), skipped (not a post: a service message)


def uid(platform: str, post_id: object) -> str:
    return f"{platform}:{post_id}" if post_id not in (None, "") else ""


def parse_time(value: object) -> float | None:
    """ISO 8601 (Twitter v2, Telegram, generic CSV), RFC 2822-like (Twitter v1.1), or epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")  # v1.1: "Wed Oct 10 20:19:24 +0000 2018"
        except ValueError:
            try:
                dt = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # exports without a zone (Telegram Desktop) are read as UTC; said in README
    return dt.timestamp()


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
