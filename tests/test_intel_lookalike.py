"""Lookalike scoring (intel/lookalike.py): the MacronLeaks domains, each technique, and what is not a lookalike."""

from __future__ import annotations

import pytest

from leaklens.errors import UsageError
from leaklens.intel.domains import split_host, urls_in
from leaklens.intel.lookalike import Scorer, protected_domain
from leaklens.intel.unicode import confusables, scripts_of, skeleton


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(["en-marche.fr", "office.com"])


@pytest.mark.parametrize(
    "domain, target, technique",
    [
        ("onedrive-en-marche.fr", "en-marche.fr", "combosquatting"),
        ("mail-en-marche.fr", "en-marche.fr", "combosquatting"),
        ("portal-office.fr", "office.com", "combosquatting"),
        ("accounts-office.fr", "office.com", "combosquatting"),
    ],
)
def test_macronleaks_domains_found_with_defaults(scorer: Scorer, domain: str, target: str, technique: str) -> None:
    m = scorer.score(domain)
    assert m is not None and m.target == target and m.techniques[0] == technique
    assert m.score >= 80


def test_tld_swap_combined_with_combosquatting(scorer: Scorer) -> None:
    m = scorer.score("portal-office.fr")
    assert m.techniques == ["combosquatting", "tld-swap"]
    assert m.evidence["combosquatting"]["lure_words"] == ["portal"]
    assert scorer.score("accounts-office.fr").evidence["combosquatting"]["lure_words"] == ["accounts"]  # a plural


@pytest.mark.parametrize(
    "domain",
    [
        "en-marche.fr",
        "www.en-marche.fr",
        "mail.en-marche.fr",
        "dons.en-marche.fr",
        "EN-MARCHE.FR.",
        "lemonde.fr",
        "gouv.fr",
        "elysee.gouv.fr",
        "officedepot.com",
        "homeoffice.gov.uk",
        "officeonline.com",
        "marche.fr",
        "office.com",
        "outlook.office.com",
    ],
)
def test_not_lookalikes(scorer: Scorer, domain: str) -> None:
    assert scorer.score(domain) is None


@pytest.mark.parametrize(
    "domain, technique",
    [
        ("en-marche.com", "tld-swap"),
        ("xn--ffice-iye.com", "idn-homograph"),  # Cyrillic о + ffice
        ("0ffice.com", "homoglyph"),
        ("en-rnarche.fr", "homoglyph"),
        ("enmarche.fr", "dnstwist:omission"),
        ("en-marhce.fr", "dnstwist:transposition"),
        ("en-matche.fr", "keyboard"),
        ("office.com.account-verify.example", "subdomain"),
    ],
)
def test_techniques(scorer: Scorer, domain: str, technique: str) -> None:
    m = scorer.score(domain)
    assert m is not None and technique in m.techniques, m


def test_idn_homograph_evidence_names_characters_and_scripts(scorer: Scorer) -> None:
    m = scorer.score("оffice.com")  # Cyrillic о
    ev = m.evidence["idn-homograph"]
    assert ev["scripts"] == ["Cyrillic", "Latin"] and ev["mixed_script"]
    assert ev["characters"][0]["code"] == "U+043E" and ev["characters"][0]["looks_like"] == "o"
    whole = Scorer(["paypal.com"]).score("раураӏ.com".replace("ӏ", "l"))  # р а у а Cyrillic, l Latin
    assert whole.techniques[0] == "idn-homograph"
    assert whole.evidence["idn-homograph"]["scripts"] == ["Cyrillic", "Latin"]
    cyrillic = Scorer(["cocoa.com"]).score("сосоа.com")  # every letter Cyrillic: one script, still a homograph
    assert cyrillic.techniques[0] == "idn-homograph" and not cyrillic.evidence["idn-homograph"]["mixed_script"]


def test_keyboard_and_edit_distance() -> None:
    s = Scorer(["horizon-campaign.example"])
    kb = s.score("horizon-campaogn.example")  # i -> o, neighbours on every layout
    assert kb is not None and kb.techniques[0] == "keyboard"
    far = s.score("horizn-campain.example")  # two edits on a long label
    assert far is not None and far.techniques == ["edit-distance"] and far.evidence["edit-distance"]["distance"] == 2
    assert s.score("horizon-campaign.example") is None


def test_distinctive_brand_with_any_word_generic_only_with_lures(scorer: Scorer) -> None:
    m = scorer.score("en-marche-paiement.fr")
    assert m is not None and m.evidence["combosquatting"]["other_words"] == ["paiement"]
    assert m.score < scorer.score("mail-en-marche.fr").score
    assert scorer.score("office-furniture.com") is None
    assert scorer.score("my-office-login.com").evidence["combosquatting"]["lure_words"] == ["login"]


def test_extendable_lure_words() -> None:
    assert Scorer(["office.com"]).score("office-paiement.fr") is None
    assert Scorer(["office.com"], lure_words=["paiement"]).score("office-paiement.fr") is not None


def test_confusables_table_is_uts39() -> None:
    table = confusables()
    assert len([cp for cp in table if cp >= 128]) > 1000  # far beyond dnstwist's 224
    assert skeleton("раураl") == "paypal"  # Cyrillic р а у
    assert skeleton("m") == skeleton("rn")
    assert skeleton("0") == "o" and skeleton("1") == skeleton("l")
    assert scripts_of("pаypal") == ["Latin", "Cyrillic"]


def test_bad_protected_domain_is_a_usage_error() -> None:
    for bad in ("", "not a domain", "co.uk", "1.2.3.4"):
        with pytest.raises(UsageError):
            protected_domain(bad)
    with pytest.raises(UsageError):
        Scorer([])


def test_splitting_and_urls() -> None:
    assert split_host("a.b.co.uk").registrable == "b.co.uk"
    assert split_host("x.github.io").registrable == "x.github.io"
    assert split_host("mail.horizon-campaign.example").registrable == "horizon-campaign.example"
    assert split_host("1.2.3.4") is None
    assert urls_in("see https://a.example/x?y=1, and www.b.example.") == ["https://a.example/x?y=1", "www.b.example"]
