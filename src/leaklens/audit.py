"""The case's audit log: who ran what, when, with which leaklens and which options.

Every CLI command is recorded by one hook (cli.py's callback calls `cli_hook`), every web action
that changes the case (tags, notes, exports) by web/app.py calling `record`. Entries are only ever
added: the store has no method to change or remove one, and the database itself refuses it
(SQLite triggers, a PostgreSQL trigger).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .case import now_iso

# Values never written to the log: a database password in a URL, and the options that carry a secret.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+):[^@\s]*@")
SECRET_OPTIONS = {"--auth", "--password", "--token", "--secret"}


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in the environment nor the password database
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def redact(args: Sequence[str]) -> list[str]:
    out: list[str] = []
    hide = False
    for a in args:
        if hide:
            out.append("***")
            hide = False
            continue
        name, eq, _ = a.partition("=")
        if name in SECRET_OPTIONS:
            if eq:
                out.append(f"{name}=***")
            else:
                out.append(a)
                hide = True
            continue
        out.append(_URL_PASSWORD.sub(r"\1:***@", a))
    return out


def entry(who: str, via: str, command: str, options: Mapping[str, Any], outcome: str | None = None) -> dict[str, Any]:
    return {
        "at": now_iso(),
        "who": who,
        "via": via,
        "version": __version__,
        "command": command,
        "options": dict(options),
        "outcome": outcome,
    }


def record(db, who: str, via: str, command: str, options: Mapping[str, Any], outcome: str | None = None) -> None:
    """Append one entry to the case's log (`db`: the case's store)."""
    db.append_audit(entry(who, via, command, options, outcome))


def _case_of(args: Sequence[str]) -> tuple[Path, str | None]:
    from .case import DEFAULT_CASE

    case, db = DEFAULT_CASE, None
    it = iter(range(len(args)))
    for i in it:
        a = args[i]
        for opt in ("--case", "-c", "--db"):
            if a == opt and i + 1 < len(args):
                value = args[i + 1]
            elif a.startswith(opt + "=") and opt.startswith("--"):
                value = a[len(opt) + 1 :]
            else:
                continue
            if opt == "--db":
                db = value
            else:
                case = Path(value)
    return case, db


def _write(case_dir: Path, db: str | None, e: Mapping[str, Any]) -> bool:
    from .case import Case

    if not Case.exists(case_dir):
        return False
    # The log never stops a command: a case that cannot be opened or written is the command's to report.
    with contextlib.suppress(Exception), Case.open(case_dir, db=db) as c:
        c.db.append_audit(e)
        return True
    return False


def cli_hook(ctx) -> None:
    """Record the command about to run in the case it names: now if the case exists, else (an ingest
    making it) when the command ends. Called by cli.py's callback, for every command."""
    command = ctx.invoked_subcommand
    if not command:
        return
    args = [*getattr(ctx, "protected_args", []), *ctx.args]
    if args and args[0] == command:
        args = args[1:]
    if any(a in ("--help", "-h") for a in args):
        return
    case_dir, db = _case_of(args)
    e = entry(os_user(), "cli", command, {"argv": redact(args), "cwd": os.getcwd()}, "started")
    if _write(case_dir, db, e):
        return

    def at_end() -> None:
        _write(case_dir, db, {**e, "outcome": "ended"})

    ctx.call_on_close(at_end)
