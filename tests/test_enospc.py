"""A full disk at 20 write points of an ingest and a verify (issue 15): each run stops with one clear
line (exit 75, no traceback), the case it leaves is sound (fsck finds nothing but the items still
pending), and once there is room again the same command finishes it: the case is what an
uninterrupted run gives (tests/crash_harness.py's comparison), fsck clean.

The disk is filled at the storage seam, by `leaklens.crashpoints.full` (LEAKLENS_ENOSPC_AT): from the
Nth blob write on, each fails with OSError(ENOSPC); from the Nth SQLite commit on, each with SQLite's
own "database or disk is full". That needs no mount, so it runs wherever the suite runs, and picks the
write exactly; tests/test_jobs.py fills a real tmpfs where one can be mounted. One worker, so the Nth
write is the same write on every run (each process counts its own)."""

from __future__ import annotations

import shutil

import pytest
from crash_harness import command, make_dump, problems, run, snapshot, timed

from leaklens.case import Case
from leaklens.integrity import fsck

# (verb, write point, N): the ingest of the dump below makes 23 blob writes and 6 commits, its verify
# 3 commits; a change that makes one of these unreachable fails its test (the run is not stopped).
POINTS = (
    [("ingest", "blob-write", n) for n in (1, 2, 3, 4, 7, 9, 11, 13, 15, 17, 19, 22)]
    + [("ingest", "db-commit", n) for n in range(1, 6)]
    + [("verify", "db-commit", n) for n in range(1, 4)]
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("enospc")
    src = make_dump(root, emails=16)
    ingested = root / "ingested"
    timed(command("ingest", ingested, src, workers=1))
    both = root / "both"
    shutil.copytree(ingested, both)
    timed(command("verify", both, workers=1))
    return {"src": src, "ingested": ingested, "after_ingest": snapshot(ingested), "after_verify": snapshot(both)}


def test_twenty_write_points():
    assert len(POINTS) == len(set(POINTS)) == 20


@pytest.mark.parametrize("verb,point,n", POINTS, ids=[f"{v}-{p}-{n}" for v, p, n in POINTS])
def test_a_full_disk_stops_the_run_cleanly_and_the_run_resumes(runs, tmp_path, verb, point, n):
    case = tmp_path / "case"
    if verb == "verify":
        shutil.copytree(runs["ingested"], case)
    cmd = command(verb, case, runs["src"], workers=1)
    full = run(cmd, env={"LEAKLENS_ENOSPC_AT": f"{point}:{n}"})
    assert full.returncode == 75, f"the disk never filled at {point}:{n}, or the run ended otherwise: {full.stderr}"
    lines = [ln for ln in full.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "the disk is full" in lines[0] and "Traceback" not in full.stderr, full.stderr
    if (case / "case.db").exists():  # a full disk at the very first commit leaves no case to check
        with Case.open(case) as c:
            left = [p for p in fsck(c, workers=2).problems if p.code != "accounting.pending"]
        assert left == [], [p.to_dict() for p in left]  # stopped, not damaged: only unfinished work
    timed(cmd)  # room again: the same command
    assert problems(case, runs["after_ingest" if verb == "ingest" else "after_verify"]) == []


PG_POINTS = [("blob-write", 5), ("db-commit", 2), ("db-commit", 4)]


@pytest.mark.parametrize("point,n", PG_POINTS, ids=[f"{p}-{n}" for p, n in PG_POINTS])
def test_a_full_disk_on_postgresql_too(runs, tmp_path, pg_url, point, n):
    """The same on PostgreSQL (its own DiskFull at the commit): one line, exit 75, the rerun gives the
    items, findings and search hits of the uninterrupted SQLite run."""
    case = tmp_path / "case"
    cmd = command("ingest", case, runs["src"], workers=1, db=pg_url)
    full = run(cmd, env={"LEAKLENS_ENOSPC_AT": f"{point}:{n}"})
    assert full.returncode == 75, full.stderr
    lines = [ln for ln in full.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "the disk is full" in lines[0] and "Traceback" not in full.stderr, full.stderr
    timed(cmd)
    assert problems(case, runs["after_ingest"], db=pg_url) == []
