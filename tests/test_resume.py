"""Kill -9 in the middle of an ingest, run it again: same items as an uninterrupted run."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage

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


def test_sigkill_then_resume_matches_clean_run(tmp_path):
    src = tmp_path / "box.mbox"
    _mbox(src, 8000)
    clean = tmp_path / "clean"
    assert _ingest(clean, src).wait(timeout=300) == 0
    expected = _snapshot(clean)

    killed = tmp_path / "killed"
    proc = _ingest(killed, src, start_new_session=True)
    # Wait until the run is visibly under way, then kill it without warning.
    deadline = time.time() + 120
    while time.time() < deadline:
        if (killed / "case.db").exists():
            try:
                with Case.open(killed) as c:
                    n = c.db.conn.execute("SELECT COUNT(*) FROM items WHERE state='stored'").fetchone()[0]
            except Exception:  # noqa: BLE001 - the case may be mid-creation
                n = 0
            if n > 50:
                break
        time.sleep(0.05)
    # The whole process group: the coordinator and its pool workers die together, as in a power cut.
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _snapshot(killed)
    assert len(partial) < len(expected) or any(s == "pending" for _, s, _, _ in partial)
    # A container is committed with all its members or not at all (its rows are written in chunks).
    (mailbox_state,) = [s for p, s, _, _ in partial if "!/" not in p]
    members = [p for p, _, _, _ in partial if p.count("!/") == 1]
    assert (mailbox_state, len(members)) in (("pending", 0), ("stored", 8000))

    assert _ingest(killed, src).wait(timeout=300) == 0
    assert _snapshot(killed) == expected
