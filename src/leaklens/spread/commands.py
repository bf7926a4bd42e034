"""`leaklens spread ...`: the command line of this module, thin over it (parses, calls, prints).
Attached to the `leaklens` command in cli.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..case import DEFAULT_CASE, Case
from ..errors import LeaklensError, UsageError
from ..options import DbOpt

spread_app = typer.Typer(
    help="How a leak spread: read exported posts, then timeline, first movers, cascades, amplifiers, "
    "coordination signals, and the posts that share the dump's files.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)
CaseOpt = Annotated[Path, typer.Option("--case", "-c", help="Case folder (holds case.db and blobs/).")]


@spread_app.command("ingest")
def ingest_cmd(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Export files: Twitter v1.1/v2 JSON(L), twarc-csv, CSV, "
            "4chan thread JSON, Telegram Desktop result.json."
        ),
    ],
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
) -> None:
    """Read exported posts into the case: every post counted, malformed lines reported (never fatal),
    duplicates across files merged, each file kept byte for byte.

    Example: leaklens spread ingest tweets.jsonl thread.json result.json --case mycase
    """
    from .ingest import ingest_files
    from .links import link_posts
    from .output import ingest_notes, ingest_table

    with Case.open(case, create=True, db=db) as c:
        reports = ingest_files(c, files)
        with _tx(c):
            links = link_posts(c)
        console.print(ingest_table(reports))
        for line in ingest_notes(reports):
            err.print(line, markup=False)
        total = sum(r.posts for r in reports)
        console.print(
            f"{total:,} posts read, {sum(r.new for r in reports):,} new; {links:,} links to case items. "
            "Next: leaklens spread analyse --match '#hashtag'"
        )
        if not total and all(r.message for r in reports):
            raise LeaklensError("no posts read: " + "; ".join(f"{r.path}: {r.message}" for r in reports))


def _tx(c: Case):
    from ..store.base import transaction

    return transaction(c.db)


@spread_app.command("analyse")
def analyse_cmd(
    match: Annotated[
        list[str] | None,
        typer.Option(
            "--match",
            "-m",
            help="A #hashtag, a URL, a keyword, a sha256 "
            "or md5, or item:ID (repeat: any of them). Default: every post.",
        ),
    ] = None,
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or graphml.")] = "table",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    window: Annotated[
        float | None,
        typer.Option(help="Co-action window in seconds (default: estimated from the data, as CooRnet does)."),
    ] = None,
    min_weight: Annotated[int, typer.Option(help="Repeated co-actions before a pair is a signal.")] = 3,
    similarity_window: Annotated[float, typer.Option(help="Window of co-similarity, seconds.")] = 3600.0,
) -> None:
    """Timeline, first movers and the hop between platforms, cascades, amplifiers, coordination signals (each
    with its evidence and parameters: signals to examine, never verdicts on people), and links to the dump.

    Example: leaklens spread analyse --match '#MacronLeaks' --match archive.org/details/EMLEAKS --format json
    """
    from .analyse import analyse
    from .coordination import Params
    from .output import print_analysis, write_graphml, write_json

    if format not in ("table", "json", "graphml"):
        raise UsageError("--format must be table, json or graphml")
    if min_weight < 1:
        raise UsageError("--min-weight must be at least 1")
    with Case.open(case, db=db) as c:
        a = analyse(
            c, match or [], params=Params(window=window, min_weight=min_weight, similarity_window=similarity_window)
        )
    if not a["posts_in_case"]:
        raise LeaklensError(f"no posts in {case}: read some first with 'leaklens spread ingest FILE --case {case}'")
    if format == "table":
        print_analysis(a, console)
        return
    writer = write_json if format == "json" else write_graphml
    if output is None:
        writer(a, sys.stdout)
        return
    try:
        with open(output, "w", encoding="utf-8") as out:
            writer(a, out)
    except OSError as exc:
        raise LeaklensError(f"cannot write {output}: {exc.strerror}") from None
    err.print(f"written to {output}")
