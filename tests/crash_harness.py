"""Crash points and a full disk, for real: `leaklens ingest` and `leaklens verify` run as subprocesses,
killed with SIGKILL (the whole process group: the coordinator and its pool workers die together, as
in a power cut) at a commit chosen by `leaklens.crashpoints` or at a random moment, or refused room
by an OSError(ENOSPC) raised at the Nth blob or database write (LEAKLENS_ENOSPC_AT). Then the same
command is run again, and the case must be what an uninterrupted run gives: the same items, states,
hashes and verdicts, the same findings (none twice), the same search hits (none twice), fsck clean,
the accounting identity balanced.

Shared by tests/test_crash_points.py, tests/test_enospc.py (a few points each) and
bench/crashpoints.py (100 points), so the three check one thing one way.
"""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

WORD = "quarterly"  # in every email's body: the search hits checked for duplicates


def _message(i: int, tag: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"Sender {i % 7} <s{i % 7}@horizon.example>"
    m["To"] = "t@horizon.example"
    m["Subject"] = f"{tag} note {i}"
    m["Date"] = f"Tue, {1 + i % 28:02d} May 2017 09:{i % 60:02d}:00 +0200"
    m["Message-ID"] = f"<{tag}-{i}@horizon.example>"
    m.set_content(f"The {WORD} figures, message {i} of {tag}.\n" * 8)
    if i % 6 == 0:
        m.add_attachment(
            f"attachment {i} {WORD}\n".encode() * 300, maintype="text", subtype="plain", filename=f"a{i}.txt"
        )
    return m


def make_dump(root: Path, emails: int = 240) -> Path:
    """A dump with what an ingest commits in several steps: an mbox, a zip of .eml files and a nested
    mbox, loose files; its emails are what verify checks."""
    src = root / "dump"
    src.mkdir(parents=True, exist_ok=True)
    box = mailbox.mbox(src / "box.mbox")
    for i in range(emails):
        box.add(_message(i, "box"))
    box.close()
    inner = root / "inner.mbox"
    ibox = mailbox.mbox(inner)
    for i in range(emails // 8):
        ibox.add(_message(i, "inner"))
    ibox.close()
    with zipfile.ZipFile(src / "pack.zip", "w") as z:
        for i in range(emails // 8):
            z.writestr(f"mail/{i:03d}.eml", bytes(_message(i, "zip")))
        z.write(inner, "nested/inner.mbox")
        z.writestr("docs/readme.txt", "a readme\n")
    for i in range(12):
        (src / f"loose{i:02d}.eml").write_bytes(bytes(_message(i, "loose")))
    (src / "scan.bin").write_bytes(os.urandom(2 << 20))
    inner.unlink()
    return src


def command(verb: str, case: Path, src: Path | None = None, workers: int = 2, db: str | None = None) -> list[str]:
    args = [sys.executable, "-m", "leaklens", verb, "-q", "--workers", str(workers), "--case", str(case)]
    return args + (["--db", db] if db else []) + ([str(src)] if verb == "ingest" else [])


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
        start_new_session=True,  # the crash point kills the group: the coordinator and its workers
    )


def killed_at(cmd: list[str], *, point: str | None = None, after: float | None = None) -> int | None:
    """Run `cmd` and kill it with SIGKILL: at the crash point `point` ("commit:7": crashpoints.py), or
    `after` seconds. Returns the exit status (-9 when killed), or None when it finished before the kill."""
    env = {**os.environ, **({"LEAKLENS_CRASH_AT": point} if point else {})}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True
    )
    if after is not None:
        try:
            proc.wait(timeout=after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    try:
        _, err = proc.communicate(timeout=300)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the pool workers, if the coordinator died alone
        except ProcessLookupError:
            pass
    if proc.returncode == 0:
        return None
    if proc.returncode != -signal.SIGKILL:
        raise AssertionError(f"{cmd[3]} ended {proc.returncode}, not killed: {err[-2000:]}")
    return proc.returncode


def snapshot(case_dir: Path, db: str | None = None) -> dict[str, Any]:
    """What an uninterrupted run and a crashed-then-resumed one must agree on, read through the store."""
    from leaklens.case import Case

    with Case.open(case_dir, db=db) as c:
        items = [dict(r) for r in c.db.items()]
        path_of = {r["id"]: r["path"] for r in items}
        findings = Counter(
            (path_of.get(item_id, f"<no item {item_id}>"), f.code, f.severity, f.message)
            for item_id, fs in c.db.all_findings().items()
            for f in fs
        )
        hits = c.db.search_ids(WORD, limit=100_000)
        return {
            "items": sorted((r["path"], r["state"], r["sha256"], r["kind"], r["size"], r["verdict"]) for r in items),
            "findings": findings,
            "hits": sorted(path_of.get(h, h) for h in hits),
        }


def problems(case_dir: Path, expected: dict[str, Any], db: str | None = None) -> list[str]:
    """Every way the case differs from the uninterrupted run's, or is unsound (empty: none)."""
    from leaklens.case import Case
    from leaklens.integrity import fsck

    out = []
    with Case.open(case_dir, db=db) as c:
        rep = fsck(c, workers=2)
        out += [f"fsck: {p.code} {p.message}" for p in rep.problems]
        acc = c.db.accounting()
        for what in ("items", "files"):
            a = acc[what]
            if a["pending"] or a["found"] != a["stored"] + a["skipped"] + a["failed"]:
                out.append(f"accounting of {what} does not balance: {a}")
    got = snapshot(case_dir, db)
    twice = [k for k, n in got["findings"].items() if n > 1 and expected["findings"][k] < n]
    if twice:
        out.append(f"{len(twice)} findings more often than in the clean run, e.g. {twice[0]}")
    for key in ("items", "hits"):
        lost = sorted(set(expected[key]) - set(got[key]))
        extra = sorted(set(got[key]) - set(expected[key]))
        dups = len(got[key]) - len(set(got[key]))
        if lost or extra or dups:
            out.append(f"{key}: {len(lost)} lost (e.g. {lost[:1]}), {len(extra)} unexpected (e.g. {extra[:1]}), "
                       f"{dups} duplicated")
    if got["findings"] != expected["findings"]:
        diff = (got["findings"] - expected["findings"]) + (expected["findings"] - got["findings"])
        out.append(f"findings differ from the clean run's: {len(diff)}, e.g. {next(iter(diff))}")
    return out


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    done = run(cmd, env)
    assert done.returncode == 0, done.stderr[-2000:]
    return time.monotonic() - started


# -- web writes --------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def web_writes_killed(case: Path, *, point: str | None = None, after: float | None = None,
                      limit: float = 60) -> dict[str, Any]:
    """`leaklens serve` on the case, tagged and annotated by a client as fast as it answers, killed
    with SIGKILL at the crash point `point` or after `after` seconds of writing. Returns what the
    server acknowledged (2xx) before it died: {"tags": [(item, tag)], "notes": [(item, body)],
    "sent": writes sent, "killed": whether the kill came before `limit` seconds}."""
    import httpx

    from leaklens.case import Case

    with Case.open(case) as c:
        items = [i for (i,) in c.db.item_values(("id",))][:50]
    port = _free_port()
    env = {**os.environ, **({"LEAKLENS_CRASH_AT": point} if point else {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "leaklens", "serve", "--case", str(case), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True,
    )
    acked: dict[str, Any] = {"tags": [], "notes": [], "sent": 0, "killed": False}
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    csrf = client.get("/api/session").json()["csrf_token"]
                    break
                except (httpx.HTTPError, ValueError):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"the server did not start: {proc.stderr.read()[-2000:]!r}") from None
                    time.sleep(0.1)
            started = time.monotonic()
            k = 0
            while time.monotonic() - started < limit:
                if after is not None and time.monotonic() - started >= after:
                    os.killpg(proc.pid, signal.SIGKILL)
                    acked["killed"] = True
                    break
                item = items[k % len(items)]
                k += 1
                note = k % 3 == 0
                what = f"/api/items/{item}/" + ("notes" if note else "tags")
                body = {"body": f"call back {k}"} if note else {"tag": f"t{k % 17}"}
                acked["sent"] += 1
                try:
                    r = client.post(what, json=body, headers={"X-CSRF-Token": csrf})
                except httpx.HTTPError:  # the server died under this request: not acknowledged
                    acked["killed"] = proc.poll() is not None or acked["killed"]
                    if proc.poll() is not None:
                        break
                    continue
                if r.status_code in (200, 201):
                    acked["notes" if note else "tags"].append((item, body.get("body") or body["tag"]))
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    return acked


def web_problems(case: Path, acked: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """After a server was killed under writes: fsck clean, every acknowledged tag and note there, no
    note twice, at most one write beyond those acknowledged (the one in flight), the items untouched."""
    from leaklens.case import Case
    from leaklens.integrity import fsck

    out = []
    with Case.open(case) as c:
        out += [f"fsck: {p.code} {p.message}" for p in fsck(c, workers=2).problems]
        items = {i for i, _ in acked["tags"]} | {i for i, _ in acked["notes"]}
        tags = {i: c.db.tags_for(i) for i in items}
        notes = {i: [n["body"] for n in c.db.notes_for(i)] for i in items}
    lost = [(i, t) for i, t in acked["tags"] if t not in tags[i]]
    lost += [(i, b) for i, b in acked["notes"] if b not in notes[i]]
    if lost:
        out.append(f"{len(lost)} acknowledged writes lost, e.g. {lost[0]}")
    twice = [(i, b) for i, bs in notes.items() for b in set(bs) if bs.count(b) > 1]
    if twice:
        out.append(f"{len(twice)} notes present twice, e.g. {twice[0]}")
    extra = sum(len(bs) for bs in notes.values()) - len(acked["notes"])
    if extra > 1:
        out.append(f"{extra} notes present that were never acknowledged (at most the one in flight)")
    if snapshot(case)["items"] != before["items"]:
        out.append("the items changed under web writes")
    return out
