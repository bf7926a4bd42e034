"""Cluster benchmark (not a test): the local pool against a Dask LocalCluster on the same cores.

    python bench/cluster.py [--n 30000] [--workers 2] [--repeat 3] [--case-dir DIR]

Generates the mbox of bench/ingest.py (N emails, ~20% with an attachment), then, R rounds, the
order alternating (the machine's load drifts), times `leaklens ingest` then `leaklens verify`
into a fresh case, (a) with `--workers W` (this machine's process pool) and (b) with
`--cluster local:W` (a dask.distributed LocalCluster of W worker processes, started by the
command: its start is part of its time). Prints messages/s of each step and of both, the ratio
cluster/local round by round, and the range. Target (issue 12): cluster >= 0.9x local, since on
the same cores what is measured is the cluster's overhead (scaling out is on paper, docs/scale.md).

    python bench/cluster.py --profile [--n 3000] [--workers 2]

instead runs each command once per setup with its phases timed (the cluster's start, the walk and
its first result, the texts steps, the index, each verify step, the cluster's close) and the CPU of
every thread of the coordinator (its main thread, the thread of Dask's event loop, which runs the
local cluster's scheduler, its nannies and the client, ...) and of every process it starts (Dask
workers, their forkservers and job processes, local pool workers) sampled, per phase: where a
cluster run spends its wall and CPU that a local run does not.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from checkout import checkout, describe, env_with_src
from ingest import generate


def run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.perf_counter() - t


def ingest_and_verify(mbox: Path, case: Path, where: list[str], env: dict | None = None) -> tuple[float, float]:
    shutil.rmtree(case, ignore_errors=True)
    base = [sys.executable, "-m", "leaklens"]
    ingest = run([*base, "ingest", "--quiet", "--case", str(case), str(mbox), *where], env)
    verify = run([*base, "verify", "--quiet", "--case", str(case), *where], env)
    shutil.rmtree(case, ignore_errors=True)
    return ingest, verify


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # --profile's own runs: `--child OUT -- leaklens's arguments`
        _child_main(sys.argv[4:], Path(sys.argv[2]))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--case-dir", type=Path, default=None, help="folder for the cases (default: a temporary one)")
    ap.add_argument("--profile", action="store_true", help="one run of each, phases and CPU by thread and process")
    ap.add_argument("--compare-with", metavar="REV", help="also time the cluster runs of a checkout of REV")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leaklens-bench-cluster-", dir=args.case_dir))
    try:
        mbox = tmp / "bench.mbox"
        size = generate(mbox, args.n)
        print(f"mbox: {args.n:,} messages, {size / 1e6:,.1f} MB; {args.workers} workers; {args.repeat} rounds")
        setups = {"local": ["--workers", str(args.workers)], "cluster": ["--cluster", f"local:{args.workers}"]}
        envs: dict[str, dict[str, str] | None] = {name: None for name in setups}
        with contextlib.ExitStack() as stack:
            if args.compare_with:
                tree = stack.enter_context(checkout(args.compare_with))
                other = f"cluster@{describe(args.compare_with).removesuffix('+changes')}"  # the checkout: clean
                setups[other], envs[other] = setups["cluster"], env_with_src(tree / "src")
            print(f"this tree: {describe()}")
            if args.profile:
                profile(mbox, tmp, args.n, setups, envs)
                return
            times: dict[str, list[tuple[float, float]]] = {k: [] for k in setups}
            for r in range(args.repeat):
                order = list(setups) if r % 2 == 0 else list(setups)[::-1]
                for name in order:
                    ing, ver = ingest_and_verify(mbox, tmp / "case", setups[name], envs[name])
                    times[name].append((ing, ver))
                    print(
                        f"round {r + 1} {name:16} ingest {args.n / ing:7,.0f} msg/s ({ing:5.1f} s)  "
                        f"verify {args.n / ver:7,.0f} msg/s ({ver:5.1f} s)  both {args.n / (ing + ver):7,.0f} msg/s",
                        flush=True,
                    )
        report(times, args.n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def span(values: list[float], fmt: str = ".2f") -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{mid:{fmt}} ({lo:{fmt}}-{hi:{fmt}})" if len(values) > 1 else f"{mid:{fmt}}"


def report(times: dict[str, list[tuple[float, float]]], n: int) -> None:
    print("summary, median (range):")
    for name, runs in times.items():
        print(
            f"  {name:16} ingest {span([n / i for i, _ in runs], ',.0f')} msg/s  "
            f"verify {span([n / v for _, v in runs], ',.0f')} msg/s  "
            f"both {span([n / (i + v) for i, v in runs], ',.0f')} msg/s"
        )
    local = times["local"]
    for name in (k for k in times if k != "local"):
        for label, pick in (("ingest", lambda t: t[0]), ("verify", lambda t: t[1]), ("both", lambda t: t[0] + t[1])):
            ratios = [pick(a) / pick(b) for a, b in zip(local, times[name], strict=True)]
            print(f"  {name} / local, {label}, round by round: {span(ratios)}  (target >= 0.90)")


# --- --profile: where a run's wall and CPU go ------------------------------------------------------

SAMPLE_SECONDS = 0.25


def _role(proc, root: int, forkservers: set[int]) -> str:
    """What a process of the command's tree is, from its command line and its parent."""
    try:
        cmd = " ".join(proc.cmdline())
        ppid = proc.ppid()
    except Exception:  # noqa: BLE001 - gone meanwhile
        return "gone"
    if ppid in forkservers:  # forked by one: its command line is the forkserver's
        return "job process"
    if "resource_tracker" in cmd:
        return "resource tracker"
    if "forkserver" in cmd:
        forkservers.add(proc.pid)
        return "forkserver"
    if "spawn_main" in cmd:
        return "dask worker"
    if "leaklens.clusterhost" in cmd:
        return "cluster host"
    return "pool worker" if ppid == root else f"other ({proc.name()})"


