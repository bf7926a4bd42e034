"""The spread module's own tables, declared as data (the store builds them on every backend), and the
one way posts are written to and read from them.

Posts are read back in parts (the `part` column, a few tens of thousands of posts each) so that a
million posts never sit in memory as a million mappings: each part becomes columns (`PostSet`) at once.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..store.base import CaseStore, Column, TableSpec
from .model import Post

POSTS = TableSpec(
    "posts",
    key=("uid",),
    columns=(
        Column("uid"),
        Column("platform", required=True),
        Column("ts", "real"),
        Column("author_id", required=True, default=""),
        Column("author", required=True, default=""),
        Column("author_created", "real"),
        Column("text", required=True, default=""),
        Column("reply_to", required=True, default=""),
        Column("repost_of", required=True, default=""),
        Column("quote_of", required=True, default=""),
        # Lists as lines (JSON for files, "" when empty): decoding a million rows of JSON lists cost more than
        # reading them; a value never holds a newline (readers fold them to spaces).
        Column("urls", required=True, default=""),
        Column("hashtags", required=True, default=""),
        Column("files", required=True, default=""),
        Column("context", required=True, default=""),
        Column("origins", required=True, default=""),  # "<file sha256> <where>" per line: every copy read
        Column("partial", "int", required=True, default=0),
        Column("part", "int", required=True, index=True),
    ),
    meaning="Social posts read from exports (spread ingest): one row per post, duplicates across files merged; "
    "origins locate each copy in its export file, kept byte for byte in the blob store.",
    snapshot=True,  # every analysis reads the whole table: served from a columnar file when unchanged
)
SPREAD_FILES = TableSpec(
    "spread_files",
    key=("sha256",),
    columns=(
        Column("sha256"),
        Column("name", required=True),
        Column("format", required=True),
        Column("posts", "int", required=True),
        Column("new", "int", required=True),
        Column("merged", "int", required=True),
        Column("malformed", "int", required=True),
        Column("errors", "int", required=True),
        Column("skipped", "int", required=True),
        Column("examples", "json", required=True),
        Column("ingested", required=True),
    ),
    meaning="Each export file spread ingest read, with its counts and the first malformed places.",
)
POST_LINKS = TableSpec(
    "post_links",
    key=("uid", "item_id", "how"),
    columns=(
        Column("uid"),
        Column("item_id", index=True),
        Column("how", required=True),  # md5, sha256, name, url
        Column("value", required=True),
    ),
    meaning="Posts that share a case item: by the attachment's md5 (4chan), a sha256 in the text, the file's "
    "name, or a URL naming it.",
)
# The columns a PostSet is made of, in `add_columns`'s order (origins and part are the ingest's).
READ = (
    "uid",
    "platform",
    "ts",
    "author_id",
    "author",
    "author_created",
    "text",
    "reply_to",
    "repost_of",
    "quote_of",
    "urls",
    "hashtags",
    "files",
    "context",
    "partial",
)
# A PostSet's own columns: what it reads, with the author's id held as `account`.
COLUMNS = tuple("account" if c == "author_id" else c for c in READ)
PART_SIZE = 20_000
PARTS_META = "spread.parts"
_LINES = ("urls", "hashtags", "origins")


def _lines(values: list[str]) -> str:
    return "\n".join(str(v).replace("\n", " ") for v in values)


def encode(row: dict[str, Any]) -> tuple:
    """A post row (lists as lists) as the table's values, in column order."""
    return tuple(
        _lines(row[c.name])
        if c.name in _LINES
        else (json.dumps(row["files"], ensure_ascii=False) if row["files"] else "")
        if c.name == "files"
        else row[c.name]
        for c in POSTS.columns
    )


