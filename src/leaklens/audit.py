"""The case's audit log: who ran what, when, with which leaklens and which options.

Every CLI command is recorded by one hook (cli.py's callback calls `cli_hook`), every web action
that changes the case (tags, notes, exports) by web/app.py calling `record`. Entries are only ever
added: the store has no method to change or remove one, and the database itself refuses it
(SQLite triggers, a PostgreSQL trigger).
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import __version__
from .case import now_iso

# Values never written to the log: a database password in a URL, and the options that carry a secret.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+):[^@\s]*@")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in the environment nor the password database
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


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


SECRET_PARAMS = {"auth", "password", "token", "secret"}


def _plain(name: str, value: Any) -> Any:
    """An option's value as the log keeps it: JSON, a secret hidden, a URL's password hidden."""
    if name in SECRET_PARAMS and value is not None:
        return "***"
    if isinstance(value, (list, tuple)):
        return [_plain("", v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _URL_PASSWORD.sub(r"\1:***@", str(value))


def _write(case_dir: Path, db: str | None, e: Mapping[str, Any]) -> bool:
    from .case import Case

    # The log never stops a command: a case that cannot be opened or written is the command's to report.
    with contextlib.suppress(Exception):
        if not Case.exists(case_dir):
            return False
        with Case.open(case_dir, db=db) as c:
            c.db.append_audit(e)
            return True
    return False


def _audited(name: str, callback):
    """The command's callback, recording the command with its options as parsed (typed, defaults included)
    in the case its --case names: before it runs if the case exists, else (an ingest making it) after."""

    @functools.wraps(callback)
    def run(*args: Any, **params: Any) -> Any:
        from .case import DEFAULT_CASE

        case_dir = Path(params.get("case") or DEFAULT_CASE)
        db = params.get("db")
        options = {k: _plain(k, v) for k, v in params.items()}
        e = entry(os_user(), "cli", name, {**options, "cwd": os.getcwd()}, "started")
        early = isinstance(case_dir, Path) and _write(case_dir, db, e)
        try:
            return callback(*args, **params)
        finally:
            if not early:
                _write(case_dir, db, {**e, "outcome": "ended"})

    run._audited = True  # type: ignore[attr-defined]
    return run


def cli_hook(ctx) -> None:
    """Make every command of the CLI record itself (once per process): called by cli.py's callback, before
    the command it names runs, so that one hook covers every command, those of sub-groups too."""

    # By duck type: typer's groups are not click.Group instances (typer carries its own click core).
    def wrap(group: Any, prefix: str) -> None:
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                wrap(cmd, f"{prefix}{name} ")
            elif cmd.callback is not None and not getattr(cmd.callback, "_audited", False):
                cmd.callback = _audited(prefix + name, cmd.callback)

    if hasattr(ctx.command, "commands"):
        wrap(ctx.command, "")
