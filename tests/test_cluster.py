"""The Dask executor on a real LocalCluster of two worker processes: the executor's promises on a
cluster (deadlines, crashes, a killed worker), and ingest + verify on it giving the local run's report.

One cluster for the module: starting one costs seconds.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from leaklens.cluster import TASK_JOBS, Cluster, ClusterError, DaskExecutor, open_cluster, parse_spec, quiet_logs
from leaklens.executor import CRASHED, DONE, RAISED, TIMEOUT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stall_flag(tmp_path_factory):
    """While this file exists, a text item holding TARPIT stalls its reader (tests/cluster_stall.py)."""
    flag = tmp_path_factory.mktemp("stall") / "flag"
    os.environ["LEAKLENS_TEST_CLUSTER_STALL"] = str(flag)  # before the workers start: they inherit it
    yield flag
    os.environ.pop("LEAKLENS_TEST_CLUSTER_STALL", None)


@pytest.fixture(scope="module")
def cluster(stall_flag):
    quiet_logs()
    with Cluster("local:2", preload=("cluster_stall",)) as c:
        c.client  # noqa: B018 - started here, once
        yield c


# --- jobs (module level: the workers' job processes import them by name) -------------------------


def _square(n: int) -> int:
    return n * n


def _slow_square(n: int) -> int:
    time.sleep(0.01)
    return n * n


def _sleep_or_square(n: int) -> int:
    if n < 0:
        time.sleep(60)
    return n * n


def _raise_on(n: int) -> int:
    if n == 3:
        raise ValueError("three is not welcome")
    return n


def _crash_on(n: int) -> int:
    if n == 13:
        import ctypes
        import faulthandler

        faulthandler.disable()
        ctypes.string_at(0)  # a real SIGSEGV, as a crashing C parser gives
    return n * n


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def _kill_the_worker_on(n: int) -> int:
    """Job 2 kills the Dask worker it runs under (the parent of its job process's forkserver), as an
    item that exhausts the machine's memory would: every worker it runs on dies."""
    if n == 2:
        os.kill(_ppid(os.getppid()), signal.SIGKILL)
        time.sleep(30)
    return n * n


# --- the executor ------------------------------------------------------------------------------------


def test_the_cluster_option_is_parsed_with_a_clear_error():
    assert parse_spec("local:2") == ("local", 2)
    assert parse_spec("tcp://10.0.0.5:8786") == ("remote", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "10.0.0.5:8786", "http://x:8786", ""):
        with pytest.raises(ClusterError, match="--cluster"):
            parse_spec(bad)


def test_an_unreachable_scheduler_is_one_clear_error():
    t = time.monotonic()
    with pytest.raises(ClusterError, match=r"cannot reach the dask scheduler at tcp://127\.0\.0\.1:9"):
        open_cluster("tcp://127.0.0.1:9", connect_seconds=2)
    assert time.monotonic() - t < 30


def test_the_cli_says_in_one_line_that_the_scheduler_is_unreachable(tmp_path, monkeypatch, capsys):
    import sys

    from leaklens import cli, cluster

    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1.0)
    (tmp_path / "note.txt").write_text("a note\n")
    case = tmp_path / "case"
    monkeypatch.setattr(sys, "argv", ["leaklens", "ingest", str(tmp_path / "note.txt"), "--case", str(case),
                                      "--cluster", "tcp://127.0.0.1:9", "-q"])  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:9" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not case.exists()  # said before anything was made


def test_jobs_are_bundled_into_large_tasks_and_come_back_in_order(cluster):
    with DaskExecutor(cluster) as ex:
        assert ex.workers == 2
        outs = list(ex.map(_square, range(5000), ordered=True, batch=32))
        assert [o.job for o in outs] == list(range(5000))
        assert all(o.status == DONE and o.result == o.job * o.job for o in outs)
        # A few small tasks to start every worker at once, then tasks of TASK_JOBS: far fewer
        # tasks than the 157 batches of 32 the caller submitted.
        assert ex.tasks_sent <= 4 + 5000 // TASK_JOBS + 2


