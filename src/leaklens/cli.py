"""The ``leaklens`` command: thin over the library — parse, call, print."""

from __future__ import annotations

import errno
import sys
import time
from contextlib import contextmanager
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
from .display import evidence_shown
from .display import when as utc_text  # `when` is a local name in several commands
from .errors import LeaklensError, UsageError
from .ingest.limits import Limits
from .jobs import Job, identity_line, recorded
from .options import DbOpt
from .query import EXAMPLE, SORT_LABELS, SORTS, help_text

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
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run the work on a Dask cluster: tcp://SCHEDULER:8786 (its workers reach the case folder on shared "
        "storage; this process alone writes the case) or local:N (N worker processes here). Default: --workers.",
    ),
]


def _existence(when: str | None, source: str | None) -> list[tuple[datetime, str]]:
    if when is None:
        if source:
            raise LeaklensError("--source goes with --existed-by (the date it proves)")
        return []
    if not (source or "").strip():
        raise LeaklensError("--existed-by needs --source: who or what attests that date")
    at = _published(when)
    assert at is not None
    return [(at, source.strip())]


def _published(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--published expects a date like 2017-05-05 or 2017-05-05T20:00+02:00, got {value!r}"
        ) from None
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt


class _RateColumn(ProgressColumn):
    """Items/s now and on average (the job's figures, `jobs.Job.figures`), and MB/s."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0:
            return Text("")
        f = task.fields
        mb = f.get("bytes", 0) / elapsed / 1e6
        if "avg" in f:
            rates = f"{f['now']:,.0f} items/s now, {f['avg']:,.0f} avg"
        else:
            rates = f"{f.get('items_done', 0) / elapsed:,.0f} items/s"
        return Text(rates + (f"  {mb:,.1f} MB/s" if f.get("bytes") else ""), style="cyan")


class _EtaColumn(ProgressColumn):
    """Time left for the items known now, at the current rate (an ingest finds more as it opens containers)."""

    def render(self, task: Task) -> Text:
        if task.finished or "eta" not in task.fields:
            return Text("")
        eta = task.fields["eta"]
        if eta is None:
            return Text("ETA ?", style="dim")
        m, sec = divmod(int(eta), 60)
        return Text(f"ETA {m // 60}:{m % 60:02d}:{sec:02d}" if m >= 60 else f"ETA {m}:{sec:02d}", style="dim")


class _ErrorsColumn(ProgressColumn):
    """Errors by stage so far."""

    def render(self, task: Task) -> Text:
        errors = task.fields.get("errors") or {}
        if not errors:
            return Text("")
        return Text("errors: " + ", ".join(f"{k} {v:,}" for k, v in sorted(errors.items())), style="red")


@contextmanager
def _cluster(spec: str | None):
    """The --cluster's cluster for the command's run (None: this machine's pool), closed after it."""
    if not spec:
        yield None
        return
    from .cluster import open_cluster

    cluster = open_cluster(spec)
    try:
        yield cluster
    finally:
        cluster.close()


@contextmanager
def _bar(label: str, quiet: bool, *more: str):
    """One progress display (Rich allows one at a time) with a bar per label."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        _RateColumn(),
        _EtaColumn(),
        TimeElapsedColumn(),
        _ErrorsColumn(),
        console=err,
        disable=quiet,
    )
    with bar:
        tasks = [bar.add_task(name, total=1) for name in (label, *more)]
        yield (bar, *tasks)


def _ingest_progress(bar: Progress, tid, job: Job | None = None):
    from .ingest.walker import Progress as IngestProgress

    last = [0.0]

    def draw(p: IngestProgress) -> None:
        now = time.monotonic()
        if now - last[0] > 0.1 or p.done == p.found:
            last[0] = now
            figures = job.figures() if job is not None else {}  # the job follows the ingest (walker)
            bar.update(tid, total=max(p.found, 1), completed=p.done, items_done=p.done, bytes=p.bytes, **figures)

    return IngestProgress(callback=draw)


def _job_progress(bar: Progress, tid, job: Job):
    """A progress callback (done, total) drawing the bar with the job's figures (the job follows the run)."""

    def draw(done: int, total: int) -> None:
        bar.update(tid, completed=done, total=total, items_done=done, **job.figures())

    return draw


def accounting_table(acc: dict) -> Table:
    t = Table(title="Accounting", show_lines=False)
    t.add_column("")
    for col in ("found", "stored", "skipped", "failed", "pending"):
        t.add_column(col, justify="right")
    for label in ("files", "items"):
        row = acc[label]
        t.add_row(label, *(f"{row[c]:,}" for c in ("found", "stored", "skipped", "failed", "pending")))
    b = acc["bytes"]
    t.caption = (
        f"{b['items']:,} bytes in stored items; {b['unique_blobs']:,} distinct blobs "
        f"({b['unique_bytes'] - b['ranged_bytes']:,} bytes on disk"
        + (f"; {b['ranged_bytes']:,} more read from their stored mailboxes)" if b["ranged_bytes"] else ")")
    )
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
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders: mbox, .eml, Maildir, .msg, .pst, zip, tar, 7z, gz, documents… nested to any depth."
        ),
    ],
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    published: Annotated[
        str | None,
        typer.Option(help="When the dump was published (dates after it are suspicious), e.g. 2017-05-05T20:00+02:00."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core; 1 = no pool).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    max_depth: Annotated[int, typer.Option(help="Containers nested deeper are stored, not opened.")] = Limits.max_depth,
    max_ratio: Annotated[
        int, typer.Option(help="Max expansion ratio of an archive member (zip bombs).")
    ] = Limits.max_ratio,
    max_expanded_bytes: Annotated[
        int, typer.Option(help="Max bytes one source may expand to, in total.")
    ] = Limits.max_expanded_bytes,
    max_items: Annotated[int, typer.Option(help="Max items one source may produce.")] = Limits.max_items,
    max_item_bytes: Annotated[int, typer.Option(help="Largest single member extracted.")] = Limits.max_item_bytes,
    item_timeout: Annotated[int, typer.Option(help="Seconds allowed to read one item.")] = Limits.item_timeout,
    only_failed: Annotated[
        bool,
        typer.Option(
            "--only-failed",
            help="Read again only the items of these sources that failed (timed out, crashed the reader, "
            "unreadable); every other item is left as it is.",
        ),
    ] = False,
    cluster: ClusterOpt = None,
    ocr: Annotated[
        bool, typer.Option("--ocr/--no-ocr", help="Read scans (images, PDF pages without text) with Tesseract.")
    ] = True,
    ocr_lang: Annotated[
        str, typer.Option(help="Tesseract languages for scans, e.g. fra+eng (those installed are used).")
    ] = "eng+fra+rus",
    ner: Annotated[
        bool,
        typer.Option("--ner/--no-ner", help="People and organisations by spaCy's recogniser, in the texts whose "
                     "language has a model installed (the optional extra leaklens[ner]: French)."),
    ] = True,
) -> None:
    """Read files and folders into a case: every item stored by content, accounted for, indexed.

    Re-running the same command adds nothing; re-running after an interruption (a full disk, a lost
    database, Ctrl-C) finishes the job. Each run is recorded as a job (the workbench's Jobs page).

    Example: leaklens ingest dump.zip --only-failed --item-timeout 600
    """
    from .ingest.walker import ingest as run_ingest

    limits = Limits(
        max_depth=max_depth,
        max_ratio=max_ratio,
        max_expanded_bytes=max_expanded_bytes,
        max_items=max_items,
        max_item_bytes=max_item_bytes,
        item_timeout=item_timeout,
    )
    when = _published(published)
    for s in sources:
        if not s.exists() and not s.is_symlink():
            raise LeaklensError(f"{s}: no such file or folder")
    options = {"sources": [str(s) for s in sources], "workers": workers, "cluster": cluster, "only_failed": only_failed,
               "published": published, **vars(limits)}  # fmt: skip
    with _cluster(cluster) as on, Case.open(case, create=True, db=db) as c, recorded(c, "ingest", options) as job:
        if when:
            c.set_published(when)
        with _bar("ingest", quiet) as (bar, tid):
            started = time.monotonic()
            stats = run_ingest(
                c,
                sources,
                limits=limits,
                workers=workers,
                progress=_ingest_progress(bar, tid, job),
                job=job,
                only_failed=only_failed,
                cluster=on,
            )
        _read_texts(c, workers=workers, ocr=ocr, ocr_lang=ocr_lang, ner=ner, quiet=quiet, cluster=on)
        _update_index(c, quiet)
        acc = c.db.accounting()
        job.finish(accounting=acc)
        if not quiet:
            console.print(accounting_table(acc))
            reasons = _reasons_table(acc)
            if reasons:
                console.print(reasons)
        console.print(f"Accounted for: {identity_line(acc)}.")
        if only_failed and stats.not_retried:
            console.print(
                f"{stats.not_retried:,} failed items were not read again: their container could not extract "
                "them, or no run recorded where their bytes were."
            )
        console.print(
            f"{stats.processed:,} items read in {time.monotonic() - started:.1f} s "
            f"({stats.new_items:,} new top-level files). Job {job.id}. Case: {c.root}"
        )
        console.print(
            "Next: [bold]leaklens verify[/bold] · [bold]leaklens search QUERY[/bold] · "
            "[bold]leaklens report --format json[/bold]"
        )


