"""The search queue: an item changed several times is written to the index once, as it is last."""

from __future__ import annotations

from helpers import build_case

from leaklens.store.index import mixin


def test_an_item_queued_by_several_changes_is_indexed_once_as_last_changed(tmp_path, backend, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for n in range(6):
        (src / f"m{n}.eml").write_text(
            f"From: anne@horizon.example\nTo: paul@horizon.example\nSubject: note {n}\n\nbody {n} kingfisher\n"
        )
    case = build_case(tmp_path, src, db=backend)
    db = case.db
    ids = sorted(h["id"] for h in db.search("kingfisher", limit=10)[1])
    assert len(ids) == 6 and db.search_queue(0, 100) == []
    # Each email queued three times, as a verify does: its verdict, its findings gone, its findings made.
    db.set_verdicts([(i, "suspicious") for i in ids])
    db.set_verdicts([(i, "altered") for i in ids[:3]])
    db.set_verdicts([(i, "verified") for i in ids[3:]])
    queued = [item for item, _ in db.search_queue(0, 100)]
    assert sorted(set(queued)) == ids
    # A batch of 4 makes this a long catch-up: the queue is compacted before the index takes it.
    monkeypatch.setattr(mixin, "BATCH", 4)
    written = []
    cls = type(db)
    original = cls._documents

    def counting(self, batch_ids):
        written.extend(batch_ids)
        return original(self, batch_ids)

    monkeypatch.setattr(cls, "_documents", counting)
    assert db.search_index_update() == 6
    assert sorted(written) == ids  # each once
    assert db.search_queue(0, 100) == []
    assert sorted(h["id"] for h in db.search("verdict:altered", limit=10)[1]) == ids[:3]
    assert sorted(h["id"] for h in db.search("verdict:verified", limit=10)[1]) == ids[3:]
    assert db.search_count("verdict:suspicious") == 0
    case.close()
