"""The demo case, built the way a user would: generate the leak, ingest, import keys, verify."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..case import Case
from ..errors import LeaklensError
from ..ingest.walker import Progress, ingest
from ..intel.steps import set_protected
from ..steps import Run, run_steps
from ..verify.case_keys import import_into_case
from ..verify.case_verify import verify_case
from .generate import DemoManifest, generate_demo


def build_demo_case(
    case_dir: Path,
    dump_dir: Path,
    *,
    ingest_progress: Progress | None = None,
    verify_progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> DemoManifest:
    if case_dir.exists():
        if not (case_dir / "case.db").exists():
            raise LeaklensError(f"{case_dir} exists and is not a leaklens case; choose another --case")
        shutil.rmtree(case_dir)
    manifest = generate_demo(dump_dir)
    with Case.open(case_dir, create=True) as case:
        fill_demo_case(case, dump_dir, manifest, ingest_progress=ingest_progress, verify_progress=verify_progress,
                       workers=workers)  # fmt: skip
    return manifest


def fill_demo_case(
    case: Case,
    dump_dir: Path,
    manifest: DemoManifest,
    *,
    ingest_progress: Progress | None = None,
    verify_progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> None:
    """The generated leak in `dump_dir` into an open case, on any backend: ingest, the texts steps,
    the keys, the protected domain, verify (what `leaklens demo` does, and the tests' demo cases)."""
    case.set_published(datetime.fromisoformat(manifest.published))
    sources = sorted(p for p in dump_dir.iterdir() if p.name not in ("MANIFEST.json", manifest.keys_file))
    ingest(case, sources, progress=ingest_progress, workers=workers)
    run_steps(Run(case, workers=workers), ("texts",))  # scans read by OCR, entities and languages
    import_into_case(case, dump_dir / manifest.keys_file)
    # The organisation whose lookalikes the phishing step looks for (`leaklens domains --protect` on a real case).
    set_protected(case, [manifest.organisation["domain"]])
    verify_case(case, progress=verify_progress, workers=workers)
