"""Notes and tags on PostgreSQL: the `item_tags` and `item_notes` tables of migration 1.

What a tag or a note may be is decided in `store/annotations.py`, the same for every backend.
Two clients tagging at once: a tag is one row per (item, tag), written with ON CONFLICT DO NOTHING,
so the same tag twice is one row and different tags are all kept.
"""

from __future__ import annotations

from typing import Any

from ..annotations import check_note, normalise_tag, now, tag_key


class PgAnnotations:
    """The notes-and-tags methods of the PostgreSQL store (mixed into `PostgresStore`)."""

    conn: Any

    def add_tag(self, item_id: str, tag: str) -> str:
        tag = normalise_tag(tag)
        cur = self.conn.execute(
            "INSERT INTO item_tags(item_id, tag, created) VALUES(%s,%s,%s) ON CONFLICT DO NOTHING",
            (item_id, tag, now()),
        )
        if cur.rowcount:
            self._tags_changed()
        return tag

    def remove_tag(self, item_id: str, tag: str) -> bool:
        cur = self.conn.execute("DELETE FROM item_tags WHERE item_id=%s AND tag=%s", (item_id, tag_key(tag)))
        if cur.rowcount:
            self._tags_changed()
        return cur.rowcount > 0

    def _tags_changed(self) -> None:
        """Count the change (searches answer tag: from item_tags, and their caches are kept by this): a
        sequence, so that two clients tagging at once never wait on one row."""
        self.conn.execute("SELECT nextval('tags_version_seq')")

    def tags_version(self) -> int:
        # A sequence starting at 0 hands out 0 first: last_value alone misses the first change.
        row = self.conn.execute("SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM tags_version_seq")
        return int(row.fetchone()[0])

    def tags_for(self, item_id: str) -> list[str]:
        rows = self.conn.execute('SELECT tag FROM item_tags WHERE item_id=%s ORDER BY tag COLLATE "C"', (item_id,))
        return [r[0] for r in rows]

    def all_tags(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            'SELECT tag, COUNT(*) FROM item_tags GROUP BY tag ORDER BY COUNT(*) DESC, tag COLLATE "C"'
        )
        return [{"tag": r[0], "count": r[1]} for r in rows]

    def tagged_item_ids(self, tag: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT t.item_id FROM item_tags t JOIN items i ON i.id = t.item_id WHERE t.tag=%s ORDER BY i.rowid",
            (tag_key(tag),),
        )
        return [r[0] for r in rows]

    def add_note(self, item_id: str, body: str) -> int:
        body = check_note(body)
        row = self.conn.execute(
            "INSERT INTO item_notes(item_id, body, created) VALUES(%s,%s,%s) RETURNING id", (item_id, body, now())
        ).fetchone()
        return int(row[0])

    def delete_note(self, item_id: str, note_id: int) -> bool:
        cur = self.conn.execute("DELETE FROM item_notes WHERE id=%s AND item_id=%s", (note_id, item_id))
        return cur.rowcount > 0

    def notes_for(self, item_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT id, body, created FROM item_notes WHERE item_id=%s ORDER BY id", (item_id,))
        return [{"id": r[0], "body": r[1], "created": r[2]} for r in rows]
