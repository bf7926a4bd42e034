"""The entities, language and NER steps: every text record of the case read once, its mentions and language
kept; then, where spaCy and a model of the text's language are installed, its people and organisations."""

from __future__ import annotations

import email.utils
import functools
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..executor import CRASHED, DONE, TIMEOUT, executor_for
from ..language import detect
from ..steps import Run, step
from ..store.base import CaseStore, ItemQuery
from . import ner
from .kinds import Context, find_mentions, snippet
from .tables import ENGINE, ENTITIES, NER_SCANS, TEXT_SCANS

if TYPE_CHECKING:
    from ..cluster import Cluster

WRITE_BATCH = 500
POOL_MIN = 200  # fewer texts than this are read in this process
POOL_CHUNK = 4000  # texts read from the store at a time, then handed to the workers
SCAN_TIMEOUT = 120.0  # seconds for one text's entities and language (a pathological text is left unscanned)
# (item id, source, "timeout" | "crashed", "ner timeout" | "ner crashed") of the texts the last scan_texts
# and scan_names could not read.
SCAN_FAILURES: list[tuple[str, str, str]] = []

# Country-code top-level domains -> the numbering plan of that country (a sender at example.fr makes
# French national numbers likely); the most frequent ones first.
_CCTLD = {"uk": "GB", "gb": "GB", "fr": "FR", "ru": "RU", "de": "DE", "be": "BE", "ch": "CH", "ua": "UA",
          "it": "IT", "es": "ES", "nl": "NL", "ca": "CA", "us": "US", "ie": "IE", "lu": "LU", "by": "BY"}
DEFAULT_REGIONS = ("FR", "GB", "US", "RU")


@functools.lru_cache(maxsize=1 << 14)
def _named_addresses(value: str) -> tuple[tuple[str, str], ...]:
    """(display name, lower-case address) of each mailbox of a header value. Cached: a case's headers
    repeat the same few thousand correspondents, and parsing one costs ~40 us."""
    out = []
    for name, addr in email.utils.getaddresses([value]):
        addr = addr.lower()
        if "@" in addr:
            out.append((" ".join(name.strip(" \"'").split()), addr))
    return tuple(out)


def case_context(store: CaseStore) -> Context:
    """The case's people (every display name and address in From, To and Cc) and likely phone regions."""
    people: dict[str, str] = {}
    regions: Counter[str] = Counter()
    for values in store.item_values(("email_from", "email_to", "email_cc"), ItemQuery(kind="email", state="stored")):
        for i, value in enumerate(values):
            if not value:
                continue
            for name, addr in _named_addresses(value):
                if name and "@" not in name:
                    people.setdefault(name, addr)
                if i == 0:
                    region = _CCTLD.get(addr.rsplit(".", 1)[-1])
                    if region:
                        regions[region] += 1
    ordered = tuple(r for r, _ in regions.most_common(3))
    return Context(regions=tuple(dict.fromkeys(ordered + DEFAULT_REGIONS)), people=people)


def scan_texts(
    store: CaseStore,
    *,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    workers: int | None = 1,
    timeout: float | None = SCAN_TIMEOUT,
    cluster: Cluster | None = None,
) -> int:
    """Read every text record not scanned by this engine: its mentions into `entities`, its language
    into `text_scans`. Returns the number of texts read. With several `workers` the texts are read
    by the executor's processes (a case's million texts took 25 minutes on one core); a text whose
    reading overruns `timeout` or kills its worker is left unscanned (the next run tries again) and
    counted in `SCAN_FAILURES`. With a `cluster`, its workers read them (`ingest --cluster`)."""
    done = set() if force else {(k[0], k[1]) for k in store.table_keys(TEXT_SCANS, engine=ENGINE)}
    context = case_context(store)
    store.ensure_table(ENTITIES)
    mentions: list[dict[str, Any]] = []
    scans: list[dict[str, Any]] = []
    n = 0
    SCAN_FAILURES.clear()

    def flush() -> None:
        for s in scans:  # a text read again (a new engine, --force) replaces its mentions (not NER's)
            store.delete_rows(ENTITIES, item_id=s["item_id"], source=s["source"], scanner="patterns")
        store.put_rows(ENTITIES, mentions)
        store.put_rows(TEXT_SCANS, scans)
        # The index holds each item's entities and languages (entity:, lang:): it takes these items again.
        store.search_queue_all({s["item_id"] for s in scans})
        mentions.clear()
        scans.clear()

    def keep(result: Scanned) -> None:
        nonlocal n
        item_id, source, found, lang = result
        for kind, value, start, end, shown in found:
            mentions.append({
                "item_id": item_id, "source": source, "kind": kind, "value": value,
                "char_start": start, "char_end": end, "snippet": shown, "scanner": "patterns",
            })  # fmt: skip
        scans.append({
            "item_id": item_id, "source": source, "engine": ENGINE,
            "lang": lang[0] if lang else None, "lang_score": lang[1] if lang else None, "mentions": len(found),
        })  # fmt: skip
        n += 1
        if len(scans) >= WRITE_BATCH:
            flush()
        if progress:
            progress(n)

    todo = ((r.item_id, r.source, r.text) for r in store.iter_texts() if (r.item_id, r.source) not in done)
    read_all(todo, _scan, keep, setup=_setup, setup_args=(context,), workers=workers, timeout=timeout,
             cluster=cluster)  # fmt: skip
    if scans:
        flush()
    return n


