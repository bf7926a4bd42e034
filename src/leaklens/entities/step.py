"""The entities and language steps: every text record of the case read once, its mentions and language kept."""

from __future__ import annotations

import email.utils
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..language import detect
from ..steps import Run, step
from ..store.base import CaseStore, ItemQuery
from .kinds import Context, find_mentions, snippet
from .tables import ENGINE, ENTITIES, TEXT_SCANS

WRITE_BATCH = 500

# Country-code top-level domains -> the numbering plan of that country (a sender at example.fr makes
# French national numbers likely); the most frequent ones first.
_CCTLD = {"uk": "GB", "gb": "GB", "fr": "FR", "ru": "RU", "de": "DE", "be": "BE", "ch": "CH", "ua": "UA",
          "it": "IT", "es": "ES", "nl": "NL", "ca": "CA", "us": "US", "ie": "IE", "lu": "LU", "by": "BY"}
DEFAULT_REGIONS = ("FR", "GB", "US", "RU")


def case_context(store: CaseStore) -> Context:
    """The case's people (every display name and address in From, To and Cc) and likely phone regions."""
    people: dict[str, str] = {}
    regions: Counter[str] = Counter()
    for values in store.item_values(("email_from", "email_to", "email_cc"), ItemQuery(kind="email", state="stored")):
        for i, value in enumerate(values):
            if not value:
                continue
            for name, addr in email.utils.getaddresses([value]):
                addr = addr.lower()
                if "@" not in addr:
                    continue
                name = " ".join(name.strip(" \"'").split())
                if name and "@" not in name:
                    people.setdefault(name, addr)
                if i == 0:
                    region = _CCTLD.get(addr.rsplit(".", 1)[-1])
                    if region:
                        regions[region] += 1
    ordered = tuple(r for r, _ in regions.most_common(3))
    return Context(regions=tuple(dict.fromkeys(ordered + DEFAULT_REGIONS)), people=people)


def scan_texts(store: CaseStore, *, force: bool = False, progress: Callable[[int], None] | None = None) -> int:
    """Read every text record not scanned by this engine: its mentions into `entities`, its language
    into `text_scans`. Returns the number of texts read."""
    done = set() if force else {(k[0], k[1]) for k in store.table_keys(TEXT_SCANS, engine=ENGINE)}
    context = case_context(store)
    store.ensure_table(ENTITIES)
    mentions: list[dict[str, Any]] = []
    scans: list[dict[str, Any]] = []
    n = 0

    def flush() -> None:
        for s in scans:  # a text read again (a new engine, --force) replaces its mentions
            store.delete_rows(ENTITIES, item_id=s["item_id"], source=s["source"])
        store.put_rows(ENTITIES, mentions)
        store.put_rows(TEXT_SCANS, scans)
        # The index holds each item's entities and languages (entity:, lang:): it takes these items again.
        store.search_queue_all({s["item_id"] for s in scans})
        mentions.clear()
        scans.clear()

    for record in store.iter_texts():
        if (record.item_id, record.source) in done:
            continue
        found = find_mentions(record.text, context)
        lang = detect(record.text)
        for m in found:
            mentions.append({
                "item_id": record.item_id, "source": record.source, "kind": m.kind, "value": m.value,
                "char_start": m.start, "char_end": m.end, "snippet": _shown(record.text, m),
            })  # fmt: skip
        scans.append({
            "item_id": record.item_id, "source": record.source, "engine": ENGINE,
            "lang": lang[0] if lang else None, "lang_score": lang[1] if lang else None, "mentions": len(found),
        })  # fmt: skip
        n += 1
        if len(scans) >= WRITE_BATCH:
            flush()
        if progress:
            progress(n)
    if scans:
        flush()
    return n


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
            db, force=bool(run.options.get("force")), progress=run.options.get("entities_progress")
        )
    finally:
        db.commit()
