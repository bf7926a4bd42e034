"""What a format reader receives and how it hands back what it found.

A reader is a function ``read(src: Source, ctx: ReadContext) -> None``. It sets
facts about the item on ``ctx`` (kind, text, email fields, metadata, findings)
and announces each child with ``ctx.add_child`` (bytes or a stream, stored in
the blob store at once), ``ctx.skip_child`` or ``ctx.fail_child`` (recorded,
with a reason, so that the accounting always balances). Readers never write
anywhere but through ``ctx``: member names from an archive are labels, never
file-system paths.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ... import pathchain
from ...model import FAILED, PENDING, SKIPPED, STORED, Child, Finding
from ...store.blobs import BlobStore, LimitExceeded
from .. import spill as spills
from ..limits import Limits


@dataclass
class Source:
    """The item being read: its bytes are at ``path`` (a blob or an input file)."""

    path: Path
    name: str
    chain: str
    size: int
    mime: str
    depth: int
    hints: dict[str, Any] = field(default_factory=dict)
    parent_kind: str | None = None
    sha256: str = ""
    data: bytes | None = None  # the bytes, when the worker already holds them (small items)

    def read_bytes(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()


class BudgetExceeded(Exception):
    """The source's expansion budget is spent: stop opening this container."""


@dataclass
class ReadContext:
    src: Source
    blobs: BlobStore
    limits: Limits
    budget: int
    kind: str | None = None
    text: str | None = None
    text_status: str = "none"
    email: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    expanded: int = 0
    parent: str = ""  # the item's id and source: what its children are adopted into
    source: str = ""
    spill: spills.SpillWriter | None = None  # children past the first chunk, in a file (ingest/spill.py)
    _names: set[str] = field(default_factory=set)

    # -- facts about the item itself ------------------------------------------------
    def finding(self, code: str, severity: str, message: str, **evidence: Any) -> None:
        self.findings.append(Finding(code, severity, message, evidence))

    # -- children ---------------------------------------------------------------------
    def _segment(self, name: str) -> str:
        name = name or "unnamed"
        seg = name
        n = 2
        while seg in self._names:
            seg = f"{name}~{n}"
            n += 1
        self._names.add(seg)
        return seg

    def _child(self, name: str, state: str, reason: str, hints: dict | None, findings, kind: str | None) -> Child:
        seg = self._segment(name)
        chain = pathchain.child(self.src.chain, seg)
        name = seg.rsplit("/", 1)[-1]
        child = Child(
            id=pathchain.item_id(chain),
            path=chain,
            depth=self.src.depth + 1,
            name=name,
            ext=os.path.splitext(name)[1].lower().lstrip(".") or None,
            state=state,
            reason=reason or None,
            kind_hint=kind,
            hints=dict(hints or {}),
            findings=[f.to_dict() for f in findings],
        )  # its parent and source are set when it is adopted (spilled or returned)
        if len(self.children) >= spills.CHUNK:
            # A container of thousands of members: they wait in a file, not in memory. (Those
            # announced before this one only: the caller is still filling this one in.)
            if self.spill is None:
                self.spill = spills.SpillWriter(self.blobs.tmp)
            self.spill.write(self.adopt(self.children))
            self.children = []
        self.children.append(child)
        return child

    def adopt(self, children: list[Child]) -> list[Child]:
        """The children as the coordinator writes them: this item's, pending when their bytes are stored."""
        for child in children:
            child.parent, child.source = self.parent, self.source
            if child.state == STORED:
                child.state = PENDING
        return children

    def add_child(
        self,
        name: str,
        *,
        data: bytes | None = None,
        stream: BinaryIO | None = None,
        declared_size: int | None = None,
        compressed_size: int | None = None,
        hints: dict[str, Any] | None = None,
        kind: str | None = None,
        findings: list[Finding] = (),
    ) -> Child:
        """Store one child's bytes and record it (pending: the walker will read it next).

        ``compressed_size`` lets the expansion-ratio guard judge archive members;
        the budget guard applies to everything a container expands to.
        """
        limits = self.limits
        if self.expanded >= self.budget:
            raise BudgetExceeded()
        ratio_cap = None
        if compressed_size is not None:
            ratio_cap = max(compressed_size * limits.max_ratio, 1 << 20)
            if declared_size is not None and declared_size > ratio_cap:
                return self._bomb(name, declared_size, compressed_size, hints, findings, kind)
        cap = min(limits.max_item_bytes, self.budget - self.expanded)
        if ratio_cap is not None:
            cap = min(cap, ratio_cap)
        try:
            if data is not None:
                if len(data) > cap:
                    raise LimitExceeded(len(data))
                sha, size = self.blobs.put_bytes(data)
            else:
                assert stream is not None
                sha, size = self.blobs.put_stream(stream, limit=cap)
        except LimitExceeded as exc:
            if ratio_cap is not None and cap == ratio_cap:
                return self._bomb(name, exc.size, compressed_size, hints, findings, kind)
            if cap == limits.max_item_bytes:
                return self.skip_child(
                    name,
                    f"larger than --max-item-bytes ({limits.max_item_bytes} bytes)",
                    hints=hints,
                    findings=[
                        *findings,
                        Finding(
                            "ingest.too_large",
                            "warning",
                            "Member too large to extract; raise --max-item-bytes to read it.",
                            {"limit": limits.max_item_bytes},
                        ),
                    ],
                )
            self.expanded = self.budget
            raise BudgetExceeded() from None
        self.expanded += size
        child = self._child(name, STORED, "", hints, findings, kind)
        child.sha256, child.size = sha, size
        return child

    def _bomb(self, name, size, compressed, hints, findings, kind):
        return self.skip_child(
            name,
            "expansion ratio above --max-ratio (zip bomb?)",
            hints=hints,
            findings=[
                *findings,
                Finding(
                    "ingest.bomb",
                    "warning",
                    "This member expands far more than any normal file; it was not extracted.",
                    {"expanded_at_least": size, "compressed": compressed, "max_ratio": self.limits.max_ratio},
                ),
            ],
            kind=kind,
        )

    def add_slice(
        self,
        name: str,
        start: int,
        end: int,
        *,
        transform: str = "",
        hints: dict[str, Any] | None = None,
        kind: str | None = None,
    ) -> Child:
        """Record a child that is a byte range of this item (an mbox member).

        Its bytes are cut out, transformed and stored by the worker that reads the
        child, so that a large mailbox is split across all cores instead of one.
        """
        if self.expanded >= self.budget:
            raise BudgetExceeded()
        self.expanded += end - start
        child = self._child(name, STORED, "", hints, (), kind)
        child.origin = f"slice:{self.src.sha256}:{start}:{end}:{transform}"
        return child

    def skip_child(self, name: str, reason: str, *, hints=None, findings: list[Finding] = (), kind=None) -> Child:
        return self._child(name, SKIPPED, reason, hints, findings, kind)

    def fail_child(self, name: str, reason: str, *, hints=None, findings: list[Finding] = (), kind=None) -> Child:
        return self._child(name, FAILED, reason, hints, findings, kind)


Reader = Callable[[Source, ReadContext], None]


@dataclass(frozen=True)
class ReaderSpec:
    """A reader declares what it reads; the walker picks the best-scoring one."""

    name: str
    mimes: tuple[str, ...]
    read: Reader
    score: int = 10
