"""Shared test helpers: real cases built by the real ingest pipeline."""

from __future__ import annotations

import email
import hashlib
from pathlib import Path

from leaklens.case import Case
from leaklens.ingest.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
GMAIL = CORPUS / "real" / "gmail-2015"


def cpython_email_data() -> Path | None:
    """CPython's own real-world test messages (pyenv builds ship them; Debian: libpython3.11-testsuite)."""
    candidates = [
        Path(email.__file__).resolve().parents[1] / "test" / "test_email" / "data",
        Path("/usr/lib/python3.11/test/test_email/data"),
    ]
    return next((p for p in candidates if p.is_dir()), None)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_case(tmp_path: Path, *sources: Path, name: str = "case", workers: int = 1, **limits) -> Case:
    from leaklens.ingest.walker import ingest

    case = Case.open(tmp_path / name, create=True)
    ingest(case, list(sources), limits=Limits(**limits), workers=workers)
    return case


def rows(case: Case, where: str = "", args=()) -> list[dict]:
    return [dict(r) for r in case.db.items(where, args)]


def codes(case: Case, item_id: str) -> list[str]:
    return [f.code for f in case.db.findings_for(item_id)]


def assert_balanced(case: Case) -> dict:
    acc = case.db.accounting()
    items = acc["items"]
    assert items["pending"] == 0
    assert items["found"] == items["stored"] + items["skipped"] + items["failed"]
    files = acc["files"]
    assert files["found"] == files["stored"] + files["skipped"] + files["failed"]
    return acc
