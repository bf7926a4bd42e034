"""Reading one item, in a worker process: store its bytes, sniff, read, return facts and children.

Workers write blobs (content-addressed, so concurrent writers agree) and never
touch the database; the coordinator is the one writer. The per-item time limit is
the executor's (it kills a worker whose item overruns): nothing here watches the clock.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from .. import pathchain
from ..case import case_blobs
from ..model import FAILED, STORED, Finding, Result, Task
from ..store.blobs import BlobStore
from ..store.failures import DiskFull, no_room
from .limits import Limits
from .readers import reader_for
from .readers.base import BudgetExceeded, ReadContext, Source
from .readers.mbox import cut_message
from .sniff import EMAIL, extension_for, family, may_be_mailbox, sniff, sniff_file

CONTAINER_FAMILIES = ("email", "mbox", "archive", "pst")

_state: dict[str, Any] = {}


def init_worker(case_root: str, limits: Limits) -> None:
    """The executor's setup: once per worker process, before its first item."""
    _state["blobs"] = case_blobs(case_root)
    _state["limits"] = limits


def process(task: Task) -> Result:
    """One item: a failure of this item is its result (failed, with the reason), not an exception."""
    blobs: BlobStore = _state["blobs"]
    limits: Limits = _state["limits"]
    try:
        return _process(task, blobs, limits)
    except DiskFull:
        raise  # the coordinator stops the run with a clear message
    except OSError as exc:
        if no_room(exc):  # a full disk (or quota, or ulimit -f): the coordinator stops the run, loudly
            raise
        return _done(task, FAILED, f"I/O error: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - a bug costs one item, not the run
        return _done(task, FAILED, f"internal error: {type(exc).__name__}: {exc}"[:300])


def _read_error(ctx: ReadContext, spec: Any, exc: BaseException) -> None:
    ctx.finding(
        "ingest.read_error",
        "warning",
        f"This {spec.name} file could not be read: {type(exc).__name__}.",
        error=f"{type(exc).__name__}: {exc}"[:500],
        reader=spec.name,
    )


def _done(task: Task, state: str, reason: str = "", findings: list[Finding] = ()) -> Result:
    return Result(task.id, state, reason or None, findings=list(findings))


def timed_out(task: Task, limits: Limits) -> Result:
    """The result of an item whose reading the executor stopped at the time limit."""
    finding = Finding(
        "ingest.timeout",
        "warning",
        "Reading this item took too long; it was stopped.",
        {"seconds": limits.item_timeout},
    )
    return _done(task, FAILED, f"reading took longer than --item-timeout ({limits.item_timeout} s)", [finding])


def crashed(task: Task) -> Result:
    """The result of an item that killed the reader process (again, after a retry)."""
    finding = Finding("ingest.crash", "warning", "Reading this item crashed the reader process.")
    return _done(task, FAILED, "the reader crashed on this item", [finding])


IN_MEMORY = 4 << 20  # items up to this size are read once and handed to the reader in memory


@dataclass
class _Obtained:
    sha256: str
    size: int
    data: bytes | None  # held in memory: small items, and mailbox members (cut out whole)
    findings: list[Finding]
    stored: bool = True
    range: tuple[str, int, int] | None = None  # the bytes are exactly this range of a stored container


def _obtain(task: Task, blobs: BlobStore) -> _Obtained:
    """The item's bytes, stored at once; a mailbox member's are only cut out (``stored`` False):
    _process keeps them as a range of the mailbox or writes them, once it knows what they are."""
    origin = task.origin
    if not origin:
        sha, size = task.sha256, task.size
        return _Obtained(sha, size, blobs.read(sha) if size <= IN_MEMORY else None, [])
    if origin.startswith("slice:"):
        # A byte range of a stored container (an mbox member): cut and transformed here, on
        # whichever core reads it.
        _, parent_sha, start, end, transform = origin.split(":", 4)
        data = blobs.read_range(parent_sha, int(start), int(end))
        findings: list[Finding] = []
        if transform == "mboxrd":
            data, findings = cut_message(data)
        where = None if findings else (parent_sha, int(start), int(end))  # unquoted: no longer the range
        return _Obtained(hashlib.sha256(data).hexdigest(), len(data), data, findings, stored=False, range=where)
    with open(origin, "rb") as fh:
        sha, size = blobs.put_stream(fh)
    return _Obtained(sha, size, blobs.read(sha) if size <= IN_MEMORY else None, [])


def _process(task: Task, blobs: BlobStore, limits: Limits) -> Result:
    try:
        got = _obtain(task, blobs)
    except OSError as exc:
        if no_room(exc):  # no point going on; the coordinator stops the run.
            raise
        return _done(task, FAILED, f"unreadable file: {exc.strerror or exc}")
    sha, size, data = got.sha256, got.size, got.data
    path = blobs.path(sha)
    name = pathchain.split(task.path)[-1].rsplit("/", 1)[-1]
    if task.kind_hint == "email" and data is not None and not may_be_mailbox(data):
        # A mailbox member or a message/rfc822 part is a message whatever its first line looks like.
        mime = EMAIL
    else:
        mime = sniff(data, name, size) if data is not None else sniff_file(path, name)
        if task.kind_hint == "email" and family(mime) not in ("email", "mbox"):
            mime = EMAIL
    fam = family(mime)
    if got.range is not None and fam != "email":
        got.range = None  # a mailbox or other container inside a mailbox is read from a file of its own
    if not got.stored and got.range is None:
        blobs.put_bytes(data, sha)
    src = Source(
        path=path,
        name=name,
        chain=task.path,
        size=size,
        mime=mime,
        depth=task.depth,
        hints=task.hints,
        parent_kind=task.kind_hint,
        sha256=sha,
        data=data,
    )
    ctx = ReadContext(src, blobs, limits, budget=task.budget, parent=task.id, source=task.source)
    ctx.findings.extend(got.findings)
    spec = reader_for(mime)
    if fam in CONTAINER_FAMILIES and fam != "email" and task.depth >= limits.max_depth:
        ctx.kind = "archive"
        ctx.finding(
            "ingest.depth_limit",
            "warning",
            "Nested too deep: this container was stored but not opened (raise --max-depth to open it).",
            depth=task.depth,
            max_depth=limits.max_depth,
        )
    else:
        try:
            spec.read(src, ctx)
        except BudgetExceeded:
            ctx.finding(
                "ingest.expansion_limit",
                "warning",
                "The dump's expansion budget is spent; the rest of this container was not opened "
                "(raise --max-expanded-bytes or --max-items to read it).",
                budget=task.budget,
            )
        except MemoryError:
            ctx.finding("ingest.read_error", "warning", "Out of memory while reading this item.")
        except DiskFull:
            raise
        except OSError as exc:
            if no_room(exc):  # the members' bytes could not be stored: not the file's fault, stop the run
                raise
            _read_error(ctx, spec, exc)
        except Exception as exc:  # noqa: BLE001 - one hostile file must not stop the dump
            _read_error(ctx, spec, exc)
    kind = ctx.kind or "other"
    if task.kind_hint == "attachment" and kind != "email":
        kind = "attachment"
    names = [name, *ctx.metadata.get("attachment_names", [])] if kind == "email" else [name]
    ctx.adopt(ctx.children)
    spilled = None
    if ctx.spill is not None:
        ctx.spill.close()
        spilled = (ctx.spill.path, ctx.spill.count)
    ext = os.path.splitext(name)[1].lower().lstrip(".") or extension_for(mime).lstrip(".")
    return Result(
        task.id,
        STORED,
        None,
        sha256=sha,
        size=size,
        range=got.range,
        kind=kind,
        mime=mime,
        ext=ext,
        text=ctx.text,
        text_status=ctx.text_status,
        email=ctx.email,
        metadata=ctx.metadata or None,
        findings=ctx.findings,
        children=ctx.children,
        spilled=spilled,
        names=" ".join(names),
        expanded=ctx.expanded,
    )