def test_setup_runs_in_each_job_process_before_its_jobs(cluster, tmp_path):
    with DaskExecutor(cluster, setup=_mark, setup_args=(str(tmp_path),)) as ex:
        outs = list(ex.map(_marked, range(40), batch=4))
    assert all(o.ok for o in outs)
    pids = {o.result for o in outs}
    assert pids <= {int(p.name) for p in tmp_path.iterdir()}  # every job ran where setup had run


def test_the_dask_workers_hand_on_the_jobs_module_without_importing_it(cluster, tmp_path):
    """The setup, its arguments, the job function and the results cross a Dask worker pickled: only
    the job processes read them (a worker that imported a step's modules would pay for them twice)."""
    with DaskExecutor(cluster, setup=_mark, setup_args=(str(tmp_path),)) as ex:
        outs = list(ex.map(_marked, range(8), batch=4))
    assert all(o.ok for o in outs) and {o.result for o in outs} <= {int(p.name) for p in tmp_path.iterdir()}
    # eval: a function of this module would be imported by the worker to run it.
    imported = cluster.client.run(eval, "'test_cluster' in __import__('sys').modules")
    assert imported and not any(imported.values()), imported


_MARK: dict[str, str] = {}


def _mark(folder: str) -> None:
    _MARK["folder"] = folder
    open(os.path.join(folder, str(os.getpid())), "w").close()


def _marked(n: int) -> int:
    assert "folder" in _MARK
    return os.getpid()


def test_a_job_past_its_deadline_times_out_on_the_cluster_and_the_rest_go_on(cluster):
    with DaskExecutor(cluster, timeout=1.5) as ex:
        t = time.monotonic()
        outs = {o.job: o for o in ex.map(_sleep_or_square, [1, 2, -1, 3, 4, 5], batch=6)}
        assert time.monotonic() - t < 30
    assert outs[-1].status == TIMEOUT and isinstance(outs[-1].error, TimeoutError)
    assert all(outs[n].status == DONE and outs[n].result == n * n for n in (1, 2, 3, 4, 5))


def test_a_segfault_costs_its_job_only_and_an_exception_is_its_outcome(cluster):
    with DaskExecutor(cluster, timeout=30) as ex:
        crashed = {o.job: o for o in ex.map(_crash_on, range(20), batch=20)}
        raised = {o.job: o for o in ex.map(_raise_on, range(6), batch=6)}
    assert crashed[13].status == CRASHED and "SIGSEGV" in str(crashed[13].error)
    assert all(crashed[n].status == DONE for n in range(20) if n != 13)
    assert raised[3].status == RAISED and isinstance(raised[3].error, ValueError)
    assert "three is not welcome" in raised[3].trace
    assert all(raised[n].status == DONE for n in range(6) if n != 3)


def test_a_worker_killed_mid_task_loses_nothing(cluster):
    """kill -9 of a worker process while its task runs: the task runs again elsewhere, every job ends done."""
    before = cluster.worker_pids()
    victim = next(iter(before.values()))
    with DaskExecutor(cluster, timeout=30) as ex:
        outs = {}
        for n, o in enumerate(ex.map(_slow_square, range(600), batch=50)):
            outs[o.job] = o
            if n == 100:
                os.kill(victim, signal.SIGKILL)
    assert sorted(outs) == list(range(600))
    assert all(o.status == DONE and o.result == o.job * o.job for o in outs.values())
    _wait_for_workers(cluster, 2)
    assert victim not in cluster.worker_pids().values()  # it was killed (and its nanny started another)


def test_the_job_that_kills_every_worker_it_runs_on_crashes_alone(cluster):
    """A healthy job never ends as KilledWorker: the culprit's task is split until it is alone."""
    with DaskExecutor(cluster, timeout=60) as ex:
        outs = {o.job: o for o in ex.map(_kill_the_worker_on, range(4), batch=4)}
        assert ex.splits >= 1
    assert outs[2].status == CRASHED and "KilledWorker" in str(outs[2].error)
    assert all(outs[n].status == DONE and outs[n].result == n * n for n in range(4) if n != 2)
    _wait_for_workers(cluster, 2)