def _read_texts(
    c: Case, *, workers: int | None, ocr: bool, ocr_lang: str, quiet: bool, cluster=None, ner: bool = True
) -> None:
    """The texts steps after a walk: scans read by OCR, then every text's entities and language, then
    spaCy's people and organisations where a model is installed."""
    from .steps import Run, run_steps

    with _bar("ocr", quiet, "entities", "names (spaCy)") as (bar, ocr_task, ent_task, ner_task):
        run = Run(c, workers=workers, cluster=cluster, options={
            "ocr": ocr, "ocr_lang": ocr_lang, "ner": ner,
            "ocr_progress": lambda n, total: bar.update(ocr_task, completed=n, total=total),
            "entities_progress": lambda n: bar.update(ent_task, completed=n, total=max(n, 1)),
            "ner_progress": lambda n, total: bar.update(ner_task, completed=n, total=max(total, 1)),
        })  # fmt: skip
        run_steps(run, ("texts",))
    report = run.results.get("texts.ocr") or {}
    if report.get("missing"):
        err.print(f"[yellow]OCR:[/yellow] {report['missing']}")  # said once; the ingest carries on
    elif report.get("absent_langs"):
        err.print(f"[yellow]OCR:[/yellow] no Tesseract data for {'+'.join(report['absent_langs'])}; read with "
                  f"{report['langs']}")  # fmt: skip
    if report.get("scans"):
        console.print(f"OCR: {report['scans']:,} scans, {report['pages']:,} pages read ({report['langs']}).")
    names = run.results.get("texts.ner") or {}
    if names.get("off") and run.results.get("texts.entities"):  # said once, when there were new texts
        err.print(f"[yellow]NER:[/yellow] {escape(names['off'])}")
    elif names.get("texts"):
        console.print(f"NER: {names['texts']:,} texts read by {escape(', '.join(names['models'].values()))}, "
                      f"{names['mentions']:,} people and organisations.")  # fmt: skip
    from .entities.step import SCAN_FAILURES

    if SCAN_FAILURES:  # left unscanned: the next ingest (or `leaklens entities`) reads them again
        first = SCAN_FAILURES[0]
        err.print(f"[yellow]Entities:[/yellow] {len(SCAN_FAILURES):,} texts not read in time or crashed their "
                  f"reader (first: item {first[0]}, {first[1]}); the next run tries again.")  # fmt: skip


