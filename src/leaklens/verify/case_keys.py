"""The case's key archive: the bundled historical keys plus the files the user imported.

Imported files are normalised to the archive's JSON form and kept inside the case
(``keys/``), so every later ``verify`` sees them and a colleague who copies the
case gets the same result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from ..case import Case
from .keys import KeyArchive, KeyRecord, import_key_file


def keys_dir(case: Case) -> Path:
    return case.root / "keys"


def case_archive(case: Case | None, extra_files: Iterable[Path] = ()) -> KeyArchive:
    archive = KeyArchive.bundled()
    if case is not None and keys_dir(case).is_dir():
        archive = archive.merge(KeyArchive.load(sorted(keys_dir(case).glob("*.json"))))
    for path in extra_files:
        archive.add(import_key_file(Path(path)))
    return archive


def import_into_case(case: Case, path: Path) -> list[KeyRecord]:
    """Read a zone file or JSON key file and keep it in the case; returns the records read."""
    records = import_key_file(Path(path))
    doc = KeyArchive(records).to_json()
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)
    keys_dir(case).mkdir(exist_ok=True)
    name = hashlib.sha256(text.encode()).hexdigest()[:16]
    (keys_dir(case) / f"imported-{name}.json").write_text(text, encoding="utf-8")
    return records
