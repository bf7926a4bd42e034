"""The tantivy index of a case (``DIR/index/``): open or make it, one writer at a time, readers that
see each commit, and the three reads a search needs (a page of ids, a count, facet counts).

It is derived data: everything in it is rebuilt from the store (store/index/mixin.py). tantivy
lets one `IndexWriter` hold a folder at a time, across processes (a lock file): the coordinator
that wrote the case updates it; a process that finds the lock taken reads what was committed.
Readers in other processes (the web's) see a commit at their next search: the index's meta.json
changes with every commit, and a reader that sees it change reloads its searcher.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy

from ..base import Facets
from .schema import (
    FACET_FIELDS,
    ID,
    ORDER_FIELDS,
    SCHEMA_KEY,
    SORT_DESC,
    STEM_FIELDS,
    WORDS,
    build_schema,
    stem_analyzer,
    stem_tokenizer,
    words_analyzer,
)
from .translate import Plan

MARKER = "leaklens-index.json"  # which declaration the index was built for
# Held (flock) by a process that opens the folder until the index in it is one it may use: two
# processes making a new index at once would each remove what the other had just made.
OPEN_LOCK = ".leaklens-open.lock"
WRITER_HEAP = 96_000_000  # bytes the writer buffers before it writes a segment (one thread)


class Busy(Exception):
    """Another writer (another process, most often the coordinator) holds the index."""


class SearchIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema = build_schema()
        self.analyzer = words_analyzer()
        self._index: tantivy.Index | None = None
        self._seen: tuple[int, int] | None = None  # meta.json's (mtime_ns, size) the searcher reflects
        self._reload_lock = threading.Lock()
        self.made = False  # made empty by this process: everything must be queued (then `mark_current`)
        self._open_fd: int | None = None  # the OPEN_LOCK held while `made` and not yet marked current

    # -- open --------------------------------------------------------------------------
    def index(self) -> tantivy.Index:
        """The index, made (empty) when the folder has none or one built for another declaration."""
        if self._index is not None:
            return self._index
        with self._reload_lock:  # one thread makes it (another could see it half made and remove it)
            if self._index is None:
                self._index = self._open()
        return self._index

    def _open(self) -> tantivy.Index:
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / OPEN_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # Another process making the index holds this until its marker is written: then this
            # one finds the index current and opens it, instead of finding it half made.
            fcntl.flock(fd, fcntl.LOCK_EX)
            index = self._open_locked()
        except BaseException:
            os.close(fd)  # closing releases the lock
            raise
        if self.made:
            self._open_fd = fd  # kept until `mark_current` (or this process's end, when the OS drops it)
        else:
            os.close(fd)
        index.register_tokenizer(WORDS, self.analyzer)  # tokenizers are not kept in the folder
        for _name, language, _weight in STEM_FIELDS:
            index.register_tokenizer(stem_tokenizer(language), stem_analyzer(language))
        return index

    def _open_locked(self) -> tantivy.Index:
        marker = self.path / MARKER
        current = marker.exists() and json.loads(marker.read_text()).get("schema") == SCHEMA_KEY
        if current and tantivy.Index.exists(str(self.path)):
            return tantivy.Index.open(str(self.path))
        # Derived data of another declaration, or none: made again (the lock file stays, it is held).
        for entry in self.path.iterdir():
            if entry.name == OPEN_LOCK:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        self.made = True  # the marker is written once every item is queued: a crash before, made again
        return tantivy.Index(self.schema, str(self.path), reuse=False)

    def mark_current(self) -> None:
        """Every stored item is queued for this index: it is the index of this declaration."""
        (self.path / MARKER).write_text(json.dumps({"schema": SCHEMA_KEY}))
        self.made = False
        if self._open_fd is not None:
            fd, self._open_fd = self._open_fd, None
            os.close(fd)  # another process waiting to open the folder now finds it current

    def searcher(self) -> tantivy.Searcher:
        """A searcher of the last commit (reloaded when another process or thread committed since)."""
        index = self.index()
        try:
            st = (self.path / "meta.json").stat()
            seen = (st.st_mtime_ns, st.st_size)
        except OSError:
            seen = None
        if seen != self._seen:
            with self._reload_lock:
                index.reload()
                self._seen = seen
        return index.searcher()

    def generation(self) -> tuple[int, int] | None:
        """Changes with every commit (the web's caches are kept by it)."""
        self.searcher()
        return self._seen

    # -- write -------------------------------------------------------------------------
    @contextmanager
    def writer(self, threads: int = 1) -> Iterator[tantivy.IndexWriter]:
        """The one writer; Busy when another holds it. Released (its lock file too) on leaving."""
        try:
            w = self.index().writer(WRITER_HEAP * threads, threads)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise Busy(str(exc)) from None
            raise
        try:
            yield w
        except BaseException:
            w.rollback()
            raise
        finally:
            w.wait_merging_threads()  # lets the merges finish and drops the writer's lock
            del w
            gc.collect(0)

    # -- read --------------------------------------------------------------------------
    def page(
        self, plan: Plan, *, limit: int, offset: int, sort: str, count: bool = False
    ) -> tuple[tantivy.Searcher, list[str], int | None]:
        """(the searcher it read, the ids of one page of matches in the order asked, and with `count`
        the number of matches, counted in the same pass over them; else None: without a count the
        top of a ranking can skip the matches that cannot reach it)."""
        searcher = self.searcher()
        if limit <= 0:
            return searcher, [], searcher.search(plan.query, 1, count=True).count if count else None
        if sort == "relevance" and plan.ranked:
            found = searcher.search(plan.query, limit, count=count, offset=offset)
        else:  # an order of a field; relevance without words to rank by: newest first
            field, ascending = ORDER_FIELDS.get(sort, (SORT_DESC, False))
            order = tantivy.Order.Asc if ascending else tantivy.Order.Desc
            found = searcher.search(plan.query, limit, count=count, offset=offset, order_by_field=field, order=order)
        return searcher, [searcher.doc(addr).get_first(ID) for _, addr in found.hits], found.count if count else None

    def ids(self, plan: Plan, *, limit: int) -> list[str]:
        """The ids of up to `limit` matches, in no particular order (a selection of "all matching")."""
        searcher = self.searcher()
        found = searcher.search(plan.query, limit, count=False)
        return [searcher.doc(addr).get_first(ID) for _, addr in found.hits]

    def count(self, plan: Plan) -> int:
        return self.searcher().search(plan.query, 1, count=True).count

    def facets(self, plan: Plan, *, top: int, total: int | None = None) -> tuple[int, Facets]:
        """(matches, facet -> its `top` values with their matches, most first, then by value);
        `total`: the matches, when the caller has just counted them on this index's last commit."""
        searcher = self.searcher()
        if total is None:
            total = searcher.search(plan.query, 1, count=True).count
        # Ask more buckets than shown, so that values tied at the cut are all there to be ordered.
        size = top * 2 + 20
        spec = {
            name: {"terms": {"field": f, "size": size, "segment_size": size * 10}} for name, f in FACET_FIELDS.items()
        }
        got = searcher.aggregate(plan.query, spec) if total else {}
        out: Facets = {}
        for name in FACET_FIELDS:
            buckets = [(str(b["key"]), int(b["doc_count"])) for b in got.get(name, {}).get("buckets", [])]
            out[name] = sorted(buckets, key=lambda kv: (-kv[1], kv[0]))[:top]
        return total, out
