"""Jobs: a record per run whose figures agree with the items, --only-failed, and failures that are
loud and resumable (a full disk for real, on a small tmpfs; a database file removed under a run)."""

from __future__ import annotations

import json
import mailbox
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import GMAIL, ROOT, assert_balanced, codes
from jobs_fixtures import dump as _dump
from jobs_fixtures import stalling_reader as _stalling_reader

from leaklens import jobs
from leaklens.case import Case
from leaklens.ingest.limits import Limits
from leaklens.ingest.walker import ingest
from leaklens.verify import case_verify
from leaklens.verify.case_verify import verify_case


def _leaklens(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "leaklens", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def _items(case: Case) -> dict[str, tuple]:
    """Every item's row and findings, by path: what "left untouched" means."""
    out = {}
    for r in case.db.items():
        out[r["path"]] = (tuple(r), tuple((f.code, f.message) for f in case.db.findings_for(r["id"])))
    return out


# --- the record's figures -------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_jobs_figures_follow_its_items(tmp_path):
    """Items/s now (over the last seconds) and on average, the ETA, samples over time: from the
    items a run reports, on a clock the test moves."""
    case = Case.open(tmp_path / "c", create=True)
    clock = _Clock()
    job = jobs.Job(case, "ingest", {"sources": [tmp_path]}, clock=clock).start()
    for second in range(1, 31):  # 10 items/s for 20 s, then 2 items/s
        clock.t += 1
        done = second * 10 if second <= 20 else 200 + (second - 20) * 2
        job.advance(done, 1000)
    assert job.done == 220 and job.total == 1000
    assert job.rate_now() == pytest.approx(2.0)
    assert job.rate_avg() == pytest.approx(220 / 30)
    assert job.eta() == pytest.approx((1000 - 220) / 2.0)
    job.finish(accounting=case.db.accounting())
    (listed,) = jobs.list_jobs(case)
    assert listed["state"] == "done" and listed["done"] == 220 and listed["options"] == {"sources": [str(tmp_path)]}
    assert listed["samples"][-1] == [30.0, 220] and len(listed["samples"]) >= 30
    assert listed["identity"] == {"found": 0, "stored": 0, "skipped": 0, "failed": 0, "pending": 0, "balanced": True}
    assert listed["user"] and listed["pid"] == os.getpid()
    case.close()


def test_samples_are_thinned_not_dropped(tmp_path):
    case = Case.open(tmp_path / "c", create=True)
    clock = _Clock()
    job = jobs.Job(case, "verify", clock=clock).start()
    for n in range(1, 1001):
        clock.t += 1
        job.advance(n, 1000, phase="emails")
    assert len(job.samples) <= jobs.MAX_SAMPLES
    assert job.samples[0] == [0.0, 0] and job.samples[-1][1] == 1000  # the whole run, coarser
    case.close()


def test_a_job_whose_process_died_is_marked_interrupted_by_the_next(tmp_path):
    case = Case.open(tmp_path / "c", create=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job = jobs.Job(case, "ingest")
    row = {**job.row(), "pid": dead.pid}
    jobs.ensure_tables(case)
    case.db.put_rows(jobs.JOBS, [row])
    jobs.Job(case, "ingest").start()
    stale = case.db.get_row(jobs.JOBS, (job.id,))
    assert stale["state"] == "interrupted" and "ended without finishing" in stale["reason"]
    case.close()


# --- --only-failed --------------------------------------------------------------------------


def test_only_failed_reads_again_what_timed_out_and_leaves_good_items_untouched(tmp_path, monkeypatch):
    """Three items time out (a file, a zip member, an mbox member); the job records them by stage with
    where their bytes are. With --only-failed, exactly those are read again: they are stored, every
    other item (row and findings) is as it was, and the identity balances."""
    flag = tmp_path / "stall"
    flag.touch()
    _stalling_reader(flag, monkeypatch)
    src = _dump(tmp_path / "dump")
    case = Case.open(tmp_path / "case", create=True)
    limits = Limits(item_timeout=1)
    with jobs.recorded(case, "ingest") as job:
        ingest(case, [src], limits=limits, workers=2, job=job)
        job.finish(accounting=case.db.accounting())
    acc = assert_balanced(case)
    failed = {r["path"]: r for r in case.db.items("state='failed'")}
    assert sorted(p.rsplit("/", 1)[-1] for p in failed) == ["#2", "tarpit.txt", "tarpit.txt"]
    first = jobs.job_detail(case, job.id)
    assert first["state"] == "done" and first["errors"] == {"ingest.timeout": 3}
    assert first["identity"]["failed"] == acc["items"]["failed"] == 3 and first["identity"]["balanced"]
    assert first["done"] == acc["items"]["found"]  # every item found was dealt with by this run
    listed = first["failed"]["ingest.timeout"]
    assert {e["path"] for e in listed} == set(failed)
    assert all(e["origin"] or e["sha256"] for e in listed)  # where to read it again
    before = _items(case)

    flag.unlink()
    with jobs.recorded(case, "ingest", {"only_failed": True}) as again:
        stats = ingest(case, [src], limits=limits, workers=2, job=again, only_failed=True)
        again.finish(accounting=case.db.accounting())
    after = _items(case)
    assert stats.processed == 3 and stats.not_retried == 0
    assert set(after) == set(before)
    for path in before:
        if path in failed:
            row = case.db.item(failed[path]["id"])
            assert row["state"] == "stored" and row["verdict"] != "error", path
            assert "ingest.timeout" not in codes(case, row["id"])
        else:
            assert after[path] == before[path], path  # untouched
    acc = assert_balanced(case)
    assert acc["items"]["failed"] == 0
    second = jobs.job_detail(case, again.id)
    assert second["done"] == 3 and second["errors"] == {} and second["options"] == {"only_failed": True}
    # A third run has nothing left to do.
    stats = ingest(case, [src], limits=limits, workers=2, only_failed=True)
    assert stats.processed == 0
    case.close()


def _stalling_check():
    real = case_verify.verify_message

    def check(raw: bytes, *args, **kw):
        if b"Subject: stall" in raw and Path(os.environ["LEAKLENS_TEST_STALL"]).exists():
            time.sleep(600)
        return real(raw, *args, **kw)

    return check


def test_verify_only_failed_checks_again_the_messages_that_timed_out(tmp_path, monkeypatch):
    """Today a timed-out check was tried again only by --force (every email again); --only-failed
    checks exactly those, and keeps every other result."""
    d = tmp_path / "dump"
    d.mkdir()
    (d / "gmail.eml").write_bytes((GMAIL / "meeting-for-coffee.eml").read_bytes())
    for name in ("stall", "plain"):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "a@horizon.example", "b@horizon.example", name
        m.set_content(f"the {name} message\n")
        (d / f"{name}.eml").write_bytes(bytes(m))
    case = Case.open(tmp_path / "case", create=True)
    ingest(case, [d], workers=1)
    flag = tmp_path / "stall-flag"
    flag.touch()
    monkeypatch.setenv("LEAKLENS_TEST_STALL", str(flag))
    monkeypatch.setattr(case_verify, "verify_message", _stalling_check())
    with jobs.recorded(case, "verify") as job:
        stats = verify_case(case, workers=2, timeout=3.0, job=job)  # generous: only the stall may overrun
    assert stats.failed == 1 and job.errors == {"verify.timeout": 1}
    by_name = {r["name"]: r for r in case.db.items()}
    stall = by_name["stall.eml"]["id"]
    assert codes(case, stall) == ["verify.timeout"]
    kept = {n: case.db.get_row(case_verify.VERIFICATIONS, (r["id"],)) for n, r in by_name.items()}
    assert jobs.job_detail(case, job.id)["failed"]["verify.timeout"][0]["item_id"] == stall

    # A plain run leaves it (nothing changed that a check depends on); --only-failed checks it alone.
    assert verify_case(case, workers=2, timeout=1.0).checked == 0
    flag.unlink()
    with jobs.recorded(case, "verify") as again:
        stats = verify_case(case, workers=2, timeout=30.0, job=again, only_failed=True)
    assert stats.checked == 1 and stats.failed == 0 and again.errors == {}
    assert "verify.timeout" not in codes(case, stall) and case.db.item(stall)["verdict"] == "unverified"
    emails = jobs.job_detail(case, again.id)["identity_emails"]
    assert emails == {"found": 3, "checked": 1, "up_to_date": 2, "failed": 0, "balanced": True}
    assert jobs.job_detail(case, job.id)["identity_emails"]["failed"] == 1
    for name in ("gmail.eml", "plain.eml"):
        assert case.db.get_row(case_verify.VERIFICATIONS, (by_name[name]["id"],)) == kept[name]
    assert case.db.item(by_name["gmail.eml"]["id"])["verdict"] == "verified"
    case.close()


# --- the terminal ---------------------------------------------------------------------------


def test_the_cli_records_a_job_and_prints_the_identity(tmp_path):
    src = _dump(tmp_path / "dump")
    case = tmp_path / "case"
    out = _leaklens("ingest", "--case", str(case), str(src))
    assert out.returncode == 0, out.stderr
    with Case.open(case) as c:
        acc = c.db.accounting()
        (job,) = jobs.list_jobs(c)
    i = acc["items"]
    line = (
        f"{i['found']:,} items found = {i['stored']:,} stored + {i['skipped']:,} skipped + "
        f"{i['failed']:,} failed + {i['pending']:,} pending"
    )
    assert line in " ".join(out.stdout.split())
    assert job["command"] == "ingest" and job["state"] == "done" and job["ended"]
    assert job["done"] == i["found"] and job["accounting"] == acc and job["rate_avg"] > 0
    assert job["options"]["sources"] == [str(src)] and job["id"] in " ".join(out.stdout.split())
    listed = _leaklens("jobs", "--case", str(case))
    assert listed.returncode == 0 and job["id"] in listed.stdout and "done" in listed.stdout
    one = _leaklens("jobs", job["id"], "--case", str(case))
    assert one.returncode == 0 and line in " ".join(one.stdout.split())
    assert _leaklens("jobs", "no-such-job", "--case", str(case)).returncode == 2


# --- loud and resumable ---------------------------------------------------------------------


def _tmpfs_works() -> str | None:
    """Why a small tmpfs cannot be mounted here (None: it can)."""
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d && umount $d"],
        capture_output=True,
    )
    return None if probe.returncode == 0 else f"cannot mount a tmpfs: {probe.stderr.decode().strip()[:200]}"


def test_a_full_disk_is_loud_and_the_same_command_resumes(tmp_path):
    """For real: the case on a 6 MB tmpfs (its own mount namespace), a dump of 16 MB (half of it in a
    zip, whose members the archive reader stores). The ingest stops
    with one line, exit 75, its job failed with the reason; the disk grown, the same command resumes
    and the case is whole (the items as an uninterrupted run gives them)."""
    why = _tmpfs_works()
    if why:
        pytest.skip(why)
    src = tmp_path / "dump"
    src.mkdir()
    for i in range(8):
        (src / f"scan{i:02d}.bin").write_bytes(os.urandom(1 << 20))
    with zipfile.ZipFile(src / "pack.zip", "w") as z:  # its members stored by the archive reader
        for i in range(8):
            z.writestr(f"member{i}.bin", os.urandom(1 << 20))
    for i in range(20):
        (src / f"note{i:02d}.txt").write_text(f"note {i}\n")
    clean = tmp_path / "clean"
    assert _leaklens("ingest", "-q", "--workers", "2", "--case", str(clean), str(src)).returncode == 0
    with Case.open(clean) as c:
        expected = sorted((r["path"], r["state"], r["sha256"]) for r in c.db.items())
    mnt = tmp_path / "small"
    mnt.mkdir()
    report = tmp_path / "report.json"
    cmd = f"{sys.executable} -m leaklens ingest -q --workers 2 --case {mnt}/case {src}"
    script = f"""
set -u
mount -t tmpfs -o size=6m tmpfs {mnt}
{cmd} > {tmp_path}/out1 2> {tmp_path}/err1; echo $? > {tmp_path}/rc1
mount -o remount,size=64m {mnt}
{cmd} > {tmp_path}/out2 2> {tmp_path}/err2; echo $? > {tmp_path}/rc2
{sys.executable} - <<'EOF' > {report}
import json
from leaklens.case import Case
from leaklens import jobs
with Case.open("{mnt}/case") as c:
    print(json.dumps({{"jobs": jobs.list_jobs(c), "accounting": c.db.accounting(),
        "items": sorted((r["path"], r["state"], r["sha256"]) for r in c.db.items())}}))
EOF
"""
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    err1 = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "75", err1
    assert "the disk is full" in err1 and "Traceback" not in err1
    assert len([ln for ln in err1.splitlines() if ln.strip()]) == 1, err1  # one line
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    got = json.loads(report.read_text())
    resumed, failed = got["jobs"]  # newest first
    assert failed["state"] == "failed" and "disk is full" in failed["reason"]
    assert resumed["state"] == "done" and resumed["identity"]["balanced"] and resumed["identity"]["pending"] == 0
    assert [tuple(i) for i in got["items"]] == expected


def test_a_database_removed_under_a_run_is_loud_and_the_run_resumes_when_it_is_back(tmp_path):
    """SQLite would go on writing to a file nobody reads again; the job notices the file is gone,
    stops with one line (exit 75); with the file back, the same command marks that job interrupted
    and finishes the ingest."""
    src = _mbox(tmp_path / "box.mbox", 400)
    case = tmp_path / "case"
    db = case / "case.db"
    flag = tmp_path / "paused"
    proc = _paused_ingest(case, src, flag)
    away = tmp_path / "moved.db"
    db.rename(away)  # the run goes on writing to the file it has open, now under another name
    time.sleep(jobs.WRITE_EVERY + 0.5)  # past the job's next look at its database
    flag.unlink()
    _, err = proc.communicate(timeout=120)
    away.rename(db)
    assert proc.returncode == 75, err
    assert "was removed or replaced" in err and "Traceback" not in err
    again = _leaklens("ingest", "-q", "--case", str(case), str(src))
    assert again.returncode == 0, again.stderr
    with Case.open(case) as c:
        assert_balanced(c)
        assert c.db.count_items() == 401
        resumed, lost = jobs.list_jobs(c)
    assert lost["state"] == "interrupted" and resumed["state"] == "done"


# --- the workbench --------------------------------------------------------------------------


def test_the_jobs_pages_show_the_figures_and_link_the_failed_items(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient
    from jobs_fixtures import case_with_timeouts

    from leaklens.web.app import create_app

    case, job = case_with_timeouts(tmp_path, monkeypatch)
    failed = {r["id"]: r["path"] for r in case.db.items("state='failed'")}
    case.close()
    client = TestClient(create_app(tmp_path / "case"))
    listing = client.get("/jobs")
    assert listing.status_code == 200 and f'href="/jobs/{job.id}"' in listing.text
    assert '<a href="/jobs"' in listing.text  # in the navigation
    page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    assert "ingest.timeout" in page.text and "<svg" in page.text and "balanced" in page.text
    for item_id in failed:
        assert f'href="/items/{item_id}"' in page.text
    api = client.get(f"/api/jobs/{job.id}").json()
    assert {e["item_id"] for e in api["failed"]["ingest.timeout"]} == set(failed)
    assert api["errors"] == {"ingest.timeout": 3} and api["identity"]["failed"] == 3
    assert client.get("/jobs/no-such-job").status_code == 404
    assert [j["id"] for j in client.get("/api/jobs").json()] == [job.id]


def _mbox(path: Path, n: int) -> Path:
    box = mailbox.mbox(path)
    for i in range(n):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = f"s{i % 7}@horizon.example", "t@horizon.example", f"note {i}"
        m.set_content(f"message number {i}\n" * 20)
        box.add(m)
    box.close()
    return path


def _paused_ingest(case: Path, src: Path, flag: Path, *extra: str, at: str = "commit:2") -> subprocess.Popen:
    """An ingest held at its `at` commit until the test removes `flag` (crashpoints: LEAKLENS_PAUSE_AT)."""
    # PYTHONFAULTHANDLER: a run that hangs is stopped with SIGABRT, which prints every thread's stack.
    env = {**os.environ, "LEAKLENS_PAUSE_AT": at, "LEAKLENS_PAUSE_FILE": str(flag), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "leaklens", "ingest", "-q", "--workers", "1", "--case", str(case), *extra, str(src)],
        # Ctrl-C as a terminal delivers it: a suite started in the background (`nohup make test &`) ignores
        # SIGINT, and an ignored signal stays ignored in every child, so the ingest would never see it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.exists(), f"the ingest never reached {at}: {proc.communicate()}"
    return proc


def test_a_lost_postgresql_connection_is_loud_and_the_run_resumes(tmp_path, pg_url):
    """The ingest's connections are terminated by the server (pg_terminate_backend) while it runs: one
    line, exit 75; the same command then marks that job interrupted and finishes the ingest."""
    import psycopg

    src = _mbox(tmp_path / "box.mbox", 800)
    case = tmp_path / "case"
    flag = tmp_path / "paused"
    proc = _paused_ingest(case, src, flag, "--db", pg_url)
    with psycopg.connect(pg_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert killed  # the coordinator's connection, at least
    flag.unlink()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 75, err
    assert "lost the connection to the case database" in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err
    again = _leaklens("ingest", "-q", "--case", str(case), "--db", pg_url, str(src))
    assert again.returncode == 0, again.stderr
    with Case.open(case, db=pg_url) as c:
        assert_balanced(c)
        assert c.db.count_items() == 801
        resumed, lost = jobs.list_jobs(c)
    assert lost["state"] == "interrupted" and resumed["state"] == "done"


def test_ctrl_c_marks_the_job_interrupted_and_the_same_command_resumes(tmp_path):
    src = _mbox(tmp_path / "box.mbox", 400)
    case = tmp_path / "case"
    flag = tmp_path / "paused"
    proc = _paused_ingest(case, src, flag)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # a hang: its signal masks and its threads' stacks say where
        status = Path(f"/proc/{proc.pid}/status").read_text()
        masks = [line for line in status.splitlines() if line.startswith(("SigPnd", "ShdPnd", "SigBlk", "SigIgn"))]
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"the interrupted ingest did not end within 120 s; {masks}; its stacks:\n{err[-6000:]}")
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    with Case.open(case) as c:
        (job,) = jobs.list_jobs(c)
    assert job["state"] == "interrupted" and "Ctrl-C" in job["reason"] and job["ended"]
    assert _leaklens("ingest", "-q", "--case", str(case), str(src)).returncode == 0
    with Case.open(case) as c:
        assert_balanced(c)
        assert c.db.count_items() == 401
        assert [j["state"] for j in jobs.list_jobs(c)] == ["done", "interrupted"]


def test_store_failures_are_read_as_one_line(tmp_path):
    """What a driver raises, said in words: real errors from sqlite3 (a locked database, a full one)
    and from psycopg, and anything else left alone."""
    import errno
    import sqlite3

    from leaklens.store.failures import DISK_FULL, explain

    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t(x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0.05)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (1)")
    what, line = explain(locked.value)
    assert what == "database" and "locked" in line and "run the same command again" in line
    holder.rollback()
    full = sqlite3.connect(tmp_path / "full.db", isolation_level=None)
    full.execute("PRAGMA max_page_count=2")  # a database that cannot grow: SQLITE_FULL, as on a full disk
    full.execute("CREATE TABLE t(x)")
    with pytest.raises(sqlite3.OperationalError) as no_room:
        full.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    assert explain(no_room.value) == ("disk", DISK_FULL)
    assert explain(OSError(errno.ENOSPC, "No space left on device")) == ("disk", DISK_FULL)
    assert explain(ValueError("a bug")) is None and explain(sqlite3.IntegrityError("UNIQUE failed")) is None
    psycopg = pytest.importorskip("psycopg")
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgresql://nobody@127.0.0.1:1/none", connect_timeout=2)
    what, line = explain(refused.value)
    assert what == "database" and line.startswith("lost the connection to the case database")


def _limited(nbytes: int):
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return limit


def test_a_file_size_limit_is_loud_too(tmp_path):
    """Where no tmpfs can be mounted, a write refused by RLIMIT_FSIZE (ulimit -f: EFBIG, as for a
    full disk) stops the run the same way: one line, exit 75, the job failed; without the limit the
    same command finishes it."""
    src = tmp_path / "dump"
    src.mkdir()
    (src / "scan.bin").write_bytes(os.urandom(3 << 20))
    for i in range(10):
        (src / f"note{i}.txt").write_text(f"note {i}\n")
    case = tmp_path / "case"
    cmd = [sys.executable, "-m", "leaklens", "ingest", "-q", "--workers", "1", "--case", str(case), str(src)]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=_limited(2 << 20))
    assert first.returncode == 75, first.stderr
    assert "disk is full" in first.stderr and "Traceback" not in first.stderr
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    with Case.open(case) as c:
        acc = assert_balanced(c)
        assert acc["items"]["stored"] == 11
        resumed, failed = jobs.list_jobs(c)
    assert failed["state"] == "failed" and "disk is full" in failed["reason"]
    assert resumed["state"] == "done"
