"""SIGKILL in the middle of an ingest and of a verify (issue 15), then the same command again: nothing
lost, nothing twice (items, findings, search hits), fsck clean, the accounting balanced; and under
the workbench's writes (tags, notes): no acknowledged write lost.

A few points in the suite; bench/crashpoints.py runs 100 (figures in bench/RESULTS.md). tests/test_resume.py
kills an ingest of one big mailbox at each of its commits; here the dump has several containers, the
kills also land at random moments (inside a blob write, a transaction, a worker's read), and the
case is checked by fsck and against the uninterrupted run's findings and search index."""

from __future__ import annotations

import random
import shutil

import pytest
from crash_harness import command, killed_at, make_dump, problems, snapshot, timed, web_problems, web_writes_killed


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The dump, a case only ingested (what each verify kill starts from), and the uninterrupted
    runs' snapshots and durations."""
    root = tmp_path_factory.mktemp("crash")
    src = make_dump(root, emails=60)
    ingested = root / "ingested"
    t_ingest = timed(command("ingest", ingested, src))
    after_ingest = snapshot(ingested)
    both = root / "both"
    shutil.copytree(ingested, both)
    t_verify = timed(command("verify", both))
    return {"root": root, "src": src, "ingested": ingested, "after_ingest": after_ingest,
            "after_verify": snapshot(both), "t_ingest": t_ingest, "t_verify": t_verify}


def test_the_uninterrupted_runs_are_sound(runs):
    """The reference itself: what every killed-then-resumed run is compared with."""
    assert problems(runs["ingested"], runs["after_ingest"]) == []
    assert len(runs["after_ingest"]["items"]) > 100 and runs["after_ingest"]["hits"]
    assert runs["after_verify"]["findings"] != runs["after_ingest"]["findings"]  # verify added its findings


# (kind, where): a named crash point of crashpoints.py ("before-commit:2"), or a fraction of the clean run's time
# (a kill by time may land after a fast run has ended: then the rerun is checked all the same)
INGEST = [("point", "before-commit:3"), ("point", "commit:4"), ("time", 0.4), ("time", 0.7)]
VERIFY = [("point", "before-commit:1"), ("point", "commit:1"), ("time", 0.4), ("time", 0.7)]


@pytest.mark.parametrize("kind,where", INGEST, ids=[f"{k}-{w}" for k, w in INGEST])
def test_an_ingest_killed_then_run_again(runs, tmp_path, kind, where):
    case = tmp_path / "case"
    cmd = command("ingest", case, runs["src"])
    after = None if kind == "point" else where * runs["t_ingest"]
    rc = killed_at(cmd, point=where if kind == "point" else None, after=after)
    if kind == "point":
        assert rc is not None, f"the ingest has no {where}"
    timed(cmd)
    assert problems(case, runs["after_ingest"]) == []


@pytest.mark.parametrize("kind,where", VERIFY, ids=[f"{k}-{w}" for k, w in VERIFY])
def test_a_verify_killed_then_run_again(runs, tmp_path, kind, where):
    case = tmp_path / "case"
    shutil.copytree(runs["ingested"], case)
    cmd = command("verify", case)
    after = None if kind == "point" else where * runs["t_verify"]
    rc = killed_at(cmd, point=where if kind == "point" else None, after=after)
    if kind == "point":
        assert rc is not None, f"the verify has no {where}"
    timed(cmd)
    assert problems(case, runs["after_verify"]) == []


def test_a_run_killed_twice_in_a_row_still_resumes(runs, tmp_path):
    """A second power cut during the resumed run (the resume's own commits are crash points too)."""
    case = tmp_path / "case"
    cmd = command("ingest", case, runs["src"])
    rng = random.Random(15)
    killed_at(cmd, after=rng.uniform(0.3, 0.7) * runs["t_ingest"])
    killed_at(cmd, point="commit:2")
    timed(cmd)
    assert problems(case, runs["after_ingest"]) == []


@pytest.mark.parametrize("after", [0.3, 1.5])
def test_a_server_killed_under_web_writes(runs, tmp_path, after):
    """`leaklens serve` killed while a client tags and annotates items as fast as it answers: every
    write it acknowledged is there, no note twice, at most the one in flight beyond them, fsck clean.
    By time only: a web write is one autocommitted statement, not a commit crashpoints.py counts."""
    case = tmp_path / "case"
    shutil.copytree(runs["ingested"], case)
    acked = web_writes_killed(case, after=after)
    assert acked["killed"] and acked["tags"] and (after < 1 or acked["notes"]), acked["sent"]
    assert web_problems(case, acked, runs["after_ingest"]) == []
