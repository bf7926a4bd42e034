"""Notes and tags a journalist adds to items, kept in the case database beside the items.

Their own tables, created on first use, so a case made before the workbench existed
gains them the first time it is served. Tags are normalised (trimmed, lower-case,
inner whitespace collapsed) so that "Offshore " and "offshore" are one tag.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

from ..errors import UsageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS item_tags (
    item_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (item_id, tag)
);
CREATE INDEX IF NOT EXISTS item_tags_tag ON item_tags(tag);
CREATE TABLE IF NOT EXISTS item_notes (
    id INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS item_notes_item ON item_notes(item_id);
"""

MAX_TAG = 64
MAX_NOTE = 20_000
_TAG_OK = re.compile(r"^[\w][\w .\-/+&']*$")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def _ready(conn: sqlite3.Connection) -> bool:
    """Reads on a case that was never served find no tables, and mean "no tags yet"."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name='item_tags'").fetchone() is not None


def normalise_tag(tag: str) -> str:
    """The stored form of a tag; raises UsageError for an empty or unusable one."""
    value = " ".join((tag or "").split()).lower()
    if not value:
        raise UsageError("a tag cannot be empty")
    if len(value) > MAX_TAG:
        raise UsageError(f"a tag is at most {MAX_TAG} characters")
    if not _TAG_OK.match(value):
        raise UsageError("a tag uses letters, digits, spaces and . - / + & ' only")
    return value


def add_tag(conn: sqlite3.Connection, item_id: str, tag: str) -> str:
    tag = normalise_tag(tag)
    conn.execute("INSERT OR IGNORE INTO item_tags(item_id, tag, created) VALUES(?,?,?)", (item_id, tag, _now()))
    return tag


def remove_tag(conn: sqlite3.Connection, item_id: str, tag: str) -> bool:
    cur = conn.execute("DELETE FROM item_tags WHERE item_id=? AND tag=?", (item_id, " ".join(tag.split()).lower()))
    return cur.rowcount > 0


def tags_for(conn: sqlite3.Connection, item_id: str) -> list[str]:
    if not _ready(conn):
        return []
    return [r[0] for r in conn.execute("SELECT tag FROM item_tags WHERE item_id=? ORDER BY tag", (item_id,))]


def all_tags(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    if not _ready(conn):
        return []
    return [
        {"tag": r[0], "count": r[1]}
        for r in conn.execute("SELECT tag, COUNT(*) FROM item_tags GROUP BY tag ORDER BY COUNT(*) DESC, tag")
    ]


def tagged_item_ids(conn: sqlite3.Connection, tag: str) -> list[str]:
    if not _ready(conn):
        return []
    return [
        r[0]
        for r in conn.execute(
            "SELECT t.item_id FROM item_tags t JOIN items i ON i.id = t.item_id WHERE t.tag=? ORDER BY i.rowid",
            (" ".join(tag.split()).lower(),),
        )
    ]


def add_note(conn: sqlite3.Connection, item_id: str, body: str) -> int:
    body = (body or "").strip()
    if not body:
        raise UsageError("a note cannot be empty")
    if len(body) > MAX_NOTE:
        raise UsageError(f"a note is at most {MAX_NOTE} characters")
    cur = conn.execute("INSERT INTO item_notes(item_id, body, created) VALUES(?,?,?)", (item_id, body, _now()))
    return int(cur.lastrowid or 0)


def delete_note(conn: sqlite3.Connection, item_id: str, note_id: int) -> bool:
    return conn.execute("DELETE FROM item_notes WHERE id=? AND item_id=?", (note_id, item_id)).rowcount > 0


def notes_for(conn: sqlite3.Connection, item_id: str) -> list[dict[str, Any]]:
    if not _ready(conn):
        return []
    return [
        {"id": r[0], "body": r[1], "created": r[2]}
        for r in conn.execute("SELECT id, body, created FROM item_notes WHERE item_id=? ORDER BY id", (item_id,))
    ]
