"""Export a selection of items, the items carrying a tag or hits of a search: JSON and CSV (the
report's ITEM shape plus tags and notes), and a zip of their original bytes with a manifest of
their sha256. One code path for both: a `Selection` names what was chosen and lists the ids."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from ..case import Case
from ..investigate.items import item_dict
from .leaktext import strip_hidden

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


@dataclass(frozen=True)
class Selection:
    """What an export holds: how it was chosen (`{"tag": ...}` or `{"search": ...}`) and the ids."""

    chosen: dict[str, str]
    ids: Sequence[str]

    @property
    def stem(self) -> str:
        """The export's file name, without its extension."""
        ((how, value),) = self.chosen.items()
        return safe_name(f"leaklens-{value}" if how == "tag" else f"leaklens-search-{value}")[:80]


def of_tag(case: Case, tag: str) -> Selection:
    return Selection({"tag": tag}, case.db.tagged_item_ids(tag))


def of_search(query: str, ids: Sequence[str]) -> Selection:
    return Selection({"search": query}, list(dict.fromkeys(ids)))


def selected_items(case: Case, selection: Selection) -> Iterator[dict[str, Any]]:
    db = case.db
    for item_id in selection.ids:
        row = db.item(item_id)
        if row is None:
            continue
        out = item_dict(row, db.findings_for(item_id))
        out["tags"] = db.tags_for(item_id)
        out["notes"] = db.notes_for(item_id)
        yield out


def as_json(case: Case, selection: Selection) -> str:
    doc = {**selection.chosen, "items": list(selected_items(case, selection))}
    return json.dumps(doc, ensure_ascii=False, indent=1, default=str)


def as_csv(case: Case, selection: Selection) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for it in selected_items(case, selection):
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
    """A file name that cannot climb out of the folder it is unzipped into, nor read as another:
    bidi controls and other hidden characters removed (`Rapport_\u202efdp.exe.docx` would show as
    a PDF in a file manager)."""
    name = re.sub(r"[\x00-\x1f/\\:*?\"<>|]+", "_", strip_hidden(name or "item")).strip(" .") or "item"
    return name[:120]


def as_zip(case: Case, selection: Selection) -> IO[bytes]:
    """A zip of the original files (spooled to disk past 64 MB); names are `<item id>-<name>`; its
    manifest.json lists each file with its sha256, and the items whose bytes were not stored."""
    from .filenames import download_name  # here: filenames reads safe_name from this module

    out = tempfile.SpooledTemporaryFile(max_size=64 << 20)
    manifest, missing = [], []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for it in selected_items(case, selection):
            sha = it["sha256"]
            if not sha or not case.blobs.exists(sha):
                missing.append({"id": it["id"], "path": it["path"], "why": "its original bytes were not stored"})
                continue
            row = case.db.item(it["id"])
            # The id keeps names unique; the name is the download's (.eml for a mailbox member's `#42`).
            arcname = f"{it['id']}-{download_name(row) if row else 'item'}"
            with case.blobs.open(sha) as src, z.open(arcname, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            manifest.append(
                {"file": arcname, "id": it["id"], "path": it["path"], "sha256": sha, "verdict": it["verdict"]}
            )
        doc = {**selection.chosen, "files": manifest, "missing": missing}
        z.writestr("manifest.json", json.dumps(doc, indent=1, ensure_ascii=False))
    out.seek(0)
    return out
