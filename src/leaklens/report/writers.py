"""Report formats: json (one object), jsonl (one item per line), csv (one row per item)."""

from __future__ import annotations

import csv
import json
from typing import IO

from ..case import Case
from .html_report import write_html
from .items import iter_items, report_header

FORMATS = ("json", "jsonl", "csv", "html")
CSV_COLUMNS = (
    "id",
    "path",
    "sha256",
    "kind",
    "parent",
    "size",
    "verdict",
    "state",
    "reason",
    "mime",
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message_id",
    "finding_codes",
)


def write_json(case: Case, out: IO[str]) -> None:
    doc = report_header(case)
    # Written piece by piece so that a million-item case never sits in memory twice.
    out.write("{")
    for key, value in doc.items():
        out.write(json.dumps(key) + ": " + json.dumps(value, ensure_ascii=False, default=str) + ", ")
    out.write('"items": [')
    for n, item in enumerate(iter_items(case)):
        out.write(("," if n else "") + "\n" + json.dumps(item, ensure_ascii=False, default=str))
    out.write("\n]}\n")


def write_jsonl(case: Case, out: IO[str]) -> None:
    for item in iter_items(case):
        out.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")


def write_csv(case: Case, out: IO[str]) -> None:
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for item in iter_items(case):
        email = item["email"] or {}
        w.writerow(
            [
                item["id"],
                item["path"],
                item["sha256"],
                item["kind"],
                item["parent"],
                item["size"],
                item["verdict"],
                item["state"],
                item["reason"],
                item["mime"],
                email.get("from"),
                email.get("to"),
                email.get("cc"),
                email.get("subject"),
                email.get("date"),
                email.get("message_id"),
                " ".join(f["code"] for f in item["findings"]),
            ]
        )


WRITERS = {"json": write_json, "jsonl": write_jsonl, "csv": write_csv, "html": write_html}
