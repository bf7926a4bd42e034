"""Kill -9 in the middle of an ingest, run it again: same items as an uninterrupted run."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
from email.message import EmailMessage

import pytest
from helpers import ROOT, rows

from leaklens.case import Case


def _mbox(path, n: int) -> None:
    box = mailbox.mbox(path)
    for i in range(n):
        m = EmailMessage()
        m["From"] = f"s{i % 7}@horizon.example"
        m["To"] = "t@horizon.example"
        m["Subject"] = f"note {i}"
        m["Message-ID"] = f"<{i}@horizon.example>"
        m.set_content(f"message number {i}\n" * 20)
        if i % 5 == 0:
            m.add_attachment(
                f"attachment {i}".encode() * 100,
                maintype="application",
                subtype="octet-stream",
                filename=f"a{i}.bin",
            )
        box.add(m)
    box.close()


def _ingest(case, src, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "leaklens", "ingest", "--quiet", "--case", str(case), str(src)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def _snapshot(case_dir):
    with Case.open(case_dir) as c:
        return sorted((r["path"], r["state"], r["sha256"], r["kind"]) for r in rows(c))


def _crashed_run(case, src, point: str, n: int) -> int:
    env = {**os.environ, "LEAKLENS_CRASH_AT": f"{point}:{n}"}
    # Its own session, so the crash point kills the coordinator and its pool workers together.
    return _ingest(case, src, start_new_session=True, env=env).wait(timeout=300)


@pytest.mark.parametrize("point", ["before-commit", "commit"])
def test_sigkill_at_every_commit_then_resume_matches_clean_run(tmp_path, point):
    """A power cut at each commit of an ingest, just before it or just after it lands: the case left
    behind is consistent, and running the ingest again gives exactly what an uninterrupted run gives.
    The kill is placed by a crash point, not by timing, so a fast machine cannot outrun it."""
    src = tmp_path / "box.mbox"
    _mbox(src, 2000)
    clean = tmp_path / "clean"
    assert _ingest(clean, src).wait(timeout=300) == 0
    expected = _snapshot(clean)

    crashes = 0
    for n in range(1, 50):
        killed = tmp_path / f"killed-{n}"
        rc = _crashed_run(killed, src, point, n)
        if rc == 0:  # fewer than n commits: every point has been tried
            break
        assert rc == -signal.SIGKILL
        crashes += 1
        if (killed / "case.db").exists():
            partial = _snapshot(killed)
            # A container is committed with all its members or not at all (rows written in chunks).
            containers = [s for p, s, _, _ in partial if "!/" not in p]
            members = [p for p, _, _, _ in partial if p.count("!/") == 1]
            assert (containers, len(members)) in (([], 0), (["pending"], 0), (["stored"], 2000))
        assert _ingest(killed, src).wait(timeout=300) == 0
        assert _snapshot(killed) == expected, f"after a kill at {point} {n}"
    assert crashes >= 2  # the ingest commits at least the sources and the container's members
