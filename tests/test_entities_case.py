"""Entities over a real ingested case: the correspondents of its mail found again inside attachments,
with positions, and the steps' rerun reading only what is new."""

from __future__ import annotations

from email.message import EmailMessage

from helpers import build_case

from leaklens.entities.tables import ENTITIES, TEXT_SCANS
from leaklens.investigate.entities import entity_page, top_entities
from leaklens.steps import Run, run_steps
from leaklens.store.base import ItemQuery

ATTACHMENT = (
    "Compte rendu de la réunion du 3 mai 2017.\n"
    "Présents : Emilie Laurent (trésorière), Marc Durand.\n"
    "Le virement de 250 000 € vers FR76 3000 6000 0112 3456 7890 189 a été validé par ÉMILIE\nLAURENT.\n"
    "Contact : +33 6 12 34 56 78. Prestataire : Horizon Conseil SAS.\n"
)


def _dump(folder):
    folder.mkdir()
    m = EmailMessage()
    m["From"] = '"Émilie Laurent" <emilie@horizon-campaign.example>'
    m["To"] = "Marc Durand <marc.durand@horizon-campaign.example>"
    m["Subject"] = "CR réunion"
    m["Date"] = "Wed, 03 May 2017 18:00:00 +0200"
    m["Message-ID"] = "<cr-1@horizon-campaign.example>"
    m.set_content("Ci-joint le compte rendu. Émilie")
    m.add_attachment(ATTACHMENT.encode(), maintype="text", subtype="plain", filename="cr.txt")
    (folder / "cr.eml").write_bytes(m.as_bytes())
    return folder


def test_correspondents_and_accounts_found_in_an_attachment_with_positions(tmp_path):
    case = build_case(tmp_path, _dump(tmp_path / "dump"))
    run_steps(Run(case, workers=1, options={"ocr": False}), ("texts",))
    (att,) = [i for i, n in case.db.item_values(("id", "name"), ItemQuery(kind="attachment")) if n == "cr.txt"]
    (text,) = case.db.texts_for(att)
    rows = case.db.table_rows(ENTITIES, item_id=att)
    # The correspondents (the pattern finder's); spaCy's guesses, where installed, are tests/test_entities_ner.py's.
    people = [r for r in rows if r["kind"] == "person" and r["scanner"] == "patterns"]
    # "Emilie Laurent" without its accent is another spelling: not claimed; the upper-case wrapped one is hers.
    assert [(r["value"], text.text[r["char_start"] : r["char_end"]]) for r in people] == [
        ("marc.durand@horizon-campaign.example", "Marc Durand"),
        ("emilie@horizon-campaign.example", "ÉMILIE\nLAURENT"),
    ]
    kinds = {(r["kind"], r["value"]) for r in rows}
    assert {("iban", "FR7630006000011234567890189"), ("money", "EUR 250000"), ("phone", "+33612345678"),
            ("org", "Horizon Conseil SAS"), ("date", "2017-05-03")} <= kinds  # fmt: skip
    page = entity_page(case.db, "iban", "FR7630006000011234567890189")
    assert page["senders"] == [("emilie@horizon-campaign.example", 1)]  # the email carrying the attachment
    assert page["first"].startswith("2017-05-03")
    (scan,) = case.db.table_rows(TEXT_SCANS, item_id=att)
    assert scan["lang"] == "fr"

    # A second run reads nothing again; a new source is read alone.
    before = case.db.count_rows(ENTITIES)
    run = Run(case, workers=1, options={"ocr": False})
    run_steps(run, ("texts",))
    assert run.results["texts.entities"] == 0 and case.db.count_rows(ENTITIES) == before
    assert top_entities(case.db, kind="iban") == [
        {"kind": "iban", "value": "FR7630006000011234567890189", "mentions": 1, "items": 1}
    ]
    case.close()
