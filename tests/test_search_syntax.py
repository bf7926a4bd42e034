"""Search as Aleph and Datashare users type it (leaklens.syntax, store/index/translate.py): each
operator on a small real case on each backend, stemming, sorts, and a clear error for what it
cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import build_case

from leaklens.case import Case
from leaklens.errors import UsageError


def _eml(folder: Path, name: str, subject: str, body: str, sender: str, date: str) -> None:
    (folder / name).write_text(
        f"From: {sender}\nTo: paul@horizon.example\nSubject: {subject}\nDate: {date}\n"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
    )


@pytest.fixture(scope="module")
def case(tmp_path_factory, module_backend) -> Case:
    tmp = tmp_path_factory.mktemp("syntax")
    src = tmp / "in"
    src.mkdir()
    _eml(src, "a.eml", "Virements", "Les virements bancaires vers Chypre sont partis.", "Zoe <zoe@a.example>",
         "Mon, 03 Apr 2017 10:00:00 +0000")  # fmt: skip
    _eml(src, "b.eml", "Transfer", "The bank transfers went out on Monday. Budget approved.",
         "Anne <anne@b.example>", "Tue, 04 Apr 2017 10:00:00 +0000")  # fmt: skip
    _eml(src, "c.eml", "Budgets", "Le budget de la campagne et un virement en attente.", "Marc <marc@c.example>",
         "Wed, 05 Apr 2017 10:00:00 +0000")  # fmt: skip
    (src / "big.txt").write_text("draft notes on the printer " + "filler " * 400)
    c = build_case(tmp, src, db=module_backend)
    yield c
    c.close()


def _subjects(case: Case, q: str, **kw) -> list[str]:
    return sorted(h["subject"] or h["name"] for h in case.db.search(q, limit=50, **kw)[1])


@pytest.mark.parametrize(
    "query,expected",
    [
        ("virement OR transfer", ["Budgets", "Transfer", "Virements"]),  # OR; stems: Virements, transfers
        ("virement AND budget", ["Budgets"]),
        ("virement budget", ["Budgets"]),  # AND is the default
        ("virement AND NOT budget", ["Virements"]),
        ("virement -budget", ["Virements"]),
        ("(virement OR transfer) AND bank*", ["Transfer"]),  # grouping
        ("(virement OR transfer) AND (bank* OR banc*)", ["Transfer", "Virements"]),
        ('"bank transfers"', ["Transfer"]),
        ('"transfers bank"', []),
        ('"virements Chypre"~3', ["Virements"]),  # proximity: 2 words apart
        ('"virements Chypre"', []),
        ("budg*", ["Budgets", "Transfer"]),
        ("b?dget", ["Budgets", "Transfer"]),
        ("virment~", ["Budgets", "Virements"]),  # fuzzy: one edit from "virement(s)"
        ("virment", []),
        ("virement from:zoe", ["Virements"]),
        ("kind:email -from:zoe", ["Budgets", "Transfer"]),
        ("from:zoe OR from:anne", ["Transfer", "Virements"]),
        ("NOT kind:email", ["big.txt"]),
        ("virements", ["Budgets", "Virements"]),  # stems both ways
        ("bancaire", ["Virements"]),
        ("payment OR tranfer~1", ["Transfer"]),
        ("transfered~1", []),  # two edits from "transfer"
        ("or", []),  # lower case: a word
    ],
)
def test_each_operator(case, query, expected):
    assert _subjects(case, query) == expected
    assert case.db.search_count(query) == len(expected)


def test_exact_words_rank_above_their_stems(case):
    _, hits = case.db.search("virements")
    assert hits[0]["subject"] == "Virements"


@pytest.mark.parametrize(
    "query,says",
    [
        ("(virement OR transfer", "not closed"),
        ("virement)", "closes no ("),
        ("virement OR", "OR at character 10 needs a term after it"),
        ("AND budget", "needs a term before"),
        ("NOT", "NOT at character 1 needs a term"),
        ('"bank transfers', 'add the closing "'),
        ("*udget", "cannot start with *"),
        ("virment~5", "at most 2 edits"),
        ('"a b"~x', "how many words apart"),
        ("title:budget", "title: is not a filter"),
        ("from:", "needs a value"),
        ("!!!", "no letters or digits"),
        ("after:yesterday", "expects a date"),
    ],
)
def test_what_it_cannot_read_is_said(case, query, says):
    with pytest.raises(UsageError, match=None) as err:
        case.db.search(query)
    assert says in str(err.value)


def test_sorts(case):
    def order(sort: str) -> list[str]:
        return [h["subject"] or h["name"] for h in case.db.search("", limit=10, sort=sort)[1]]

    assert order("date")[:3] == ["Virements", "Transfer", "Budgets"]
    assert order("-date")[:3] == ["Budgets", "Transfer", "Virements"]
    assert order("-size")[0] == "big.txt" and order("size")[-1] == "big.txt"
    assert order("sender")[:3] == ["Transfer", "Budgets", "Virements"]  # anne@, marc@, zoe@ (not the names)
    assert order("-sender")[:2] == ["big.txt", "Virements"]  # no sender: last A to Z, so first Z to A
    verdicts = [h["verdict"] for h in case.db.search("", limit=10, sort="verdict")[1]]
    rank = ["altered", "suspicious", "error", "unverified", "verified"]
    assert verdicts == sorted(verdicts, key=rank.index)


def test_snippets_mark_the_stems_found(case):
    _, hits = case.db.search("virement chypre")
    assert "\x02virements\x03" in hits[0]["snippet"].lower() and "\x02chypre\x03" in hits[0]["snippet"].lower()


# -- the CLI: --format for scripts, --batch from a list of terms


def test_cli_formats_and_batch(case, tmp_path):
    import csv
    import io
    import json

    from typer.testing import CliRunner

    from leaklens.cli import app

    run = CliRunner()
    where = ["--case", str(case.root)]
    got = run.invoke(app, ["search", "virement OR transfer", *where, "--format", "json", "--sort", "date"])
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    assert doc["total"] == 3 and [h["subject"] for h in doc["hits"]] == ["Virements", "Transfer", "Budgets"]
    assert "\x02" not in got.stdout
    got = run.invoke(app, ["search", "budg*", *where, "-f", "csv"])
    rows = list(csv.DictReader(io.StringIO(got.stdout)))
    assert sorted(r["subject"] for r in rows) == ["Budgets", "Transfer"] and rows[0]["verdict"]
    terms = tmp_path / "terms.txt"
    terms.write_text("virement\n# a comment\n\nChypre\nnowhere-to-be-found\n(oops\nvirement\n")
    got = run.invoke(app, ["search", "--batch", str(terms), *where, "-f", "csv"])
    assert got.exit_code == 0, got.output
    assert list(csv.reader(io.StringIO(got.stdout))) == [
        ["term", "count", "error"],
        ["virement", "2", ""],
        ["Chypre", "1", ""],
        ["nowhere-to-be-found", "0", ""],
        ["(oops", "", "the ( at character 1 is not closed: add a )"],
    ]
    got = run.invoke(app, ["search", "--batch", str(terms), *where])
    assert got.exit_code == 0 and "not closed" in got.output and "Chypre" in got.output
    # What the CLI cannot read: one line, no traceback.
    for bad in (["search", "(oops", *where], ["search", "x", *where, "-f", "xml"], ["search", *where],
                ["search", "--batch", str(tmp_path / "missing.txt"), *where]):  # fmt: skip
        got = run.invoke(app, bad)
        assert got.exit_code != 0 and "Traceback" not in got.output, bad
