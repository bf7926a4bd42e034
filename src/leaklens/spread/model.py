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


# The seconds datetime can show (years 1 to 9999, UTC): a time outside them cannot be a post's, and
# `iso()` and every timeline would fail on it, so it is read as unreadable, like any other bad time.
_FIRST_TS = datetime(1, 1, 1, tzinfo=UTC).timestamp()
_LAST_TS = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


def parse_time(value: object) -> float | None:
    """ISO 8601 (Twitter v2, Telegram, generic CSV), RFC 2822-like (Twitter v1.1), or epoch seconds.
    None when the value is empty, unreadable or out of range (NaN, infinite, before year 1 or after
    9999): a reader turns that into a post without a time or a `Bad` line, never an exception."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return _in_range(float(value))
        except OverflowError:  # an int past a float's range (10**400)
            return None
    text = str(value).strip()
    try:
        return _in_range(float(text))
    except ValueError:
        pass
    try:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                dt = datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")  # v1.1: "Wed Oct 10 20:19:24 +0000 2018"
            except ValueError:
                # OverflowError: a year or zone too large for a C int ("+99999999999999999999"), found by fuzzing
                dt = parsedate_to_datetime(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)  # exports without a zone (Telegram Desktop) are read as UTC; said in README
        return _in_range(dt.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _in_range(ts: float) -> float | None:
    # NaN fails both comparisons, so it is out of range too
    return ts if _FIRST_TS <= ts <= _LAST_TS else None


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
