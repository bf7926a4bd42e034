"""The ``leaklens`` command: thin over the library — parse, call, print."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import __version__
from .case import DEFAULT_CASE, Case
from .errors import LeaklensError, UsageError
from .ingest.limits import Limits

app = typer.Typer(
    help="leaklens — forensic workbench for hack-and-leak dumps.\n\n"
    "Typical session:  leaklens ingest dump.zip  →  leaklens verify  →  leaklens search 'wire transfer'"
    "  →  leaklens report --format html -o report.html  →  leaklens serve",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)

CaseOpt = Annotated[Path, typer.Option("--case", "-c", help="Case folder (holds case.db and blobs/).")]


def _published(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--published expects a date like 2017-05-05 or 2017-05-05T20:00+02:00, got {value!r}") from None
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0:
            return Text("")
        items = task.fields.get("items_done", 0) / elapsed
        mb = task.fields.get("bytes", 0) / elapsed / 1e6
        return Text(f"{items:,.0f} items/s  {mb:,.1f} MB/s", style="cyan")


def accounting_table(acc: dict) -> Table:
    t = Table(title="Accounting", show_lines=False)
    t.add_column("")
    for col in ("found", "stored", "skipped", "failed", "pending"):
        t.add_column(col, justify="right")
    for label in ("files", "items"):
        row = acc[label]
        t.add_row(label, *(f"{row[c]:,}" for c in ("found", "stored", "skipped", "failed", "pending")))
    b = acc["bytes"]
    t.caption = (f"{b['items']:,} bytes in stored items; {b['unique_blobs']:,} distinct blobs "
                 f"({b['unique_bytes']:,} bytes on disk)")
    return t


def _reasons_table(acc: dict) -> Table | None:
    rows = [("skipped", r) for r in acc["skipped_reasons"]] + [("failed", r) for r in acc["failed_reasons"]]
    if not rows:
        return None
    t = Table(title="Skipped and failed, by reason")
    t.add_column("state")
    t.add_column("reason")
    t.add_column("items", justify="right")
    for state, r in rows:
        t.add_row(state, escape(r["reason"] or "?"), f"{r['count']:,}")
    return t


@app.command()
def ingest(
    sources: Annotated[list[Path], typer.Argument(help="Files or folders: mbox, .eml, Maildir, .msg, .pst, zip, "
                                                       "tar, 7z, gz, documents… nested to any depth.")],
    case: CaseOpt = DEFAULT_CASE,
    published: Annotated[str | None, typer.Option(help="When the dump was published (dates after it are "
                                                          "suspicious), e.g. 2017-05-05T20:00+02:00.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core; 1 = no pool).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    max_depth: Annotated[int, typer.Option(help="Containers nested deeper are stored, not opened.")] = Limits.max_depth,
    max_ratio: Annotated[int, typer.Option(help="Max expansion ratio of an archive member (zip bombs).")] = Limits.max_ratio,
    max_expanded_bytes: Annotated[int, typer.Option(help="Max bytes one source may expand to, in total.")] = Limits.max_expanded_bytes,
    max_items: Annotated[int, typer.Option(help="Max items one source may produce.")] = Limits.max_items,
    max_item_bytes: Annotated[int, typer.Option(help="Largest single member extracted.")] = Limits.max_item_bytes,
    item_timeout: Annotated[int, typer.Option(help="Seconds allowed to read one item.")] = Limits.item_timeout,
) -> None:
    """Read files and folders into a case: every item stored by content, accounted for, indexed.

    Re-running the same command adds nothing; re-running after an interruption finishes the job.
    """
    from .ingest.walker import Progress as IngestProgress
    from .ingest.walker import ingest as run_ingest

    limits = Limits(max_depth=max_depth, max_ratio=max_ratio, max_expanded_bytes=max_expanded_bytes,
                    max_items=max_items, max_item_bytes=max_item_bytes, item_timeout=item_timeout)
    when = _published(published)
    for s in sources:
        if not s.exists() and not s.is_symlink():
            raise LeaklensError(f"{s}: no such file or folder")
    with Case.open(case, create=True) as c:
        if when:
            c.set_published(when)
        progress = IngestProgress()
        bar = Progress(TextColumn("[bold]ingest"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f} items"),
                       _RateColumn(), TimeElapsedColumn(), console=err, disable=quiet, transient=False)
        started = time.monotonic()
        with bar:
            tid = bar.add_task("ingest", total=1)
            last = [0.0]

            def draw(p: IngestProgress) -> None:
                now = time.monotonic()
                if now - last[0] > 0.1 or p.done == p.found:
                    last[0] = now
                    bar.update(tid, total=max(p.found, 1), completed=p.done, items_done=p.done, bytes=p.bytes)

            progress.callback = draw
            stats = run_ingest(c, sources, limits=limits, workers=workers, progress=progress)
        acc = c.db.accounting()
        if not quiet:
            console.print(accounting_table(acc))
            reasons = _reasons_table(acc)
            if reasons:
                console.print(reasons)
        console.print(f"{stats.processed:,} items read in {time.monotonic() - started:.1f} s "
                      f"({stats.new_items:,} new top-level files). Case: {c.root}")
        console.print("Next: [bold]leaklens verify[/bold] · [bold]leaklens search QUERY[/bold] · "
                      "[bold]leaklens report --format json[/bold]")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases", and filters: from: to: kind: after: before: ext: '
                                              'verdict: (e.g. \'"bank transfer" from:alice after:2017-04-01 ext:pdf\').')],
    case: CaseOpt = DEFAULT_CASE,
    limit: Annotated[int, typer.Option(help="Results to show.")] = 20,
    sort: Annotated[str, typer.Option(help="relevance, date or -date.")] = "relevance",
) -> None:
    """Full-text search over decoded bodies, attachment text, headers and file names."""
    from .store.search import SORTS
    from .store.search import search as run_search

    if sort not in SORTS:
        raise UsageError(f"--sort must be one of {', '.join(sorted(SORTS))}")
    with Case.open(case) as c:
        total, hits = run_search(c.db.conn, query, limit=limit, sort=sort)
        t = Table(title=f"{total:,} results for {query!r}" + (f" (first {len(hits)})" if total > len(hits) else ""))
        for col in ("date", "from", "subject / path", "match", "verdict", "id"):
            t.add_column(col, overflow="fold")
        for h in hits:
            snippet = Text()
            raw = (h["snippet"] or "").replace("\n", " ")
            for i, part in enumerate(raw.replace("\x03", "\x02").split("\x02")):
                snippet.append(part, style="bold yellow" if i % 2 else "")
            t.add_row((h["date"] or "")[:10], escape(h["email_from"] or ""), escape(h["subject"] or h["path"]),
                      snippet, h["verdict"], h["id"])
        console.print(t)


@app.command()
def report(
    case: CaseOpt = DEFAULT_CASE,
    format: Annotated[str, typer.Option("--format", "-f", help="json, jsonl, csv or html.")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: standard output).")] = None,
) -> None:
    """Write the case report: summary, accounting, and every item with its verdict and findings."""
    from .report.writers import FORMATS, WRITERS

    if format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    if format not in WRITERS:
        raise UsageError(f"--format {format} is not available in this version")
    with Case.open(case) as c:
        if output is None:
            WRITERS[format](c, sys.stdout)
            return
        try:
            with open(output, "w", encoding="utf-8", newline="") as out:
                WRITERS[format](c, out)
        except OSError as exc:
            raise LeaklensError(f"cannot write {output}: {exc.strerror}") from None
        err.print(f"report written to {output}")


@app.command()
def demo(
    case: CaseOpt = Path("leaklens-demo"),
    out: Annotated[Path, typer.Option(help="Where the sample dump is written.")] = Path("leaklens-demo-dump"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Generate the bundled sample leak, ingest it into a fresh case and show what to do next."""
    import shutil

    from .demo.generate import generate_demo
    from .ingest.walker import ingest as run_ingest

    if case.exists():
        if not (case / "case.db").exists():
            raise LeaklensError(f"{case} exists and is not a leaklens case; choose another --case")
        shutil.rmtree(case)
    manifest = generate_demo(out)
    console.print(f"Sample dump written to {out}/")
    with Case.open(case, create=True) as c:
        if getattr(manifest, "published", None):
            c.set_published(_published(str(manifest.published)))
        run_ingest(c, sorted(p for p in out.iterdir() if p.name not in ("MANIFEST.json",) and not p.name.endswith("keys.json")))
        console.print(accounting_table(c.db.accounting()))
    console.print(f"\nDemo case ready in {case}/. Try:\n"
                  f"  leaklens search --case {case} 'budget'\n"
                  f"  leaklens report --case {case} --format json -o report.json")


def main() -> None:
    try:
        app()
    except LeaklensError as exc:
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted: run the same command again to resume")
        sys.exit(130)


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False) -> None:
    if version:
        console.print(f"leaklens {__version__}")
        raise typer.Exit()
