"""The index stems an item's words in the languages detected in its texts (store/index/schema.py,
`stem_fields_of`), in both when none of them is detected: on a real case, after the texts steps
that detect the languages (fastText), on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import build_case

from leaklens.case import Case
from leaklens.store.base import ItemQuery
from leaklens.store.index.schema import stem_fields_of

EN = (
    "The payments to the consultants were approved by the finance committee on Monday, and the "
    "remaining invoices will be settled before the end of the month."
)
FR = (
    "Les virements vers les comptes de la campagne ont été validés par le trésorier lundi, et les "
    "factures restantes seront réglées avant la fin du mois."
)


def _eml(folder: Path, name: str, subject: str, body: str) -> None:
    (folder / name).write_text(
        f"From: zoe@a.example\nTo: paul@horizon.example\nSubject: {subject}\n"
        f"Date: Mon, 03 Apr 2017 10:00:00 +0000\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
    )


@pytest.fixture(scope="module")
def case(tmp_path_factory, module_backend) -> Case:
    from leaklens.steps import Run, run_steps

    tmp = tmp_path_factory.mktemp("stemlang")
    src = tmp / "in"
    src.mkdir()
    _eml(src, "en.eml", "Approval", EN)
    _eml(src, "fr.eml", "Validation", FR)
    _eml(src, "short.eml", "Note", "payments virements")  # too short to name a language
    c = build_case(tmp, src, db=module_backend)
    run_steps(Run(c, workers=1, options={"ocr": False}), ("texts",))  # detects each text's language
    yield c
    c.close()


def _fields(case: Case, subject: str) -> set[str]:
    ids = [r["id"] for r in case.db.select_items(ItemQuery(kind="email")) if r["subject"] == subject]
    (doc,) = case.db._documents(ids)
    return set(doc.to_dict())


def test_each_text_is_stemmed_in_its_detected_language_only(case):
    assert {"stem_en"} == {f for f in _fields(case, "Approval") if f.startswith("stem_")}
    assert {"stem_fr"} == {f for f in _fields(case, "Validation") if f.startswith("stem_")}
    # No language detected: stemmed in every language, as before languages were read.
    assert {"stem_en", "stem_fr"} == {f for f in _fields(case, "Note") if f.startswith("stem_")}


def test_a_word_finds_its_stems_in_the_texts_language(case):
    def subjects(q: str) -> list[str]:
        return sorted(h["subject"] for h in case.db.search(q, limit=10)[1])

    assert subjects("payment") == ["Approval", "Note"]  # "payments", stemmed in English
    assert subjects("virement") == ["Note", "Validation"]  # "virements", stemmed in French
    assert subjects("facture") == ["Validation"]
    assert subjects("invoice") == ["Approval"]
    # The exact words match whatever the language.
    assert subjects("payments") == ["Approval", "Note"]


def test_languages_to_stem_fields():
    assert stem_fields_of(None) == ("stem_fr", "stem_en")
    assert stem_fields_of({"text_scans": [{"lang": "de"}, {"lang": None}]}) == ("stem_fr", "stem_en")
    assert stem_fields_of({"text_scans": [{"lang": "en"}, {"lang": "de"}]}) == ("stem_en",)
    assert stem_fields_of({"text_scans": [{"lang": "en"}, {"lang": "fr"}]}) == ("stem_fr", "stem_en")
