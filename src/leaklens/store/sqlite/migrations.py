"""Numbered migrations of the SQLite case schema, applied in order when a case is opened.

`meta.schema_version` is the number of the last one applied. A case made by leaklens 0.1 up to
commit 21da9bf is at version 1 (its schema was migration 1, created with IF NOT EXISTS on every
open). Each migration is applied once, in the transaction that records its number; a migration
is never edited once released: a change is a new migration.
"""

from __future__ import annotations

import sqlite3

# (number, what it does, SQL)
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "the case schema of leaklens 0.1 (items, findings, search index, blob ranges, notes and tags)",
        """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sources (
    root TEXT PRIMARY KEY,          -- first segment of every path chain from this source
    abspath TEXT NOT NULL,
    added TEXT NOT NULL,
    completed TEXT
);
CREATE TABLE IF NOT EXISTS items (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL UNIQUE,
    parent TEXT,
    source TEXT NOT NULL,
    depth INTEGER NOT NULL,
    name TEXT NOT NULL,
    ext TEXT,
    origin TEXT,                    -- file-system path of a top-level file not yet stored
    is_file INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,            -- pending | stored | skipped | failed
    reason TEXT,
    sha256 TEXT,
    size INTEGER,
    kind TEXT,
    kind_hint TEXT,
    mime TEXT,
    text_status TEXT,
    hints TEXT,
    meta TEXT,
    email_from TEXT, email_to TEXT, email_cc TEXT, subject TEXT, date TEXT,
    message_id TEXT, in_reply_to TEXT, refs TEXT,
    verdict TEXT NOT NULL DEFAULT 'unverified'
);
-- Only pending items are looked up by state; a full index would cost every ingest write.
CREATE INDEX IF NOT EXISTS items_pending ON items(source) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS items_parent ON items(parent);
CREATE INDEX IF NOT EXISTS items_sha ON items(sha256);
-- (kind, date) and (ext, date): a kind: or ext: filter read newest first, without a sort.
CREATE INDEX IF NOT EXISTS items_kind_date ON items(kind, date);
CREATE INDEX IF NOT EXISTS items_ext_date ON items(ext, date);
DROP INDEX IF EXISTS items_kind;
CREATE INDEX IF NOT EXISTS items_date ON items(date);
CREATE INDEX IF NOT EXISTS items_msgid ON items(message_id);
CREATE INDEX IF NOT EXISTS items_in_reply_to ON items(in_reply_to);
CREATE TABLE IF NOT EXISTS findings (
    item_id TEXT NOT NULL,
    stage TEXT NOT NULL,            -- which step produced it (ingest, dkim, doc, ...): re-runs replace their own
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    evidence TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_item ON findings(item_id);
CREATE INDEX IF NOT EXISTS findings_code ON findings(code);
-- signer:DOMAIN reads the valid signatures of one domain (the expression is search.SIGNER_OF_FINDING's).
CREATE INDEX IF NOT EXISTS findings_signer ON findings(LOWER(json_extract(evidence, '$.d')), item_id)
    WHERE code = 'dkim.pass';
-- Blobs kept as a byte range of another blob's file instead of a file of their own (store/blobs.py).
CREATE TABLE IF NOT EXISTS blob_ranges (
    sha256 TEXT PRIMARY KEY,
    container TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    subject, sender, recipients, body, names,
    tokenize = 'unicode61 remove_diacritics 2'
);
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
""",
    ),
    (
        2,
        "item row ids handed out by the store from a counter, not chosen by a writer",
        """
INSERT OR IGNORE INTO meta(key, value) SELECT 'next_rowid', COALESCE(MAX(rowid), 0) + 1 FROM items;
""",
    ),
    (
        3,
        "texts: what was read from each item, kept apart from the search index (OCR and entities use it)",
        """
CREATE TABLE IF NOT EXISTS texts (
    item_id TEXT NOT NULL,
    source TEXT NOT NULL,           -- body | attachment | document | ocr
    text TEXT NOT NULL,
    confidence REAL,                -- OCR's mean word confidence (0-100); NULL for extracted text
    UNIQUE (item_id, source)        -- a rowid table: large rows write 3.5x faster than WITHOUT ROWID
);
INSERT OR IGNORE INTO texts(item_id, source, text)
    SELECT i.id, CASE i.kind WHEN 'email' THEN 'body' WHEN 'attachment' THEN 'attachment' ELSE 'document' END, f.body
    FROM fts f JOIN items i ON i.rowid = f.rowid WHERE f.body <> '';
""",
    ),
    (
        4,
        "search served by the tantivy index in the case folder (store/index/): FTS5's table goes, and a queue"
        " of the items whose searchable facts changed since the index took them",
        """
-- Everything FTS5 held is in items and texts (migration 3): the index is made from them.
DROP TABLE IF EXISTS fts;
-- An item is (re)queued, with a stamp higher than any, by every change of what the index holds
-- of it, in the transaction of the change; it leaves once the index has committed it (and only
-- with the stamp the index took: a change meanwhile queues it again).
CREATE TABLE IF NOT EXISTS search_queue (
    item_id TEXT PRIMARY KEY,
    stamp INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS search_queue_stamp ON search_queue(stamp);
CREATE TRIGGER IF NOT EXISTS search_queue_item_added AFTER INSERT ON items WHEN NEW.state = 'stored' BEGIN
    INSERT INTO search_queue(item_id, stamp) VALUES (NEW.id, COALESCE((SELECT MAX(stamp) FROM search_queue), 0) + 1)
        ON CONFLICT(item_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER IF NOT EXISTS search_queue_item_changed AFTER UPDATE ON items
    WHEN NEW.state = 'stored' OR OLD.state = 'stored' BEGIN
    INSERT INTO search_queue(item_id, stamp) VALUES (NEW.id, COALESCE((SELECT MAX(stamp) FROM search_queue), 0) + 1)
        ON CONFLICT(item_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER IF NOT EXISTS search_queue_finding_added AFTER INSERT ON findings BEGIN
    INSERT INTO search_queue(item_id, stamp)
        VALUES (NEW.item_id, COALESCE((SELECT MAX(stamp) FROM search_queue), 0) + 1)
        ON CONFLICT(item_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER IF NOT EXISTS search_queue_finding_removed AFTER DELETE ON findings BEGIN
    INSERT INTO search_queue(item_id, stamp)
        VALUES (OLD.item_id, COALESCE((SELECT MAX(stamp) FROM search_queue), 0) + 1)
        ON CONFLICT(item_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER IF NOT EXISTS search_queue_text_added AFTER INSERT ON texts BEGIN
    INSERT INTO search_queue(item_id, stamp)
        VALUES (NEW.item_id, COALESCE((SELECT MAX(stamp) FROM search_queue), 0) + 1)
        ON CONFLICT(item_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER IF NOT EXISTS search_queue_text_changed AFTER UPDATE ON texts BEGIN
    INSERT INTO search_queue(item_id, stamp)
        VALUES (NEW.item_id, COALESCE((SELECT MAX(stamp) FROM search_queue), 0) + 1)
        ON CONFLICT(item_id) DO UPDATE SET stamp = excluded.stamp;
END;
CREATE TRIGGER IF NOT EXISTS search_queue_text_removed AFTER DELETE ON texts BEGIN
    INSERT INTO search_queue(item_id, stamp)
        VALUES (OLD.item_id, COALESCE((SELECT MAX(stamp) FROM search_queue), 0) + 1)
        ON CONFLICT(item_id) DO UPDATE SET stamp = excluded.stamp;
END;
-- A case of an earlier release has no index yet: every stored item is queued, and the first
-- search (or `leaklens index`) writes them.
INSERT INTO search_queue(item_id, stamp) SELECT id, rowid FROM items WHERE state = 'stored';
""",
    ),
    (
        5,
        "the search queue as an append-only log (its row id the stamp): a change costs an append, not an upsert",
        """
-- Migration 4's upsert (a lookup of the highest stamp, three b-trees) cost 6 us a change; an
-- append costs under 1: a log whose row id is the stamp. An item may be in it several times;
-- the index takes each once a batch, and forgets the rows it took (their row ids), not the item.
DROP TRIGGER IF EXISTS search_queue_item_added;
DROP TRIGGER IF EXISTS search_queue_item_changed;
DROP TRIGGER IF EXISTS search_queue_finding_added;
DROP TRIGGER IF EXISTS search_queue_finding_removed;
DROP TRIGGER IF EXISTS search_queue_text_added;
DROP TRIGGER IF EXISTS search_queue_text_changed;
DROP TRIGGER IF EXISTS search_queue_text_removed;
CREATE TABLE search_queue_log (item_id TEXT NOT NULL);
INSERT INTO search_queue_log(item_id) SELECT item_id FROM search_queue ORDER BY stamp;
DROP TABLE search_queue;
ALTER TABLE search_queue_log RENAME TO search_queue;
CREATE TRIGGER IF NOT EXISTS search_queue_item_added AFTER INSERT ON items WHEN NEW.state = 'stored' BEGIN
    INSERT INTO search_queue(item_id) VALUES (NEW.id);
END;
CREATE TRIGGER IF NOT EXISTS search_queue_item_changed AFTER UPDATE ON items
    WHEN NEW.state = 'stored' OR OLD.state = 'stored' BEGIN
    INSERT INTO search_queue(item_id) VALUES (NEW.id);
END;
CREATE TRIGGER IF NOT EXISTS search_queue_finding_added AFTER INSERT ON findings BEGIN
    INSERT INTO search_queue(item_id) VALUES (NEW.item_id);
END;
CREATE TRIGGER IF NOT EXISTS search_queue_finding_removed AFTER DELETE ON findings BEGIN
    INSERT INTO search_queue(item_id) VALUES (OLD.item_id);
END;
CREATE TRIGGER IF NOT EXISTS search_queue_text_added AFTER INSERT ON texts BEGIN
    INSERT INTO search_queue(item_id) VALUES (NEW.item_id);
END;
CREATE TRIGGER IF NOT EXISTS search_queue_text_changed AFTER UPDATE ON texts BEGIN
    INSERT INTO search_queue(item_id) VALUES (NEW.item_id);
END;
CREATE TRIGGER IF NOT EXISTS search_queue_text_removed AFTER DELETE ON texts BEGIN
    INSERT INTO search_queue(item_id) VALUES (OLD.item_id);
END;
""",
    ),
    (
        6,
        "findings by stage: a step's findings cleared without reading every finding",
        """
-- clear_findings (verify starting again, a step run with --force) deletes one stage's findings:
-- without this index that is a scan of the whole table, millions of rows in a large case.
CREATE INDEX IF NOT EXISTS findings_stage ON findings(stage);
""",
    ),
    (
        7,
        "audit_log: who ran what, when, with which version and options; append-only (triggers refuse a change)",
        """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,               -- when, UTC ISO
    who TEXT NOT NULL,              -- OS user (cli) or the workbench's user (web)
    via TEXT NOT NULL,              -- cli | web
    version TEXT NOT NULL,          -- leaklens version
    command TEXT NOT NULL,
    options TEXT NOT NULL,          -- JSON
    outcome TEXT
);
-- Evidence of who did what: an entry is never changed nor removed, whoever holds the file's handle.
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
""",
    ),
]

LATEST = MIGRATIONS[-1][0]


def schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row and str(row[0]).isdigit() else 0


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply every migration newer than the case's schema; returns the numbers applied."""
    applied = []
    for number, _what, sql in MIGRATIONS:
        if number <= schema_version(conn):
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(number),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(number)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements: at each ";" after which sqlite3 sees a complete statement
    (a ";" inside a string, a comment or a trigger body does not end one)."""
    out, buf = [], ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\r\n;"):
                out.append(buf.strip())
            buf = ""
    return out
