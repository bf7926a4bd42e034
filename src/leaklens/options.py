"""Command-line options that several command groups share (cli.py, spread/commands.py), declared once."""

from __future__ import annotations

from typing import Annotated

import typer

# Not typer's envvar: LEAKLENS_DB is read by Case.open, for a folder that is not a case yet only, so
# that a LEAKLENS_DB set for a team's case never hides a local SQLite case (store/location.py).
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="The case's database: sqlite: (the folder's case.db, the default) or postgresql://USER@HOST/DATABASE,"
        " made by the first ingest; the folder remembers it (without the password). Default: what the folder"
        " holds, else env LEAKLENS_DB.",
    ),
]
