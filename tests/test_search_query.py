"""The query language (declared once in leaklens.query) and full-text search over decoded content."""

from __future__ import annotations

import base64
import quopri

import pytest
from fastapi.testclient import TestClient
from helpers import build_case
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html
from typer.testing import CliRunner

from leaklens.cli import app
from leaklens.errors import UsageError
from leaklens.query import FACETS, FILTERS, VALUE_KINDS, parse
from leaklens.store.index.schema import FACET_FIELDS, FILTER_FIELDS, LIVE_FILTERS, build_schema
from leaklens.web.app import create_app
from leaklens.web.query import add_filter, remove_filter


def test_parse_filters_phrases_and_plain_words():
    q = parse('budget "wire transfer" from:alice to:bob kind:email after:2017-03-01 before:2017-05-01 ext:pdf -draft')
    assert q.terms == ["budget", "wire transfer"]
    assert q.excluded == ["draft"]
    assert q.filters == {
        "from": ["alice"],
        "to": ["bob"],
        "kind": ["email"],
        "after": ["2017-03-01"],
        "before": ["2017-05-01"],
        "ext": ["pdf"],
    }


@settings(deadline=None)  # the first example builds the case and its index
@given(st.text(max_size=80))
def test_any_text_is_a_valid_query(tmp_path_factory, text):
    case = _case(tmp_path_factory)
    try:
        case.db.search(text, limit=5)
    except UsageError:
        pass  # a bad date in after:/before: is a usage error, never a crash


_CASE = {}


def _case(tmp_path_factory):
    if "c" not in _CASE:
        tmp = tmp_path_factory.mktemp("search")
        src = tmp / "in"
        src.mkdir()
        b64 = base64.encodebytes("Le virement bancaire est confirmé pour lundi.\n".encode()).decode()
        qp = quopri.encodestring("Réunion avec le trésorier: aucun virement.\n".encode()).decode()
        (src / "a.eml").write_text(
            "From: Alice <alice@horizon.example>\nTo: bob@horizon.example\nSubject: Virement\n"
            "Date: Mon, 03 Apr 2017 10:00:00 +0200\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            f"Content-Transfer-Encoding: base64\n\n{b64}"
        )
        (src / "b.eml").write_text(
            "From: Bob <bob@horizon.example>\nTo: alice@horizon.example\nSubject: Trésorier\n"
            "Date: Mon, 01 May 2017 10:00:00 +0200\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{qp}"
        )
        (src / "memo.txt").write_text("internal memo: no transfer mentioned here")
        _CASE["c"] = build_case(tmp, src)
    return _CASE["c"]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("virement", 2),
        ('"virement bancaire"', 1),
        ("virement from:alice", 1),
        ("virement to:alice", 1),
        ("virement after:2017-04-15", 1),
        ("virement before:2017-04-15", 1),
        ("tresorier", 1),  # accents folded
        ("kind:email", 2),
        ("ext:txt", 1),
        ("memo -transfer", 0),
        ("-virement", 1),
        ("virement -from:alice", 1),
        ("-kind:email", 1),
        ("year:2017", 2),
        ("virement year:2016", 0),
        ("virement OR memo", 3),  # Lucene syntax, as Aleph and Datashare users type it
        ("virements", 2),  # stemmed: the plural finds the singular
    ],
)
def test_search_counts(tmp_path_factory, query, expected):
    total, hits = _case(tmp_path_factory).db.search(query)
    assert total == expected == len(hits)


def test_snippet_marks_the_match(tmp_path_factory):
    _, hits = _case(tmp_path_factory).db.search('"virement bancaire"')
    assert "\x02virement bancaire\x03" in hits[0]["snippet"].lower()


# -- the declaration is the one list: every backend, help text and form reads it


def test_every_declared_filter_and_facet_has_its_index_field():
    # Each declared filter says which values an item has for it (the index holds them) or which store
    # method answers it when searched (tags); each facet is counted over a field of the index.
    assert set(FILTER_FIELDS) | set(LIVE_FILTERS) == set(FILTERS)
    assert not set(FILTER_FIELDS) & set(LIVE_FILTERS)
    assert set(FACET_FIELDS) == {f.name for f in FACETS}
    assert {f.value_kind for f in FILTERS.values()} <= set(VALUE_KINDS)
    build_schema()  # and the schema made from them is valid


def test_every_declared_filter_runs_and_excludes(tmp_path_factory):
    db = _case(tmp_path_factory).db
    everything, _ = db.search("")
    for f in FILTERS.values():
        assert parse(f.term).filters == {f.name: [f.example]}
        matching, _ = db.search(f.term)
        excluded, _ = db.search("-" + f.term)
        assert matching + excluded == everything, f.name  # NULL counts as "not matching"


def test_bad_values_are_usage_errors(tmp_path_factory):
    db = _case(tmp_path_factory).db
    for text in ("after:yesterday", "before:05/05/2017", "year:17", "-year:seventeen", "AND OR NOT *"):
        with pytest.raises(UsageError):
            db.search(text)


def test_each_facet_value_selects_what_it_counts(tmp_path_factory):
    db = _case(tmp_path_factory).db
    total, facets = db.search_facets("", top=50, budget_s=10.0)
    assert total == db.search_count("") == db.search("")[0]
    assert facets["kind"] == [("email", 2), ("document", 1)] and facets["from"] == [("horizon.example", 2)]
    for f in FACETS:
        for value, n in facets[f.name]:
            linked = add_filter("", f.name, value)
            assert db.search_count(linked) == n, linked
            assert remove_filter(linked, f.name, value) == ""


def test_facets_past_their_budget_are_not_counted(tmp_path_factory):
    db = _case(tmp_path_factory).db
    assert db.search_facets("virement", top=5, budget_s=0) is None
    assert db.search_count("virement", only_if_cheap=True) == 2
    # The index holds the filters too: it counts any query at once (FTS5 could not with a filter).
    assert db.search_count("virement kind:email", only_if_cheap=True) == 2


def test_cli_help_lists_every_declared_filter():
    out = CliRunner().invoke(app, ["search", "--help"], env={"COLUMNS": "200"}).output
    for f in FILTERS.values():
        assert f.term in out and f.meaning in out, f.name


def test_web_search_form_lists_every_declared_filter(tmp_path_factory):
    page = TestClient(create_app(_case(tmp_path_factory).root)).get("/search").text
    listed = lxml_html.fromstring(page).xpath("//details[@id='syntax']//code[@class='filter']")
    assert [(c.text_content(), c.get("title")) for c in listed] == [(f.term, f.meaning) for f in FILTERS.values()]
