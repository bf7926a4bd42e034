"""Sender attribution from the real address (issue 16): from:/to: and the sender-domain facet read
every parsed mailbox, never a display name, which can show any address."""

from __future__ import annotations

import pytest
from helpers import build_case

from leaklens.addresses import mailbox_addresses, mailbox_domains


@pytest.mark.parametrize(
    "value,expected",
    [
        ('"emilie@horizon-campaign.example" <attacker@evil.example>', ("attacker@evil.example",)),
        ("emilie@horizon-campaign.example <attacker@evil.example>", ("attacker@evil.example",)),
        # A quoted display name before a bare address: one mailbox, the bare one.
        ('"emilie@horizon-campaign.example" attacker@evil.example', ("attacker@evil.example",)),
        ("(alice@good.example) eve@evil.example", ("eve@evil.example",)),
        ("Alice <Alice@H.example>, bob@x.example", ("alice@h.example", "bob@x.example")),
        # Unreadable for RFC 5322 (a "<" in the display name): read leniently, still from the <address>.
        ('A <b, "c" <x@y.example>', ("x@y.example",)),
        # Nothing but a display name: no address at all, rather than the name's.
        ('Bad "x@good.example', ()),
        (None, ()),
        ("", ()),
        ("undisclosed-recipients:;", ()),
    ],
)
def test_mailbox_addresses_never_read_a_display_name(value, expected):
    assert mailbox_addresses(value) == expected


def test_mailbox_domains_one_per_domain_in_order():
    assert mailbox_domains("a@x.example, B <b@y.example>, c@X.example") == ("x.example", "y.example")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("senders")
    src = tmp / "in"
    src.mkdir()
    (src / "attack.eml").write_text(
        'From: "emilie@horizon-campaign.example" <attacker@evil.example>\n'
        'To: "press@horizon-campaign.example" <drop@evil.example>\nSubject: Budget\n'
        "Date: Mon, 03 Apr 2017 10:00:00 +0200\n\nLe budget est en pièce jointe.\n"
    )
    (src / "real.eml").write_text(
        "From: Emilie <emilie@horizon-campaign.example>\nTo: Paul <paul@horizon-campaign.example>,"
        " ext@partner.example\nSubject: Budget\nDate: Tue, 04 Apr 2017 10:00:00 +0200\n\nLe budget.\n"
    )
    return build_case(tmp, src)


def _subjects_from(db, query):
    total, hits = db.search(query)
    return total, sorted(h["email_from"] for h in hits)


def test_from_filter_is_not_fooled_by_a_display_name(case):
    total, senders = _subjects_from(case.db, "from:horizon-campaign.example")
    assert total == 1 and senders == ["Emilie <emilie@horizon-campaign.example>"]
    total, senders = _subjects_from(case.db, "from:evil.example")
    assert total == 1 and "attacker@evil.example" in senders[0]


def test_to_filter_reads_every_recipient_address(case):
    assert case.db.search("to:horizon-campaign.example")[0] == 1
    assert case.db.search("to:partner.example")[0] == 1  # the second mailbox of To
    assert case.db.search("to:drop@evil.example")[0] == 1


def test_sender_domain_facet_shows_the_real_domain(case):
    _, facets = case.db.search_facets("", top=50, budget_s=10.0)
    assert sorted(facets["from"]) == [("evil.example", 1), ("horizon-campaign.example", 1)]