def read_all(
    todo: Iterator[Any],
    fn: Callable[[Any], Any],
    keep: Callable[[Any], None],
    *,
    setup: Callable[..., None],
    setup_args: tuple = (),
    workers: int | None = 1,
    timeout: float | None = SCAN_TIMEOUT,
    chunks: Callable[[list[Any]], list[Any]] | None = None,
    label: str = "",
    cluster: Cluster | None = None,
) -> None:
    """`fn` of every job of `todo` (jobs whose first two fields are an item id and a text source),
    each result handed to `keep`, by the executor's workers when there are enough jobs; a job that
    overruns `timeout` or kills its worker is named in SCAN_FAILURES (with `label`) and left out.
    `chunks`, if given, completes each chunk of jobs before it is handed out (a read of the store);
    `cluster`, if given, runs the jobs on its workers instead of this machine's."""
    workers = workers if workers is not None else (os.cpu_count() or 2)
    # Read a chunk of texts, then hand it out: no database statement is open while the executor
    # forks a replacement for a killed worker (it does so from this thread).
    def next_chunk() -> list[Any]:
        chunk = list(itertools.islice(todo, POOL_CHUNK))
        return chunks(chunk) if chunks and chunk else chunk

    chunk = next_chunk()
    if workers <= 1 or len(chunk) < POOL_MIN:  # a few texts: starting workers would cost more
        setup(*setup_args)
        while chunk:
            for job in chunk:
                keep(fn(job))
            chunk = next_chunk()
        return
    with executor_for(workers, setup=setup, setup_args=setup_args, timeout=timeout, cluster=cluster) as pool:
        while chunk:
            for out in pool.map(fn, chunk, ordered=True, batch=16):
                if out.status == DONE:
                    keep(out.result)
                elif out.status in (TIMEOUT, CRASHED):
                    SCAN_FAILURES.append((out.job[0], out.job[1], label + out.status))
                else:
                    raise out.error  # a fault of leaklens's own, not the text's
            chunk = next_chunk()


# (item id, source, mentions as (kind, value, start, end, snippet), language or None): what a worker returns.
Scanned = tuple[str, str, list[tuple[str, str, int, int, str]], "tuple[str, float] | None"]
_CONTEXT: list[Context] = []


def _setup(context: Context) -> None:
    _CONTEXT[:] = [context]


def _scan(job: tuple[str, str, str]) -> Scanned:
    """One text's mentions and language (in a worker, or here)."""
    item_id, source, text = job
    found = find_mentions(text, _CONTEXT[0])
    return item_id, source, [(m.kind, m.value, m.start, m.end, _shown(text, m)) for m in found], detect(text)


def _shown(text: str, m) -> str:
    """The words around a mention; a payment card's digits masked there too (they are never shown whole)."""
    from .kinds import KINDS

    if KINDS[m.kind].masked:
        text = text[: m.start] + m.value + text[m.end :]
        return snippet(text, m.start, m.start + len(m.value))
    return snippet(text, m.start, m.end)


@step("texts.entities", needs=("texts.ocr",), group="texts", own_transactions=True)
def _entities(run: Run) -> None:
    """Entities and languages of every text not read yet (OCR text included, hence after OCR)."""
    db = run.case.db
    db.begin()
    try:
        run.results["texts.entities"] = scan_texts(
            db, force=bool(run.options.get("force")), progress=run.options.get("entities_progress"),
            workers=run.workers, cluster=run.cluster,
        )
    finally:
        db.commit()


