"""Snippets of long texts (store/index/snippets.py): read a window at a time up to the first match,
the passage and its marks as a whole-text read gives them, and the ellipses where it is cut."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import build_case

from leaklens.store.index import snippets
from leaklens.store.index.snippets import MAX_CHARS, OVERLAP, WINDOW, windows

FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"


def _eml(folder: Path, name: str, subject: str, body: str) -> None:
    (folder / name).write_text(
        f"From: anne@horizon.example\nTo: paul@horizon.example\nSubject: {subject}\n"
        "Date: Mon, 03 Apr 2017 10:00:00 +0200\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    )


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snippets")
    src = tmp / "in"
    src.mkdir()
    long = FILLER * 2000  # ~150 KB: fifteen windows
    _eml(src, "deep.eml", "Notes", long[:120_000] + "the kingfisher payments left Cyprus " + long[:30_000])
    _eml(src, "early.eml", "Memo", "the heron flew " + long)
    _eml(src, "short.eml", "Lunch", "the heron is back, and the kingfisher too")
    c = build_case(tmp, src)
    yield c
    c.close()


def _snippet(case, q: str, subject: str) -> str:
    [hit] = [h for h in case.db.search(q, limit=10)[1] if h["subject"] == subject]
    return hit["snippet"]


def test_a_match_deep_in_a_long_text_is_found_marked_and_cut_both_sides(case):
    got = _snippet(case, "kingfisher", "Notes")
    assert "\x02kingfisher\x03 payments left Cyprus" in got
    assert got.startswith(snippets.ELLIPSIS) and got.endswith(snippets.ELLIPSIS)
    # A phrase and a stem (English: "payment" marks "payments") are found there too.
    assert "\x02kingfisher payments\x03" in _snippet(case, '"kingfisher payments"', "Notes")
    assert "\x02payments\x03" in _snippet(case, "payment", "Notes")


def test_a_match_at_the_start_of_a_long_text_reads_as_the_whole_text_would(case, monkeypatch):
    got = {
        (q, s): _snippet(case, q, s) for q, s in (("heron", "Memo"), ("heron", "Lunch"), ("heron kingfisher", "Lunch"))
    }
    assert got["heron", "Memo"].startswith("the \x02heron\x03 flew lorem")
    assert got["heron", "Memo"].endswith(snippets.ELLIPSIS)
    monkeypatch.setattr(snippets, "WINDOW", 10**9)  # every text read whole, as before windows
    assert got == {(q, s): _snippet(case, q, s) for q, s in got}


@pytest.mark.parametrize("size", [WINDOW, WINDOW + 1, 3 * WINDOW + 17, 10 * WINDOW])
def test_windows_cover_the_text_overlapping_and_never_cut_a_word(size):
    text = ("abcdefghij " * (size // 11 + 1))[:size]
    got = windows(text)
    assert got[0][0] == 0 and got[-1][1] == len(text)
    if size <= WINDOW:
        assert got == [(0, len(text))]
    for (s1, e1), (s2, _) in zip(got, got[1:], strict=False):
        assert s1 < s2 and e1 - s2 >= MAX_CHARS  # a passage across a cut is whole in one window
        assert e1 - s1 <= WINDOW and e1 - s2 <= OVERLAP
        assert text[e1] == " " and text[s2 - 1] == " "  # cut between words


def test_a_phrase_across_every_cut_of_a_long_text_is_found(tmp_path):
    # A phrase across the first cut, whatever the cut: it is whole in one of the two windows.
    text = ("lorem ipsum " * 2000)[: WINDOW + 500]
    (s1, e1), (s2, _) = windows(text)[:2]
    at = e1 - 3  # "... kingfisher| payments ..." straddles the end of the first window
    src = tmp_path / "in"
    src.mkdir()
    _eml(src, "cut.eml", "Cut", text[: at - 11] + " kingfisher payments " + text[at + 10 :])
    with build_case(tmp_path, src) as c:
        [hit] = c.db.search('"kingfisher payments"')[1]
        assert "\x02kingfisher payments\x03" in hit["snippet"]
