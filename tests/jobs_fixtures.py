"""A dump with items that stall their reader while a flag file exists: real timeouts for the job tests."""

from __future__ import annotations

import mailbox
import time
import zipfile
from email.message import EmailMessage
from pathlib import Path

from leaklens.ingest import readers
from leaklens.ingest.readers.base import ReaderSpec


def stalling_reader(flag: Path, monkeypatch) -> None:
    """Readers as they are, but for any item holding TARPIT while `flag` exists: it never returns."""
    text, email_reader = readers.reader_for("text/plain"), readers.reader_for("message/rfc822")

    def read(src, ctx):
        if flag.exists() and b"TARPIT" in src.read_bytes():
            time.sleep(600)
        (email_reader if src.mime == "message/rfc822" else text).read(src, ctx)

    stuck = ReaderSpec("stuck", ("text/plain", "message/rfc822"), read, 99)
    monkeypatch.setattr(readers, "REGISTRY", [*readers.REGISTRY, stuck])  # forked workers inherit it


def dump(d: Path) -> Path:
    d.mkdir()
    for i in range(6):
        (d / f"note{i}.txt").write_text(f"an innocent note {i} about a heron\n")
    (d / "tarpit.txt").write_text("TARPIT at the top\n")
    with zipfile.ZipFile(d / "pack.zip", "w") as z:
        z.writestr("inner/fine.txt", "a fine member\n")
        z.writestr("inner/tarpit.txt", "TARPIT in a zip\n")
    box = mailbox.mbox(d / "box.mbox")
    for subject in ("hello", "TARPIT in a mailbox", "bye"):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "a@horizon.example", "b@horizon.example", subject
        m.set_content(f"{subject}\n")
        box.add(m)
    box.close()
    return d


def case_with_timeouts(root: Path, monkeypatch):
    """A case whose one ingest job timed out on three items (a file, a zip member, an mbox member)."""
    from leaklens import jobs
    from leaklens.case import Case
    from leaklens.ingest.limits import Limits
    from leaklens.ingest.walker import ingest

    flag = root / "stall"
    flag.touch()
    stalling_reader(flag, monkeypatch)
    src = dump(root / "dump")
    case = Case.open(root / "case", create=True)
    with jobs.recorded(case, "ingest", {"sources": [str(src)]}) as job:
        ingest(case, [src], limits=Limits(item_timeout=1), workers=2, job=job)
        job.finish(accounting=case.db.accounting())
    flag.unlink()
    return case, job
