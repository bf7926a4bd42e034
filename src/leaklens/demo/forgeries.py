"""Forged documents mixed into the demo leak (the issue 4 demo).

Each reproduces a tell-tale seen in real hack-and-leak forgeries:
- a finance folder of spreadsheets, half last saved by a Cyrillic-named
  editor, all modified within four minutes although created years apart
  (the MacronLeaks spreadsheets);
- a PDF whose incremental update changes an amount;
- a PDF with optional-content layers, one hidden (the fake "offshore" PDFs).
The attachment forgeries (modified after sending, altered copy of a verified
attachment) live in planted.py with the emails that carry them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import documents as docs
from .messages import PARIS
from .people import FOREIGN_EDITOR, STAFF


@dataclass
class LooseDocument:
    """A file of documents.7z and what the demo expects leaklens to say about it."""

    path: str  # inside documents.7z
    data: bytes
    modified: datetime  # the file-system time stored in the archive
    case: str | None = None
    expected_verdict: str = "unverified"
    expected_findings: list[str] = field(default_factory=list)
    note: str = ""


# When the forger saved every finance spreadsheet: two days before publication.
BURST_START = datetime(2017, 5, 3, 21, 14, 5, tzinfo=PARIS)

FINANCE_SHEETS = [
    # (file name, creator, created, last editor is the forger)
    ("Comptes_association_2007.xlsx", "Pascal Bernard", datetime(2007, 3, 12, 10, 4, tzinfo=PARIS), True),
    ("Dons_anonymes_2009.xlsx", "Pascal Bernard", datetime(2009, 11, 2, 16, 40, tzinfo=PARIS), False),
    ("Virements_Chypre_2012.xlsx", "Julien Moreau", datetime(2012, 6, 21, 9, 15, tzinfo=PARIS), True),
    ("Prets_personnels_2014.xlsx", "Julien Moreau", datetime(2014, 1, 8, 14, 2, tzinfo=PARIS), False),
    ("Notes_de_frais_2015.xlsx", "Julien Moreau", datetime(2015, 9, 30, 18, 22, tzinfo=PARIS), True),
    ("Caisse_noire_2016.xlsx", "Julien Moreau", datetime(2016, 4, 14, 11, 51, tzinfo=PARIS), False),
    ("Factures_meetings_2016.xlsx", "Julien Moreau", datetime(2016, 10, 3, 8, 57, tzinfo=PARIS), True),
    ("Budget_reel_2017.xlsx", "Julien Moreau", datetime(2017, 1, 16, 17, 30, tzinfo=PARIS), False),
]


def finance_folder(rng: random.Random) -> list[LooseDocument]:
    out = []
    for i, (name, creator, created, forged_editor) in enumerate(FINANCE_SHEETS):
        # All saved within four minutes: 3 min 45 s from first to last.
        modified = BURST_START + timedelta(seconds=i * 32 + rng.randint(0, 5))
        editor = FOREIGN_EDITOR if forged_editor else creator
        rows = tuple(
            (f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{created.year}",
             rng.choice(["Virement", "Chèque", "Espèces", "Prêt"]),
             rng.choice(["Société Lumen SA", "Cabinet Ferrand", "Holding Azur", "M. X", "Compte 4471"]),
             rng.randint(5, 400) * 100)
            for _ in range(rng.randint(8, 18))
        )
        meta = docs.DocMeta(creator, created, modified, last_modified_by=editor, revision=rng.randint(2, 30))
        data = docs.make_xlsx(name.removesuffix(".xlsx").replace("_", " "),
                              ("Date", "Opération", "Contrepartie", "Montant (EUR)"), rows, meta,
                              total_column=3)
        findings = ["doc.edit_burst"] + (["doc.foreign_editor"] if forged_editor else [])
        note = "modified within four minutes of the folder's other files although created in " + str(
            created.year)
        if forged_editor:
            note += f"; last modified by {FOREIGN_EDITOR!r}, a Cyrillic name among Latin ones"
        out.append(LooseDocument(f"finance/{name}", data, modified,
                                 case="forged_finance_sheet", expected_verdict="suspicious",
                                 expected_findings=findings, note=note))
    return out


def contract_with_incremental_update() -> LooseDocument:
    """A venue contract whose amount was changed in a later incremental save."""
    title = "Contrat de location - Palais des Congrès de Lyon"
    author = STAFF["events"].name

    def body(amount: str) -> list[str]:
        return [
            "Entre le Palais des Congrès de Lyon et l'Association de financement Horizon 2017.",
            "Objet : location de la grande salle pour le meeting du 18 mars 2017, de 16h à 23h.",
            f"Montant total de la location : {amount} EUR TTC, payable en deux versements.",
            "Fait à Lyon, le 20 février 2017. Signatures des parties.",
        ]

    meta = docs.DocMeta(author, datetime(2017, 2, 20, 11, 5, tzinfo=PARIS),
                        datetime(2017, 2, 20, 11, 5, tzinfo=PARIS))
    original = docs.make_pdf(title, body("38 400"), meta)
    revised = docs.make_pdf(title, body("384 000"), meta)
    changed_at = datetime(2017, 5, 2, 23, 48, tzinfo=PARIS)
    data = docs.pdf_incremental_update(original, revised, changed_at)
    return LooseDocument(
        "contrats/Contrat_Palais_des_Congres_Lyon.pdf", data, changed_at,
        case="pdf_incremental_update", expected_verdict="suspicious",
        expected_findings=["doc.incremental_update"],
        note="second revision replaces the page content: 38 400 EUR became 384 000 EUR",
    )


def layered_bank_statement() -> LooseDocument:
    """A fake offshore bank statement whose hidden layer holds other figures."""
    meta = docs.DocMeta("Service clients", datetime(2017, 4, 28, 9, 0, tzinfo=PARIS),
                        datetime(2017, 4, 28, 9, 0, tzinfo=PARIS), company="Banque Centrale")
    shown = [
        "First Caribbean Trust - Nevis. Relevé de compte n° 0041-22871-03.",
        "Titulaire : Horizon Holdings Ltd.",
        "Solde au 31 mars 2017 : 3 000 000 USD.",
    ]
    base = docs.make_pdf("Relevé de compte", shown, meta)
    data = docs.pdf_add_layers(base, ["Titulaire : Association de financement Horizon 2017",
                                      "Solde au 31 mars 2017 : 30 000 EUR"])
    modified = datetime(2017, 5, 3, 22, 5, tzinfo=PARIS)
    return LooseDocument(
        "divers/Releve_compte_Nevis.pdf", data, modified,
        case="pdf_layers", expected_verdict="suspicious", expected_findings=["doc.layers"],
        note="two optional-content layers; the hidden one carries different holder and balance",
    )
