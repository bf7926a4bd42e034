"""The content-addressed store: one file per distinct content, never half a blob once a put returns."""

from __future__ import annotations

import hashlib
import io

import pytest

from leaklens.store.blobs import BlobStore


def test_put_bytes_stores_once_under_its_hash(tmp_path):
    store = BlobStore(tmp_path / "blobs")
    data = b"campaign budget, draft 3\n" * 100
    sha = hashlib.sha256(data).hexdigest()
    assert store.put_bytes(data) == (sha, len(data))
    assert store.put_bytes(data) == (sha, len(data))
    assert store.path(sha) == tmp_path / "blobs" / sha[:2] / sha[2:4] / sha
    assert store.read(sha) == data
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == [store.path(sha)]


def test_a_write_cut_short_by_a_kill_is_redone_by_the_next_put(tmp_path):
    store = BlobStore(tmp_path / "blobs")
    data = bytes(range(256)) * 64
    sha = hashlib.sha256(data).hexdigest()
    path = store.path(sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:1000])  # what a SIGKILL in the middle of the write leaves
    assert store.put_bytes(data) == (sha, len(data))
    assert store.read(sha) == data


def test_put_stream_and_put_bytes_agree(tmp_path):
    store = BlobStore(tmp_path / "blobs")
    data = b"x" * (3 << 20)
    assert store.put_stream(io.BytesIO(data)) == store.put_bytes(data)
    assert not list(store.tmp.iterdir())  # no temporary file left behind


def test_a_failed_write_removes_only_its_own_file(tmp_path, monkeypatch):
    import os

    store = BlobStore(tmp_path / "blobs")
    data = b"budget draft " * 1000
    sha = hashlib.sha256(data).hexdigest()
    real_write = os.write

    def failing_write(fd, view):
        real_write(fd, bytes(view[:100]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", failing_write)
    from leaklens.store.failures import DiskFull

    with pytest.raises(DiskFull, match="the disk is full"):  # no OSError: readers' handlers let it through
        store.put_bytes(data)
    monkeypatch.setattr(os, "write", real_write)
    assert not store.path(sha).exists()  # no half blob left behind
    assert store.put_bytes(data) == (sha, len(data)) and store.read(sha) == data
