"""The planted emails: each shows one thing leaklens must detect (issues 3 and 4).

Every alteration is applied to the bytes of a message that was genuinely
signed, exactly as a forger (or a mailing list) would change it in transit
or in the dump.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from . import documents as docs
from .content import DocSpec
from .messages import PARIS, Built, MessageFactory, render
from .mime import address
from .people import (
    CANDIDATE,
    DOMAIN,
    EXTERNAL,
    LIST_DOMAIN,
    LOOKALIKE_LOGIN_DOMAIN,
    PHISHER,
    PHISHING_URL,
    STAFF,
    TEAM_LIST,
    Person,
)
from .signing import ARC_SIGNER, ORG_SIGNER, arc_seal, outside_signer

S = STAFF


def _at(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2017, month, day, hour, minute, tzinfo=PARIS)


def _replace_once(raw: bytes, old: bytes, new: bytes) -> bytes:
    if raw.count(old) != 1:
        raise AssertionError(f"planted edit needs exactly one {old!r}")
    return raw.replace(old, new)


def _signed(built: Built, verdict: str, findings: list[str], case: str, note: str) -> Built:
    built.case, built.note = case, note
    built.expected_verdict, built.expected_findings = verdict, findings
    return built


def altered_amount(f: MessageFactory) -> Built:
    b = f.build(S["treasurer"], [S["director"]], "Donation from the Lemaire family",
                "Emilie,\n\nThe Lemaire family transfer arrived this morning: EUR 7,500, the legal "
                "maximum, with the signed donor form. I have logged it in the donor file.\n\n"
                "Julien Moreau\nTreasurer and head of fundraising | Horizon 2017",
                _at(3, 14, 9, 12), signer=ORG_SIGNER, html=False, encoding="7bit")
    b.raw = _replace_once(b.raw, b"EUR 7,500, the legal", b"EUR 75,000, ten times the legal")
    return _signed(b, "altered", ["dkim.body_hash_mismatch"], "dkim_altered_body",
                   "amount changed after signing: 'EUR 7,500, the legal maximum' became "
                   "'EUR 75,000, ten times the legal maximum'")


def appended_footer(f: MessageFactory) -> Built:
    b = f.build(S["comms"], [S["press"]], "Line for tomorrow's papers",
                "Camille,\n\nThe line on the polls stays the same: we do not comment on a single "
                "poll. Please pass it on to the spokespeople tonight.\n\n"
                "Thomas Lefevre\nCommunications director | Horizon 2017",
                _at(4, 3, 19, 40), signer=ORG_SIGNER, html=False, encoding="7bit")
    b.raw += (b"\nP.S. Delete this email after reading. The money from the Cyprus account must not "
              b"appear anywhere in the official accounts.\n")
    b.extra = {"expected_recovered": "added_after_signing"}
    return _signed(b, "altered", ["dkim.body_hash_mismatch", "dkim.original_recovered"], "dkim_appended_text",
                   "a compromising P.S. was appended to the body after signing; removing it restores the "
                   "signed body hash, so the signed original is recovered and the P.S. shown as added "
                   "(no list explains it)")


def changed_subject(f: MessageFactory) -> Built:
    team = [S["comms"], S["treasurer"], S["events"]]
    subject = "Budget review Thursday"
    b = f.build(S["director"], team, subject,
                "Hello all,\n\nBudget review on Thursday at 6 pm in my office. Julien will present the "
                "spending to date; please bring your department's forecast for April.\n\nEmilie",
                _at(3, 28, 8, 5), signer=ORG_SIGNER, html=False, encoding="7bit")
    b.raw = _replace_once(b.raw, f"Subject: {subject}\n".encode(),
                          b"Subject: Budget review Thursday - cash payments to keep off the books\n")
    return _signed(b, "altered", ["dkim.header_mismatch"], "dkim_altered_subject",
                   "the signed Subject was changed after signing; the body is intact")


def prepended_from(f: MessageFactory) -> Built:
    b = f.build(S["speech"], [S["director"]], "Closing lines for Lille",
                "Emilie,\n\nHere are the closing lines for Lille. I kept the sentence on the workers of "
                "the north.\n\nAntoine Chevalier\nSpeechwriter | Horizon 2017",
                _at(4, 11, 22, 50), signer=ORG_SIGNER, html=False, encoding="7bit")
    fake = f"From: {address(Person(CANDIDATE, 'helene.vasseur@' + DOMAIN, 'Candidate'))}\n"
    b.raw = fake.encode("ascii") + b.raw
    return _signed(b, "suspicious", ["dkim.unsigned_header"], "dkim_prepended_from",
                   f"a second From header naming {CANDIDATE} was prepended; the signature covers "
                   "only the original From (Antoine Chevalier). Per RFC 6376 it still validates over "
                   "the bottom From; dkimpy's verify() returns False because it deliberately hashes "
                   "extra From fields (Launchpad bug 644046)")


def list_forward_with_arc(f: MessageFactory) -> Built:
    """A message to the team list: the list appends a footer (breaking DKIM) and ARC-seals it."""
    ev, owner = S["events"], S["director"]
    sent = _at(4, 20, 10, 15)
    b = f.build(ev, [TEAM_LIST], "Rally in Bordeaux: volunteers needed",
                "Hi everyone,\n\nWe need 60 volunteers for the Bordeaux rally on Saturday (stewarding, "
                "welcome desk, cloakroom). Reply to me directly if you can come.\n\nSophie Marchand\n"
                "Events and logistics | Horizon 2017",
                sent, signer=ORG_SIGNER, html=False, encoding="7bit", transit=False, owner=owner)
    at_list = sent + timedelta(seconds=3)
    # header.b in Authentication-Results: the first characters of the signature's b= value
    header_b = re.search(rb"[;\s]b=([A-Za-z0-9+/]{8})", b.raw).group(1).decode()
    list_hop = (
        f"Received: from smtp.{DOMAIN} (smtp.{DOMAIN} [192.0.2.10])\n"
        f"\tby {LIST_DOMAIN} (Postfix) with ESMTPS id 3wB7QK0Fq2z1X\n"
        f"\tfor <{TEAM_LIST.address}>; {at_list.strftime('%a, %d %b %Y %H:%M:%S %z')}\n"
    ).encode()
    authres = (
        f"Authentication-Results: {LIST_DOMAIN};\n\tdkim=pass header.d={DOMAIN} header.s=mail2017"
        f" header.b={header_b}\n"
    ).encode()
    list_headers = (
        f"List-Id: {TEAM_LIST.name.replace('É', 'E')} <equipe.{LIST_DOMAIN}>\n"
        f"List-Unsubscribe: <mailto:equipe-leave@{LIST_DOMAIN}>\n"
        f"List-Post: <mailto:{TEAM_LIST.address}>\nPrecedence: list\n"
        f"Sender: equipe-bounces@{LIST_DOMAIN}\n"
    ).encode()
    # Mailman-style: list headers and the footer are added before sealing.
    head, sep, body = b.raw.partition(b"\n\n")
    footer = (b"\n_______________________________________________\nEquipe mailing list\n"
              + f"{TEAM_LIST.address}\nhttps://{LIST_DOMAIN}/listinfo/equipe\n".encode())
    modified = authres + list_hop + list_headers + head + sep + body + footer
    sealed = arc_seal(modified, at_list + timedelta(seconds=1), ARC_SIGNER)
    delivered = at_list + timedelta(seconds=3)
    hops = (
        f"Received: from mx1.{DOMAIN} (mx1.{DOMAIN} [192.0.2.25])\n"
        f"\tby mail.{DOMAIN} (Dovecot) with LMTP id 8d1c0e2f4a6b7c9d\n"
        f"\tfor <{owner.address}>; {delivered.strftime('%a, %d %b %Y %H:%M:%S %z')}\n"
        f"Received: from {LIST_DOMAIN} ({LIST_DOMAIN} [192.0.2.40])\n"
        f"\tby mx1.{DOMAIN} (Postfix) with ESMTPS id 3wB7QK2Zr4z1Y\n"
        f"\tfor <{owner.address}>; {delivered.strftime('%a, %d %b %Y %H:%M:%S %z')}\n"
    ).encode()
    b.raw = hops + sealed
    b.owner, b.delivered = owner, delivered
    b.extra = {"expected_recovered": "in_transit"}
    return _signed(b, "altered", ["dkim.body_hash_mismatch", "dkim.original_recovered"], "list_footer_arc",
                   "the team list appended its footer, which breaks the author's DKIM body hash; removing "
                   "the footer restores the signed body hash (altered in transit, original recovered), and "
                   "the list's ARC seal validates (cv=pass) and records dkim=pass on arrival")


def length_limited(f: MessageFactory) -> Built:
    b = f.build(S["polling"], [S["director"]], "Internal numbers, do not forward",
                "Emilie,\n\nOur internal tracking has us two points ahead in the north and level in the "
                "south-west. Still within the margin of error.\n\nNadia Benali\nPolling and data | "
                "Horizon 2017", _at(4, 25, 18, 2), signer=ORG_SIGNER, length_tag=True,
                html=False, encoding="7bit")
    b.raw += b"\nUPDATE: the numbers above are fake, we are eight points behind and the team knows it.\n"
    return _signed(b, "suspicious", ["dkim.length_limited"], "dkim_length_limit",
                   "signed with l=; text appended beyond the signed length is not covered")


def phishing(f: MessageFactory) -> Built:
    targets = [S["director"], S["treasurer"], S["comms"], S["press"]]
    text = (
        "Dear Horizon staff member,\n\nDue to a security upgrade of the campaign mailboxes, all accounts "
        "must be re-validated within 24 hours. Accounts that are not re-validated will be suspended.\n\n"
        f"Please re-validate your password here:\n{PHISHING_URL}\n\nThank you for your cooperation,\n"
        "Horizon IT Support"
    )
    b = f.build(PHISHER, targets, "Action required: re-validate your mailbox password", text,
                _at(3, 9, 7, 42), signer=outside_signer(PHISHER.domain), html=True)
    b.case = "phishing"
    b.extra = {"indicators": {"domains": [PHISHER.domain, LOOKALIKE_LOGIN_DOMAIN], "urls": [PHISHING_URL],
                              "impersonates": DOMAIN}}
    # The phishing step (intel/) flags it: the demo protects its organisation's domain.
    b.expected_verdict = "suspicious"
    b.expected_findings = ["dkim.key_unavailable", "intel.lookalike_sender", "intel.lookalike_link"]
    b.note = (f"phishing from the lookalike domain {PHISHER.domain}, linking to {PHISHING_URL}; "
              "indicators: domains " + PHISHER.domain + ", " + PHISHING_URL.split("/")[2])
    return b


# ------------------------------------------------------- attachment forgeries


def modified_after_sent(f: MessageFactory) -> Built:
    treasurer, director = S["treasurer"], S["director"]
    sent = _at(4, 27, 18, 40)
    meta = docs.DocMeta(treasurer.name, _at(4, 26, 9, 10), sent + timedelta(days=1, hours=15, minutes=32),
                        revision=4)
    spec = DocSpec("docx", "Virements_avril.docx", "Virements d'avril",
                   ("Virements effectués en avril 2017.",
                    "12 avril : 48 000 EUR vers Holding Azur (Chypre), référence HZ-0412.",
                    "19 avril : 95 000 EUR vers Société Lumen SA, référence HZ-0419.",
                    "Ne pas faire figurer dans les comptes de campagne."))
    att = render(spec, meta)
    b = f.build(treasurer, [director], "Virements d'avril",
                "Emilie,\n\nCi-joint le récapitulatif des virements d'avril, comme convenu.\n\nJulien",
                sent, lang="fr", attachments=[att], html=False)
    b.case, b.loose_name = "forged_unsigned_email", "Virements_avril.eml"
    b.note = "unsigned although every genuine email from the treasurer is DKIM-signed"
    b.attachment_expect.append({
        "attachment": att.filename, "sha256": hashlib.sha256(att.data).hexdigest(),
        "case": "doc_modified_after_sent", "expected_verdict": "suspicious",
        "expected_findings": ["doc.modified_after_sent"],
        "note": "the document's internal modified date is 2017-04-29, two days after the email was sent",
    })
    return b


BUDGET_LINES = (
    "Budget prévisionnel du deuxième trimestre 2017.",
    "Meetings et déplacements : 1 250 000 EUR.",
    "Impression et affichage : 420 000 EUR.",
    "Numérique et sondages : 310 000 EUR.",
    "Total : 1 980 000 EUR, dans le respect du plafond légal.",
)


def altered_copy_pair(f: MessageFactory) -> tuple[Built, Built]:
    """A verified email carrying the real budget, and an unsigned one carrying a doctored copy."""
    treasurer, director, donor = S["treasurer"], S["director"], EXTERNAL["donor1"]
    sent = _at(4, 6, 17, 25)
    meta = docs.DocMeta(treasurer.name, _at(4, 3, 10, 0), _at(4, 6, 16, 58), revision=7)
    spec = DocSpec("docx", "Budget_previsionnel_T2.docx", "Budget prévisionnel T2", BUDGET_LINES)
    real = render(spec, meta)
    original = f.build(treasurer, [director], "Budget prévisionnel T2",
                       "Emilie,\n\nVoici le budget prévisionnel du deuxième trimestre pour validation.\n\n"
                       "Julien Moreau", sent, lang="fr", attachments=[real], signer=ORG_SIGNER, html=False)
    original.case, original.expected_verdict, original.expected_findings = (
        "altered_copy_original", "verified", ["dkim.pass"])
    original.note = "the authentic budget, in a DKIM-signed email"
    original.attachment_expect.append({
        "attachment": real.filename, "sha256": hashlib.sha256(real.data).hexdigest(),
        "case": "altered_copy_original", "expected_verdict": "verified", "expected_findings": [],
        "note": "authentic budget, covered by the email's DKIM body hash",
    })

    doctored_lines = tuple(line.replace("1 250 000", "12 500 000") for line in BUDGET_LINES)
    fake_meta = docs.DocMeta(treasurer.name, meta.created, _at(4, 30, 11, 20), revision=8)
    fake = render(DocSpec("docx", spec.filename, spec.title, doctored_lines), fake_meta)
    forward = f.build(donor, [treasurer], "Fwd: Budget prévisionnel T2",
                      "Julien,\n\nJe vous renvoie le budget que l'on m'a transmis. Les montants des "
                      "meetings me paraissent énormes, pouvez-vous m'expliquer ?\n\nJean-Luc Masson",
                      _at(5, 1, 8, 55), lang="fr", attachments=[fake], html=False)
    forward.case, forward.loose_name = "altered_copy_carrier", "Fwd_Budget_previsionnel_T2.eml"
    forward.note = "unsigned; carries a doctored copy of the verified budget"
    forward.attachment_expect.append({
        "attachment": fake.filename, "sha256": hashlib.sha256(fake.data).hexdigest(),
        "case": "dup_altered_copy", "expected_verdict": "altered", "expected_findings": ["dup.altered_copy"],
        "note": "same text as the verified budget except 'Meetings et déplacements': "
                "1 250 000 EUR became 12 500 000 EUR",
    })
    return original, forward


def build_planted(f: MessageFactory) -> list[Built]:
    original, forward = altered_copy_pair(f)
    out = [
        altered_amount(f), appended_footer(f), changed_subject(f), prepended_from(f),
        list_forward_with_arc(f), length_limited(f), phishing(f), modified_after_sent(f),
        original, forward,
    ]
    return out

