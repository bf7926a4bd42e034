"""Peak resident memory of a command and every process it starts (not a test).

    python bench/memwatch.py [--interval 0.2] [--timeout S] -- COMMAND...

Runs COMMAND and polls /proc for its process tree (the command, its pool workers, their
children), keeping each process's `VmHWM` (the kernel's own peak resident set, so a peak
between two polls is not missed while the process lives). Prints, when the command ends, the
largest process's peak, the peak of the sum of the tree's current RSS, and one line per
process name. A command that runs past --timeout is reported as a hang and killed.

`watch(cmd)` is the same as a function, for the other benchmarks (bench/scale.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Peaks:
    """What `watch` saw: peak RSS (KB) per pid, with each process's command line."""

    returncode: int | None = None
    seconds: float = 0.0
    hung: bool = False
    hwm_kb: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    tree_kb: int = 0  # the largest sum of the tree's current RSS at one poll
    root: int = 0  # the command's own process (for leaklens: the coordinator)

    @property
    def largest_kb(self) -> int:
        return max(self.hwm_kb.values(), default=0)

    @property
    def largest_pid(self) -> int:
        return max(self.hwm_kb, key=self.hwm_kb.__getitem__) if self.hwm_kb else 0

    def summary(self) -> str:
        lines = [
            f"peak RSS of the largest process: {self.largest_kb / 1024:,.0f} MB"
            f" ({'the command' if self.largest_pid == self.root else 'a child'});"
            f" of the whole tree at once: {self.tree_kb / 1024:,.0f} MB; {len(self.hwm_kb)} processes;"
            f" {self.seconds:,.1f} s" + ("; HUNG (killed at the timeout)" if self.hung else "")
        ]
        for pid, kb in sorted(self.hwm_kb.items(), key=lambda kv: -kv[1])[:6]:
            role = "command" if pid == self.root else "child"
            lines.append(f"  pid {pid:>7} {role:7} {kb / 1024:8,.0f} MB  {self.names.get(pid, '?')[:80]}")
        return "\n".join(lines)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
            except OSError:
                continue
            out.extend(int(c) for c in text.split())
    except OSError:
        pass
    return out


def _tree(root: int) -> list[int]:
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(_children(pid))
    return seen


def _status(pid: int) -> tuple[int, int] | None:
    """(VmHWM, VmRSS) in KB, or None once the process is gone (or a zombie)."""
    hwm = rss = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    except OSError:
        return None
    if hwm is None or rss is None:
        return None
    return hwm, rss


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip() or "?"


def watch(
    cmd: list[str],
    *,
    interval: float = 0.2,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    stdout=None,
    stderr=None,
) -> Peaks:
    """Run `cmd` to its end (or `timeout`), polling its process tree's memory."""
    peaks = Peaks()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
    peaks.root = proc.pid
    try:
        while True:
            total = 0
            for pid in _tree(proc.pid):
                st = _status(pid)
                if st is None:
                    continue
                hwm, rss = st
                total += rss
                if hwm > peaks.hwm_kb.get(pid, 0):
                    peaks.hwm_kb[pid] = hwm
                    peaks.names.setdefault(pid, _cmdline(pid))
            peaks.tree_kb = max(peaks.tree_kb, total)
            if proc.poll() is not None:
                break
            if timeout is not None and time.monotonic() - start > timeout:
                peaks.hung = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(interval)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    peaks.returncode = proc.returncode
    peaks.seconds = time.monotonic() - start
    return peaks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=None, help="seconds before the command counts as hung")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("a command to run is needed")
    peaks = watch(cmd, interval=args.interval, timeout=args.timeout)
    print(peaks.summary(), file=sys.stderr)
    sys.exit(peaks.returncode if peaks.returncode is not None else 1)


if __name__ == "__main__":
    main()
