"""The report's ITEM objects (DESIGN.md contract) and the header before them, for every output.

What an item and the case's figures are is read in investigate/ (shared with the workbench).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import __version__
from ..case import Case
from ..entities.tables import ENTITIES, TEXT_SCANS
from ..investigate.entities import kinds_count, mention, top_entities
from ..investigate.figures import duplicate_groups, summary
from ..investigate.items import item_dict
from ..verify.case_docs import population

__all__ = ["item_dict", "iter_items", "report_header", "summary", "duplicate_groups"]


TOP_ENTITIES = 200
BATCH = 1000  # items whose entities and languages are read at once


def iter_items(case: Case) -> Iterator[dict[str, Any]]:
    """Every ITEM, with the entities found in its texts (kind, value, text source, offsets, the words
    around) and the language of each of its texts."""
    findings = case.db.all_findings()
    batch: list[Any] = []
    for row in case.db.items():
        batch.append(row)
        if len(batch) == BATCH:
            yield from _with_texts_facts(case, batch, findings)
            batch = []
    yield from _with_texts_facts(case, batch, findings)


def _with_texts_facts(case: Case, rows: list[Any], findings: dict) -> Iterator[dict[str, Any]]:
    if not rows:
        return
    ids = [r["id"] for r in rows]
    mentions: dict[str, list[dict[str, Any]]] = {}
    for m in case.db.table_rows_in(ENTITIES, "item_id", ids):
        mentions.setdefault(m["item_id"], []).append(mention(m))
    langs: dict[str, dict[str, str]] = {}
    for s in case.db.table_rows_in(TEXT_SCANS, "item_id", ids):
        if s["lang"]:
            langs.setdefault(s["item_id"], {})[s["source"]] = s["lang"]
    for row in rows:
        item = item_dict(row, findings.get(row["id"], []))
        found = mentions.get(row["id"], [])
        found.sort(key=lambda m: (m["source"], m["start"]))
        item["entities"] = found
        item["languages"] = langs.get(row["id"], {})
        yield item


def report_header(case: Case) -> dict[str, Any]:
    """Everything of the JSON report except its items, in contract order."""
    return {
        "leaklens": __version__,
        "case": case.info(),
        "summary": summary(case),
        "population": population(case),
        "duplicate_groups": duplicate_groups(case),
        # The case's index of entities: how many of each kind, and the most named (every mention is on its item).
        "entities": {"kinds": kinds_count(case.db), "top": top_entities(case.db, top=TOP_ENTITIES)},
    }
