"""The one door to a case's data: the interface every backend implements and everything else uses.

In the spirit of httpx's `BaseTransport`: leaklens is handed a `CaseStore` through `Case`, and
never learns whether SQLite (`store/sqlite/`, one file, no service) or, later, PostgreSQL is
behind it. Only `store/` imports a database driver or writes SQL; a test fails otherwise.

Records cross the interface as plain values: items as mappings of the columns in
`ITEM_FIELDS` (written as `model.Item`, completed from a worker's `model.Result`), findings as
`model.Finding`, texts as `TextRecord`, rows of a step's own table as mappings of its declared
columns (`TableSpec`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..model import ITEM_FIELDS as _ITEM_FIELDS
from ..model import Finding, Item, Result

# The fields of an item, as every backend stores them (the store's `items`): declared once, by
# the record `model.Item`.
ITEM_FIELDS = _ITEM_FIELDS

# Facet name -> its (value, matches) pairs, most matches first.
Facets = dict[str, list[tuple[str, int]]]

# Where a text record came from.
TEXT_SOURCES = ("body", "attachment", "document", "ocr")


def text_source(kind: str | None) -> str:
    """The text source of what a reader extracted from an item of this kind."""
    return {"email": "body", "attachment": "attachment"}.get(kind or "", "document")


@dataclass(frozen=True)
class TextRecord:
    """Text read from an item, apart from any search index (OCR and entities read and write it)."""

    item_id: str
    source: str  # one of TEXT_SOURCES
    text: str
    confidence: float | None = None  # OCR's mean word confidence, 0-100; None for extracted text


@dataclass(frozen=True)
class ItemQuery:
    """Which items a read is about, as data: each field that is set narrows it (None: any).

    Backends turn it into their own query; callers never write one.
    """

    kind: str | None = None
    state: str | None = None
    settled: bool = False  # every state but pending: what was found and dealt with (the report's items)
    verdict: str | None = None
    sha256: str | None = None
    ids: tuple[str, ...] | None = None
    parent: str | None = None  # the direct members of one container (its items_parent index)
    after: str | None = None  # date >= after (ISO text, as items store it)
    before: str | None = None  # date < before


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "text"  # text, int, real, json
    index: bool = False
    required: bool = False  # never empty (NOT NULL)
    default: str | int | float | None = None  # for rows written before the column existed


@dataclass(frozen=True)
class TableSpec:
    """A table a step declares as data (name, key, columns); the store creates and migrates it.

    Verifications, DNS lookups, document metadata and near-duplicate groups today; domains,
    posts and entities later. A step never writes DDL: it declares, the backend builds.
    An empty key declares a log: rows are only added, none replaces another.
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    meaning: str = ""
    version: int = 1  # a change of columns is a new version; the backend migrates
    extra: dict[str, Any] = field(default_factory=dict)
    # Whole-table reads served from a columnar file in the case folder (`table_snapshot`, store/snapshot.py);
    # the store then marks every write to the table so a stale file is never served.
    snapshot: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def check_columns(self, columns: Sequence[str]) -> None:
        unknown = set(columns) - set(self.column_names)
        if unknown or not columns:
            raise ValueError(f"{self.name} has no column {sorted(unknown)[0]!r}" if unknown else "no columns asked")

    def columnar(self, columns: Sequence[str], rows: list[Sequence[Any]]) -> list[Sequence[Any]]:
        """Rows of these columns -> one sequence per column (zip runs in C and keeps no object per row),
        a JSON column's decoded: what both backends' `table_values` return."""
        out: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
        types = {c.name: c.type for c in self.columns}
        for k, name in enumerate(columns):
            if types[name] == "json":
                out[k] = [json.loads(v) if v is not None else None for v in out[k]]
        return out


@runtime_checkable
class RangeLookup(Protocol):
    """sha256 -> (container sha256, start, end) for blobs kept as a range of another: picklable,
    so each worker process opens its own read-only handle."""

    def __call__(self, sha256: str) -> tuple[str, int, int] | None: ...


