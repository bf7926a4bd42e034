"""Notes and tags a journalist adds to items: what a tag or a note may be, for every backend.

They are kept in the case beside the items and read and written through the store
(`case.db.add_tag(...)`, `case.db.notes_for(...)`; SQLite: store/sqlite/annotations.py).
Tags are normalised (trimmed, lower-case, inner whitespace collapsed) so that "Offshore " and
"offshore" are one tag.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ..errors import UsageError

MAX_TAG = 64
MAX_NOTE = 20_000
_TAG_OK = re.compile(r"^[\w][\w .\-/+&']*$")


def now() -> str:
    """When a tag or note is made, as stored."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def tag_key(tag: str) -> str:
    """The stored form of a tag to look up or remove (no checks: an unusable one finds nothing)."""
    return " ".join((tag or "").split()).lower()


def normalise_tag(tag: str) -> str:
    """The stored form of a new tag; raises UsageError for an empty or unusable one."""
    value = tag_key(tag)
    if not value:
        raise UsageError("a tag cannot be empty")
    if len(value) > MAX_TAG:
        raise UsageError(f"a tag is at most {MAX_TAG} characters")
    if not _TAG_OK.match(value):
        raise UsageError("a tag uses letters, digits, spaces and . - / + & ' only")
    return value


def check_note(body: str) -> str:
    """The stored form of a new note; raises UsageError for an empty or too long one."""
    body = (body or "").strip()
    if not body:
        raise UsageError("a note cannot be empty")
    if len(body) > MAX_NOTE:
        raise UsageError(f"a note is at most {MAX_NOTE} characters")
    return body
