"""Ingest depends on the data model and the store, never on verification (the data flows one way)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from helpers import ROOT

INGEST = ROOT / "src" / "leaklens" / "ingest"


def _imported(path: Path) -> set[str]:
    """Absolute names of the modules `path` imports (relative imports resolved)."""
    package = path.relative_to(ROOT / "src").with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def test_no_ingest_module_imports_verify():
    offenders = {
        str(p.relative_to(ROOT)): sorted(n for n in _imported(p) if n.startswith("leaklens.verify"))
        for p in INGEST.rglob("*.py")
    }
    assert {p: n for p, n in offenders.items() if n} == {}


def test_importing_all_of_ingest_loads_nothing_of_verify():
    """Transitively too: what ingest imports (case, store, model) does not pull verify/ in."""
    code = (
        "import importlib, pkgutil, sys, leaklens.ingest as ing\n"
        "for m in pkgutil.walk_packages(ing.__path__, 'leaklens.ingest.'): importlib.import_module(m.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('leaklens.verify')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_verify_verdict_is_the_same_table():
    """verify/verdict.py re-exports the data model's verdict logic: one table, registered once."""
    from leaklens import verdicts
    from leaklens.verify import verdict

    assert verdict.EFFECTS is verdicts.EFFECTS and verdict.HEURISTIC is verdicts.HEURISTIC
    assert verdict.verdict_for is verdicts.verdict_for and verdict.register_effect is verdicts.register_effect