def _wait_for_workers(cluster: Cluster, n: int) -> None:
    deadline = time.monotonic() + 30
    while len(cluster.client.nthreads()) < n and time.monotonic() < deadline:
        time.sleep(0.1)


# --- ingest and verify on the cluster ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dump(tmp_path_factory):
    """The demo leak (signed mailboxes in a zip, documents in a 7z) and the report of a local run over it."""
    from leaklens.demo.generate import generate_demo

    tmp = tmp_path_factory.mktemp("demo")
    manifest = generate_demo(tmp / "dump")
    local = _ingest_and_verify(tmp / "local", tmp / "dump", manifest)
    return tmp, manifest, local


def _ingest_and_verify(case_dir, dump, manifest, cluster=None, progress=None, db=None) -> dict:
    import io
    import json
    from datetime import datetime

    from helpers import assert_balanced

    from leaklens.case import Case
    from leaklens.ingest.walker import ingest
    from leaklens.report.writers import write_json
    from leaklens.verify.case_keys import import_into_case
    from leaklens.verify.case_verify import verify_case

    with Case.open(case_dir, create=True, db=db) as case:
        case.set_published(datetime.fromisoformat(manifest.published))
        sources = sorted(p for p in dump.iterdir() if p.name not in ("MANIFEST.json", manifest.keys_file))
        ingest(case, sources, workers=2, cluster=cluster, progress=progress)
        assert_balanced(case)
        import_into_case(case, dump / manifest.keys_file)
        verify_case(case, workers=2, cluster=cluster)
        out = io.StringIO()
        write_json(case, out)
    return json.loads(out.getvalue())


def _comparable(report: dict) -> dict:
    """The report without what differs between any two runs: the case's folder and times, and the
    order in which items were written (item order, group numbers). What a finding names is compared
    whole: where several items qualify (the verified copy an identical item names), the store
    chooses by path, not by write order (tests/test_write_order.py)."""
    import json

    items = []
    for item in sorted(report["items"], key=lambda i: i["id"]):
        findings = sorted(json.dumps(f, sort_keys=True) for f in item["findings"])
        items.append({**item, "findings": findings})
    groups = sorted(
        json.dumps({**g, "group": None, "members": sorted(g["members"])}, sort_keys=True)
        for g in report.get("duplicate_groups", [])
    )
    sources = [s["root"] for s in report["case"]["sources"]]
    rest = {k: v for k, v in report.items() if k not in ("case", "items", "duplicate_groups")}
    return {"sources": sources, "items": items, "groups": groups, **rest}


def assert_same_report(on_cluster: dict, local: dict) -> None:
    from helpers import differences

    found = differences(_comparable(on_cluster), _comparable(local))
    assert not found, "the cluster's report (first) differs from the local run's:\n" + "\n".join(found)


def test_ingest_and_verify_on_the_cluster_give_the_local_report(cluster, demo_dump):
    tmp, manifest, local = demo_dump
    on_cluster = _ingest_and_verify(tmp / "cluster", tmp / "dump", manifest, cluster)
    assert local["summary"]["by_verdict"]["verified"] > 0  # the dump proves something: the comparison means something
    assert_same_report(on_cluster, local)


def test_a_worker_killed_mid_ingest_loses_nothing(cluster, demo_dump):
    """kill -9 of a worker process while the mailboxes' members are out: the same report as the local run."""
    from leaklens.ingest.walker import Progress

    tmp, manifest, local = demo_dump
    victim = next(iter(cluster.worker_pids().values()))
    killed = []

    def kill_once(p: Progress) -> None:
        if not killed and p.found > p.done + 50:  # the members of a container are out to the workers
            os.kill(victim, signal.SIGKILL)
            killed.append(p.done)

    on_cluster = _ingest_and_verify(tmp / "killed", tmp / "dump", manifest, cluster, Progress(callback=kill_once))
    assert killed
    _wait_for_workers(cluster, 2)
    assert victim not in cluster.worker_pids().values()
    assert_same_report(on_cluster, local)


