"""Notes and tags on SQLite: the `item_tags` and `item_notes` tables of migration 1.

What a tag or a note may be is decided in `store/annotations.py`, the same for every backend.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..annotations import check_note, normalise_tag, now, tag_key


def add_tag(conn: sqlite3.Connection, item_id: str, tag: str) -> str:
    tag = normalise_tag(tag)
    cur = conn.execute("INSERT OR IGNORE INTO item_tags(item_id, tag, created) VALUES(?,?,?)", (item_id, tag, now()))
    if cur.rowcount:
        _tags_changed(conn)
    return tag


def remove_tag(conn: sqlite3.Connection, item_id: str, tag: str) -> bool:
    cur = conn.execute("DELETE FROM item_tags WHERE item_id=? AND tag=?", (item_id, tag_key(tag)))
    if cur.rowcount:
        _tags_changed(conn)
    return cur.rowcount > 0


def _tags_changed(conn: sqlite3.Connection) -> None:
    """Count the change: searches answer tag: from item_tags, and their caches are kept by this."""
    conn.execute(
        "INSERT INTO meta(key, value) VALUES('tags_version', '1')"
        " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def tags_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='tags_version'").fetchone()
    return int(row[0]) if row else 0


def tags_for(conn: sqlite3.Connection, item_id: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT tag FROM item_tags WHERE item_id=? ORDER BY tag", (item_id,))]


def all_tags(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"tag": r[0], "count": r[1]}
        for r in conn.execute("SELECT tag, COUNT(*) FROM item_tags GROUP BY tag ORDER BY COUNT(*) DESC, tag")
    ]


def tagged_item_ids(conn: sqlite3.Connection, tag: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT t.item_id FROM item_tags t JOIN items i ON i.id = t.item_id WHERE t.tag=? ORDER BY i.rowid",
            (tag_key(tag),),
        )
    ]


def add_note(conn: sqlite3.Connection, item_id: str, body: str) -> int:
    body = check_note(body)
    cur = conn.execute("INSERT INTO item_notes(item_id, body, created) VALUES(?,?,?)", (item_id, body, now()))
    return int(cur.lastrowid or 0)


def delete_note(conn: sqlite3.Connection, item_id: str, note_id: int) -> bool:
    return conn.execute("DELETE FROM item_notes WHERE id=? AND item_id=?", (note_id, item_id)).rowcount > 0


def notes_for(conn: sqlite3.Connection, item_id: str) -> list[dict[str, Any]]:
    return [
        {"id": r[0], "body": r[1], "created": r[2]}
        for r in conn.execute("SELECT id, body, created FROM item_notes WHERE item_id=? ORDER BY id", (item_id,))
    ]


class AnnotationsMixin:
    """The notes-and-tags methods of the SQLite store (mixed into `Database`)."""

    conn: sqlite3.Connection

    def add_tag(self, item_id: str, tag: str) -> str:
        return add_tag(self.conn, item_id, tag)

    def remove_tag(self, item_id: str, tag: str) -> bool:
        return remove_tag(self.conn, item_id, tag)

    def tags_for(self, item_id: str) -> list[str]:
        return tags_for(self.conn, item_id)

    def tags_version(self) -> int:
        return tags_version(self.conn)

    def all_tags(self) -> list[dict[str, Any]]:
        return all_tags(self.conn)

    def tagged_item_ids(self, tag: str) -> list[str]:
        return tagged_item_ids(self.conn, tag)

    def add_note(self, item_id: str, body: str) -> int:
        return add_note(self.conn, item_id, body)

    def delete_note(self, item_id: str, note_id: int) -> bool:
        return delete_note(self.conn, item_id, note_id)

    def notes_for(self, item_id: str) -> list[dict[str, Any]]:
        return notes_for(self.conn, item_id)