def _update_index(c: Case, quiet: bool, *, rebuild: bool = False) -> int:
    """Bring the search index up to date with what the run wrote (the coordinator is its writer), with a bar."""
    from .store.index import Busy

    with _bar("search index", quiet) as (bar, tid):

        def progress(done: int, total: int | None) -> None:
            bar.update(tid, completed=done, total=total, items_done=done)

        try:
            if rebuild:
                return c.db.search_index_rebuild(progress)
            return c.db.search_index_update(progress)
        except Busy:
            err.print("The search index is being written by another leaklens process; it will take these changes next.")
            return 0


@app.command()
def index(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Make the index again from the case's database.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Bring the search index (the case folder's index/) up to date, or make it again with --rebuild.

    The index is derived data: the database is the source of truth, and ingest and verify keep the
    index up to date. Example: leaklens index --case ./leaklens-case --rebuild
    """
    with Case.open(case, db=db) as c:
        started = time.monotonic()
        n = _update_index(c, quiet, rebuild=rebuild)
        console.print(f"{n:,} items written to the search index in {time.monotonic() - started:.1f} s.")


@app.command(epilog=help_text())  # every filter of leaklens.query, with its meaning
def search(
    query: Annotated[
        str,
        typer.Argument(
            help='Words, "phrases", OR, AND, NOT, (groups), "a b"~5, budg*, virment~ and filters (listed below), '
            "e.g. " + repr(EXAMPLE) + "."
        ),
    ] = "",
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option(help="Results to show.")] = 20,
    sort: Annotated[str, typer.Option(help=", ".join(SORT_LABELS) + ' (a leading "-": the other way).')] = "relevance",
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="A file of terms, one a line (# comments): each term's count of matches."),
    ] = None,
) -> None:
    """Full-text search over decoded bodies, attachment text, headers and file names."""
    from . import searchout
    from .investigate.batch import batch_search, read_terms

    if sort not in SORTS:
        raise UsageError(f"--sort must be one of {', '.join(SORT_LABELS)}")
    if format not in searchout.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(searchout.FORMATS)}")
    if batch is None and not query.strip():
        raise UsageError("give a query, or --batch FILE with one term a line")
    terms: list[str] = []
    if batch is not None:
        try:
            terms = read_terms(batch.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError as exc:
            raise UsageError(f"--batch {batch}: {exc.strerror or exc}") from None
    with Case.open(case, db=db) as c:
        if batch is not None:
            rows = batch_search(c.db, terms)
            if format == "json":
                sys.stdout.write(searchout.batch_json(rows) + "\n")
            elif format == "csv":
                sys.stdout.write(searchout.batch_csv(rows))
            else:
                t = Table(title=f"{len(rows):,} terms from {batch}")
                for col in ("term", "matches", "search"):
                    t.add_column(col, overflow="fold")
                for r in rows:
                    shown = f"[red]{escape(r.error or '')}[/red]" if r.count is None else f"{r.count:,}"
                    t.add_row(escape(r.term), shown, escape(f"leaklens search {_shell_quote(r.term)}"))
                console.print(t)
            return
        total, hits = c.db.search(query, limit=limit, sort=sort)
        if format == "json":
            sys.stdout.write(searchout.hits_json(query, sort, total, hits) + "\n")
            return
        if format == "csv":
            sys.stdout.write(searchout.hits_csv(hits))
            return
        from .web.leaktext import leak_plain  # a terminal too is fooled by an RLO or an escape sequence

        t = Table(title=f"{total:,} results for {query!r}" + (f" (first {len(hits)})" if total > len(hits) else ""))
        for col in ("date", "from", "subject / path", "match", "verdict", "id"):
            t.add_column(col, overflow="fold")
        for h in hits:
            snippet = Text()
            raw = (h["snippet"] or "").replace("\n", " ")
            for i, part in enumerate(raw.replace("\x03", "\x02").split("\x02")):
                snippet.append(leak_plain(part), style="bold yellow" if i % 2 else "")
            t.add_row(
                utc_text(h["date"], "day"),
                escape(leak_plain(h["email_from"] or "")),
                escape(leak_plain(h["subject"] or h["path"])),
                snippet,
                h["verdict"],
                h["id"],
            )
        console.print(t)


def _shell_quote(term: str) -> str:
    import shlex

    return shlex.quote(term)


@app.command()
def report(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", help="json, jsonl, csv or html.")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Write the case report: summary, accounting, and every item with its verdict and findings."""
    from .report.writers import FORMATS, WRITERS

    if format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    if format not in WRITERS:
        raise UsageError(f"--format {format} is not available in this version")
    with Case.open(case, db=db) as c:
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
def verify(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    keys: Annotated[
        list[Path] | None,
        typer.Option(
            "--keys",
            "-k",
            help="Key file(s) to use and keep in the case (zone-file TXT lines or leaklens JSON).",
        ),
    ] = None,
    dns: Annotated[
        bool,
        typer.Option(
            "--dns",
            help="Also look keys up in live DNS (off by default: offline, "
            "reproducible, and silent towards the signer). Answers are recorded.",
        ),
    ] = False,
    published: Annotated[str | None, typer.Option(help="When the dump was published, e.g. 2017-05-05.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Check every email again, even those up to date.")] = False,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: one per core).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    only_failed: Annotated[
        bool,
        typer.Option(
            "--only-failed",
            help="Check again only the emails whose check timed out or crashed, and read again the documents "
            "whose metadata did; every other result is kept.",
        ),
    ] = False,
    cluster: ClusterOpt = None,
) -> None:
    """Check every email's DKIM and ARC against the key archive, then every document's metadata; derive verdicts.

    Documents are judged against their email (sent before it was last modified?) and the rest of the case
    (edit bursts, foreign editors, altered copies).

    Idempotent: a second run re-checks only the emails a newly imported key (or --dns) can change.
    """
    from .verify.case_keys import import_into_case
    from .verify.case_verify import verification_summary, verify_case

    if force and only_failed:
        raise UsageError("--force checks every email again; --only-failed only those that failed: choose one")
    options = {"keys": [str(k) for k in keys or []], "dns": dns, "published": published, "force": force,
               "workers": workers, "cluster": cluster, "only_failed": only_failed}  # fmt: skip
    with _cluster(cluster) as on, Case.open(case, db=db) as c, recorded(c, "verify", options) as job:
        for k in keys or []:
            n = len(import_into_case(c, k))
            console.print(f"imported {n} key(s) from {k}")
        with _bar("emails", quiet, "documents") as (bar, tid, did):
            stats = verify_case(
                c,
                dns=dns,
                published=_published(published),
                force=force,
                workers=workers,
                progress=_job_progress(bar, tid, job),
                doc_progress=_job_progress(bar, did, job),
                job=job,
                only_failed=only_failed,
                cluster=on,
            )
        _update_index(c, quiet)
        job.finish(accounting=c.db.accounting())
        summary = verification_summary(c)
        console.print(verdict_table(summary))
        for key, n in summary["verified_by_key"].items():
            console.print(f"  valid signatures by key {key}: {n:,}")
        console.print(
            f"{stats.checked:,} of {stats.emails:,} emails checked ({stats.skipped_up_to_date:,} already up to date"
            + (f", {stats.failed:,} could not be checked: {', '.join(sorted(job.errors))}" if stats.failed else "")
            + f"). Job {job.id}."
        )


