"""docs/specification.md names a test for each assertion: every one it names must exist, and every
assertion names one or says honestly that it is untested. Then the tests the specification needed
that did not exist yet (ingest leaves the sources alone, every hash is of the stored bytes, the
report carries the stored hashes, every item not stored says why)."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path

from helpers import assert_balanced, build_case, rows

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "specification.md"
ASSERTION = re.compile(r"^- \*\*(A-[A-Z]+-\d+\.\d+)\*\*(.*)$")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _assertions() -> list[tuple[str, str]]:
    """(id, text) of each assertion; its text runs on over the indented lines that follow it."""
    found: list[list[str]] = []
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        m = ASSERTION.match(line)
        if m:
            found.append([m.group(1), m.group(2)])
        elif found and line.startswith("  ") and line.strip():
            found[-1][1] += " " + line.strip()
        elif found and not line.strip():
            found.append(["", ""])  # a blank line ends the assertion
    return [(a, t) for a, t in found if a]


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_test_the_specification_names_exists():
    refs = TEST_REF.findall(SPEC.read_text(encoding="utf-8"))
    assert len(refs) >= 20
    missing = [f"{f}::{t}" for f, t in refs if not (ROOT / f).is_file() or t not in _test_functions(ROOT / f)]
    assert not missing, f"docs/specification.md names tests that do not exist: {missing}"


def test_every_assertion_names_a_test_or_says_it_is_untested():
    assertions = _assertions()
    assert len(assertions) >= 20
    ids = [a for a, _ in assertions]
    assert len(ids) == len(set(ids)), "assertion ids are unique"
    for ident, text in assertions:
        assert TEST_REF.search(text) or "untested" in text.lower(), f"{ident} names no test and is not marked untested"


def _dump(root: Path) -> Path:
    src = root / "dump"
    (src / "mail").mkdir(parents=True)
    msg = (b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: ledger\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee ledger\r\n"
           b"--b\r\nContent-Type: application/octet-stream; name=l.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"AAECAwQFBgc=\r\n--b--\r\n")
    (src / "mail" / "one.eml").write_bytes(msg)
    mbox = b"".join(b"From a@b Tue Mar  1 10:00:00 2022\nFrom: a@b\nSubject: m%d\n\n>From quoted\nbody %d\n\n" % (i, i)
                    for i in range(3))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("box.mbox", mbox)
        zf.writestr("inner/one.eml", msg)
        zf.writestr("notes.txt", b"plain notes")
    (src / "dump.zip").write_bytes(buf.getvalue())
    (src / "broken.zip").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    os.symlink("/etc/passwd", src / "link")
    return src


def _snapshot(src: Path) -> dict[str, tuple[str, int, int]]:
    out = {}
    for p in sorted(src.rglob("*")):
        st = p.lstat()
        body = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
        out[str(p.relative_to(src))] = (body, st.st_size, st.st_mtime_ns)
    return out


def test_ingest_leaves_the_source_files_untouched(tmp_path):
    src = _dump(tmp_path)
    before = _snapshot(src)
    build_case(tmp_path, src)
    assert _snapshot(src) == before  # same names, bytes, sizes and modification times; nothing added


def test_every_stored_item_hash_is_the_sha256_of_its_stored_bytes(tmp_path):
    case = build_case(tmp_path, _dump(tmp_path))
    assert_balanced(case)
    stored = [r for r in rows(case) if r["state"] == "stored"]
    assert len(stored) >= 10
    for r in stored:
        data = case.blobs.read(r["sha256"])
        assert hashlib.sha256(data).hexdigest() == r["sha256"], r["path"]
        assert len(data) == r["size"], r["path"]


def test_the_json_report_carries_each_items_stored_hash_and_path(tmp_path):
    from leaklens.report.writers import write_json

    case = build_case(tmp_path, _dump(tmp_path))
    out = io.StringIO()
    write_json(case, out)
    doc = json.loads(out.getvalue())
    by_id = {r["id"]: r for r in rows(case)}
    assert {i["id"] for i in doc["items"]} <= set(by_id)
    assert doc["items"]
    for item in doc["items"]:
        assert item["sha256"] == by_id[item["id"]]["sha256"]
        assert item["path"] == by_id[item["id"]]["path"]


def test_every_item_not_stored_states_its_reason(tmp_path):
    case = build_case(tmp_path, _dump(tmp_path))
    assert_balanced(case)
    not_stored = [r for r in rows(case) if r["state"] != "stored"]
    assert not_stored, "the symlink is skipped"
    assert all(r["reason"] for r in not_stored), [(r["path"], r["state"]) for r in not_stored]