@runtime_checkable
class CaseStore(Protocol):
    """What leaklens asks of a case's database. One writer at a time on SQLite; many on PostgreSQL."""

    # -- lifecycle and transactions
    def migrate(self) -> list[int]: ...
    def close(self) -> None: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    @property
    def in_transaction(self) -> bool: ...
    def refresh_statistics(self) -> None: ...

    # -- case metadata
    def get_meta(self, key: str, default: str | None = None) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...

    # -- sources
    def source_root_for(self, abspath: str) -> str | None: ...
    def root_taken(self, root: str) -> bool: ...
    def add_source(self, root: str, abspath: str, added: str) -> None: ...
    def complete_source(self, root: str, when: str) -> None: ...
    def sources(self) -> list[Mapping[str, Any]]: ...

    # -- items: identity is the store's (reserve_rowids), never MAX()+1 in a caller
    def reserve_rowids(self, n: int) -> int: ...
    def insert_pending(self, items: Iterable[Item]) -> int: ...
    def pending(self, source: str | None = None, *, after: int = 0, limit: int | None = None) -> Iterator[Item]:
        """Pending items (of `source`) in row-id order: those after row id `after`, at most `limit`
        of them (a page: the coordinator reads millions a page at a time, never all at once)."""
        ...
    def complete_items(self, results: list[Result]) -> None: ...
    def complete_item(self, result: Result) -> None: ...
    def rowids(self, ids: list[str]) -> dict[str, int]: ...
    def item(self, item_id: str) -> Mapping[str, Any] | None: ...
    def children(self, item_id: str) -> list[Mapping[str, Any]]: ...
    def counts(self, column: str, where: str = "", args: Iterable[Any] = ()) -> dict[str, int]: ...
    def accounting(self) -> dict[str, Any]: ...
    def expansion_by_source(self) -> dict[str, tuple[int, int]]: ...
    def count_items_of(self, sources: list[str]) -> int: ...

    # -- findings and verdicts
    def replace_findings(self, item_id: str, stage: str, findings: Iterable[Finding]) -> None: ...
    def add_findings(self, item_id: str, stage: str, findings: Iterable[Finding]) -> None: ...
    def add_findings_of(self, pairs: Iterable[tuple[str, Finding]], stage: str) -> None: ...
    def findings_for(self, item_id: str, stage: str | None = None) -> list[Finding]: ...
    def all_findings(self) -> dict[str, list[Finding]]: ...
    def set_verdict(self, item_id: str, verdict: str) -> None: ...

    # -- texts, apart from the search index
    def put_texts(self, records: Iterable[TextRecord]) -> None: ...
    def texts_for(self, item_id: str, source: str | None = None) -> list[TextRecord]: ...
    def iter_texts(self, sources: Sequence[str] | None = None) -> Iterator[TextRecord]:
        """Every text record (of these sources), item by item in the order found: what a step reading
        all the case's text (entities, languages) walks, without a query per item."""
        ...


    # -- tables declared by steps
    def ensure_table(self, spec: TableSpec) -> None: ...
    def put_rows(self, spec: TableSpec, rows: Iterable[Mapping[str, Any]]) -> None: ...
    def get_row(self, spec: TableSpec, key: tuple[Any, ...]) -> dict[str, Any] | None: ...
    def table_rows(self, spec: TableSpec, **equal: Any) -> list[dict[str, Any]]: ...
    def table_rows_in(self, spec: TableSpec, column: str, values: Iterable[Any]) -> list[dict[str, Any]]:
        """The rows whose `column` is one of `values` (in one read, whatever their number)."""
        ...

    def table_values(self, spec: TableSpec, columns: Sequence[str], **equal: Any) -> list[Sequence[Any]]:
        """The values of these columns of the rows (those with these column values), one sequence per column in
        row order (a JSON column's decoded): a columnar read of a million rows without a mapping per row."""
        ...

    def table_snapshot(self, spec: TableSpec, columns: Sequence[str], *, by: str | None = None) -> list[Sequence[Any]]:
        """Every row's values of these columns, one sequence per column, ordered by column `by` (then as
        `table_values` orders them): `table_values` of the whole table, served from the table's snapshot in the
        case folder when no write changed it since, else read from the database and the snapshot made again.
        Only for a table declared `snapshot=True`."""
        ...

    def delete_rows(self, spec: TableSpec, **equal: Any) -> int: ...
    def table_keys(self, spec: TableSpec, **equal: Any) -> set[tuple[Any, ...]]:
        """The keys of the rows (those with these column values), without reading the rest of them."""
        ...

    def put_encoded_rows(self, spec: TableSpec, rows: Iterable[Sequence[Any]]) -> None:
        """Rows as the values of the declared columns in order, a JSON column's as JSON text: what a worker
        encoded already, written without a mapping per row (thousands of rows a second)."""
        ...

    def count_rows(self, spec: TableSpec) -> int: ...
    def table_groups(
        self, spec: TableSpec, by: Sequence[str], *, distinct: str | None = None, top: int | None = None, **equal: Any
    ) -> list[tuple[Any, ...]]:
        """(values of the `by` columns..., rows, distinct values of column `distinct` — rows when None) of each
        group of the rows (those with these column values), most rows first, at most `top` groups."""
        ...

    def table_columns(self, spec: TableSpec) -> set[str]:
        """The columns the case's table has now (empty when it does not exist yet)."""
        ...

    def drop_table(self, spec: TableSpec) -> None:
        """Drop the table (derived data of an older leaklens, made again); the next use creates it."""
        ...

    # -- verification (verify/): findings and verdicts in bulk, and the case-wide steps' reads.
    #    Item ids go in as any iterable, in one statement whatever their number; a rule's values
    #    (which emails can be checked, which hops show a relay) are the caller's.
    def clear_findings(self, stages: Sequence[str]) -> set[str]:
        """Delete every finding of these stages; returns the items that had one."""
        ...

    def delete_findings_of(self, item_ids: Iterable[str], stage: str) -> None:
        """The findings of this stage of these items."""
        ...

    def add_encoded_findings(self, rows: Iterable[tuple[str, str, str, str, str]], stage: str) -> None:
        """(item id, code, severity, message, evidence as JSON text): findings a worker encoded already,
        cheaper to send between processes than `Finding`s."""
        ...

    def items_with_finding(self, code: str, *, unless: str | None = None) -> set[str]:
        """The items with a finding of `code` (and none of `unless`)."""
        ...

    def findings_of(self, item_ids: Iterable[str]) -> dict[str, list[Finding]]:
        """Every finding of these items, as written (items without any are left out)."""
        ...

    def verdict_inputs(self, where: ItemQuery) -> list[tuple[str, str, str | None]]:
        """(id, verdict, findings) of each selected stored item, its findings packed as the verdict rules
        read them: code and `evidence.effect` only, "code\\x1feffect" joined by "\\x1e" (None: no finding).
        One string per item, so that the items with the same findings share one verdict computation."""
        ...

    def set_verdicts(self, pairs: Iterable[tuple[str, str]]) -> None:
        """(item id, verdict) pairs."""
        ...

    def verdicts_of(self, item_ids: Iterable[str]) -> dict[str, str]: ...
    def checkable_emails(self, verifications: TableSpec, *, mime: str, unless: str) -> list[Mapping[str, Any]]:
        """The stored emails of this MIME type without an `unless` finding, in the order found: {"id",
        "sha256", "engine", "published", "keys_missing" (their verification's, None if never checked),
        "container", "start", "end" (the byte range of the blob that holds them; None: a blob of their own)}."""
        ...

    def verdicts_by_signing_domain(self, verifications: TableSpec) -> list[tuple[str, str, int]]:
        """(signing domain, verdict, emails) of the checked emails, by domain."""
        ...

    def proving_key_counts(self, verifications: TableSpec) -> dict[str, int]:
        """selector._domainkey.domain -> the emails it validates a signature of, most first."""
        ...

    def altered_email_findings(self, whole: Sequence[str]) -> dict[str, list[Finding]]:
        """The findings of every altered email, their evidence cut to "signature" and "effect" except for
        the codes in `whole` (code and evidence only: severity info, no message)."""
        ...

    def verified_emails_with_parts(self) -> list[str]: ...
    def parts_of(self, email_ids: Iterable[str]) -> list[tuple[str, str, str]]:
        """(id, kind, email id) of every stored descendant of these emails, down to but not into the
        messages forwarded inside them."""
        ...

    def aligned_signing_domains(self, item_ids: Iterable[str]) -> dict[str, set[str]]:
        """item id -> the (lower-case) domains of its valid signatures aligned with From."""
        ...

    def copies_of_verified(self) -> list[dict[str, Any]]:
        """Every stored item, not verified, with the bytes of a verified one: {"id", "sha256", "copies" (the
        verified items with them), "copy_id", "copy_path", "copy_kind" (the first of those), "proof_id",
        "proof_path" (the email whose signature covers that copy, if it is a part)}."""
        ...

    def relayed_unsigned_emails(
        self, verifications: TableSpec, *, local_hosts: Sequence[str], submission_protocols: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        """id -> (verdict, signatures as JSON text) of the checked, dated emails with a From and no valid
        aligned signature that made a hop between mail servers: a Received with a named sending host that is
        not `local_hosts` nor the receiving host, over a protocol not in `submission_protocols`."""
        ...

    def checked_emails(self, verifications: TableSpec) -> Iterator[tuple[str, str, str, str | None, int]]:
        """(id, From, date, Message-ID, signed: a valid aligned signature) of the checked, dated emails with a From."""
        ...

    def carriers_of_altered(self) -> list[tuple[str, str, str, str]]:
        """(email id, item id, item path, item name) for each altered item and each email, not verified, above it."""
        ...

    def documents_with_carriers(self, kinds: Sequence[str]) -> list[Mapping[str, Any]]:
        """The stored items of these kinds, in the order found: {"id", "path", "parent", "sha256", "mime",
        "kind", "verdict", "meta" (JSON text), "parent_kind", "parent_date", "parent_verdict"}."""
        ...

    def set_item_meta(self, pairs: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """(item id, its whole `meta`) pairs."""
        ...

    def document_texts(self, kinds: Sequence[str], min_length: int) -> Iterator[tuple[str, str]]:
        """(id, text) of the stored items of these kinds whose extracted text is longer than `min_length`."""
        ...

    def email_copy_texts(self) -> Iterator[tuple[str, str, str]]:
        """(id, Message-ID, body text, "" if none) of the stored emails whose Message-ID several items carry."""
        ...

    def items_sharing_bytes(self, kinds: Sequence[str]) -> list[tuple[str, str]]:
        """(id, sha256) of the stored items of these kinds whose bytes another item has too."""
        ...

    # -- blob ranges, for any process
    def range_lookup(self) -> RangeLookup: ...

    # -- integrity (fsck) and the audit log: entries are only added (no method changes or removes one)
    def integrity_check(self) -> list[str]:
        """The database's own check of itself: its problems, none when sound."""
        ...

    def blob_ranges(self) -> Iterator[tuple[str, str, int, int]]:
        """(sha256, container, start, end) of every blob kept as a range of another."""
        ...

    def append_audit(self, entry: Mapping[str, Any]) -> None:
        """Add one entry: {"at", "who", "via" (cli | web), "version", "command", "options", "outcome"}."""
        ...

    def audit_entries(self, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """The entries, newest first."""
        ...

    # -- the reads of investigate/ (dashboard, threads, correspondents, timeline, the report).
    #    Fields: ITEM_FIELDS, or "day" (the first ten characters of the date).
    def prepare_for_reading(self) -> None:
        """Ready the case for many reads (planner statistics); LeaklensError if it cannot be written."""
        ...

    def items_fingerprint(self) -> tuple[Any, ...]:
        """A value that changes when items are added or completed: what caches of figures read
        from the items alone (threads) are kept by."""
        ...

    def content_fingerprint(self) -> tuple[Any, ...]:
        """A value that changes when items are added or completed or findings are written (not with
        notes or tags): what caches of case-wide figures are kept by."""
        ...

    def count_items(self, where: ItemQuery = ItemQuery()) -> int: ...
    def count_items_by(self, fields: Sequence[str], where: ItemQuery = ItemQuery()) -> list[tuple[Any, ...]]:
        """(value of each field..., number of items) for each group of the selected items."""
        ...

    def item_values(self, fields: Sequence[str], where: ItemQuery = ItemQuery()) -> Iterator[tuple[Any, ...]]:
        """Those fields of each selected item, in the order the items were found."""
        ...

    def select_items(
        self, where: ItemQuery, *, order: str = "found", limit: int | None = None
    ) -> list[Mapping[str, Any]]:
        """The selected items; order "found" (as found) or "date" (oldest first, undated last)."""
        ...

    def staged_findings(self, item_id: str) -> list[tuple[str, Finding]]:
        """(stage, finding) of each of the item's findings, as written; unreadable evidence as {"raw": text}."""
        ...

    def latest_warnings(self, limit: int) -> list[dict[str, Any]]:
        """The latest warning or critical finding of each (code, severity), newest first: {"code",
        "severity", "items" (how many carry it), "item_id", "message", "name", "subject", "verdict", "kind"}."""
        ...

    def signing_domains(self, limit: int) -> list[tuple[str, int]]:
        """(domain, items) of the domains whose DKIM signature validated (dkim.pass), most items first."""
        ...

    def repeated_attachments(self, limit: int) -> list[dict[str, Any]]:
        """Contents found more than once inside containers (emails aside), most copies first:
        {"sha256", "copies", "name", "id", "size"}."""
        ...

    def verification_of(self, item_id: str) -> dict[str, Any] | None:
        """The email's DKIM check as recorded: {"checked", "verdict", "summary", "keys_used", "keys_missing"}."""
        ...

    def duplicate_groups(self) -> list[dict[str, Any]]:
        """Near-duplicate groups: {"group", "kind", "similarity", "members": [item id...]}."""
        ...

    # -- search, in the query language of `leaklens.query` (hits: mappings of the item's id, path,
    #    kind, verdict, date, email_from, subject, name, ext, size, and a snippet whose matches are
    #    wrapped in \x02 ... \x03, or None when the query has no words)
    def search(
        self, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
    ) -> tuple[int, list[dict[str, Any]]]:
        """(total matches, one page of hits)."""
        ...

    def search_hits(
        self, text: str, *, limit: int = 50, offset: int = 0, sort: str = "relevance"
    ) -> list[dict[str, Any]]:
        """One page of hits, without counting them all."""
        ...

    def search_count(self, text: str, *, only_if_cheap: bool = False) -> int | None:
        """The number of matches; with `only_if_cheap`, None unless an index can tell at once."""
        ...

    def search_facets(self, text: str, *, top: int, budget_s: float) -> tuple[int, Facets] | None:
        """(total, facet name -> its `top` (value, matches) pairs, most first) for every facet declared in
        `leaklens.query`, or None when that would take longer than `budget_s` seconds."""
        ...

    def search_fingerprint(self, text: str | None = None) -> tuple[Any, ...]:
        """A value that changes whenever a search's answer could (new items, findings or tags);
        with `text`, whenever that query's answer could."""
        ...

    # -- what the search index (store/index/, whose SearchIndexMixin implements the search methods
    #    above for every backend) reads from the store
    search_index_dir: Path  # the index's folder: DIR/index, beside the case's blobs

    def texts_of(self, item_ids: Iterable[str]) -> dict[str, list[TextRecord]]:
        """The text records of these items (items without any are left out), in one read."""
        ...

    def search_queue(self, after: int, limit: int) -> list[tuple[str, int]]:
        """(item id, stamp) of the items queued for the index with a stamp above `after`, lowest first (an item
        may be there more than once, each time with a stamp of its own).
        The backend queues an item, with a stamp above every other, in the transaction of any change
        of its row while it is stored (or was), of its findings, or of its texts."""
        ...

    def search_queue_done(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Forget these (item id, stamp) pairs: the index holds them. An item queued again since stays."""
        ...

    def search_queue_compact(self) -> None:
        """Keep only the newest entry of each item queued more than once (a verify queues an email by
        its verdict, its findings removed and its findings added): the index then makes its document
        once, not once per change. Safe beside writers: the entry kept is the last change's."""
        ...

    def search_queue_all(self, ids: Iterable[str] | None = None) -> None:
        """Queue every stored item (the index is made again), or these (what a declared table the index
        reads says of them changed: their entities, their language)."""
        ...

    def search_index_update(self, progress: Callable[[int, int | None], None] | None = None) -> int:
        """Write what the queue holds into the index (what the coordinator does after a run); returns the
        items written. store.index.Busy when another process holds the index's writer."""
        ...

    def search_index_rebuild(self, progress: Callable[[int, int | None], None] | None = None) -> int:
        """Make the index again from the store."""
        ...

    def tags_version(self) -> int:
        """A number that changes with every tag added or removed (tag: is answered by the store)."""
        ...

    # -- notes and tags a journalist adds (what they may be: store/annotations.py)
    def add_tag(self, item_id: str, tag: str) -> str:
        """Tag an item (again: no change); returns the tag as stored. UsageError for an unusable tag."""
        ...

    def remove_tag(self, item_id: str, tag: str) -> bool: ...
    def tags_for(self, item_id: str) -> list[str]: ...
    def all_tags(self) -> list[dict[str, Any]]:
        """[{"tag", "count"}], most used first."""
        ...

    def tagged_item_ids(self, tag: str) -> list[str]:
        """The items with this tag, in the order they were found."""
        ...

    def add_note(self, item_id: str, body: str) -> int:
        """Add a note; returns its id. UsageError for an empty or too long one."""
        ...

    def delete_note(self, item_id: str, note_id: int) -> bool: ...
    def notes_for(self, item_id: str) -> list[dict[str, Any]]:
        """[{"id", "body", "created"}], oldest first."""
        ...


def transaction(store: CaseStore) -> AbstractContextManager[CaseStore]:
    """`with transaction(store):` — begin, then commit, or roll back on an exception."""
    from contextlib import contextmanager

    @contextmanager
    def _tx():
        store.begin()
        try:
            yield store
        except BaseException:
            store.rollback()
            raise
        store.commit()

    return _tx()
