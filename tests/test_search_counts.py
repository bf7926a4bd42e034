"""A search's count is made once a page (store/index/mixin.py keeps it for the facets that follow,
web/query.py asks the hits and the total in one pass): never an answer of before a change."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import build_case

from leaklens.model import Finding
from leaklens.web import query as webquery


def _eml(folder: Path, name: str, subject: str, body: str) -> None:
    (folder / name).write_text(
        f"From: anne@horizon.example\nTo: paul@horizon.example\nSubject: {subject}\n"
        "Date: Mon, 03 Apr 2017 10:00:00 +0200\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    )


@pytest.fixture
def case(tmp_path, backend):
    src = tmp_path / "in"
    src.mkdir()
    for n in range(5):
        _eml(src, f"{n}.eml", f"Budget {n}", "the printer budget " + "word " * n)
    c = build_case(tmp_path, src, db=backend)
    yield c
    c.close()


def _passes(monkeypatch, case) -> list[str]:
    """Each pass the index makes over a query's matches, by kind (page, page+count, count, facets)."""
    engine = case.db._search_engine()
    seen: list[str] = []
    page, count, facets = engine.page, engine.count, engine.facets

    def counted_page(*a, **kw):
        seen.append("page+count" if kw.get("count") else "page")
        return page(*a, **kw)

    monkeypatch.setattr(engine, "page", counted_page)
    monkeypatch.setattr(engine, "count", lambda *a, **kw: seen.append("count") or count(*a, **kw))
    monkeypatch.setattr(engine, "facets", lambda *a, **kw: seen.append("facets") or facets(*a, **kw))
    return seen


def test_a_search_page_counts_its_matches_once(case, monkeypatch):
    monkeypatch.setattr(webquery, "FACET_CACHE_SIZE", 256)
    webquery._cache.clear()
    seen = _passes(monkeypatch, case)
    total, hits, facets, complete = webquery.search_with_facets(case.db, "printer", limit=2, offset=0, sort="relevance")
    assert (total, len(hits), complete) == (5, 2, True) and sum(n for _, n in facets["kind"]) == 5
    assert seen == ["page+count", "facets"]  # was: page, count, count, count + facets
    seen.clear()  # the same query again (the next page): its total and facets remembered, the page alone
    total, hits, _, _ = webquery.search_with_facets(case.db, "printer", limit=2, offset=4, sort="-date")
    assert (total, len(hits)) == (5, 1) and seen == ["page"]
    webquery._cache.clear()


def test_a_remembered_count_follows_tags_and_index_commits(case, monkeypatch):
    monkeypatch.setattr(webquery, "FACET_CACHE_SIZE", 0)
    db = case.db
    total, hits = db.search("printer tag:story", limit=10)
    assert total == 0 and db.search_count("printer tag:story") == 0
    first = db.search("printer", limit=1)[1][0]["id"]
    db.add_tag(first, "story")  # a tag: answered by the store, no index commit
    assert db.search_count("printer tag:story") == 1
    assert db.search_facets("printer tag:story", top=5, budget_s=10.0)[0] == 1
    assert webquery.search_with_facets(db, "printer -tag:story", limit=10, offset=0, sort="relevance")[0] == 4
    assert db.search("printer", limit=0) == (5, [])
    db.add_findings(first, "dkim", [Finding("dkim.pass", "info", "A signature validates.", {"d": "horizon.example"})])
    assert db.search_count("signer:horizon.example") == 1  # queued, committed at this search, counted anew
    db.clear_findings(("dkim",))
    assert db.search_count("signer:horizon.example") == 0
    assert db.search("signer:horizon.example", limit=5) == (0, [])


def test_a_tag_keeps_the_facets_of_queries_without_a_tag_filter(case, monkeypatch):
    monkeypatch.setattr(webquery, "FACET_CACHE_SIZE", 256)
    webquery._cache.clear()
    db = case.db
    asked = ("printer", "printer -tag:story", "budget OR tag:story")
    before = {q: webquery.search_with_facets(db, q, limit=1, offset=0, sort="relevance")[0] for q in asked}
    assert before == {"printer": 5, "printer -tag:story": 5, "budget OR tag:story": 5}
    seen = _passes(monkeypatch, case)
    db.add_tag(db.search("printer", limit=1)[1][0]["id"], "story")
    seen.clear()
    after = {q: webquery.search_with_facets(db, q, limit=1, offset=0, sort="relevance")[0] for q in asked}
    assert after == {"printer": 5, "printer -tag:story": 4, "budget OR tag:story": 5}
    # Only the queries with a tag: filter are counted again; "printer" kept its facets.
    assert seen == ["page", "page+count", "facets", "page+count", "facets"]
    webquery._cache.clear()
