"""Entities found with their positions, and only when valid: planted IBANs, phones, amounts, companies, people."""

from __future__ import annotations

import random

import pytest

from leaklens.entities import Context, find_mentions
from leaklens.entities.banking import luhn_ok
from leaklens.language import detect


def _of(text: str, kind: str, context: Context | None = None) -> list[tuple[str, str]]:
    """(value, the text at the mention's offsets) of each mention of this kind."""
    return [(m.value, text[m.start : m.end]) for m in find_mentions(text, context) if m.kind == kind]


IBAN_FR = "FR7630006000011234567890189"
IBAN_GB = "GB82WEST12345698765432"
IBAN_DE = "DE89370400440532013000"


@pytest.mark.parametrize(
    "printed",
    [
        "FR7630006000011234567890189",
        "FR76 3000 6000 0112 3456 7890 189",
        "FR76-3000-6000-0112-3456-7890-189",
        "FR76\u00a03000\u00a06000\u00a00112\u00a03456\u00a07890\u00a0189",
        "FR76 3000 6000 0112\n3456 7890 189",  # wrapped over a line break
        "FR76 3000 6000 0112 3456\n    7890 189",  # wrapped and indented
    ],
)
def test_iban_in_every_printed_form(printed):
    text = f"Merci de virer le solde sur {printed} avant vendredi."
    assert _of(text, "iban") == [(IBAN_FR, printed)]


def test_ibans_of_several_countries_and_their_positions():
    text = f"UK: GB82 WEST 1234 5698 7654 32, DE: {IBAN_DE}; fin."
    found = _of(text, "iban")
    assert found == [(IBAN_GB, "GB82 WEST 1234 5698 7654 32"), (IBAN_DE, IBAN_DE)]


@pytest.mark.parametrize(
    "printed",
    [
        "FR76 3000 6000 0112 3456 7890 188",  # one digit off: check digits fail
        "FR77 3000 6000 0112 3456 7890 189",
        "GB82 WEST 1234 5698 7654 33",
        "XX12 3456 7890 1234 5678",  # no such country
        "FR76 3000 6000 0112 3456 7890",  # too short for France
    ],
)
def test_invalid_ibans_are_never_reported(printed):
    assert _of(f"compte {printed} merci", "iban") == []


def test_random_digit_runs_are_never_ibans_cards_or_phones():
    rng = random.Random(7)
    runs = ["".join(rng.choice("0123456789") for _ in range(rng.randint(8, 24))) for _ in range(300)]
    text = " ".join(f"réf {r}" for r in runs)
    found = find_mentions(text)
    assert [m for m in found if m.kind in ("iban", "phone")] == []
    # A card number is any Luhn-valid run with a network's prefix: random runs are cards only then.
    for m in found:
        if m.kind == "card":
            digits = "".join(c for c in text[m.start : m.end] if c.isdigit())
            assert luhn_ok(digits)


@pytest.mark.parametrize(
    ("printed", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033 1 42 68 53 00", "+33142685300"),
        ("+44 20 7946 0958", "+442079460958"),
        ("020 7946 0958", "+442079460958"),
        ("+7 495 123-45-67", "+74951234567"),
        ("+1 (415) 555-2671", "+14155552671"),
    ],
)
def test_phones_in_national_and_international_formats(printed, e164):
    text = f"Call me on {printed} tomorrow."
    assert _of(text, "phone") == [(e164, printed)]


@pytest.mark.parametrize(
    "text",
    [
        "GUID 3f2504e0-4f89-11d3-9a0c-0305e82c3301 in the log",
        "Facture n° 2017004512 du 03/05/2017",
        "Invoice no. 4512-2017-0042 is due",
        "dated 2017-05-03 and 05.05.2017",
        "order 20170503123456",
        "version 10.0.19041.1237 installed",
        "between 1999 and 2017 the figures 12 15 18 rose",
    ],
)
def test_guids_dates_and_invoice_numbers_are_not_phones(text):
    assert _of(text, "phone") == []


def test_a_labelled_bare_number_is_a_phone():
    assert _of("Tél. : 0612345678", "phone") == [("+33612345678", "0612345678")]


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("1 250 000,00 €", "EUR 1250000"),
        ("€2,500.50", "EUR 2500.5"),
        ("$ 1,000,000", "USD 1000000"),
        ("USD 45.000", "USD 45000"),
        ("£3.2m", "GBP 3200000"),
        ("CHF 1'250'000", "CHF 1250000"),
        ("15 000 руб.", "RUB 15000"),
        ("2 millions d'euros", None),  # a word between: not read as an amount
    ],
)
def test_amounts_with_their_currency(printed, value):
    found = _of(f"Le montant: {printed} versé.", "money")
    assert found == ([(value, printed)] if value else [])


def test_companies_by_legal_form():
    text = "Signé entre Horizon Conseil SAS, Acme Holdings Ltd et ООО «Ромашка»; The Blue Fox GmbH témoin."
    assert [v for v, _ in _of(text, "org")] == [
        "Horizon Conseil SAS", "Acme Holdings Ltd", "ООО «Ромашка»", "Blue Fox GmbH",
    ]  # fmt: skip


def test_cards_are_luhn_valid_and_masked():
    text = "Carte 4111 1111 1111 1111 exp 12/19, et 4111 1111 1111 1112 refusée."
    assert _of(text, "card") == [("411111******1111", "4111 1111 1111 1111")]


def test_correspondents_found_again_in_text_whatever_the_case_and_wrapping():
    people = {"Émilie Laurent": "emilie@horizon.example", "Marc": "marc@horizon.example"}
    text = "Comme convenu avec ÉMILIE LAURENT et Marc, puis Émilie\nLaurent a signé."
    found = _of(text, "person", Context(people=people))
    # "Marc" alone is not a name to look for (one word names half the country); the wrapped name is found.
    assert [v for v, _ in found] == ["emilie@horizon.example", "emilie@horizon.example"]
    assert found[1][1] == "Émilie\nLaurent"


def test_emails_urls_and_domains():
    text = "Écrire à Jean.Dupont@Example.FR ou voir (https://onedrive-en-marche.fr/login?id=3)."
    found = find_mentions(text)
    assert [(m.kind, m.value) for m in found] == [
        ("email", "jean.dupont@example.fr"), ("domain", "example.fr"),
        ("url", "https://onedrive-en-marche.fr/login?id=3"), ("domain", "onedrive-en-marche.fr"),
    ]  # fmt: skip


def test_dates_in_three_languages():
    text = "le 3 mai 2017, on May 5, 2017, 7 мая 2017 г., 2017-05-08, 09/05/2017, not 31/02/2017"
    assert [v for v, _ in _of(text, "date")] == ["2017-05-03", "2017-05-05", "2017-05-07", "2017-05-08", "2017-05-09"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The campaign's treasurer approved the transfer on Friday evening.", "en"),
        ("Le trésorier de la campagne a approuvé le virement vendredi soir.", "fr"),
        ("Казначей кампании одобрил перевод в пятницу вечером.", "ru"),
    ],
)
def test_language_of_english_french_and_russian(text, lang):
    found = detect(text)
    assert found is not None and found[0] == lang and found[1] > 0.8


def test_language_of_too_little_text_is_not_guessed():
    assert detect("OK 12") is None