def test_an_item_past_the_time_limit_on_the_cluster_fails_with_ingest_timeout_and_the_dump_goes_on(
    cluster, stall_flag, tmp_path
):
    from helpers import assert_balanced, codes, rows

    from leaklens.case import Case
    from leaklens.ingest.limits import Limits
    from leaklens.ingest.walker import ingest

    src = tmp_path / "in"
    src.mkdir()
    for i in range(12):
        (src / f"note{i:02d}.txt").write_text(f"an innocent note number {i} about a heron\n")
    (src / "tarpit.txt").write_text("TARPIT for the parser\n")
    stall_flag.touch()
    try:
        t = time.monotonic()
        case = Case.open(tmp_path / "case", create=True)
        ingest(case, [src], limits=Limits(item_timeout=1), cluster=cluster)
        assert time.monotonic() - t < 60
    finally:
        stall_flag.unlink()
    assert_balanced(case)
    (tarpit,) = rows(case, "name='tarpit.txt'")
    assert tarpit["state"] == "failed" and tarpit["verdict"] == "error"
    assert tarpit["reason"] == "reading took longer than --item-timeout (1 s)"
    assert "ingest.timeout" in codes(case, tarpit["id"])
    notes = rows(case, "name LIKE 'note%'")
    assert len(notes) == 12 and all(r["state"] == "stored" and r["text_status"] == "extracted" for r in notes)


def test_a_postgresql_case_on_the_cluster_gives_the_local_report(cluster, demo_dump, pg_url):
    """The workers read the blobs of a case whose database is PostgreSQL (they get the folder, which
    names the database; never a connection) and the coordinator writes it: the local SQLite run's report."""
    tmp, manifest, local = demo_dump
    on_cluster = _ingest_and_verify(tmp / "pg", tmp / "dump", manifest, cluster, db=pg_url)
    assert (tmp / "pg" / "database").exists() and not (tmp / "pg" / "case.db").exists()
    assert_same_report(on_cluster, local)


def test_the_entities_step_reads_the_texts_on_the_cluster(cluster, tmp_path):
    """`ingest --cluster`: the texts' entities and languages are read by the cluster's workers (a
    task of the step runs there), and what they find is what this machine's workers find."""
    from distributed import get_task_stream
    from helpers import build_case

    from leaklens.entities.step import POOL_MIN, scan_texts
    from leaklens.entities.tables import ENTITIES, TEXT_SCANS

    dump = tmp_path / "dump"
    dump.mkdir()
    for n in range(POOL_MIN + 20):  # enough texts for the step to hand them out
        (dump / f"note{n:03d}.txt").write_text(
            f"Note {n}: the transfer to FR76 3000 6000 0112 3456 7890 189 was approved on 2017-05-0{n % 9 + 1}. "
            "Virement approuvé par le trésorier de la campagne avant le second tour.\n"
        )
    case = build_case(tmp_path, dump)

    def found() -> tuple[list, list]:
        mentions = sorted((r["item_id"], r["kind"], r["value"], r["char_start"]) for r in case.db.table_rows(ENTITIES))
        langs = sorted((r["item_id"], r["lang"]) for r in case.db.table_rows(TEXT_SCANS))
        return mentions, langs

    case.db.begin()
    assert scan_texts(case.db, workers=2) == POOL_MIN + 20  # this machine's workers
    case.db.commit()
    local = found()
    assert len(local[1]) == POOL_MIN + 20 and any(m[1] == "iban" for m in local[0])
    with get_task_stream(client=cluster.client) as stream:
        case.db.begin()
        assert scan_texts(case.db, force=True, workers=2, cluster=cluster) == POOL_MIN + 20
        case.db.commit()
    assert stream.data, "no task of the step ran on the cluster"
    assert found() == local
    case.close()
