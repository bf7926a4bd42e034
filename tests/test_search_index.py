"""The search index (store/index/, tantivy in DIR/index/): ranking, phrases, sorts, facets, snippets,
and that it stays what the store says: kept up to date by the store's queue, rebuilt the same,
made for a case of an earlier release, answering tags at once, reading while another writes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import ROOT, build_case

from leaklens.case import Case
from leaklens.query import FACETS
from leaklens.store.index import Busy
from leaklens.web.query import add_filter


def _eml(folder: Path, name: str, *, subject: str, body: str, sender: str = "anne@horizon.example",
         date: str | None = "Mon, 03 Apr 2017 10:00:00 +0200") -> None:  # fmt: skip
    head = f"From: {sender}\nTo: paul@horizon.example\nSubject: {subject}\n"
    if date:
        head += f"Date: {date}\n"
    (folder / name).write_text(head + "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + body + "\n")


@pytest.fixture(scope="module")
def case(tmp_path_factory, module_backend) -> Case:
    """A small real case on each backend (built by ingest once for the module; tests that write make their own)."""
    c = _build(tmp_path_factory.mktemp("index"), module_backend)
    yield c
    c.close()


def _build(tmp: Path, db: str | None = None) -> Case:
    src = tmp / "in"
    src.mkdir()
    filler = " ".join(["common"] * 5)
    _eml(src, "a.eml", subject="Printer budget", body=f"printer printer printer. {filler} rare-kingfisher")
    _eml(src, "b.eml", subject="Lunch", body=f"the printer is paid. {filler}", date="Fri, 05 May 2017 09:00:00 +0000")
    _eml(src, "c.eml", subject="Notes", body=f"paid the printer today. {filler} kingfisher",
         date="Tue, 02 May 2017 08:00:00 +0000", sender="Paul <paul@elsewhere.example>")  # fmt: skip
    _eml(src, "d.eml", subject="Undated", body=f"{filler} kingfisher seen", date=None)
    _eml(src, "e.eml", subject="Réunion", body=f"Réunion avec le trésorier. {filler} kingfisher",
         date="Mon, 01 May 2017 10:00:00 +0200")  # fmt: skip
    (src / "memo.txt").write_text(f"internal memo {filler}")
    return build_case(tmp, src, db=db)


def _ids(case: Case, q: str, **kw) -> list[str]:
    return [h["id"] for h in case.db.search(q, limit=100, **kw)[1]]


def _subjects(case: Case, q: str, **kw) -> list[str | None]:
    return [h["subject"] for h in case.db.search(q, limit=100, **kw)[1]]


def test_ranking_puts_the_most_relevant_first(case):
    # "printer" three times and in the subject (weighted as FTS5 weighted it) beats once in a body.
    assert _subjects(case, "printer")[0] == "Printer budget"
    assert case.db.search("printer")[0] == 3


def test_a_phrase_matches_its_words_in_order_only(case):
    assert _subjects(case, '"printer is paid"') == ["Lunch"]
    assert sorted(_subjects(case, "printer paid")) == ["Lunch", "Notes"]  # both words, any order
    assert _subjects(case, '"paid printer"') == []


def test_a_star_is_a_prefix(case):
    # As Aleph and Datashare read it (tests/test_search_syntax.py has every operator).
    assert case.db.search("print*")[0] == 3 and case.db.search("kingfish*")[0] == 4
    assert case.db.search("kingfisher")[0] == 4


def test_a_rare_term_sorted_by_date_both_ways(case):
    # The store's order: the ISO text of each date as written, undated last.
    assert _subjects(case, "kingfisher", sort="date") == ["Printer budget", "Réunion", "Notes", "Undated"]
    assert _subjects(case, "kingfisher", sort="-date") == ["Notes", "Réunion", "Printer budget", "Undated"]
    # Words only, by relevance, is the default; without words the newest come first.
    assert _subjects(case, "kind:email")[0] == "Lunch"


def test_facets_count_what_each_value_selects(case):
    total, facets = case.db.search_facets("common", top=20, budget_s=10.0)
    assert total == case.db.search_count("common") == 6
    assert dict(facets["from"]) == {"horizon.example": 4, "elsewhere.example": 1}
    assert facets["kind"] == [("email", 5), ("document", 1)]
    for f in FACETS:
        for value, n in facets[f.name]:
            assert case.db.search_count(add_filter("common", f.name, value)) == n, (f.name, value)
    # Most first, then by value; cut at `top`.
    _, two = case.db.search_facets("common", top=1, budget_s=10.0)
    assert two["from"] == [("horizon.example", 4)]


def test_snippets_mark_the_matches(case):
    [hit] = case.db.search('"printer is paid"')[1]
    assert "\x02printer is paid\x03" in hit["snippet"]  # a phrase is one mark
    [hit] = case.db.search("tresorier")[1]  # accents folded, the text shown as written
    assert "\x02trésorier\x03" in hit["snippet"]
    [hit] = case.db.search("lunch")[1]  # a match in the subject only: the subject is shown
    assert hit["snippet"] == "\x02Lunch\x03"
    assert all(h["snippet"] is None for h in case.db.search("kind:email")[1])  # no words: no snippet


def test_rebuild_equals_incremental(tmp_path, backend):
    case = _build(tmp_path, backend)
    queries = ["printer", "kingfisher", '"printer is paid"', "kind:email -printer", "from:paul", "after:2017-05-02"]
    before = {q: (case.db.search(q, limit=50), case.db.search_facets(q, top=10, budget_s=10.0)) for q in queries}
    assert case.db.search_index_rebuild() == case.db.search_count("")
    assert {
        q: (case.db.search(q, limit=50), case.db.search_facets(q, top=10, budget_s=10.0)) for q in queries
    } == before
    # The folder is derived data: gone, it is made again at the next search.
    case.close()
    shutil.rmtree(tmp_path / "case" / "index")
    with Case.open(tmp_path / "case", db=backend) as again:
        assert {q: again.db.search(q, limit=50) for q in queries} == {q: before[q][0] for q in queries}


def test_changes_reach_the_index_and_tags_count_at_once(tmp_path, backend):
    case = _build(tmp_path, backend)
    db = case.db
    [lunch] = _ids(case, "lunch")
    fingerprint = db.search_fingerprint()
    # Tags are answered by the store when searched: no index update between.
    db.add_tag(lunch, "Offshore")
    assert _ids(case, "tag:offshore") == [lunch] and db.search_count("printer -tag:offshore") == 2
    assert db.search_fingerprint() != fingerprint
    db.remove_tag(lunch, "offshore")
    assert _ids(case, "tag:offshore") == []
    # A verdict, a finding, an item's metadata: queued by the store, in the index at the next search.
    assert db.search_queue(0, 10) == []  # everything is in the index
    db.set_verdicts([(lunch, "altered")])
    assert [item for item, _ in db.search_queue(0, 10)] == [lunch]  # queued by the store, in its transaction
    assert _ids(case, "verdict:altered") == [lunch]
    assert db.search_queue(0, 10) == []
    from leaklens.model import Finding

    db.add_findings(lunch, "dkim", [Finding("dkim.pass", "info", "A signature validates.", {"d": "Horizon.Example"})])
    assert _ids(case, "signer:horizon.example") == [lunch]
    assert db.search_facets("signer:horizon.example", top=5, budget_s=10.0)[1]["signer"] == [("horizon.example", 1)]
    db.clear_findings(("dkim",))
    assert _ids(case, "signer:horizon.example") == []


def test_a_search_while_another_process_writes_the_index_reads_what_was_committed(tmp_path, backend):
    case = _build(tmp_path, backend)
    [lunch] = _ids(case, "lunch")
    other = Case.open(tmp_path / "case", db=backend)  # another store on the case, as another process would hold it
    try:
        other.db.search("x")  # its index opened
        with other.db._search_engine().writer():  # holds the one writer
            case.db.set_verdicts([(lunch, "altered")])
            assert _ids(case, "verdict:altered") == []  # the last commit, no error, no wait
            with pytest.raises(Busy):
                case.db.search_index_update()
        assert _ids(case, "verdict:altered") == [lunch]  # the writer gone: the next search catches up
    finally:
        other.close()


def test_a_case_of_an_earlier_release_gets_its_index_on_first_search(tmp_path):
    root = tmp_path / "case"
    shutil.copytree(ROOT / "tests" / "fixtures" / "case-21da9bf", root)
    assert not (root / "index").exists()
    with Case.open(root) as case:
        seen: list[tuple[int, int | None]] = []
        case.db.search_progress = lambda done, total: seen.append((done, total))
        total, hits = case.db.search('"printer budget"')
        assert total >= 1 and "\x02" in hits[0]["snippet"]
        assert seen and seen[-1][0] == case.db.search_count("")  # every stored item written, with progress
        assert (root / "index").is_dir()


def test_first_searches_from_many_threads_at_once_make_one_index(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    case = _build(tmp_path)
    case.close()
    shutil.rmtree(tmp_path / "case" / "index", ignore_errors=True)
    with Case.open(tmp_path / "case") as again:  # one store shared by request threads, as the web's
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: again.db.search("kingfisher", limit=10)[0], range(16)))
        assert answers == [4] * 16


def _open_new_index(path: str, barrier, results) -> None:
    """One process opening a case's index folder, as a store does (made: fill it, then mark it current)."""
    import time

    import tantivy

    from leaklens.store.index import SearchIndex

    engine = SearchIndex(Path(path))
    barrier.wait()
    engine.index()
    made = engine.made
    if made:
        time.sleep(0.5)  # the time a store takes to queue every item for a new index
        with engine.writer() as w:
            doc = tantivy.Document()
            doc.add_text("id", f"made-by-{os.getpid()}")
            w.add_document(doc)
            w.commit()
        engine.mark_current()
    results.put((made, engine.searcher().num_docs))


@pytest.mark.parametrize("old", [False, True], ids=["no-index", "index-of-another-declaration"])
def test_two_processes_making_the_index_at_once_keep_one(tmp_path, old):
    """Two processes that find no usable index at the same moment: one makes it, the other waits
    and opens it (without the lock each removed the other's and both made their own)."""
    import multiprocessing

    path = tmp_path / "index"
    if old:  # what an earlier release left: removed, once
        path.mkdir()
        (path / "leaklens-index.json").write_text('{"schema": "older"}')
        (path / "meta.json").write_text("{}")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_open_new_index, args=(str(path), barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(made for made, _ in got) == [False, True]  # exactly one made it
    assert [n for _, n in got] == [1, 1]  # and the other opened it, with what the first wrote
    from leaklens.store.index import SearchIndex

    again = SearchIndex(path)
    assert again.searcher().num_docs == 1 and not again.made
