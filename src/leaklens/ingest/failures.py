"""What an ingest failed on: noted in its job by stage, and read again by ``ingest --only-failed``.

A failed item's row keeps why (its reason, its finding) but not where its bytes were: the job's
error record keeps that (`jobs.JOB_ERRORS`: the file, the range of a stored mailbox, or the blob).
`--only-failed` reads exactly those items again, and the top-level files that could not be read
when they were found (a permission since fixed); every other item is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..case import Case
from ..jobs import Job, failure_locations
from ..model import FAILED, PENDING, Item, Result, Task
from ..store.base import ItemQuery

if TYPE_CHECKING:
    from .walker import Progress

# The stage of an ingest failure, by the finding that says why (no finding: the reader's own failure).
STAGE_OF_CODE = {"ingest.timeout": "ingest.timeout", "ingest.crash": "ingest.crash"}
READ_STAGE = "ingest.read"
PLAN_STAGE = "ingest.plan"  # found but not readable (permissions, a folder that cannot be listed)
CONTAINER_STAGE = "ingest.container"  # a member its container could not extract (encrypted, truncated)


def note_planned(job: Job | None, rows: Iterable[Item]) -> None:
    """The files found unreadable while the sources were walked."""
    if job is None:
        return
    for r in rows:
        if r.state == FAILED:
            job.error(PLAN_STAGE, r.id, reason=r.reason)


def note_results(job: Job | None, tasks: list[Task], results: list[Result]) -> None:
    """The items of a batch that failed, each with where its bytes were (in the transaction that
    writes the results)."""
    if job is None:
        return
    for task, r in zip(tasks, results, strict=True):
        if r.state == FAILED:
            code = next((f.code for f in r.findings if f.code in STAGE_OF_CODE), None)
            job.error(
                STAGE_OF_CODE.get(code or "", READ_STAGE),
                task.id,
                code=code,
                reason=r.reason,
                origin=task.origin,
                sha256=task.sha256,
                size=task.size,
            )


def note_container(job: Job | None, done: Iterable[Result]) -> None:
    """The members their containers could not extract (encrypted, truncated), as their rows are written
    (a large container's a chunk at a time: all of them, not only those held in memory)."""
    if job is None:
        return
    for r in done:
        if r.state == FAILED:
            job.error(CONTAINER_STAGE, r.id, reason=r.reason)


def follow(job: Job, progress: Progress) -> None:
    """Advance the job as the ingest's progress is reported (this run's items: not those done before)."""
    then = progress.callback
    before: list[int] = []

    def update(p: Progress) -> None:
        if not before:
            before.append(p.done)
        job.advance(p.done - before[0], p.found - before[0], before=before[0])
        if then is not None:
            then(p)

    progress.callback = update


def failed_tasks(case: Case, planned: list[tuple[str, str, list[Item]]]) -> tuple[list[Task], int]:
    """(the failed items of these sources that can be read again, as tasks; how many failed items
    cannot be: their container's judgement, or no record of where their bytes were)."""
    db = case.db
    roots = {root for root, _, _ in planned}
    # A top-level file found unreadable that can be read now has its path from today's walk.
    readable_now = {r.id: r for _, _, rows in planned for r in rows if r.state == PENDING}
    located = failure_locations(case)
    failed = [r for r in db.select_items(ItemQuery(state=FAILED)) if r["source"] in roots]
    rowids = db.rowids([r["id"] for r in failed])
    tasks: list[Task] = []
    for row in failed:
        where = located.get(row["id"])
        plan = readable_now.get(row["id"])
        origin = plan.origin if plan is not None else (where or {}).get("origin")
        sha256 = None if plan is not None else (where or {}).get("sha256")
        if not origin and not sha256:
            continue
        hints = row["hints"]
        tasks.append(
            Task(
                row["id"],
                rowids[row["id"]],
                row["path"],
                row["source"],
                row["depth"],
                origin,
                sha256,
                None if plan is not None else (where or {}).get("size"),
                row["kind_hint"],
                _hints(hints),
            )
        )
    return tasks, len(failed) - len(tasks)


def _hints(value: object) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        import json

        try:
            loaded = json.loads(value)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}
