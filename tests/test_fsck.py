"""fsck and the manifest on a real case: clean when ingested, a case without chunk hashes still
checked, the manifest signed, both backends. The 1,000 seeded mutations of this case are
tests/test_fsck_mutations.py's."""

from __future__ import annotations

import hashlib
import io
import random
import shutil
import sqlite3
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import build_case
from typer.testing import CliRunner

from leaklens.case import Case
from leaklens.cli import app
from leaklens.integrity import CHUNKS, fsck, write_manifest
from leaklens.store.blobs import CHUNK


def _mbox(n: int, rng: random.Random) -> bytes:
    out = []
    for i in range(n):
        m = EmailMessage()
        m["From"] = f"anne{i}@horizon.example"
        m["To"] = "paul@horizon.example"
        m["Subject"] = f"Budget {i}"
        m["Message-ID"] = f"<{i}@horizon.example>"
        m.set_content(f"Message {i}.\n")
        if i % 3 == 0:  # members over 1 MiB: ranges that span several chunks of the mailbox
            m.add_attachment(
                rng.randbytes(1_200_000), maintype="application", subtype="octet-stream", filename=f"a{i}.bin"
            )
        out.append(b"From anne@horizon.example Tue May  2 09:00:00 2017\n" + bytes(m) + b"\n")
    return b"".join(out)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("fsck")
    rng = random.Random(15)
    src = root / "dump"
    src.mkdir()
    (src / "inbox.mbox").write_bytes(_mbox(6, rng))
    (src / "big.bin").write_bytes(rng.randbytes(3 * CHUNK + 12345))
    (src / "note.txt").write_text("hello\n")
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("docs/a.txt", "alpha " * 1000)
        zf.writestr("docs/b.bin", rng.randbytes(2 * CHUNK + 7))
    (src / "pack.zip").write_bytes(z.getvalue())
    case = build_case(root, src, workers=1)
    case.close()
    return root / "case"


def test_a_fresh_case_is_clean_and_every_blob_has_chunk_hashes(built):
    with Case.open(built) as c:
        rep = fsck(c, workers=2)
        assert rep.clean, [p.to_dict() for p in rep.problems]
        assert rep.blobs >= 5 and rep.ranges >= 4 and rep.items >= 10
        assert {r["sha256"] for r in c.db.table_rows(CHUNKS)} >= {
            s for (s,) in c.db.item_values(("sha256",)) if s and c.blobs.path(s).exists()
        }
    r = CliRunner().invoke(app, ["fsck", "--case", str(built), "-q"])
    assert r.exit_code == 0, r.output
    assert "no problem" in r.output


def _blob_files(case_dir: Path) -> list[Path]:
    return sorted(p for p in (case_dir / "blobs").rglob("*") if p.is_file() and len(p.name) == 64)


def test_a_case_without_chunk_hashes_still_detects_but_cannot_narrow(built, tmp_path):
    copy = tmp_path / "old"
    shutil.copytree(built, copy)
    with sqlite3.connect(copy / "case.db") as conn:
        conn.execute("DELETE FROM blob_chunks")
    f = max(_blob_files(copy), key=lambda p: p.stat().st_size)
    data = bytearray(f.read_bytes())
    data[CHUNK + 5] ^= 0xFF
    f.write_bytes(bytes(data))
    r = CliRunner().invoke(app, ["fsck", "--case", str(copy), "-q"])
    assert r.exit_code == 1
    assert "problems" in r.output
    with Case.open(copy) as c:
        rep = fsck(c)
    bad = [p for p in rep.problems if p.blob == f.name]
    assert bad and all("cannot be narrowed" in p.message for p in bad)
    assert all(p.start is None for p in bad if p.code == "blob.mismatch")  # no range claimed


def test_manifest_lists_every_item_and_signs_itself(built, tmp_path):
    out = tmp_path / "manifest.csv"
    r = CliRunner().invoke(app, ["manifest", "--case", str(built), "-o", str(out)])
    assert r.exit_code == 0, r.output
    lines = out.read_bytes().splitlines(keepends=True)
    digest = hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    assert digest in lines[-1].decode() and digest in r.output
    with Case.open(built) as c:
        n_items = c.db.count_items()
        buf = io.StringIO()
        assert write_manifest(c, buf)[0] == digest  # the same case, the same manifest
    body = [ln for ln in lines[1:-1] if not ln.startswith(b"source,")]
    assert len(body) == n_items
    assert any(b"inbox.mbox!/#1," in ln for ln in body)


def test_fsck_on_both_backends(backend, tmp_path):
    """The same checks through the store on PostgreSQL: clean when ingested, a flipped byte named."""
    src = tmp_path / "dump"
    src.mkdir()
    (src / "inbox.mbox").write_bytes(_mbox(4, random.Random(3)))
    case = build_case(tmp_path, src, db=backend)
    try:
        rep = fsck(case, workers=2)
        assert rep.clean, [p.to_dict() for p in rep.problems]
        assert rep.ranges >= 4
        member, container, start, end = max(case.db.blob_ranges(), key=lambda r: r[3] - r[2])
        at = (start + end) // 2
        mbox = case.blobs.path(container)
        data = bytearray(mbox.read_bytes())
        data[at] ^= 0x01
        mbox.write_bytes(bytes(data))
        rep = fsck(case, workers=2)
        lo = at // CHUNK * CHUNK
        hits = [p for p in rep.problems if p.blob == container and p.start is not None]
        assert hits and all(lo <= p.start <= at < p.end <= lo + CHUNK for p in hits)
        named = {p.item for p in hits if p.code == "blob.range_mismatch"}
        assert named and named <= {i for (i, s) in case.db.item_values(("id", "sha256")) if s == member}
    finally:
        case.close()