def decode_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the table holds it -> lists as lists (what `encode` wrote)."""
    out = dict(row)
    for k in _LINES:
        out[k] = row[k].split("\n") if row[k] else []
    out["files"] = json.loads(row["files"]) if row["files"] else []
    return out


def row_of(post: Post, origin: str, part: int) -> dict[str, Any]:
    return {
        "uid": post.uid,
        "platform": post.platform,
        "ts": post.ts,
        "author_id": post.author_id,
        "author": post.author,
        "author_created": post.author_created,
        "text": post.text,
        "reply_to": post.reply_to,
        "repost_of": post.repost_of,
        "quote_of": post.quote_of,
        "urls": post.urls,
        "hashtags": post.hashtags,
        "files": post.files,
        "context": post.context,
        "origins": [origin],
        "partial": int(post.partial),
        "part": part,
    }


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """One post read twice: a full copy's fields win over an expansion's, and nothing known is lost."""
    first, second = (new, old) if old["partial"] and not new["partial"] else (old, new)
    out = dict(first)
    for k, v in second.items():
        if k in ("origins", "part", "partial"):
            continue
        if out.get(k) in (None, "", []) and v not in (None, "", []):
            out[k] = v
    out["origins"] = list(dict.fromkeys([*old["origins"], *new["origins"]]))
    out["partial"] = int(bool(old["partial"]) and bool(new["partial"]))
    out["part"] = old["part"]
    return out


def parts(store: CaseStore) -> int:
    return int(store.get_meta(PARTS_META) or 0)


@dataclass
class PostSet:
    """Posts as columns (index i is one post): what every analysis reads. Authors are "platform:author_id"
    (an account on one platform), "" when the export names none (anonymous 4chan posters)."""

    uid: list[str] = field(default_factory=list)
    platform: list[str] = field(default_factory=list)
    ts: list[float | None] = field(default_factory=list)
    account: list[str] = field(default_factory=list)
    author: list[str] = field(default_factory=list)
    author_created: list[float | None] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    repost_of: list[str] = field(default_factory=list)
    quote_of: list[str] = field(default_factory=list)
    urls: list[list[str]] = field(default_factory=list)
    hashtags: list[list[str]] = field(default_factory=list)
    files: list[list[dict]] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    partial: list[int] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    _first_authors: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def first_authors(self) -> dict[str, str]:
        """Each account's author name as its first post gives it: every coordination method names the accounts
        it flags, and a pass over a million posts per method was seconds (made once, in C: the reversed zip
        leaves each account's first post last, so it wins)."""
        if self._first_authors is None:
            names = dict(zip(reversed(self.account), reversed(self.author), strict=True))
            names.pop("", None)
            self._first_authors = names
        return self._first_authors

    def __len__(self) -> int:
        return len(self.uid)

    def add_rows(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        self.add_columns([[r[c] for r in rows] for c in READ])

    def add_columns(self, cols: Sequence[Sequence[Any]]) -> None:
        """Posts given as the `READ` columns (one sequence each, as `table_values` reads them): lists are
        extended whole and the derived columns made by comprehensions, with no mapping per post (a million
        posts were 22 s through one dict each, most of the analysis's reading)."""
        uid, platform, ts, author_id, author, created, text, reply_to, repost_of, quote_of = cols[:10]
        urls, tags, files, context, partial = cols[10:]
        start = len(self.uid)
        self._first_authors = None
        self.index.update(zip(uid, range(start, start + len(uid)), strict=True))
        self.uid.extend(uid)
        self.platform.extend(platform)
        self.ts.extend(ts)
        self.account.extend([f"{p}:{a}" if a else "" for p, a in zip(platform, author_id, strict=True)])
        self.author.extend([a or b for a, b in zip(author, author_id, strict=True)])
        self.author_created.extend(created)
        self.text.extend(text)
        self.reply_to.extend(reply_to)
        self.repost_of.extend(repost_of)
        self.quote_of.extend(quote_of)
        self.urls.extend([u.split("\n") if u else [] for u in urls])
        self.hashtags.extend([h.split("\n") if h else [] for h in tags])
        self.files.extend([json.loads(f) if f else [] for f in files])
        self.context.extend(context)
        self.partial.extend(partial)

    def subset(self, keep: Sequence[int]) -> PostSet:
        out = PostSet()
        for name in COLUMNS:
            col = getattr(self, name)
            setattr(out, name, [col[i] for i in keep])
        out.index = {u: i for i, u in enumerate(out.uid)}
        return out

    def row(self, i: int) -> dict[str, Any]:
        return {
            "uid": self.uid[i],
            "platform": self.platform[i],
            "ts": self.ts[i],
            "account": self.account[i],
            "author": self.author[i],
            "text": self.text[i],
            "reply_to": self.reply_to[i],
            "repost_of": self.repost_of[i],
            "quote_of": self.quote_of[i],
            "urls": self.urls[i],
            "hashtags": self.hashtags[i],
            "files": self.files[i],
            "context": self.context[i],
        }


def iter_parts(store: CaseStore) -> Iterator[list[dict[str, Any]]]:
    for p in range(parts(store) + 1):
        rows = store.table_rows(POSTS, part=p)
        if rows:
            yield rows


def last_authors(ps: PostSet, sel: Sequence[int]) -> dict[str, str]:
    """Each account's author name as its last selected post gives it (a dict built in C, not a loop per post)."""
    names = dict(zip(map(ps.account.__getitem__, sel), map(ps.author.__getitem__, sel), strict=True))
    names.pop("", None)
    return names


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off for a read or an analysis of the posts: they make lists and tuples
    by the hundred thousand and no reference cycles, and the collector walked every one of them again each
    time a few hundred more were made (building 100,000 posts' columns: 0.4-0.7 s with it, 0.06 s without).
    Memory is freed as before (reference counting); it is back on afterwards if it was on."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_posts(store: CaseStore) -> PostSet:
    """Every post as columns (only those an analysis reads: not the origins), part after part: from the store's
    snapshot of the table when no post changed since it was made (a few tens of ms per 100,000 posts instead
    of ~0.5 s of SQL), else from the database."""
    ps = PostSet()
    with no_cycle_collection():
        cols = store.table_snapshot(POSTS, READ, by="part")
        if cols[0]:
            ps.add_columns(cols)
    return ps