def verdict_table(summary: dict) -> Table:
    t = Table(title=f"{summary['emails']:,} emails")
    t.add_column("verdict")
    t.add_column("emails", justify="right")
    for v in ("verified", "altered", "suspicious", "unverified", "error"):
        t.add_row(v, f"{summary['by_verdict'].get(v, 0):,}")
    return t


@app.command()
def check(
    message: Annotated[Path, typer.Argument(help="One email file (.eml): the raw message as received.")],
    keys: Annotated[list[Path] | None, typer.Option("--keys", "-k", help="Extra key file(s).")] = None,
    dns: Annotated[bool, typer.Option("--dns", help="Also look keys up in live DNS.")] = False,
    published: Annotated[str | None, typer.Option(help="When the dump was published.")] = None,
    existed_by: Annotated[
        str | None,
        typer.Option(help="A date by which this message provably existed (needs --source), e.g. 2016-11-03."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="What proves --existed-by, e.g. 'OpenTimestamps attestation <file>'.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check one message, no case needed: a plain-language verdict first, then the evidence.

    Exit code: 0 verified, 3 altered, 4 anything else.

    Example: leaklens check leaked.eml --keys old-keys.txt --published 2017-05-05
    """
    import json

    from .verify.case_keys import case_archive
    from .verify.keys import DnsKeySource
    from .verify.message import verify_message

    try:
        raw = message.read_bytes()
    except FileNotFoundError:
        raise LeaklensError(f"{message}: no such file") from None
    except OSError as exc:
        raise LeaklensError(f"{message}: cannot read: {exc.strerror}") from None
    result = verify_message(
        raw,
        case_archive(None, keys or []),
        dns=DnsKeySource() if dns else None,
        published=_published(published),
        timestamps=_existence(existed_by, source),
    )
    if as_json:
        console.print_json(json.dumps(result.to_dict(), default=str))
    else:
        colour = {"verified": "green", "altered": "red", "suspicious": "yellow"}.get(result.verdict, "white")
        console.print(f"[bold {colour}]{result.verdict.upper()}[/]  {escape(result.summary)}\n")
        for f in result.findings:
            console.print(f"[bold]{f.code}[/] ({f.severity}): {escape(f.message)}")
            for k, v in evidence_shown(f.evidence).items():
                console.print(f"    {k}: {escape(str(v))[:300]}", style="dim")
    raise typer.Exit({"verified": 0, "altered": 3}.get(result.verdict, 4))


@app.command()
def timestamp(
    target: Annotated[str, typer.Argument(help="A file, a SHA-256 or an item id: what is attested.")],
    at: Annotated[str, typer.Option("--at", help="When it provably existed, e.g. 2016-11-03T10:00Z.")],
    source: Annotated[str, typer.Option(help="What attests it (an OpenTimestamps proof, an archive copy...).")],
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
) -> None:
    """Record that an item existed by a date, with the source that proves it.

    A signature made with a key whose private half was later published proves only what existed
    before; a recorded timestamp (or the dump's --published date) is that proof. Run verify after.

    Example: leaklens timestamp leaked.eml --at 2016-11-03 --source "OpenTimestamps proof leaked.eml.ots"
    """
    import hashlib

    from .verify import timestamps

    when = _published(at)
    assert when is not None
    with Case.open(case, db=db) as c:
        path = Path(target)
        if path.is_file():
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
        elif (row := c.db.item(target)) is not None:
            sha = row["sha256"]
        else:
            sha = target
        entry = timestamps.record(c, sha, when, source)
        c.db.commit()
    console.print(
        f"recorded: {entry['sha256']} existed by {utc_text(entry['at'], 'second')} ({entry['source']})."
        " Run verify again."
    )


@app.command("jobs")
def jobs_command(
    job_id: Annotated[str | None, typer.Argument(help="One job: its figures and failed items by stage.")] = None,
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option(help="Failed items shown per stage.")] = 20,
) -> None:
    """Every run of ingest and verify on the case (newest first), or one job in full.

    Example: leaklens jobs  ·  leaklens jobs 20261202T101500-3fa2c1
    """
    from .jobs import job_detail, list_jobs

    with Case.open(case, db=db) as c:
        if job_id is None:
            t = Table(title="Jobs")
            for col in ("job", "command", "state", "started", "seconds", "who", "done", "items/s", "errors", "why"):
                t.add_column(col, overflow="fold", no_wrap=col in ("job", "started"))
            for j in list_jobs(c):
                t.add_row(
                    j["id"], j["command"], j["state"], utc_text(j["started"], "second"), f"{j['seconds'] or 0:,.1f}",
                    escape(f"{j['user']}@{j['host']}"), f"{j['done'] or 0:,}", f"{j['rate_avg'] or 0:,.1f}",
                    f"{j['errors_total']:,}", escape(j["reason"] or ""),
                )  # fmt: skip
            console.print(t)
            return
        j = job_detail(c, job_id, max_errors=limit)
    if j is None:
        raise LeaklensError(f"no job {job_id!r} in this case ('leaklens jobs' lists them)")
    why = f" ({escape(j['reason'])})" if j["reason"] else ""
    console.print(f"[bold]{j['command']}[/bold] job {j['id']}: {j['state']}{why}")
    console.print(
        f"{utc_text(j['started'], 'second')} to {utc_text(j['ended'], 'second') or 'now'} "
        f"by {escape(str(j['user']))}@{escape(str(j['host']))}: "
        f"{j['done'] or 0:,} items, {j['rate_avg'] or 0:,.1f} items/s on average"
    )
    if j["accounting"] and "items" in j["accounting"]:
        console.print(f"Accounted for: {identity_line(j['accounting'])}.")
    for stage, failed in sorted(j["failed"].items()):
        t = Table(title=f"{stage}: {j['errors'].get(stage, len(failed)):,} failed")
        t.add_column("item", overflow="fold")
        t.add_column("why", overflow="fold")
        t.add_column("state now")
        for e in failed:
            t.add_row(escape(e["path"] or e["item_id"]), escape(e["reason"] or ""), e["state_now"] or "")
        console.print(t)


keys_app = typer.Typer(
    help="The key archive: bundled historical DKIM keys plus the ones you import.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")

from .spread.commands import spread_app  # noqa: E402 - the spread module's verbs, thin like these

app.add_typer(spread_app, name="spread")


@keys_app.command("list")
def keys_list(case: CaseOpt = DEFAULT_CASE, db: DbOpt = None) -> None:
    """List every key leaklens can use in this case, with its provenance and validity window."""
    from .verify.case_keys import case_archive

    c = Case.open(case, db=db) if Case.exists(case) else None
    archive = case_archive(c)
    t = Table(title=f"{len(archive.records)} keys" + ("" if c else " (bundled only: no case here)"))
    columns = ("selector._domainkey.domain", "type", "bits", "first seen", "last seen", "private key public", "source")
    for col in columns:
        t.add_column(col, overflow="fold")
    for r in archive.records:
        source = r.source or ""
        if r.signs_for:
            source += f" | signs for {', '.join(r.signs_for)} ({r.signs_for_source})"
        t.add_row(
            f"{r.selector}._domainkey.{r.domain}",
            r.key_type,
            str(r.key_bits or "?"),
            str(r.first_seen or ""),
            str(r.last_seen or ""),
            escape(f"{r.private_published} ({r.private_source})" if r.private_published else ""),
            escape(source),
        )
    console.print(t)
    if c:
        c.close()


@keys_app.command("import")
def keys_import(
    files: Annotated[list[Path], typer.Argument(help="Zone-file TXT lines or leaklens key JSON (with provenance).")],
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
) -> None:
    """Import keys into the case; the next 'leaklens verify' re-checks only the emails they concern."""
    from .verify.case_keys import import_into_case

    with Case.open(case, db=db) as c:
        for f in files:
            records = import_into_case(c, f)
            console.print(
                f"imported {len(records)} key(s) from {f}: "
                + ", ".join(f"{r.selector}._domainkey.{r.domain}" for r in records)
            )


@app.command()
def serve(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Anything but loopback requires --auth.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    auth: Annotated[
        str | None,
        typer.Option(help="Password/token required to log in (required off loopback).", envvar="LEAKLENS_AUTH"),
    ] = None,
) -> None:
    """Open the web workbench over a case: search, read, check every item."""
    from .web.server import run

    Case.open(case, db=db).close()
    run(case, host=host, port=port, auth=auth)


@app.command()
def people(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    top: Annotated[int, typer.Option(help="Values shown per attribute.")] = 10,
) -> None:
    """Who made the documents: editors, companies, applications, codepages, time zones, scripts, with counts.

    Outliers (doc.foreign_editor) are judged against this population; run 'leaklens verify' first.
    """
    from .verify.case_docs import population

    with Case.open(case, db=db) as c:
        pop = population(c)
    console.print(f"{pop['documents']:,} documents with metadata")
    for key in ("editors", "companies", "applications", "producers", "codepages", "languages", "time_zones", "scripts"):
        values = pop.get(key) or []
        if not values:
            continue
        t = Table(title=key.replace("_", " "), title_justify="left")
        t.add_column("value")
        t.add_column("documents", justify="right")
        for v in values[:top]:
            t.add_row(escape(str(v["value"])), f"{v['count']:,}")
        if len(values) > top:
            t.caption = f"… and {len(values) - top} more"
        console.print(t)


@app.command()
def entities(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    type: Annotated[
        str | None, typer.Option("--type", "-t", help="One kind: iban, bic, card, phone, money, email, url, domain, "
                                 "date, person, org.")
    ] = None,
    top: Annotated[int, typer.Option(help="Entities to list.")] = 20,
    value: Annotated[str | None, typer.Option(help="One entity (with --type): every item that names it.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """The most named entities (accounts, phones, amounts, people, companies...) and where they appear.

    Example: leaklens entities --type iban --top 10; leaklens entities --type iban --value FR76300060000112345678901

    Found at ingest in every text (bodies, attachments, documents, OCR of scans), each validated (check digits,
    numbering plans, calendars) and kept with its position; payment cards are only ever shown masked.
    """
    import json

    from .investigate.entities import entity_page, kinds_count, top_entities

    if format not in ("table", "json"):
        raise UsageError("--format must be table or json")
    if value is not None and type is None:
        raise UsageError("--value needs --type (e.g. --type iban --value FR76...)")
    with Case.open(case, db=db) as c:
        try:
            data = entity_page(c.db, type, value) if value is not None else top_entities(c.db, kind=type, top=top)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        kinds = kinds_count(c.db)
    if format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if value is not None:
        console.print(f"[bold]{type} {value}[/bold]: {data['mentions']:,} mentions in {len(data['items']):,} items"
                      + (f", {utc_text(data['first'], 'day')} to {utc_text(data['last'], 'day')}"
                         if data["first"] else ""))  # fmt: skip
        table = Table("item", "kind", "date", "sender", "where")
        for i in data["items"]:
            table.add_row(
                escape(i["name"] or i["id"]), i["kind"] or "", utc_text(i["date"], "day"), escape(i["sender"] or ""),
                escape(i["mentions"][0]["snippet"]),
            )
        console.print(table)
        return
    if not kinds:
        console.print("No entities in this case (they are found at ingest; run 'leaklens ingest' again to read them).")
        return
    table = Table("kind", "value", "mentions", "items")
    for e in data:
        table.add_row(e["kind"], escape(e["value"]), f"{e['mentions']:,}", f"{e['items']:,}")
    console.print(table)
    console.print("By kind: " + ", ".join(f"{k['kind']} {k['distinct']:,}" for k in kinds))


@app.command()
def domains(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    protect: Annotated[
        list[str] | None,
        typer.Option("--protect", "-p", help="A domain of the organisation (repeat). Kept in the case for verify."),
    ] = None,
    domains_file: Annotated[
        Path | None,
        typer.Option("--domains", help="Also score a list of domains, one a line (certificate transparency, DNS)."),
    ] = None,
    lure: Annotated[
        Path | None, typer.Option("--lure", help="More lure words, one a line (kept in the case).")
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Find lookalikes of the organisation's domains among every domain the case mentions (and a list).

    Example: leaklens domains --protect en-marche.fr --protect office.com --domains ct-log.txt

    Gathers From, Reply-To, Return-Path, Sender, Received hosts, Message-ID, DKIM d=, link targets and URLs
    of bodies, HTML attachments and documents; scores each registrable domain against the protected ones
    (tld-swap, idn-homograph, homoglyph, dnstwist fuzzers, keyboard, edit-distance, combosquatting,
    subdomain) and flags the emails that use them (intel.* findings). Offline: nothing is looked up.
    """
    from .intel import ranked
    from .intel.lookalike import Scorer
    from .intel.steps import analyse, set_protected
    from .intel.tables import lure_words_of, protected_of

    if format not in ("table", "json", "csv"):
        raise UsageError("--format must be table, json or csv")
    words = None
    if lure is not None:
        try:
            words = [w for w in lure.read_text(encoding="utf-8").split() if not w.startswith("#")]
        except OSError as exc:
            raise LeaklensError(f"cannot read {lure}: {exc.strerror}") from None
    rows: list[dict] = []
    stats: dict = {}
    if domains_file is not None and db is None and not (case / "case.db").exists():
        scorer = Scorer(protect or [], lure_words=words or ())  # a list alone, no case
        rows = list(ranked.score_list(scorer, domains_file, stats))
    else:
        with Case.open(case, db=db) as c:
            if protect:
                set_protected(c, protect, words)
            elif words is not None:
                set_protected(c, protected_of(c.db), words)
            if not protected_of(c.db):
                raise UsageError("no protected domain: give the organisation's with --protect DOMAIN")
            c.db.begin()
            try:
                result, _ = analyse(c)
                from .steps import derive_verdicts
                from .store.base import ItemQuery

                derive_verdicts(c.db, ItemQuery(kind="email", state="stored"))
            finally:
                c.db.commit()
            rows = ranked.case_lookalikes(c)
            err.print(f"{result.domains:,} domains in the case scored against {', '.join(result.protected)}: "
                      f"{len(rows):,} lookalikes, {result.emails_flagged:,} emails flagged")  # fmt: skip
            if domains_file is not None:
                scorer = Scorer(protected_of(c.db), lure_words=lure_words_of(c.db))
                rows += list(ranked.score_list(scorer, domains_file, stats))
    if stats:
        rate = stats["lines"] / stats["seconds"] if stats["seconds"] else 0
        err.print(f"{domains_file}: {stats['lines']:,} lines, {stats['domains']:,} domains scored ({rate:,.0f}/s)")
    if format == "json":
        ranked.write_json(rows, sys.stdout)
    elif format == "csv":
        ranked.write_csv(rows, sys.stdout)
    else:
        t = Table(title=f"{len(rows):,} lookalike domains")
        for col in ("domain", "imitates", "technique", "score", "first seen", "last seen", "where seen"):
            t.add_column(col, justify="right" if col == "score" else "left")
        for r in rows:
            shown = r["shown"] if r["shown"] == r["domain"] else f"{r['shown']} ({r['domain']})"
            t.add_row(escape(shown), r["target"], ", ".join(r["techniques"]), str(r["score"]),
                      utc_text(r.get("first_seen"), "day"), utc_text(r.get("last_seen"), "day"),
                      escape(ranked.where_text(r)))  # fmt: skip
        console.print(t)


@app.command()
def iocs(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", help="csv, stix (STIX 2.1 bundle) or misp.")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
) -> None:
    """Export the case's indicators: domains, URLs, IP addresses, sender addresses, attachment hashes, with where
    each was seen (lookalikes of the protected domains first, marked malicious).

    Example: leaklens iocs --format stix -o case-iocs.json
    """
    from .intel.iocs import FORMATS, WRITERS, indicators
    from .intel.steps import analyse

    if format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    with Case.open(case, db=db) as c:
        c.db.begin()
        try:
            analyse(c)  # the indicators as the case holds them now
        finally:
            c.db.commit()
        kwargs = {} if format == "csv" else {"case_name": f"case {c.root.name}"}
        try:
            out = sys.stdout if output is None else open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise LeaklensError(f"cannot write {output}: {exc.strerror}") from None
        try:
            n = WRITERS[format](indicators(c), out, **kwargs)
        finally:
            if output is not None:
                out.close()
    err.print(f"{n:,} indicators written" + (f" to {output}" if output else ""))


@app.command()
def demo(
    case: CaseOpt = Path("leaklens-demo"),
    out: Annotated[Path, typer.Option(help="Where the sample dump is written.")] = Path("leaklens-demo-dump"),
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Open the web workbench afterwards.")] = True,
    port: Annotated[int, typer.Option(help="Port for the web workbench.")] = 8000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Build the bundled sample leak (seeded, deterministic), ingest and verify it, then serve it.

    The sample is a fictional campaign's mailboxes (mbox in a zip) and documents (in a 7z), with planted
    forgeries; MANIFEST.json beside it lists what each item should be found to be.
    """
    from .demo.build import build_demo_case
    from .verify.case_verify import verification_summary

    with _bar("ingest", quiet, "verify") as (bar, itid, vtid):
        build_demo_case(
            case,
            out,
            ingest_progress=_ingest_progress(bar, itid),
            verify_progress=lambda done, total: bar.update(vtid, completed=done, total=total, items_done=done),
        )
    console.print(f"Sample dump written to {out}/ (what was planted: {out}/MANIFEST.json)")
    with Case.open(case) as c:
        console.print(accounting_table(c.db.accounting()))
        console.print(verdict_table(verification_summary(c)))
    console.print(
        f"\nDemo case ready in {case}/. Try:\n"
        f"  leaklens search --case {case} 'virement'\n"
        f"  leaklens report --case {case} --format html -o demo-report.html"
    )
    if serve_after:
        from .web.server import run

        run(case, host="127.0.0.1", port=port, auth=None)


@app.command()
def fsck(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Hashing threads (default: every core).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Check the case: re-hash every blob and range, every item's parent chain, the accounting identity and
    the database's own integrity. Each difference is named by item, blob and byte range; exit 1 on any.

    Example: leaklens fsck --case ./leaklens-case
    """
    from .integrity import fsck as run_fsck

    with Case.open(case, db=db) as c, _bar("hashing", quiet) as (bar, tid):
        def draw(done: int, total: int) -> None:
            bar.update(tid, completed=done / 1e6, total=max(total, 1) / 1e6)

        rep = run_fsck(c, workers=workers, progress=draw)
    summary = (
        f"{rep.items:,} items, {rep.blobs:,} blob files and {rep.ranges:,} ranges, {rep.bytes / 1e9:,.2f} GB hashed"
        f" in {rep.seconds:.1f} s ({rep.bytes / 1e9 / max(rep.seconds, 1e-9):,.2f} GB/s)"
    )
    if rep.clean:
        console.print(f"fsck: no problem found. {summary}.")
        return
    t = Table(title=f"fsck: {len(rep.problems):,} problems", show_lines=False)
    for col in ("code", "item", "path", "blob", "bytes", "what"):
        t.add_column(col, overflow="fold")
    for p in rep.problems:
        span = f"{p.start}-{p.end}" if p.start is not None else ""
        t.add_row(p.code, p.item or "", escape(p.path or ""), (p.blob or "")[:16], span, escape(p.message))
    console.print(t)
    console.print(summary)
    raise typer.Exit(1)


@app.command()
def manifest(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
) -> None:
    """Write the case's manifest, CSV: every source file and item with its sha256, size and path chain, one line
    each, streamed; its last line, a comment, gives the sha256 of the lines above (also printed at the end).

    Example: leaklens manifest -o manifest.csv  (check: head -n -1 manifest.csv | sha256sum)
    """
    from .integrity import write_manifest

    with Case.open(case, db=db) as c:
        try:
            out = sys.stdout if output is None else open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise LeaklensError(f"cannot write {output}: {exc.strerror}") from None
        try:
            digest, n = write_manifest(c, out)
        finally:
            if output is not None:
                out.close()
    err.print(f"{n - 1:,} lines written" + (f" to {output}" if output else ""))
    err.print(f"manifest sha256: {digest}")


@app.command()
def audit(
    case: CaseOpt = DEFAULT_CASE,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest entries to show (0: all).")] = 50,
) -> None:
    """List the case's audit log, newest first: who ran which command or web action, when, with which version
    and options. The log is append-only.

    Example: leaklens audit -n 20
    """
    import json

    with Case.open(case, db=db) as c:
        entries = c.db.audit_entries(limit or None)
    t = Table(title="audit log")
    for col in ("when", "who", "via", "version", "command", "options", "outcome"):
        t.add_column(col, overflow="fold")
    for e in entries:
        t.add_row(utc_text(e["at"], "second"), escape(e["who"]), e["via"], e["version"], escape(e["command"]),
                  escape(json.dumps(e["options"], ensure_ascii=False)), e["outcome"] or "")
    console.print(t)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(message)}")
    sys.exit(code)


def main() -> None:
    try:
        app()
    except LeaklensError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted: run the same command again to resume")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - whatever happens ends in one clear line
        if getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in str(exc):
            _fail("the disk is full: free some space and run the same command again")
        if isinstance(exc, OSError):
            _fail(f"{exc.strerror or exc}: {exc.filename or ''}")
        import tempfile
        import traceback

        log = Path(tempfile.gettempdir()) / "leaklens-error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        _fail(f"internal error: {type(exc).__name__}: {str(exc)[:300]} (details in {log}; please report it)", 70)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context, version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False
) -> None:
    if version:
        console.print(f"leaklens {__version__}")
        raise typer.Exit()
    from .audit import cli_hook  # every command, in the audit log of the case it names

    cli_hook(ctx)
