"""The report's ITEM objects (DESIGN.md contract) and the header before them, for every output.

What an item and the case's figures are is read in investigate/ (shared with the workbench).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import __version__
from ..case import Case
from ..investigate.figures import duplicate_groups, summary
from ..investigate.items import item_dict
from ..verify.case_docs import population

__all__ = ["item_dict", "iter_items", "report_header", "summary", "duplicate_groups"]


def iter_items(case: Case) -> Iterator[dict[str, Any]]:
    findings = case.db.all_findings()
    for row in case.db.items():
        yield item_dict(row, findings.get(row["id"], []))


def report_header(case: Case) -> dict[str, Any]:
    """Everything of the JSON report except its items, in contract order."""
    return {
        "leaklens": __version__,
        "case": case.info(),
        "summary": summary(case),
        "population": population(case),
        "duplicate_groups": duplicate_groups(case),
    }
