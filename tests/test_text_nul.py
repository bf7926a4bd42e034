"""A NUL inside a document's text (an RTF `\\'00`) is kept in the text store on both backends (issue 16: nothing from
the leak is cut or dropped at a NUL), and the words on either side of it are found by search."""

from __future__ import annotations

from helpers import build_case


def test_a_document_text_keeps_its_nul_and_stays_searchable(tmp_path, backend):
    src = tmp_path / "in"
    src.mkdir()
    (src / "memo.rtf").write_bytes(rb"{\rtf1\ansi kingfisher\'00heron report\par}")
    case = build_case(tmp_path, src, db=backend)
    (row,) = [r for r in case.db.items() if r["name"] == "memo.rtf"]
    texts = [t.text for t in case.db.texts_for(row["id"])]
    assert texts == ["kingfisher\x00heron report"]
    for word in ("kingfisher", "heron"):
        _total, hits = case.db.search(word)
        assert [h["id"] for h in hits] == [row["id"]]
    case.close()
