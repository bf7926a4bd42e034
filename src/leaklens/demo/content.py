"""What the demo campaign talks about: conversation scripts, in English and French.

Each topic function draws one thread (an opening message and its replies)
from a seeded random generator. Timing, quoting, headers and signatures are
added later by the generator; here is only who writes what to whom.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .people import CANDIDATE, EXTERNAL, STAFF, Person

S = STAFF
X = EXTERNAL

CITIES = ["Lyon", "Lille", "Marseille", "Bordeaux", "Nantes", "Toulouse", "Strasbourg", "Rennes",
          "Montpellier", "Dijon", "Clermont-Ferrand", "Grenoble"]
VENUES = ["Palais des Congrès", "Halle des Expositions", "Salle de la Cité", "Parc des Sports",
          "Centre culturel Jean-Moulin", "Espace Grand Est"]
WEEKDAYS_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
             "octobre", "novembre", "décembre"]
AGENDA_ITEMS = ["déplacement à", "réunion publique à", "visite d’entreprise à", "marché à"]
OUTLETS = {"journalist1": "Le Quotidien", "journalist2": "Global Wire", "journalist3": "Radio Nationale"}


@dataclass(frozen=True)
class DocSpec:
    """An attachment to write: `key` makes several emails carry the very same bytes."""

    kind: str  # "pdf" | "docx" | "xlsx"
    filename: str
    title: str
    paragraphs: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[object, ...], ...] = ()
    total_column: int | None = None
    key: str | None = None


@dataclass
class Msg:
    sender: Person
    to: list[Person]
    text: str
    cc: list[Person] = field(default_factory=list)
    docs: list[DocSpec] = field(default_factory=list)


@dataclass
class ThreadPlan:
    topic: str
    subject: str
    lang: str
    messages: list[Msg]


# ------------------------------------------------------------------ helpers


def eur(amount: int, lang: str) -> str:
    if lang == "fr":
        return f"{amount:,}".replace(",", "\u202f") + " €"
    return f"EUR {amount:,}"


def day_en(d: datetime) -> str:
    return d.strftime("%A %d %B").replace(" 0", " ")


def day_fr(d: datetime) -> str:
    return f"{WEEKDAYS_FR[d.weekday()]} {d.day} {MONTHS_FR[d.month - 1]}"


def signoff(p: Person, lang: str) -> str:
    if p.is_staff:
        role = {
            "Campaign director": "Directrice de campagne",
            "Press officer": "Attachée de presse",
            "Events and logistics": "Événements et logistique",
        }.get(p.role, p.role) if lang == "fr" else p.role
        return f"{p.name}\n{role} | Horizon 2017"
    return p.name


def greet(p: Person, lang: str, rng: random.Random) -> str:
    if lang == "fr":
        return rng.choice(["Bonjour {0},", "Salut {0},", "{0},", "Bonjour {0}"]).format(p.first)
    return rng.choice(["Hi {0},", "Hello {0},", "{0},", "Dear {0},"]).format(p.first)


def sign(text: str, p: Person, lang: str) -> str:
    return f"{text}\n\n{signoff(p, lang)}"


def staff_sample(rng: random.Random, k: int, exclude: Sequence[Person] = ()) -> list[Person]:
    pool = [p for p in STAFF.values() if p not in exclude]
    return rng.sample(pool, k)


# ------------------------------------------------------------------ topics


def press_interview(rng: random.Random, when: datetime) -> ThreadPlan:
    jk = rng.choice(list(OUTLETS))
    j, outlet = X[jk], OUTLETS[jk]
    press, comms = S["press"], S["comms"]
    slot = when + timedelta(days=rng.randint(2, 9))
    minutes = rng.choice([10, 15, 20, 30, 45])
    theme = rng.choice(["the economic programme", "Europe", "the youth employment plan",
                        "the energy transition", "security and justice", "the rural hospitals plan"])
    if j.lang == "fr":
        subject = rng.choice([f"Demande d'interview - {outlet}", f"Entretien avec {CANDIDATE} ?",
                              f"Interview {outlet} / {theme}"])
        first = (f"{greet(press, 'fr', rng)}\n\nJe prépare pour {outlet} un sujet sur {theme} et je "
                 f"souhaiterais un entretien de {minutes} minutes avec {CANDIDATE}, idéalement "
                 f"{day_fr(slot)}. Est-ce envisageable ?\n\nBien cordialement,\n{j.name}\n{outlet}")
        replies = [
            Msg(press, [j], sign(f"{greet(j, 'fr', rng)}\n\nMerci pour votre demande. L'agenda de "
                                 f"{CANDIDATE} est très chargé cette semaine mais je regarde avec "
                                 f"l'équipe et je reviens vers vous d'ici demain.\n\nVous trouverez "
                                 "notre dossier de presse en pièce jointe.", press, "fr"),
                cc=[comms], docs=[PRESS_KIT]),
            Msg(j, [press], f"Merci beaucoup, j'attends votre retour.\n\n{j.name}"),
            Msg(press, [j], sign(f"{greet(j, 'fr', rng)}\n\nC'est d'accord pour {minutes} minutes "
                                 f"{day_fr(slot)} à {rng.choice(['9h30', '11h', '14h', '17h30'])}, "
                                 "au QG. Merci de m'envoyer vos questions principales la veille.",
                                 press, "fr"), cc=[comms]),
        ]
    else:
        subject = rng.choice([f"Interview request - {outlet}", f"Request: {minutes} min with {CANDIDATE}",
                              f"{outlet} piece on {theme}"])
        first = (f"{greet(press, 'en', rng)}\n\nI'm working on a piece for {outlet} about {theme} and "
                 f"would like a {minutes}-minute interview with {CANDIDATE}, ideally on "
                 f"{day_en(slot)}. Would that be possible?\n\nBest regards,\n{j.name}\n{outlet}")
        replies = [
            Msg(press, [j], sign(f"{greet(j, 'en', rng)}\n\nThanks for reaching out. The schedule is "
                                 "tight this week but I am checking with the team and will come back "
                                 "to you tomorrow. Our press kit is attached.", press, "en"),
                cc=[comms], docs=[PRESS_KIT]),
            Msg(comms, [press], sign(f"{greet(press, 'en', rng)}\n\nOK for me if we keep it to "
                                     f"{theme} and do it by phone. No questions on the polls.",
                                     comms, "en")),
            Msg(press, [j], sign(f"{greet(j, 'en', rng)}\n\nWe can do {minutes} minutes by phone on "
                                 f"{day_en(slot)} at {rng.choice(['9:30', '11:00', '14:00', '17:30'])}. "
                                 "Please send your main questions the day before.", press, "en"),
                cc=[comms]),
        ]
    n = rng.choice([1, 2, 3, 4])
    return ThreadPlan("press", subject, j.lang, [Msg(j, [press], first), *replies[: n - 1]])


def rally_logistics(rng: random.Random, when: datetime) -> ThreadPlan:
    ev, venue_contact, director, treasurer = S["events"], X["venue"], S["director"], S["treasurer"]
    city, venue = rng.choice(CITIES), rng.choice(VENUES)
    date = when + timedelta(days=rng.randint(10, 30))
    seats = rng.choice([1200, 2500, 3000, 4500, 6000, 8000])
    deposit = rng.choice([4500, 6000, 7500, 9800, 12000, 15500])
    subject = f"Meeting {city} - {venue}"
    first = (f"{greet(venue_contact, 'fr', rng)}\n\nNous souhaiterions réserver le {venue} de {city} "
             f"pour un meeting de {CANDIDATE} le {day_fr(date)}, de 18h à 22h. Nous attendons environ "
             f"{seats} personnes. Pouvez-vous nous confirmer la disponibilité et le montant de "
             "l'acompte ?")
    quote = DocSpec(
        "pdf", f"Devis_{venue.replace(' ', '_')}_{city}.pdf", f"Devis - {venue}, {city}",
        (f"Client : Association de financement Horizon 2017. Événement : meeting le {day_fr(date)}.",
         f"Location de la salle ({seats} places) : {eur(deposit * 3, 'fr')} HT.",
         f"Acompte à la réservation : {eur(deposit, 'fr')}.",
         "Sécurité, nettoyage et régie son et lumière facturés en sus selon barème."),
    )
    msgs = [
        Msg(ev, [venue_contact], sign(first, ev, "fr")),
        Msg(venue_contact, [ev], f"{greet(ev, 'fr', rng)}\n\nLa salle est disponible à cette date. "
            f"Vous trouverez notre devis ci-joint ; l'acompte s'élève à {eur(deposit, 'fr')}.\n\n"
            f"Cordialement,\n{venue_contact.name}\nService réservations", docs=[quote]),
        Msg(ev, [treasurer], sign(f"{greet(treasurer, 'en', rng)}\n\nCan you approve the deposit of "
                                  f"{eur(deposit, 'en')} for {city} ({seats} seats)? Quote below from "
                                  "the venue.", ev, "en"), cc=[director]),
        Msg(treasurer, [ev], sign("Approved. I will send the transfer today. Please ask them for an "
                                  "invoice in the name of the financing association.", treasurer, "en"),
            cc=[director]),
    ]
    return ThreadPlan("events", subject, "fr", msgs[: rng.choice([2, 3, 4, 4])])


def weekly_agenda(rng: random.Random, when: datetime) -> ThreadPlan:
    director = S["director"]
    team = [p for p in STAFF.values() if p is not director]
    days = [when + timedelta(days=i) for i in range(1, 6)]
    items = [
        f"- {day_fr(d)} : {rng.choice(AGENDA_ITEMS)} {rng.choice(CITIES)}"
        for d in days
    ]
    subject = f"Agenda de la semaine du {day_fr(days[0])}"
    first = sign("Bonjour à tous,\n\nVoici les grandes lignes de la semaine :\n\n" + "\n".join(items)
                 + "\n\nRéunion d'équipe comme d'habitude à 8h30. Merci de me signaler tout conflit.",
                 director, "fr")
    responder = rng.choice(team)
    msgs = [
        Msg(director, team[:4], first, cc=team[4:]),
        Msg(responder, [director], sign(f"{greet(director, 'fr', rng)}\n\nPour "
                                        f"{day_fr(days[rng.randint(0, 4)])}, il faudra prévoir une "
                                        "voiture supplémentaire pour la presse. Je m'en occupe.",
                                        responder, "fr")),
        Msg(director, [responder], "Parfait, merci !\n\nÉ."),
    ]
    return ThreadPlan("schedule", subject, "fr", msgs[: rng.choice([1, 2, 3])])


def fundraising_dinner(rng: random.Random, when: datetime) -> ThreadPlan:
    treasurer, director = S["treasurer"], S["director"]
    city = rng.choice(["Paris", "Lyon", "Bordeaux", "Lille"])
    guests = rng.randint(40, 120)
    per_head = rng.choice([250, 500, 1000, 1500])
    target = guests * per_head
    names = rng.sample(["M. Girard", "Mme Lemaire", "M. Faure", "Mme Perrin", "M. Renaud", "Mme Colin",
                        "M. Vidal", "Mme Roche", "M. Bertin", "Mme Arnaud", "M. Hubert", "Mme Leclerc"], 8)
    rows = tuple((n, rng.choice(["Paris", "Lyon", "Neuilly", "Versailles", "Nantes"]),
                  rng.choice([500, 1000, 1500, 2500, 4500, 7500]),
                  rng.choice(["confirmé", "à relancer", "reçu"]))
                 for n in names)
    sheet = DocSpec("xlsx", f"Diner_{city}_donateurs.xlsx", f"Dîner {city} - donateurs",
                    header=("Nom", "Ville", "Promesse (EUR)", "Statut"), rows=rows, total_column=2)
    subject = rng.choice([f"Fundraising dinner {city}", f"Dinner in {city}: guest list", f"{city} donors"])
    first = sign(f"{greet(director, 'en', rng)}\n\nFor the {city} dinner we now have {guests} confirmed "
                 f"guests at {eur(per_head, 'en')} each, so about {eur(target, 'en')} if everyone pays. "
                 "Current pledges are in the attached sheet. Reminder: the legal cap is EUR 7,500 per "
                 "person per year, I am checking every line.", treasurer, "en")
    msgs = [
        Msg(treasurer, [director], first, docs=[sheet]),
        Msg(director, [treasurer], sign(f"{greet(treasurer, 'en', rng)}\n\nGreat work. Can we make "
                                        f"sure {CANDIDATE} has a short list of who is who before the "
                                        "dinner? And please no cash, everything by cheque or transfer.",
                                        director, "en")),
        Msg(treasurer, [director], sign("Will do. The list will be in the briefing book on the morning of "
                                        "the dinner.", treasurer, "en")),
    ]
    return ThreadPlan("fundraising", subject, "en", msgs[: rng.choice([1, 2, 3])])


def donor_thanks(rng: random.Random, when: datetime) -> ThreadPlan:
    donor = X[rng.choice(["donor1", "donor2"])]
    treasurer = S["treasurer"]
    amount = rng.choice([150, 300, 500, 1000, 2000, 5000])
    if donor.lang == "fr":
        subject = rng.choice(["Mon don", "Reçu fiscal", "Question sur un don"])
        first = (f"Bonjour,\n\nJ'ai fait un don de {eur(amount, 'fr')} la semaine dernière par virement. "
                 f"Pourriez-vous me confirmer sa bonne réception et m'envoyer le reçu fiscal ?\n\n"
                 f"Merci,\n{donor.name}")
        reply = sign(f"{greet(donor, 'fr', rng)}\n\nNous avons bien reçu votre don de {eur(amount, 'fr')}, "
                     "merci infiniment pour votre soutien. Le reçu fiscal vous sera adressé par courrier "
                     "au printemps. Vous trouverez notre programme en pièce jointe.", treasurer, "fr")
    else:
        subject = rng.choice(["My donation", "Tax receipt", "Question about giving"])
        first = (f"Hello,\n\nI transferred {eur(amount, 'en')} last week. Could you confirm you received "
                 f"it and tell me when I will get the tax receipt?\n\nThanks,\n{donor.name}")
        reply = sign(f"{greet(donor, 'en', rng)}\n\nWe received your gift of {eur(amount, 'en')}, thank you "
                     "so much for your support. The tax receipt will be posted in the spring. Our "
                     "programme is attached.", treasurer, "en")
    msgs = [Msg(donor, [treasurer], first), Msg(treasurer, [donor], reply, docs=[PROGRAMME])]
    return ThreadPlan("fundraising", subject, donor.lang, msgs[: rng.choice([1, 2, 2])])


def poll_results(rng: random.Random, when: datetime) -> ThreadPlan:
    pollster, polling, director, comms = X["pollster"], S["polling"], S["director"], S["comms"]
    wave = rng.randint(3, 19)
    ours = round(rng.uniform(17.5, 26.5), 1)
    rival = round(rng.uniform(18.0, 27.0), 1)
    n = rng.choice([1002, 1405, 1511, 2018])
    rows = tuple((f"Vague {w}", round(ours + rng.uniform(-2, 2), 1), round(rival + rng.uniform(-2, 2), 1),
                  round(rng.uniform(9, 14), 1)) for w in range(max(1, wave - 5), wave + 1))
    sheet = DocSpec("xlsx", f"Barometre_vague_{wave}.xlsx", f"Baromètre - vague {wave}",
                    header=("Vague", "Horizon (%)", "Principal adversaire (%)", "Indécis (%)"), rows=rows)
    subject = f"Barometer wave {wave} - topline"
    first = (f"Dear {polling.first},\n\nPlease find attached the topline of wave {wave} (n={n}, online, "
             f"fieldwork over the last three days). First-round voting intention: {ours}% for "
             f"{CANDIDATE}, {rival}% for the main rival. Margin of error about 2.5 points.\n\n"
             f"Embargo until Thursday 6 am.\n\nBest,\n{pollster.name}\nBaromètre Institut")
    trend = "up" if ours >= rival else "behind"
    msgs = [
        Msg(pollster, [polling], first, docs=[sheet]),
        Msg(polling, [director], sign(f"{greet(director, 'en', rng)}\n\nWave {wave} is in: we are at "
                                      f"{ours}% ({trend} vs {rival}%). Under embargo until Thursday. "
                                      "The under-35s move most. Full tables in the sheet.", polling, "en"),
            cc=[comms], docs=[sheet]),
        Msg(comms, [polling], sign("Thanks. Let's not comment publicly on a single wave. I'll brief "
                                   "the spokespeople with the line 'the only poll that counts is the "
                                   "vote'.", comms, "en"), cc=[director]),
    ]
    return ThreadPlan("polling", subject, "en", msgs[: rng.choice([1, 2, 3, 3])])


SPEECH_OPENINGS = [
    "From Lille to Marseille, from the workshops of the north to the ports of the south, the same "
    "question comes back: who is going to listen to us?",
    "From the first day of this campaign, we have said the same thing everywhere we went.",
    "From now on, nobody in this country should have to choose between a job and a home.",
]


def speech_draft(rng: random.Random, when: datetime) -> ThreadPlan:
    speech, director, comms = S["speech"], S["director"], S["comms"]
    city = rng.choice(CITIES)
    opening = rng.choice(SPEECH_OPENINGS)
    paragraphs = (
        f"Speech - {city} - draft {rng.randint(2, 7)}",
        opening,
        f"Tonight in {city} I want to talk about work, about dignity and about the future.",
        "We will cut the cost of hiring for small businesses, and we will ask the largest ones to "
        "invest more in training.",
        "Europe is not the problem. A Europe that does not protect is the problem.",
        "Thank you, long live the Republic, and long live France.",
    )
    doc = DocSpec("docx", f"Discours_{city}_v{rng.randint(2, 7)}.docx", f"Discours {city}", paragraphs)
    subject = f"Speech draft - {city}"
    # The opening stays on its own line in the email: mbox writers must escape it.
    first = sign(f"{greet(director, 'en', rng)}\n\nAttached is the new draft for {city}. It opens "
                 f"like this:\n\n{opening}\n\nAbout 18 minutes when read aloud. Comments by tonight "
                 "please.", speech, "en")
    msgs = [
        Msg(speech, [director], first, cc=[comms], docs=[doc]),
        Msg(comms, [speech], sign("Good draft. Cut the paragraph on pensions, it will be the only "
                                  "thing quoted. And add a line for the local mayor.", comms, "en"),
            cc=[director]),
        Msg(director, [speech], sign("Agreed with Thomas. Otherwise very good. Can we have the final "
                                     "version by 10 am tomorrow?", director, "en"), cc=[comms]),
        Msg(speech, [director], sign("Yes, final version before 10.", speech, "en"), cc=[comms]),
    ]
    return ThreadPlan("speech", subject, "en", msgs[: rng.choice([1, 2, 3, 4])])


def it_notice(rng: random.Random, when: datetime) -> ThreadPlan:
    it = S["it"]
    team = [p for p in STAFF.values() if p is not it]
    subject, body = rng.choice([
        ("Reminder: two-factor authentication",
         "Reminder: please turn on two-factor authentication for your campaign mailbox before Friday. "
         "IT will NEVER ask you for your password by email or send you a link to log in. If you get "
         "such a message, forward it to me and do not click."),
        ("New laptops - pickup",
         "The new laptops have arrived. Please come to the IT desk on the 2nd floor between 2 and 6 pm "
         "with your old machine. Bring your charger."),
        ("Wi-Fi at HQ",
         "The guest Wi-Fi password changed this morning. Staff should use the 'Horizon-Staff' network "
         "only; the guest network is for visitors and press."),
        ("Phishing attempts",
         "We are seeing fake login pages imitating our webmail and file sharing. Check the address bar: "
         "our only webmail is https://mail.horizon-campaign.example. Report anything odd to me."),
    ])
    asker = rng.choice(team)
    msgs = [
        Msg(it, team[:5], sign(f"Hi all,\n\n{body}", it, "en"), cc=team[5:]),
        Msg(asker, [it], sign(f"{greet(it, 'en', rng)}\n\nQuick question: does this apply to our phones "
                              "as well?", asker, "en")),
        Msg(it, [asker], sign("Yes, phones too. Come and see me if you need help setting it up.", it, "en")),
    ]
    return ThreadPlan("it", subject, "en", msgs[: rng.choice([1, 1, 2, 3])])


def printing_order(rng: random.Random, when: datetime) -> ThreadPlan:
    ev, printer = S["events"], X["printer"]
    qty = rng.choice([20000, 50000, 100000, 150000])
    price = int(qty * rng.choice([0.021, 0.025, 0.032]))
    item = rng.choice(["tracts A5 recto-verso", "affiches 40x60", "programmes 8 pages", "autocollants"])
    subject = f"Commande {item}"
    quote = DocSpec("pdf", f"Devis_Imprimerie_Petit_{qty}.pdf", "Imprimerie Petit - devis",
                    (f"Objet : {qty} {item}.", f"Prix total : {eur(price, 'fr')} HT, livraison incluse.",
                     "Délai : 5 jours ouvrés après validation du BAT."))
    msgs = [
        Msg(ev, [printer], sign(f"{greet(printer, 'fr', rng)}\n\nPourriez-vous nous faire un devis pour "
                                f"{qty} {item}, livraison au QG ?", ev, "fr")),
        Msg(printer, [ev], f"{greet(ev, 'fr', rng)}\n\nVoici notre devis : {eur(price, 'fr')} HT.\n\n"
            f"{printer.name}\nImprimerie Petit", docs=[quote]),
        Msg(ev, [printer], sign("C'est validé, merci. Le fichier final arrive demain matin.", ev, "fr")),
    ]
    return ThreadPlan("events", subject, "fr", msgs[: rng.choice([2, 3])])


def travel(rng: random.Random, when: datetime) -> ThreadPlan:
    ev = S["events"]
    travellers = staff_sample(rng, 3, exclude=[ev])
    city = rng.choice(CITIES)
    date = when + timedelta(days=rng.randint(1, 6))
    train = rng.choice(["7h04", "8h12", "9h58", "13h16", "16h46"])
    subject = f"Déplacement {city} {day_fr(date)}"
    first = sign(f"Bonjour à tous,\n\nPour {city} {day_fr(date)} : départ Gare de Lyon à {train}, "
                 f"voiture {rng.randint(1, 18)}. Les billets électroniques sont dans vos boîtes. "
                 "Retour le soir même.", ev, "fr")
    asker = travellers[0]
    msgs = [
        Msg(ev, travellers, first),
        Msg(asker, [ev], sign(f"{greet(ev, 'fr', rng)}\n\nJe ne pourrai rentrer que le lendemain, "
                              "peux-tu me réserver un hôtel près de la gare ?", asker, "fr")),
        Msg(ev, [asker], sign("C'est fait, confirmation envoyée.", ev, "fr")),
    ]
    return ThreadPlan("schedule", subject, "fr", msgs[: rng.choice([1, 2, 3])])


def debate_prep(rng: random.Random, when: datetime) -> ThreadPlan:
    comms, speech, polling, director = S["comms"], S["speech"], S["polling"], S["director"]
    topic = rng.choice(["pensions", "unemployment", "Europe", "security", "schools", "health"])
    subject = f"Debate prep: {topic}"
    msgs = [
        Msg(comms, [speech, polling], sign(f"Team,\n\nFor the debate we need a one-page brief on {topic}: "
                                           "our three numbers, their three weak points, and two lines "
                                           "that fit in a tweet. By Wednesday noon please.", comms, "en"),
            cc=[director]),
        Msg(polling, [comms], sign(f"On {topic}, {rng.randint(52, 71)}% of undecided voters say it "
                                   "matters a lot to them. I'll send the crosstabs.", polling, "en"),
            cc=[speech]),
        Msg(speech, [comms], sign("Draft lines coming tonight.", speech, "en"), cc=[polling]),
    ]
    return ThreadPlan("debate", subject, "en", msgs[: rng.choice([1, 2, 3])])


def press_release(rng: random.Random, when: datetime) -> ThreadPlan:
    comms, press, director = S["comms"], S["press"], S["director"]
    subject_word = rng.choice(["Soutien de plusieurs élus locaux", "Programme numérique",
                               "Plan pour l'hôpital", "Déplacement en Outre-mer",
                               "Réponse aux attaques de l'adversaire"])
    doc = DocSpec("docx", f"CP_{subject_word.split()[0]}_{rng.randint(10, 99)}.docx",
                  f"Communiqué - {subject_word}",
                  (f"Communiqué de presse - {subject_word}.",
                   f"{CANDIDATE} a présenté aujourd'hui ses propositions.",
                   "Contact presse : Camille Rousseau."))
    subject = f"CP : {subject_word}"
    msgs = [
        Msg(comms, [press, director], sign(f"Bonjour,\n\nProjet de communiqué ci-joint. Envoi prévu à "
                                           f"{rng.choice(['11h', '15h', '18h'])}.", comms, "fr"), docs=[doc]),
        Msg(press, [comms], sign("Deux coquilles corrigées dans ma version, sinon ok pour moi.", press, "fr"),
            cc=[director]),
        Msg(director, [comms], sign("Validé.", director, "fr"), cc=[press]),
    ]
    return ThreadPlan("press", subject, "fr", msgs[: rng.choice([1, 2, 3])])


def volunteers(rng: random.Random, when: datetime) -> ThreadPlan:
    ev, director = S["events"], S["director"]
    n = rng.randint(40, 300)
    city = rng.choice(CITIES)
    subject = f"Volunteers for {city}"
    msgs = [
        Msg(ev, [director], sign(f"{greet(director, 'en', rng)}\n\nWe have {n} volunteers signed up for "
                                 f"{city}. We need another {rng.randint(20, 80)} for stewarding and the "
                                 "welcome desk. Can the local committee help?", ev, "en")),
        Msg(director, [ev], sign("Yes, I'll call the committee chair tonight.", director, "en")),
    ]
    return ThreadPlan("events", subject, "en", msgs[: rng.choice([1, 2])])


TOPICS: list[tuple[Callable[[random.Random, datetime], ThreadPlan], int]] = [
    (press_interview, 14),
    (rally_logistics, 10),
    (weekly_agenda, 8),
    (fundraising_dinner, 7),
    (donor_thanks, 8),
    (poll_results, 9),
    (speech_draft, 9),
    (it_notice, 5),
    (printing_order, 6),
    (travel, 8),
    (debate_prep, 7),
    (press_release, 8),
    (volunteers, 6),
]


def draw_thread(rng: random.Random, when: datetime) -> ThreadPlan:
    funcs, weights = zip(*TOPICS, strict=True)
    topic = rng.choices(funcs, weights=weights)[0]
    return topic(rng, when)


# Documents that many emails carry with the very same bytes.
PRESS_KIT = DocSpec(
    "pdf", "Horizon_dossier_de_presse.pdf", "Horizon 2017 - Dossier de presse",
    (f"{CANDIDATE}, candidate à l'élection présidentielle.",
     "Biographie, principaux engagements, contacts presse.",
     "Contact presse : Camille Rousseau, camille.rousseau@horizon-campaign.example."),
    key="press-kit",
)
PROGRAMME = DocSpec(
    "pdf", "Programme_Horizon_2017.pdf", "Le programme d'Horizon",
    ("Travail : baisser le coût de l'embauche dans les petites entreprises.",
     "Europe : une Europe qui protège.",
     "Santé : 500 maisons de santé dans les territoires ruraux.",
     "Éducation : des classes de 12 élèves en CP et CE1 dans les quartiers prioritaires."),
    key="programme",
)
