"""The CaseStore search methods, for every backend, over the case's tantivy index (store/index/).

A backend mixes `SearchIndexMixin` in and provides, besides the rest of `CaseStore`:
  - `search_index_dir`: the index's folder (DIR/index beside the case's blobs);
  - the search queue: every change to what the index holds of an item (the item's columns while
    it is stored, its findings, its texts) records the item in the case's `search_queue`, in the
    transaction of the change (SQLite: triggers, migration 4), and `search_queue(after, limit)`,
    `search_queue_done(pairs)`, `search_queue_all()` read, forget and refill it;
  - `texts_of(ids)`, `select_items(ItemQuery(ids=...))` (with each item's `rowid`, its found
    order), `findings_of(ids)`, `tagged_item_ids(tag)`, `tags_version()`, `count_items(...)`.

The queue makes the index's updates as durable as the changes: an item leaves it only after the
index committed the item's new document, so a crash between the two redoes it, never loses it.
The writer is whoever finds work and the index free: the coordinator at the end of each run
(`search_index_update`), else the first search after it (tests, a case of an older release).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ...query import FILTERS, SORTS, parse
from ...syntax import Field, Not
from ..base import Facets, ItemQuery, TextRecord
from .engine import Busy, SearchIndex
from .schema import documents, meta_of, text_values
from .snippets import Snippets
from .translate import Plan, plan

HIT_FIELDS = ("id", "path", "kind", "verdict", "date", "email_from", "subject", "name", "ext", "size")
BATCH = 2000  # queued items read from the store at a time
COMMIT_EVERY = 50_000  # documents between two commits of the index while catching up
TELL_AFTER = 5000  # a catch-up longer than this says so on stderr when nobody watches its progress
FRESH_IDS_KEPT = 200_000  # ids remembered as written into an empty index (~100 bytes each)

Progress = Callable[[int, int | None], None]  # (items written, items to write if known)
# The declared tables whose rows of an item some filter reads (its entities, its languages).
READ_TABLES = tuple({spec.name: spec for f in FILTERS.values() for spec in f.reads}.values())


_OPENING = threading.Lock()
_TIMES = bool(os.environ.get("LEAKLENS_STEP_TIMES"))  # as leaklens.steps: where a run's time goes


def _asks_live(text: str) -> bool:
    """Whether the query has a filter the store answers when searched (tag:); True when it cannot
    be read (the caller's search says why)."""
    try:
        todo = [parse(text).tree]
    except UsageError:
        return True
    while todo:
        node = todo.pop()
        if isinstance(node, Field) and FILTERS[node.name].live:
            return True
        todo += getattr(node, "nodes", ()) or ([node.node] if isinstance(node, Not) else [])
    return False


class SearchIndexMixin:
    """search, search_hits, search_count, search_facets, search_fingerprint (see CaseStore)."""

    search_index_dir: Path
    # What a long catch-up reports to, (done, total); None: one line on stderr past TELL_AFTER.
    search_progress: Progress | None = None
    # Matches counted per second by the facets, measured (the budget is kept by predicting from it).
    _facet_rate: float = 3_000_000.0

    # -- the index, kept up to date --------------------------------------------------------
    def _search_engine(self) -> SearchIndex:
        engine = self.__dict__.get("_search_engine_")
        if engine is not None and not engine.made:
            return engine
        with _OPENING:  # one thread opens (or makes) it: two could each find it half made and remove it
            engine = self.__dict__.get("_search_engine_")
            if engine is None:
                engine = SearchIndex(self.search_index_dir)
                self.__dict__["_search_sync_lock_"] = threading.Lock()
            if engine.index() is not None and engine.made:  # a new index: everything in the store goes in it
                self.search_queue_all()  # type: ignore[attr-defined]
                engine.mark_current()
            self.__dict__["_search_engine_"] = engine
        return engine

    def _search_ready(self) -> SearchIndex:
        """The index, with what the queue holds written first, unless another writer holds it
        or this store is inside a transaction of its caller's."""
        engine = self._search_engine()
        if not self.in_transaction and self.search_queue(0, 1):  # type: ignore[attr-defined]
            try:
                self.search_index_update()
            except Busy:
                pass  # another process is writing it: search what it committed
        return engine

    def search_index_update(self, progress: Progress | None = None) -> int:
        """Write what the search queue holds into the index; returns the items written. Busy when
        another process holds the index's writer. One thread of a process at a time: another waits
        for it (then finds nothing left to write), since what it would read meanwhile is not yet the
        case's answer."""
        engine = self._search_engine()
        started = time.perf_counter()
        with self.__dict__["_search_sync_lock_"]:
            written = self._write_queue(engine, progress or self.search_progress)
        if _TIMES and written:
            spent = time.perf_counter() - started
            print(f"leaklens: search index: {written:,} items in {spent:.2f} s", file=sys.stderr)
        return written

    def search_index_rebuild(self, progress: Progress | None = None) -> int:
        """Make the index again from the store (it is derived data); returns the items written."""
        engine = self._search_engine()
        lock = self.__dict__["_search_sync_lock_"]
        with lock:
            self.search_queue_all()  # type: ignore[attr-defined]
            return self._write_queue(engine, progress or self.search_progress, clear=True)

    def _write_queue(self, engine: SearchIndex, progress: Progress | None, clear: bool = False) -> int:
        total = None
        told = ""
        written, after, pending = 0, 0, []
        batch = self.search_queue(after, BATCH)  # type: ignore[attr-defined]
        if not batch and not clear:
            return 0
        if len(batch) == BATCH and not self.in_transaction:  # type: ignore[attr-defined]
            # A long catch-up: an item queued by several changes is written once (a verify queues
            # each email about three times: half the documents of its index update were copies).
            self.search_queue_compact()  # type: ignore[attr-defined]
            batch = self.search_queue(after, BATCH)  # type: ignore[attr-defined]
        # A long catch-up (the end of an ingest or a verify: its workers are done) indexes on two
        # threads while this one reads the store and makes documents; a few items, on one.
        with engine.writer(threads=2 if len(batch) == BATCH else 1) as w:
            if clear:
                # Committed with the first COMMIT_EVERY documents: until the last, readers see part of it.
                w.delete_all_documents()
            # An index emptied here or still empty (a new case's first catch-up) holds no document of
            # an item but those written since: only those are deleted before being written again
            # (an item queued twice), not every id looked up in every segment at the commit.
            # Past FRESH_IDS_KEPT ids, every id is deleted again (always right, memory bounded).
            fresh: set[str] | None = set() if clear or engine.searcher().num_docs == 0 else None
            while True:
                if not batch:
                    break
                if total is None and len(batch) == BATCH:
                    total = self.count_items(ItemQuery(state="stored"))  # type: ignore[attr-defined]
                after = batch[-1][1]
                ids = list(dict.fromkeys(item_id for item_id, _ in batch))  # an item may be queued twice
                for item_id in ids:
                    if fresh is None or item_id in fresh:
                        w.delete_documents_by_term("id", item_id)
                if fresh is not None:
                    fresh.update(ids)
                    if len(fresh) > FRESH_IDS_KEPT:
                        fresh = None
                for doc in self._documents(ids):
                    w.add_document(doc)
                pending += batch
                written += len(ids)
                if len(pending) >= COMMIT_EVERY:
                    w.commit()
                    self.search_queue_done(pending)  # type: ignore[attr-defined]
                    pending = []
                if progress is not None:
                    progress(written, total)
                elif written >= TELL_AFTER and not told:
                    told = f"{total or written:,} items"
                    print(f"leaklens: bringing the search index up to date ({told})…", file=sys.stderr)
                batch = self.search_queue(after, BATCH)  # type: ignore[attr-defined]
            if pending or clear:
                w.commit()
            if pending:
                self.search_queue_done(pending)  # type: ignore[attr-defined]
        return written

    def _documents(self, ids: list[str]) -> Iterable[Any]:
        rows = self.select_items(ItemQuery(ids=tuple(ids)))  # type: ignore[attr-defined]
        stored = [r["id"] for r in rows if r["state"] == "stored"]  # a stored item no more: only removed
        texts = self.texts_of(stored)  # type: ignore[attr-defined]
        findings = self.findings_of(stored)  # type: ignore[attr-defined]
        read: dict[str, dict[str, list[dict[str, Any]]]] = {}  # item id -> table name -> its rows
        for spec in READ_TABLES:
            for row in self.table_rows_in(spec, "item_id", stored):  # type: ignore[attr-defined]
                read.setdefault(row["item_id"], {}).setdefault(spec.name, []).append(row)
        return documents(rows, texts, findings, read)

    # -- the CaseStore search methods ------------------------------------------------------
    def _plan(self, engine: SearchIndex, text: str) -> Plan:
        return plan(engine.schema, engine.analyzer, parse(text), self._live)

    def _live(self, method: str, value: str) -> list[str]:
        return list(getattr(self, method)(value))

    def search(
        self, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
    ) -> tuple[int, list[dict[str, Any]]]:
        engine = self._search_ready()
        key = self._count_key(engine, text)  # before the search: a commit meanwhile makes the key unasked
        hits, total = self._hits(engine, self._plan(engine, text), limit=limit, offset=offset, sort=sort, count=True)
        self._remember_count(key, total)  # the page's facets ask it next
        return total, hits

    def search_hits(
        self, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
    ) -> list[dict[str, Any]]:
        engine = self._search_ready()
        return self._hits(engine, self._plan(engine, text), limit=limit, offset=offset, sort=sort)[0]

    def _hits(
        self, engine: SearchIndex, p: Plan, *, limit: int, offset: int, sort: str, count: bool = False
    ) -> tuple[list[dict[str, Any]], Any]:
        """(one page of hits, the matches counted in the same pass when `count`, else None)."""
        sort = sort if sort in SORTS else "relevance"
        searcher, ids, total = engine.page(p, limit=limit, offset=offset, sort=sort, count=count)
        return self._hit_rows(searcher, engine, p, ids), total

    # A count is kept for the next ask of the same text on the same commit and tags (the page asks
    # its hits and total, then its facets, each once a pass over every match of the query).
    COUNTS_KEPT = 64

    def _count_key(self, engine: SearchIndex, text: str) -> tuple[Any, ...]:
        # The index's commit and the tags (tag: is answered by the store when searched).
        return (text, engine.generation(), self.tags_version())  # type: ignore[attr-defined]

    def _remember_count(self, key: tuple[Any, ...], total: int) -> None:
        counts = self.__dict__.setdefault("_search_counts_", {})
        if len(counts) >= self.COUNTS_KEPT:
            counts.clear()
        counts[key] = total

    def _count(self, engine: SearchIndex, text: str) -> tuple[int, Plan | None]:
        """(the matches of `text`, its plan if it had to be made): remembered, else counted."""
        key = self._count_key(engine, text)
        known = self.__dict__.get("_search_counts_", {}).get(key)
        if known is not None:
            return known, None
        p = self._plan(engine, text)
        total = engine.count(p)
        self._remember_count(key, total)
        return total, p

    def _hit_rows(self, searcher: Any, engine: SearchIndex, p: Plan, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = {r["id"]: dict(r) for r in self.select_items(ItemQuery(ids=tuple(ids)))}  # type: ignore[attr-defined]
        texts = self.texts_of(ids) if p.ranked else {}  # type: ignore[attr-defined]
        snippets = Snippets(searcher, engine.schema, p.units) if p.ranked else None
        out = []
        for item_id in ids:
            row = rows.get(item_id)
            if row is None:  # gone from the store since the index was written: not shown
                continue
            hit = {k: row[k] for k in HIT_FIELDS}
            hit["snippet"] = snippets.of(self._fields(row, texts.get(item_id, []))) if snippets else None
            out.append(hit)
        return out

    @staticmethod
    def _fields(row: Mapping[str, Any], texts: list[TextRecord]) -> dict[str, str]:
        return text_values(row, texts, meta_of(row["meta"]))

    def search_ids(self, text: str, *, limit: int) -> list[str]:
        """The ids of up to `limit` items matching `text` (a bulk action on "all matching"), those the
        store still holds."""
        engine = self._search_ready()
        ids = engine.ids(self._plan(engine, text), limit=limit)
        if not ids:
            return []
        held = {r["id"] for r in self.select_items(ItemQuery(ids=tuple(ids)))}  # type: ignore[attr-defined]
        return [i for i in ids if i in held]

    def search_count(self, text: str, *, only_if_cheap: bool = False) -> int | None:
        # The index counts any query at once (filters are its fields too), so it is always cheap.
        engine = self._search_ready()
        return self._count(engine, text)[0]

    def search_facets(self, text: str, *, top: int, budget_s: float) -> tuple[int, Facets] | None:
        if budget_s <= 0:
            return None  # spent before it began
        engine = self._search_ready()
        # tantivy cannot be stopped midway: predict from the matches and the rate measured so far.
        matches, p = self._count(engine, text)
        if matches / self._facet_rate > budget_s:
            return None
        started = time.perf_counter()
        got = engine.facets(p or self._plan(engine, text), top=top, total=matches)
        spent = time.perf_counter() - started
        if matches > 10_000 and spent > 0:
            type(self)._facet_rate = 0.5 * self._facet_rate + 0.5 * (matches / spent)
        return got

    def search_fingerprint(self, text: str | None = None) -> tuple[Any, ...]:
        """The index's commit, the case's content (a change not yet in the index) and its tags (tag:
        is answered by the store when searched, so a tag changes an answer at once). With `text`:
        of that query's answer only, so the tags are left out of one without a tag: filter (the
        workbench's facet cache: a tag written elsewhere cost every other query its facets)."""
        engine = self._search_engine()
        base = (str(engine.path), engine.generation(), *self.content_fingerprint())  # type: ignore[attr-defined]
        if text is not None and not _asks_live(text):
            return base
        return (*base, self.tags_version())  # type: ignore[attr-defined]