def scan_names(
    store: CaseStore,
    *,
    force: bool = False,
    workers: int | None = 1,
    timeout: float | None = SCAN_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """spaCy's people and organisations in every text whose detected language has an installed model
    and that this model has not read: mentions into `entities` (scanner "ner"), each text into
    `ner_scans`. Returns {"texts", "mentions", "models", "truncated"}, or {"off": the one line saying
    why} when spaCy or every model is absent or broken. Needs the language step's `text_scans`."""
    reason = ner.off_reason()
    if reason:
        return {"off": reason}
    models = ner.installed()
    wanted: dict[tuple[str, str], str] = {}
    for lang, engine in models.items():
        done = set() if force else store.table_keys(NER_SCANS, engine=engine)
        for key in store.table_keys(TEXT_SCANS, lang=lang):
            if key not in done:
                wanted[key] = lang
    report: dict[str, Any] = {"texts": 0, "mentions": 0, "truncated": 0, "models": {}}
    if not wanted:
        report["models"] = models
        return report
    usable, broken = ner.usable(sorted(set(wanted.values())))
    if not usable:
        return {"off": "off (" + "; ".join(broken) + ")"}
    report["models"] = usable
    if broken:
        report["broken"] = broken
    store.ensure_table(ENTITIES)
    mentions: list[dict[str, Any]] = []
    scans: list[dict[str, Any]] = []

    def flush() -> None:
        for s in scans:  # a text read again (another model, --force) replaces its NER mentions only
            store.delete_rows(ENTITIES, item_id=s["item_id"], source=s["source"], scanner="ner")
        store.put_rows(ENTITIES, mentions)
        store.put_rows(NER_SCANS, scans)
        store.search_queue_all({s["item_id"] for s in scans})  # entity: and its facet read these rows
        mentions.clear()
        scans.clear()

    def keep(result: Named) -> None:
        item_id, source, lang, chars, truncated, found = result
        for kind, value, start, end, shown in found:
            mentions.append({
                "item_id": item_id, "source": source, "kind": kind, "value": value,
                "char_start": start, "char_end": end, "snippet": shown, "scanner": "ner",
            })  # fmt: skip
        scans.append({"item_id": item_id, "source": source, "engine": usable[lang], "lang": lang, "chars": chars,
                      "truncated": int(truncated), "mentions": len(found)})  # fmt: skip
        report["texts"] += 1
        report["mentions"] += len(found)
        report["truncated"] += int(truncated)
        if len(scans) >= WRITE_BATCH:
            flush()
        if progress:  # the recogniser reads ~0.15 MB per CPU second: a long step deserves its bar
            progress(report["texts"], total)

    def with_taken(chunk: list[tuple[str, str, str, str, list]]) -> list[tuple[str, str, str, str, list]]:
        """The chunk's jobs with the spans the pattern finders took in each text (read in one query)."""
        taken: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for r in store.table_rows_in(ENTITIES, "item_id", {job[0] for job in chunk}):
            if r["scanner"] == "patterns":
                taken.setdefault((r["item_id"], r["source"]), []).append((r["char_start"], r["char_end"]))
        return [(i, s, text, lang, taken.get((i, s), [])) for i, s, text, lang, _ in chunk]

    total = sum(1 for lang in wanted.values() if lang in usable)
    todo = (
        (r.item_id, r.source, r.text, wanted[(r.item_id, r.source)], [])
        for r in store.iter_texts()
        if wanted.get((r.item_id, r.source)) in usable
    )
    read_all(todo, _name, keep, setup=_ner_setup, setup_args=(tuple(usable),), workers=workers, timeout=timeout,
             chunks=with_taken, label="ner ")  # fmt: skip
    if scans:
        flush()
    return report


# (item id, source, language, characters read, truncated, mentions as (kind, value, start, end, snippet)).
Named = tuple[str, str, str, int, bool, list[tuple[str, str, int, int, str]]]


def _ner_setup(langs: tuple[str, ...]) -> None:
    for lang in langs:  # loaded once per worker; a forked one has them already (the coordinator loaded them)
        ner.model(lang)


def _name(job: tuple[str, str, str, str, list[tuple[int, int]]]) -> Named:
    """One text's people and organisations by the recogniser of its language (in a worker, or here)."""
    item_id, source, text, lang, taken = job
    found, chars = ner.find_named(text, lang, taken)
    return item_id, source, lang, chars, chars < len(text), [
        (m.kind, m.value, m.start, m.end, _shown(text, m)) for m in found
    ]


@step("texts.ner", needs=("texts.entities",), group="texts", own_transactions=True)
def _names(run: Run) -> None:
    """People and organisations by spaCy's recogniser where a model of the text's language is installed
    (the optional `ner` extra; `--no-ner` skips it). After the entities step: it needs each text's
    language, and leaves the spans the pattern finders took to them."""
    if not run.options.get("ner", True):
        run.results["texts.ner"] = {"skipped": True}
        return
    # Read on this machine even with --cluster: every process that reads loads spaCy and its models
    # (seconds each), which this process has loaded once; only texts in a language with a model go.
    db = run.case.db
    db.begin()
    try:
        run.results["texts.ner"] = scan_names(
            db, force=bool(run.options.get("force")), workers=run.workers, progress=run.options.get("ner_progress")
        )
    finally:
        db.commit()
