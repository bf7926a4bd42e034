"""The entities step in the executor's workers: the same mentions and languages as in one process,
and a text its worker could not finish left unscanned for the next run."""

from __future__ import annotations

from helpers import build_case

from leaklens.entities import step as entities_step
from leaklens.entities.tables import ENTITIES, TEXT_SCANS

IBANS = ["FR76 3000 6000 0112 3456 7890 189", "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32"]


def _mentions(case) -> list[tuple]:
    return sorted(
        (r["item_id"], r["source"], r["kind"], r["value"], r["char_start"], r["char_end"], r["snippet"])
        for r in case.db.table_rows(ENTITIES)
    )


def _scans(case) -> list[tuple]:
    return sorted((r["item_id"], r["source"], r["lang"], r["mentions"]) for r in case.db.table_rows(TEXT_SCANS))


def test_workers_find_what_one_process_finds_and_a_text_they_cannot_finish_waits(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    n = entities_step.POOL_MIN + 60  # enough texts for the workers
    for i in range(n):
        body = (
            f"Bonjour, merci de virer 1 250,00 EUR sur le compte {IBANS[i % 3]} avant le 12 mai 2017. "
            f"Appelez-moi au +33 1 42 68 53 00. Message {i}."
            if i % 2
            else f"Please wire the amount to {IBANS[i % 3]} and call me on +44 20 7946 0958, note {i}."
        )
        (src / f"m{i:03d}.eml").write_text(
            f"From: anne@horizon.example\nTo: paul@horizon.example\nSubject: note {i}\n\n{body}\n"
        )
    case = build_case(tmp_path, src)
    db = case.db
    assert entities_step.scan_texts(db, force=True, workers=1) == n
    alone, alone_scans = _mentions(case), _scans(case)
    assert len({m[3] for m in alone if m[2] == "iban"}) == 3 and {s[2] for s in alone_scans} == {"fr", "en"}
    assert entities_step.scan_texts(db, force=True, workers=2) == n
    assert _mentions(case) == alone and _scans(case) == alone_scans
    # A text whose reading stalls (a finder made slow here: the workers are forked with it) overruns
    # its deadline: it alone is left unscanned and named, and the next run reads it.
    import time

    real = entities_step.find_mentions

    def stalling(text, context=None, kinds=None):
        if "note 8." in text:
            time.sleep(30)
        return real(text, context, kinds)

    monkeypatch.setattr(entities_step, "find_mentions", stalling)
    db.delete_rows(TEXT_SCANS)
    db.delete_rows(ENTITIES)
    assert entities_step.scan_texts(db, workers=2, timeout=2.0) == n - 1
    [(stalled, _, status)] = entities_step.SCAN_FAILURES
    assert status == "timeout" and stalled not in {s[0] for s in _scans(case)}
    monkeypatch.setattr(entities_step, "find_mentions", real)
    assert entities_step.scan_texts(db, workers=2) == 1
    assert _mentions(case) == alone and _scans(case) == alone_scans
    case.close()
