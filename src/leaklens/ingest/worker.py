"""Reading one item, in a worker process: store its bytes, sniff, read, return facts and children.

Workers write blobs (content-addressed, so concurrent writers agree) and never
touch the database; the coordinator is the one writer.
"""

from __future__ import annotations

import hashlib
import os
import signal
from dataclasses import dataclass
from typing import Any

from .. import pathchain
from ..case import case_blobs
from ..model import FAILED, PENDING, STORED, Finding
from ..store.blobs import BlobStore
from .limits import Limits
from .readers import reader_for
from .readers.base import BudgetExceeded, ReadContext, Source
from .readers.mbox import cut_message
from .sniff import EMAIL, extension_for, family, may_be_mailbox, sniff, sniff_file

CONTAINER_FAMILIES = ("email", "mbox", "archive", "pst")

_state: dict[str, Any] = {}


class ItemTimeout(Exception):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001
    raise ItemTimeout()


def init_worker(case_root: str, limits: Limits) -> None:
    _state["blobs"] = case_blobs(case_root)
    _state["limits"] = limits
    # The coordinator handles Ctrl-C; a worker just stops with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process(task: dict[str, Any]) -> dict[str, Any]:
    return process_batch([task])[0]


def process_batch(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Several small items per round trip: the pool's per-task overhead is not free."""
    old = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        return [_timed(t) for t in tasks]
    finally:
        signal.signal(signal.SIGALRM, old)


def _timed(task: dict[str, Any]) -> dict[str, Any]:
    """One item under the per-item time limit (the SIGALRM handler is installed by the caller)."""
    blobs: BlobStore = _state["blobs"]
    limits: Limits = _state["limits"]
    signal.alarm(max(1, limits.item_timeout))
    try:
        return _process(task, blobs, limits)
    except ItemTimeout:
        timeout = Finding(
            "ingest.timeout",
            "warning",
            "Reading this item took too long; it was stopped.",
            {"seconds": limits.item_timeout},
        )
        return _done(
            task, FAILED, f"reading took longer than --item-timeout ({limits.item_timeout} s)", findings=[timeout]
        )
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC: the coordinator stops the run with a clear message
            raise
        return _done(task, FAILED, f"I/O error: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - a bug costs one item, not the run
        return _done(task, FAILED, f"internal error: {type(exc).__name__}: {exc}"[:300])
    finally:
        signal.alarm(0)


def _done(task: dict[str, Any], state: str, reason: str = "", **extra: Any) -> dict[str, Any]:
    findings = extra.pop("findings", [])
    return {
        "id": task["id"],
        "state": state,
        "reason": reason or None,
        "findings": [f.to_dict() for f in findings],
        "children": [],
        **extra,
    }


IN_MEMORY = 4 << 20  # items up to this size are read once and handed to the reader in memory


@dataclass
class _Obtained:
    sha256: str
    size: int
    data: bytes | None  # held in memory: small items, and mailbox members (cut out whole)
    findings: list[Finding]
    stored: bool = True
    range: tuple[str, int, int] | None = None  # the bytes are exactly this range of a stored container


def _obtain(task: dict[str, Any], blobs: BlobStore) -> _Obtained:
    """The item's bytes, stored at once; a mailbox member's are only cut out (``stored`` False):
    _process keeps them as a range of the mailbox or writes them, once it knows what they are."""
    origin = task.get("origin")
    if not origin:
        sha, size = task["sha256"], task["size"]
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


def _process(task: dict[str, Any], blobs: BlobStore, limits: Limits) -> dict[str, Any]:
    try:
        got = _obtain(task, blobs)
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC: no point going on; the coordinator stops the run.
            raise
        return _done(task, FAILED, f"unreadable file: {exc.strerror or exc}")
    sha, size, data = got.sha256, got.size, got.data
    path = blobs.path(sha)
    name = pathchain.split(task["path"])[-1].rsplit("/", 1)[-1]
    if task.get("kind_hint") == "email" and data is not None and not may_be_mailbox(data):
        # A mailbox member or a message/rfc822 part is a message whatever its first line looks like.
        mime = EMAIL
    else:
        mime = sniff(data, name, size) if data is not None else sniff_file(path, name)
        if task.get("kind_hint") == "email" and family(mime) not in ("email", "mbox"):
            mime = EMAIL
    fam = family(mime)
    if got.range is not None and fam != "email":
        got.range = None  # a mailbox or other container inside a mailbox is read from a file of its own
    if not got.stored and got.range is None:
        blobs.put_bytes(data, sha)
    src = Source(
        path=path,
        name=name,
        chain=task["path"],
        size=size,
        mime=mime,
        depth=task["depth"],
        hints=task.get("hints") or {},
        parent_kind=task.get("kind_hint"),
        sha256=sha,
        data=data,
    )
    ctx = ReadContext(src, blobs, limits, budget=task.get("budget", limits.max_expanded_bytes))
    ctx.findings.extend(got.findings)
    spec = reader_for(mime)
    if fam in CONTAINER_FAMILIES and fam != "email" and task["depth"] >= limits.max_depth:
        ctx.kind = "archive"
        ctx.finding(
            "ingest.depth_limit",
            "warning",
            "Nested too deep: this container was stored but not opened (raise --max-depth to open it).",
            depth=task["depth"],
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
                budget=task.get("budget"),
            )
        except ItemTimeout:
            raise
        except MemoryError:
            ctx.finding("ingest.read_error", "warning", "Out of memory while reading this item.")
        except Exception as exc:  # noqa: BLE001 - one hostile file must not stop the dump
            ctx.finding(
                "ingest.read_error",
                "warning",
                f"This {spec.name} file could not be read: {type(exc).__name__}.",
                error=f"{type(exc).__name__}: {exc}"[:500],
                reader=spec.name,
            )
    kind = ctx.kind or "other"
    if task.get("kind_hint") == "attachment" and kind != "email":
        kind = "attachment"
    names = [name, *ctx.metadata.get("attachment_names", [])] if kind == "email" else [name]
    for child in ctx.children:
        if child["state"] == STORED:
            child["state"] = PENDING
    ext = os.path.splitext(name)[1].lower().lstrip(".") or extension_for(mime).lstrip(".")
    return {
        "id": task["id"],
        "state": STORED,
        "reason": None,
        "sha256": sha,
        "size": size,
        "range": got.range,
        "kind": kind,
        "mime": mime,
        "ext": ext,
        "text": ctx.text,
        "text_status": ctx.text_status,
        "email": ctx.email,
        "metadata": ctx.metadata or None,
        "findings": [f.to_dict() for f in ctx.findings],
        "children": ctx.children,
        "names": " ".join(names),
        "expanded": ctx.expanded,
    }
