"""Export the items carrying a tag: JSON and CSV (the report's ITEM shape plus tags and notes), and a
zip of their original bytes."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from ..case import Case
from ..investigate.items import item_dict

CSV_COLUMNS = (
    "id",
    "path",
    "sha256",
    "kind",
    "verdict",
    "size",
    "from",
    "to",
    "subject",
    "date",
    "finding_codes",
    "tags",
    "notes",
)


def tagged_items(case: Case, tag: str) -> Iterator[dict[str, Any]]:
    db = case.db
    for item_id in db.tagged_item_ids(tag):
        row = db.item(item_id)
        if row is None:
            continue
        out = item_dict(row, db.findings_for(item_id))
        out["tags"] = db.tags_for(item_id)
        out["notes"] = db.notes_for(item_id)
        yield out


def as_json(case: Case, tag: str) -> str:
    return json.dumps({"tag": tag, "items": list(tagged_items(case, tag))}, ensure_ascii=False, indent=1, default=str)


def as_csv(case: Case, tag: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for it in tagged_items(case, tag):
        email = it["email"] or {}
        w.writerow(
            [
                it["id"],
                it["path"],
                it["sha256"],
                it["kind"],
                it["verdict"],
                it["size"],
                email.get("from"),
                email.get("to"),
                email.get("subject"),
                email.get("date"),
                " ".join(f["code"] for f in it["findings"]),
                " ".join(it["tags"]),
                " | ".join(n["body"] for n in it["notes"]),
            ]
        )
    return buf.getvalue()


def safe_name(name: str) -> str:
    """A file name that cannot climb out of the folder it is unzipped into."""
    name = re.sub(r"[\x00-\x1f/\\:*?\"<>|]+", "_", name or "item").strip(" .") or "item"
    return name[:120]


def as_zip(case: Case, tag: str) -> IO[bytes]:
    """A zip of the original files (spooled to disk past 64 MB); names are `<item id>-<name>`."""
    out = tempfile.SpooledTemporaryFile(max_size=64 << 20)
    manifest = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for it in tagged_items(case, tag):
            sha = it["sha256"]
            if not sha or not case.blobs.exists(sha):
                continue
            row = case.db.item(it["id"])
            arcname = f"{it['id']}-{safe_name(row['name'] if row else 'item')}"
            with case.blobs.open(sha) as src, z.open(arcname, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            manifest.append(
                {"file": arcname, "id": it["id"], "path": it["path"], "sha256": sha, "verdict": it["verdict"]}
            )
        z.writestr("manifest.json", json.dumps({"tag": tag, "files": manifest}, indent=1, ensure_ascii=False))
    out.seek(0)
    return out
