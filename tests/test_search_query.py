"""The query language and full-text search over decoded content."""

from __future__ import annotations

import base64
import quopri

import pytest
from helpers import build_case
from hypothesis import given
from hypothesis import strategies as st

from leaklens.errors import UsageError
from leaklens.store.search import parse, search


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


@given(st.text(max_size=80))
def test_any_text_is_a_valid_query(tmp_path_factory, text):
    case = _case(tmp_path_factory)
    try:
        search(case.db.conn, text, limit=5)
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
        ("AND OR NOT *", 0),  # FTS syntax in user input is just words
    ],
)
def test_search_counts(tmp_path_factory, query, expected):
    total, hits = search(_case(tmp_path_factory).db.conn, query)
    assert total == expected == len(hits)


def test_snippet_marks_the_match(tmp_path_factory):
    _, hits = search(_case(tmp_path_factory).db.conn, '"virement bancaire"')
    assert "\x02virement bancaire\x03" in hits[0]["snippet"].lower()
