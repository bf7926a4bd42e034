"""`leaklens search` for scripts: hits and batch rows as JSON or CSV, the columns declared once."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from .investigate.batch import BatchRow

FORMATS = ("table", "json", "csv")
# A hit's columns, in the order the CSV writes them (the snippet without its match markers).
HIT_COLUMNS = ("id", "date", "email_from", "subject", "name", "path", "kind", "ext", "size", "verdict", "snippet")


def plain(snippet: str | None) -> str:
    return (snippet or "").replace("\x02", "").replace("\x03", "")


def hit_record(hit: dict[str, Any]) -> dict[str, Any]:
    return {k: (plain(hit.get(k)) if k == "snippet" else hit.get(k)) for k in HIT_COLUMNS}


def hits_json(query: str, sort: str, total: int, hits: Sequence[dict[str, Any]]) -> str:
    doc = {"query": query, "sort": sort, "total": total, "hits": [hit_record(h) for h in hits]}
    return json.dumps(doc, ensure_ascii=False, indent=1)


def hits_csv(hits: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, HIT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for h in hits:
        w.writerow(hit_record(h))
    return buf.getvalue()


def batch_json(rows: Sequence[BatchRow]) -> str:
    return json.dumps(
        [{"term": r.term, "count": r.count, "error": r.error} for r in rows], ensure_ascii=False, indent=1
    )


def batch_csv(rows: Sequence[BatchRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("term", "count", "error"))
    for r in rows:
        w.writerow((r.term, "" if r.count is None else r.count, r.error or ""))
    return buf.getvalue()
