"""The fictional organisation of the demo dump: who works there, who writes to them.

Every domain ends in `.example` (RFC 2606) so that no real organisation,
newsroom or person is implicated by the demo.
"""

from __future__ import annotations

from dataclasses import dataclass

ORG_NAME = "Horizon"
DOMAIN = "horizon-campaign.example"
LIST_DOMAIN = "lists.horizon-campaign.example"
LOOKALIKE_MAIL_DOMAIN = "mail-horizon-campaign.example"
LOOKALIKE_LOGIN_DOMAIN = "onedrive-horizon-campaign.example"
PHISHING_URL = f"https://{LOOKALIKE_LOGIN_DOMAIN}/login"

CANDIDATE = "Hélène Vasseur"


@dataclass(frozen=True)
class Person:
    name: str
    address: str
    role: str
    lang: str = "en"  # the language they mostly write in: "en" or "fr"

    @property
    def first(self) -> str:
        return self.name.split()[0]

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]

    @property
    def is_staff(self) -> bool:
        return self.domain == DOMAIN

    @property
    def mailbox(self) -> str:
        """The mbox file name this person's leaked mailbox is published under."""
        return self.address.split("@", 1)[0] + ".mbox"


def _staff(name: str, local: str, role: str, lang: str = "en") -> Person:
    return Person(name, f"{local}@{DOMAIN}", role, lang)


STAFF: dict[str, Person] = {
    "director": _staff("Émilie Garnier", "emilie.garnier", "Campaign director", "fr"),
    "comms": _staff("Thomas Lefèvre", "thomas.lefevre", "Communications director"),
    "press": _staff("Camille Rousseau", "camille.rousseau", "Press officer", "fr"),
    "treasurer": _staff("Julien Moreau", "julien.moreau", "Treasurer and head of fundraising"),
    "events": _staff("Sophie Marchand", "sophie.marchand", "Events and logistics", "fr"),
    "speech": _staff("Antoine Chevalier", "antoine.chevalier", "Speechwriter"),
    "polling": _staff("Nadia Benali", "nadia.benali", "Polling and data"),
    "it": _staff("Lucas Fontaine", "lucas.fontaine", "IT and digital"),
}

# Outside contacts. Some of their domains sign mail with keys that are not in
# the demo key archive (see signing.OUTSIDE_SELECTORS).
EXTERNAL: dict[str, Person] = {
    "journalist1": Person("Marc Dupuis", "marc.dupuis@lequotidien.example", "Political reporter", "fr"),
    "journalist2": Person("Sarah Whitman", "s.whitman@globalwire.example", "Paris correspondent"),
    "journalist3": Person("Inès Caron", "ines.caron@radio-nationale.example", "Radio producer", "fr"),
    "pollster": Person("Pierre Lambert", "p.lambert@barometre-institut.example", "Pollster"),
    "venue": Person("Nathalie Roux", "reservations@congres-lyon.example", "Venue manager", "fr"),
    "printer": Person("Bruno Petit", "bruno@imprimerie-petit.example", "Printer", "fr"),
    "donor1": Person("Jean-Luc Masson", "jl.masson@mailbox.example", "Donor", "fr"),
    "donor2": Person("Catherine Aubert", "c.aubert@mailbox.example", "Donor"),
    "bank": Person("Service clients", "entreprises@banque-centrale.example", "Bank", "fr"),
}

# The campaign-wide list the demo forwards one message through (ARC demo).
TEAM_LIST = Person("Équipe Horizon", f"equipe@{LIST_DOMAIN}", "Team mailing list")

PHISHER = Person("Horizon IT Support", f"it-support@{LOOKALIKE_MAIL_DOMAIN}", "Attacker")

# The forger of the finance spreadsheets (the MacronLeaks pattern).
FOREIGN_EDITOR = "Рошка Георгий Петрович"

ALL_PEOPLE: tuple[Person, ...] = (*STAFF.values(), *EXTERNAL.values())
