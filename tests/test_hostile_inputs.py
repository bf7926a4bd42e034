"""Hostile dumps: each trick gives its finding and the rest of the dump still ingests."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import zipfile

from helpers import assert_balanced, build_case, codes, rows


def _bomb(level_bytes: int = 50 << 20, fanout: int = 4, levels: int = 2) -> bytes:
    """A nested high-ratio zip: zeros compress about 1000:1."""
    leaf = io.BytesIO()
    with zipfile.ZipFile(leaf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * level_bytes)
    data = leaf.getvalue()
    for _ in range(levels):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(fanout):
                zf.writestr(f"layer{i}.zip", data)
        data = buf.getvalue()
    return data


def test_zip_bomb_is_stopped_and_neighbours_still_ingest(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "bomb.zip").write_bytes(_bomb())
    (src / "note.txt").write_text("an innocent note about a cormorant")
    case = build_case(tmp_path, src)
    assert_balanced(case)
    zeros = rows(case, "name='zeros.bin'")
    assert zeros and all(r["state"] == "skipped" for r in zeros)
    assert all("ingest.bomb" in codes(case, r["id"]) for r in zeros)
    assert all("expansion ratio" in r["reason"] for r in zeros)
    assert rows(case, "name='note.txt'")[0]["state"] == "stored"
    # Nothing of the 800 MB the bomb would expand to reached the disk.
    on_disk = sum(p.stat().st_size for p in case.blobs.root.rglob("*") if p.is_file())
    assert on_disk < 5 << 20


def test_total_expansion_budget(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(10):
            zf.writestr(f"f{i}.bin", os.urandom(100_000))
    (tmp_path / "big.zip").write_bytes(buf.getvalue())
    case = build_case(tmp_path, tmp_path / "big.zip", max_expanded_bytes=350_000)
    acc = assert_balanced(case)
    assert acc["items"]["stored"] < 11
    (top,) = rows(case, "depth=0")
    assert "ingest.expansion_limit" in codes(case, top["id"])


def test_traversal_names_and_symlinks_recorded_never_written(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.txt", "escape attempt")
        zf.writestr("/etc/cron.d/evil", "absolute attempt")
        link = zipfile.ZipInfo("link-to-passwd")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("fine.txt", "fine")
    (tmp_path / "t.zip").write_bytes(buf.getvalue())
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as tf:
        sym = tarfile.TarInfo("sym")
        sym.type = tarfile.SYMTYPE
        sym.linkname = "/etc/shadow"
        tf.addfile(sym)
        info = tarfile.TarInfo("../up.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"up"))
    (tmp_path / "t.tar").write_bytes(tbuf.getvalue())
    case = build_case(tmp_path, tmp_path / "t.zip", tmp_path / "t.tar")
    assert_balanced(case)
    evil = rows(case, "path LIKE 't.zip!/%evil.txt'")[0]
    assert evil["state"] == "stored" and "ingest.unsafe_name" in codes(case, evil["id"])
    absolute = rows(case, "path LIKE 't.zip!/%cron.d/evil'")[0]
    assert "ingest.unsafe_name" in codes(case, absolute["id"])
    link = rows(case, "name='link-to-passwd'")[0]
    assert link["state"] == "skipped" and "ingest.symlink" in codes(case, link["id"])
    sym = rows(case, "path='t.tar!/sym'")[0]
    assert sym["state"] == "skipped"
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()
    assert not (tmp_path / "up.txt").exists()


def test_truncated_zip_yields_what_can_be_read(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("first.txt", "first member kingfisher " * 50)
        zf.writestr("second.txt", "second member " + os.urandom(5000).hex())
    data = buf.getvalue()
    cut = data[: data.index(b"second.txt") + 60]
    (tmp_path / "cut.zip").write_bytes(cut)
    case = build_case(tmp_path, tmp_path / "cut.zip")
    assert_balanced(case)
    (top,) = rows(case, "depth=0")
    assert "ingest.corrupt" in codes(case, top["id"])
    first = rows(case, "name='first.txt'")[0]
    assert first["state"] == "stored"
    assert case.blobs.read(first["sha256"]) == b"first member kingfisher " * 50
    second = rows(case, "name='second.txt'")
    assert second and "ingest.truncated" in codes(case, second[0]["id"])


def test_encrypted_zip_member(tmp_path):
    (tmp_path / "secret.txt").write_text("the password is hunter2")
    (tmp_path / "plain.txt").write_text("not secret")
    subprocess.run(["zip", "-q", "-P", "pw", "-j", str(tmp_path / "enc.zip"), str(tmp_path / "secret.txt")], check=True)
    subprocess.run(["zip", "-q", "-j", str(tmp_path / "enc.zip"), str(tmp_path / "plain.txt")], check=True)
    case = build_case(tmp_path, tmp_path / "enc.zip")
    assert_balanced(case)
    secret = rows(case, "name='secret.txt'")[0]
    assert secret["state"] == "skipped" and "ingest.encrypted" in codes(case, secret["id"])
    assert rows(case, "name='plain.txt'")[0]["state"] == "stored"


MALFORMED = {
    "missing_boundary.eml": (
        b"From: a@x.example\nSubject: no boundary\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed\n\nbody without parts heron\n",
        "mime.missing_boundary",
    ),
    "bad_base64.eml": (
        b"From: a@x.example\nSubject: bad b64\nMIME-Version: 1.0\nContent-Type: multipart/mixed; "
        b"boundary=b\n\n--b\nContent-Type: application/octet-stream; name=x.bin\n"
        b"Content-Transfer-Encoding: base64\n\nSGVsbG8gd29ybGQ*!!!=A\n--b--\n",
        "mime.bad_base64",
    ),
    "unknown_charset.eml": (
        b"From: a@x.example\nSubject: charset\nContent-Type: text/plain; charset=x-klingon\n\ncaf\xe9 egret\n",
        "mime.unknown_charset",
    ),
    "eight_bit.eml": (
        "From: Jos\u00e9 <jose@x.example>\nSubject: R\u00e9union\n\nbody\n".encode("latin-1"),
        "mime.8bit_header",
    ),
    "nul.eml": (b"From: a@x.example\nSubject: nul\n\nbody\x00with\x00nuls\n", "mime.nul_bytes"),
}


def test_malformed_mime_gives_findings_not_crashes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name, (data, _) in MALFORMED.items():
        (src / name).write_bytes(data)
    case = build_case(tmp_path, src)
    assert_balanced(case)
    for name, (data, code) in MALFORMED.items():
        (row,) = rows(case, "name=? AND depth=0", (name,))
        assert row["state"] == "stored" and row["kind"] == "email", name
        assert code in codes(case, row["id"]), (name, codes(case, row["id"]))
        assert case.blobs.read(row["sha256"]) == data
    assert case.db.search("heron")[0] == 1
    assert case.db.search("egret")[0] == 1


def test_encrypted_7z_archives(tmp_path):
    import py7zr

    with py7zr.SevenZipFile(tmp_path / "content.7z", "w", password="pw") as z:
        z.writestr(b"secret ledger", "ledger.txt")
    with py7zr.SevenZipFile(tmp_path / "header.7z", "w", password="pw", header_encryption=True) as z:
        z.writestr(b"secret names", "names.txt")
    (tmp_path / "ok.txt").write_text("still read")
    case = build_case(tmp_path, tmp_path / "content.7z", tmp_path / "header.7z", tmp_path / "ok.txt")
    assert_balanced(case)
    member = rows(case, "name='ledger.txt'")[0]
    assert member["state"] == "skipped" and "ingest.encrypted" in codes(case, member["id"])
    (hidden,) = rows(case, "path='header.7z'")
    assert hidden["state"] == "stored" and "ingest.encrypted" in codes(case, hidden["id"])
    assert rows(case, "path='ok.txt'")[0]["state"] == "stored"


def test_a_reader_process_that_dies_costs_one_item_not_the_run(tmp_path, monkeypatch):
    """A C library that segfaults on a hostile file kills its worker process: the item fails with
    ingest.crash after a retry, and every other item of the dump is read."""
    import ctypes
    import faulthandler

    from leaklens.ingest import readers
    from leaklens.ingest.readers.base import ReaderSpec

    def segfault_on_poison(src, ctx):
        if b"POISON" in src.read_bytes():
            faulthandler.disable()  # pytest's traceback dump of this intended crash is noise in the log
            ctypes.string_at(0)  # a real SIGSEGV in the worker, as a crashing C parser gives
        ctx.kind, ctx.text, ctx.text_status = "document", src.read_bytes().decode(), "extracted"

    # Workers are forked from this process, so they inherit the patched registry.
    crashy = ReaderSpec("crashy", ("text/plain",), segfault_on_poison, 99)
    monkeypatch.setattr(readers, "REGISTRY", [*readers.REGISTRY, crashy])
    src = tmp_path / "in"
    src.mkdir()
    for i in range(30):
        (src / f"note{i:02d}.txt").write_text(f"an innocent note number {i} about a heron\n")
    (src / "poison.txt").write_text("POISON for the parser\n")
    case = build_case(tmp_path, src, workers=2)
    assert_balanced(case)
    (poison,) = rows(case, "name='poison.txt'")
    assert poison["state"] == "failed" and poison["verdict"] == "error"
    assert "ingest.crash" in codes(case, poison["id"]) and "crashed" in poison["reason"]
    notes = rows(case, "name LIKE 'note%'")
    assert len(notes) == 30 and all(r["state"] == "stored" and r["text_status"] == "extracted" for r in notes)