def _thread_group(name: str) -> str:
    """A thread's name without its number: one line per kind of thread."""
    return re.sub(r"[-_ ]?\d+$", "", name).strip() or name


def _threads_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, summed by kind of thread."""
    out: dict[str, float] = {}
    for th in threading.enumerate():
        try:
            cpu = time.clock_gettime(time.pthread_getcpuclockid(th.ident))
        except (OSError, TypeError):
            continue
        key = _thread_group(th.name)
        out[key] = out.get(key, 0.0) + cpu
    return out


def _child_main(argv: list[str], out: Path) -> None:
    """In this process: `leaklens ARGV`, its phases timed and its threads' and processes' CPU sampled."""
    import psutil

    from leaklens import cli
    from leaklens import steps as steps_mod
    from leaklens.ingest import walker

    t0 = time.monotonic()
    phases: list[tuple[str, float, float, float]] = []  # name, start, end, the main thread's CPU
    events: list[tuple[str, float]] = []
    samples: list[tuple[float, dict[str, float]]] = []
    inside: dict[str, dict[str, float]] = {}  # where the cluster's processes' threads spent their CPU
    done = threading.Event()

    def timed(owner: object, attr: str, name: str) -> None:
        orig = getattr(owner, attr)

        def wrapper(*a, **k):
            s, c = time.monotonic(), time.thread_time()
            try:
                return orig(*a, **k)
            finally:
                phases.append((name, s - t0, time.monotonic() - t0, time.thread_time() - c))

        setattr(owner, attr, wrapper)

    def first_outcome(cls: type) -> None:
        orig_init, orig_collect = cls.__init__, cls.collect

        def init(self, *a, **k):
            events.append((f"{cls.__name__} made", time.monotonic() - t0))
            orig_init(self, *a, **k)
            events.append((f"{cls.__name__} ready", time.monotonic() - t0))

        def collect(self, *a, **k):
            outs = orig_collect(self, *a, **k)
            if outs and not getattr(self, "_bench_first", False):
                self._bench_first = True
                events.append((f"{cls.__name__} first outcome", time.monotonic() - t0))
            return outs

        cls.__init__, cls.collect = init, collect

    me = psutil.Process()
    cpu_of: dict[int, tuple[str, float]] = {}
    forkservers: set[int] = set()

    def sample() -> None:
        procs = me.children(recursive=True)
        for p in procs:  # the forkservers first: their children are job processes
            if p.pid not in cpu_of:
                with contextlib.suppress(psutil.Error):
                    if "forkserver" in " ".join(p.cmdline()):
                        forkservers.add(p.pid)
        for p in procs:
            try:
                t = p.cpu_times()
                role = cpu_of[p.pid][0] if p.pid in cpu_of else _role(p, me.pid, forkservers)
                cpu_of[p.pid] = (role, t.user + t.system)
            except psutil.Error:
                continue
        by: dict[str, float] = {f"thread: {k}": v for k, v in _threads_cpu().items() if k != "bench-sampler"}
        for role, cpu in cpu_of.values():
            by[role] = by.get(role, 0.0) + cpu
        samples.append((time.monotonic() - t0, by))

    def sampler() -> None:
        while not done.wait(SAMPLE_SECONDS):
            sample()

    timed(walker, "ingest", "ingest (planning, walk, chunk hashes)")
    timed(walker, "_run", "walk")
    timed(cli, "_read_texts", "texts steps")
    timed(cli, "_update_index", "index update")
    from leaklens.executor import LocalExecutor

    first_outcome(LocalExecutor)
    if "--cluster" in argv:
        from leaklens import cluster

        timed(cluster, "open_cluster", "cluster start")
        timed(cluster.Cluster, "_connect", "cluster connect (waits for it)")
        first_outcome(cluster.DaskExecutor)
        close = cluster.Cluster.close

        def close_measured(self):
            if self._client is not None:
                try:
                    inside.update({f"worker {a}": v for a, v in self._client.run(_threads_cpu).items()})
                    inside["scheduler's process"] = self._client.run_on_scheduler(_threads_cpu)
                except Exception as exc:  # noqa: BLE001 - a measurement, not the run
                    inside["error"] = {repr(exc): 0.0}
            s = time.monotonic()
            close(self)
            phases.append(("cluster close", s - t0, time.monotonic() - t0, 0.0))

        cluster.Cluster.close = close_measured
    steps_mod.REGISTRY.load()
    for name, st in list(steps_mod.REGISTRY._steps.items()):
        holder = type("Holder", (), {"run": staticmethod(st.run)})
        timed(holder, "run", f"step {name}")
        steps_mod.REGISTRY._steps[name] = dataclasses.replace(st, run=holder.run)

    threading.Thread(target=sampler, name="bench-sampler", daemon=True).start()
    sys.argv = ["leaklens", *argv]
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        done.set()
        sample()
        phases.append(("whole command", 0.0, time.monotonic() - t0, time.thread_time()))
        inside["coordinator"] = _threads_cpu()
        out.write_text(json.dumps({"phases": phases, "events": events, "samples": samples, "inside": inside}))
    sys.exit(code)


def _at(samples: list, t: float) -> dict[str, float]:
    """The CPU totals of the last sample at or before `t`."""
    best: dict[str, float] = {}
    for when, by in samples:
        if when > t:
            break
        best = by
    return best


def profile(mbox: Path, tmp: Path, n: int, setups: dict[str, list[str]], envs: dict[str, dict | None]) -> None:
    """Each setup's ingest then verify once, each in a `--child` of this script: its phases and CPU."""
    for name, where in setups.items():
        case = tmp / "case"
        shutil.rmtree(case, ignore_errors=True)
        for verb in ("ingest", "verify"):
            argv = [verb, "--quiet", "--case", str(case), *([str(mbox)] if verb == "ingest" else []), *where]
            out = tmp / f"{name}-{verb}.json"
            cmd = [sys.executable, __file__, "--child", str(out), "--", *argv]
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=envs[name])
            if proc.returncode:
                raise SystemExit(f"{name} {verb} failed ({proc.returncode}): {proc.stderr[-2000:]}")
            data = json.loads(out.read_text())
            print(f"\n== {name} {verb} ({n:,} emails)")
            for label, t in data["events"]:
                print(f"  at {t:6.1f} s  {label}")
            roles = sorted({k for _, by in data["samples"] for k in by})
            print(f"  {'phase':42} {'from':>6} {'wall':>6} {'main':>6}  CPU s by thread / process during it")
            for label, start, end, main_cpu in sorted(data["phases"], key=lambda p: (p[1], -p[2])):
                a, b = _at(data["samples"], start), _at(data["samples"], end)
                used = {r: b.get(r, 0.0) - a.get(r, 0.0) for r in roles}
                cpu = ", ".join(f"{r} {v:.1f}" for r, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.05)
                print(f"  {label:42} {start:6.1f} {end - start:6.1f} {main_cpu:6.1f}  {cpu}")
            for where_, by in data["inside"].items():
                threads = sorted(by.items(), key=lambda kv: -kv[1])
                print(f"  threads of {where_}: " + ", ".join(f"{k} {v:.1f}" for k, v in threads))
        shutil.rmtree(case, ignore_errors=True)


if __name__ == "__main__":
    main()
