"""The data model, declared once: kinds, states, severities, verdicts, findings, and the records
an item travels in (the stored `Item`, the worker's `Task` and `Result`, a container's `Child`).

Everything else (store, report, web) reads these declarations rather than
repeating the lists.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from operator import attrgetter
from typing import Any

KINDS = ("email", "attachment", "document", "image", "archive", "other")

# Accounting states: every item found ends in exactly one of the last three.
PENDING, STORED, SKIPPED, FAILED = "pending", "stored", "skipped", "failed"
FINAL_STATES = (STORED, SKIPPED, FAILED)

SEVERITIES = ("info", "warning", "critical")

VERDICTS = ("verified", "altered", "suspicious", "unverified", "error")

# Set by the test suite: a finding whose code is not in the catalogue (codes.py) is a bug, loudly.
_STRICT_CODES = os.environ.get("LEAKLENS_STRICT_CODES") == "1"


@dataclass(frozen=True)
class Finding:
    """One observation by one check, with the raw values that prove it."""

    code: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if _STRICT_CODES:
            from .codes import CATALOGUE

            if self.code not in CATALOGUE:
                raise ValueError(f"finding code {self.code!r} is not declared in leaklens/codes.py")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(d["code"], d["severity"], d["message"], d.get("evidence") or {})


# --- records ------------------------------------------------------------------------------------
# Slots dataclasses that cross the process pool cheaply: each pickles as its class and its field
# values in order, and is rebuilt by one call of the class (no per-object dict to fill); for
# 20,000 mailbox members that is faster to load than the dicts they replace. They can be read like
# the rows they replace (`item["path"]`), which keeps code written against rows working.


class _Record:
    __slots__ = ()

    def __reduce__(self) -> tuple[type, tuple]:
        return type(self), _values(type(self))(self)

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None


@cache
def _values(cls: type) -> attrgetter:
    return attrgetter(*(f.name for f in fields(cls)))


@dataclass(slots=True)
class Item(_Record):
    """An item as the store keeps it: its fields are the store's columns (`ITEM_FIELDS`), in order.

    `hints` and `meta` are values here (the store writes them as JSON); `rowid` is the store's
    handle on the row (reserved by `CaseStore.reserve_rowids`), not a field of the item.
    """

    id: str
    path: str
    parent: str | None = None
    source: str = ""
    depth: int = 0
    name: str = ""
    ext: str | None = None
    origin: str | None = None  # where a pending item's bytes are: a file, "slice:..." of a stored blob, or None
    is_file: int = 0
    state: str = PENDING
    reason: str | None = None
    sha256: str | None = None
    size: int | None = None
    kind: str | None = None
    kind_hint: str | None = None
    mime: str | None = None
    text_status: str | None = None
    hints: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    email_from: str | None = None
    email_to: str | None = None
    email_cc: str | None = None
    subject: str | None = None
    date: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    refs: str | None = None
    verdict: str = "unverified"
    rowid: int | None = None


ITEM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Item) if f.name != "rowid")


@dataclass(slots=True)
class Task(_Record):
    """One pending item, as a worker receives it to read."""

    id: str
    rowid: int | None
    path: str
    source: str
    depth: int = 0
    origin: str | None = None
    sha256: str | None = None
    size: int | None = None
    kind_hint: str | None = None
    hints: dict[str, Any] = field(default_factory=dict)
    budget: int = 0  # bytes its source may still expand to (set when it is sent)

    @classmethod
    def of(cls, item: Item) -> Task:
        return cls(
            item.id,
            item.rowid,
            item.path,
            item.source,
            item.depth,
            item.origin,
            item.sha256,
            item.size,
            item.kind_hint,
            item.hints or {},
        )


@dataclass(slots=True)
class Child(Item):
    """An item a reader found inside the one it reads: recorded (its bytes stored, or why not), read later.

    It is the child's row as it will be stored (the coordinator gives it its `rowid`), with what
    the container observed about it (an unsafe name, unquoted mbox lines).
    """

    findings: list[dict[str, Any]] = field(default_factory=list)  # as Finding.to_dict()


@dataclass(slots=True)
class Result(_Record):
    """What reading one item found: its facts, its own findings and the children it holds.

    `rowid` and `verdict` are filled by the coordinator before the store records it.
    """

    id: str
    state: str
    reason: str | None = None
    sha256: str | None = None
    size: int | None = None
    range: tuple[str, int, int] | None = None  # its bytes are exactly this range of a stored container
    kind: str | None = None
    mime: str | None = None
    ext: str | None = None
    text: str | None = None
    text_status: str | None = None
    email: dict[str, Any] | None = None  # from, to, cc, subject, date, message_id, in_reply_to, references
    metadata: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    # (file, count): a large container's first `count` children, spilled to a file (ingest/spill.py)
    # rather than held in memory; `children` holds the rest.
    spilled: tuple[str, int] | None = None
    names: str = ""  # every name it is known by, for the search index
    expanded: int = 0  # bytes its children added to the source's expansion
    rowid: int | None = None
    verdict: str = "unverified"

    @property
    def child_count(self) -> int:
        """Every child it holds, spilled ones included."""
        return len(self.children) + (self.spilled[1] if self.spilled else 0)
