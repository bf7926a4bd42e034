"""Benchmark (not a test): entity extraction over generated text with planted entities.

Generates --mb megabytes (default 200) of French and English prose with planted entities — valid
IBANs in every printed form (compact, groups of four, dashes, wrapped over a line break), IBANs with
wrong check digits, phone numbers in national and international formats, and look-alikes that must
not be taken for phones (GUIDs, dates, invoice and order numbers) — then:

- leaklens's `find_mentions` (every candidate validated): MB/s on one core, recall and precision per
  planted kind, invalid IBANs reported (target 0);
- in the same run, a plain loop of the same candidate patterns without any validation (what a
  pattern-only extractor does): MB/s, and how many "phones" and "IBANs" it would report.

Targets: >= 2 MB/s per core, IBAN recall >= 0.99 with 0 invalid reported, phone precision >= 0.95
and recall >= 0.9.

A separate line, where spaCy's French model is installed (the `ner` extra): its recogniser over
--ner-mb megabytes of French sentences with planted people and organisations (names not among any
case's correspondents, companies without a legal form: what the patterns cannot find), MB per CPU
second beside the pattern finders' on the same text in the same run, and the recall and precision of
the planted names (a span reported exactly where one was planted).

    .venv/bin/python bench/entities.py [--mb 200] [--seed 1] [--chunk-kb 64] [--ner-mb 2]
"""

from __future__ import annotations

import argparse
import random
import time

import phonenumbers
from schwifty import IBAN

from leaklens.entities import Context, find_mentions
from leaklens.entities.banking import _CARD, _IBAN
from leaklens.entities.phones import _CANDIDATE

WORDS = (
    "le la les de des un une et à pour sur avec dans par au aux ce cette qui que nous vous ils compte virement "
    "campagne réunion trésorier facture contrat société banque document rapport vendredi lundi semaine the of and "
    "to in for on with from by at this that we you they account transfer campaign meeting treasurer invoice "
    "contract company bank report friday monday week budget signé envoyé reçu paid sent received"
).split()


def _iban(rng: random.Random) -> str:
    """A valid IBAN of France, Germany or the UK (schwifty computes the check digits and the national key)."""
    country = rng.choice(["FR", "DE", "GB"])
    if country == "FR":
        bank, account = f"{rng.randrange(10**9, 10**10)}", f"{rng.randrange(10**10, 10**11)}"
    elif country == "DE":
        bank, account = f"{rng.randrange(10**7, 10**8)}", f"{rng.randrange(10**9, 10**10)}"
    else:
        bank, account = "WEST" + f"{rng.randrange(10**5, 10**6)}", f"{rng.randrange(10**7, 10**8)}"
    return str(IBAN.generate(country, bank_code=bank, account_code=account).compact)


def _printed_iban(rng: random.Random, compact: str) -> str:
    groups = [compact[i : i + 4] for i in range(0, len(compact), 4)]
    form = rng.randrange(4)
    if form == 0:
        return compact
    if form == 1:
        return " ".join(groups)
    if form == 2:
        return "-".join(groups)
    cut = rng.randrange(1, len(groups))
    return " ".join(groups[:cut]) + "\n" + " ".join(groups[cut:])


def _invalid_iban(rng: random.Random, compact: str) -> str:
    """The IBAN with one digit changed (its check digits then fail)."""
    digits = list(compact)
    i = rng.choice([n for n in range(4, len(digits)) if digits[n].isdigit()])
    digits[i] = rng.choice([c for c in "0123456789" if c != digits[i]])
    return "".join(digits)


def _phone(rng: random.Random) -> tuple[str, str]:
    """(as printed, E.164) of a valid number."""
    while True:
        kind = rng.randrange(5)
        if kind == 0:
            n = f"0{rng.choice('67')}{rng.randrange(10**7, 10**8)}"
            printed = " ".join([n[0:2], n[2:4], n[4:6], n[6:8], n[8:10]])
            region = "FR"
        elif kind == 1:
            n = f"{rng.choice('67')}{rng.randrange(10**7, 10**8)}"
            printed = f"+33 {n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:9]}"
            region = None
        elif kind == 2:
            printed = f"+44 20 7{rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}"
            region = None
        elif kind == 3:
            printed = f"+7 495 {rng.randrange(100, 1000)}-{rng.randrange(10, 100)}-{rng.randrange(10, 100)}"
            region = None
        else:
            area = rng.choice(["212", "415", "617"])
            printed = f"+1 ({area}) {rng.randrange(200, 1000)}-{rng.randrange(1000, 10000)}"
            region = None
        num = phonenumbers.parse(printed, region)
        if phonenumbers.is_valid_number(num):
            return printed, phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _distractor(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return "-".join(f"{rng.getrandbits(b):0{b // 4}x}" for b in (32, 16, 16, 16, 48))
    if kind == 1:
        return f"le {rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{rng.randrange(1990, 2025)}"
    if kind == 2:
        return f"Facture n° {rng.randrange(10**9, 10**10)}"
    if kind == 3:
        return f"Invoice no. INV-{rng.randrange(2000, 2025)}-{rng.randrange(1000, 10000)}"
    return f"order {rng.randrange(10**13, 10**14)}"


def generate(mb: float, seed: int, chunk: int) -> tuple[list[str], dict[str, set], set]:
    """Chunks of text, the planted (kind -> set of (chunk, value)), and the invalid IBANs planted."""
    rng = random.Random(seed)
    planted: dict[str, set] = {"iban": set(), "phone": set()}
    invalid: set = set()
    chunks: list[str] = []
    total = 0
    while total < mb * 1e6:
        parts: list[str] = []
        size = 0
        n = len(chunks)
        while size < chunk:
            r = rng.random()
            if r < 0.004:
                compact = _iban(rng)
                parts.append(f"sur le compte {_printed_iban(rng, compact)} merci")
                planted["iban"].add((n, compact))
            elif r < 0.006:
                bad = _invalid_iban(rng, _iban(rng))
                parts.append(f"ancien compte {_printed_iban(rng, bad)} clos")
                invalid.add(bad)
            elif r < 0.010:
                printed, e164 = _phone(rng)
                parts.append(f"tél. {printed} ou")
                planted["phone"].add((n, e164))
            elif r < 0.016:
                parts.append(_distractor(rng))
            else:
                parts.append(" ".join(rng.choices(WORDS, k=12)))
            size += len(parts[-1]) + 1
        chunks.append(" ".join(parts))
        total += size
    return chunks, planted, invalid


FIRST = ("Jean-Marc Pierre Sophie Claire Antoine Isabelle Nicolas Camille Laurent Hélène François Juliette "
         "Mathieu Émilie Bernard Sylvie Olivier Nathalie Thierry Agnès").split()
LAST = ("Dupont Lefèvre Moreau Girard Fournier Rousseau Mercier Blanchard Garnier Chevalier Lambert Faure "
        "Bonnet Gauthier Perrin Morel Roussel Mathieu Clément Vasseur").split()
ORGS = ("BNP Paribas", "Société Générale", "Crédit Agricole", "Banque Populaire", "Caisse d'Épargne", "La Poste",
        "Air France", "Électricité de France", "Banque de France", "Conseil constitutionnel", "Commission européenne",
        "Cour des comptes")  # fmt: skip
FR_WORDS = ("le la les de des un une et pour sur avec dans par au ce cette qui que nous vous ils compte virement "
            "campagne réunion trésorier facture contrat banque document rapport vendredi lundi semaine budget "
            "signé envoyé reçu hier matin soir prochain dossier équipe montant").split()


def french(mb: float, seed: int, chunk: int) -> tuple[list[str], list[set]]:
    """Chunks of French sentences, and per chunk the (kind, start, end) of each planted name."""
    rng = random.Random(seed)
    chunks, planted = [], []
    total = 0
    while total < mb * 1e6:
        text, spans = "", set()
        while len(text) < chunk:
            person = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            org = rng.choice(ORGS)
            filler = " ".join(rng.choices(FR_WORDS, k=rng.randrange(6, 14)))
            head = f"Le trésorier {person} a rencontré les représentants de "
            spans.add(("person", len(text) + len("Le trésorier "), len(text) + len("Le trésorier ") + len(person)))
            spans.add(("org", len(text) + len(head), len(text) + len(head) + len(org)))
            text += f"{head}{org} {filler}. "
        chunks.append(text)
        planted.append(spans)
        total += len(text.encode())
    return chunks, planted


def bench_ner(mb: float, seed: int, chunk: int) -> None:
    from leaklens.entities import ner

    if "fr" not in ner.installed():
        print(f"spaCy NER: not measured ({ner.off_reason()})")
        return
    chunks, planted = french(mb, seed, chunk)
    size = sum(len(c.encode()) for c in chunks) / 1e6
    t = time.perf_counter()
    ner.model("fr")
    loaded = time.perf_counter() - t
    context = Context(regions=("FR",))
    cpu = time.process_time()
    for text in chunks:
        find_mentions(text, context)
    patterns_cpu = time.process_time() - cpu
    t, cpu = time.perf_counter(), time.process_time()
    found: list[set] = []
    for text in chunks:
        mentions, _ = ner.find_named(text, "fr")
        found.append({(m.kind, m.start, m.end) for m in mentions})
    spent, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"spaCy NER ({ner.installed()['fr']}, recogniser only; loaded in {loaded:.1f} s): {size:,.1f} MB of French "
          f"in {len(chunks):,} records, {size / cpu:,.3f} MB per CPU second ({size / spent:,.3f} MB/s wall); "
          f"the pattern finders on the same text: {size / patterns_cpu:,.2f} MB per CPU second")  # fmt: skip
    for kind in ("person", "org"):
        want = sum(1 for p in planted for k, _, _ in p if k == kind)
        got = sum(1 for f in found for k, _, _ in f if k == kind)
        tp = sum(1 for p, f in zip(planted, found, strict=True) for x in p & f if x[0] == kind)
        print(f"  {kind}: recall {tp / max(1, want):.4f}, precision {tp / max(1, got):.4f} "
              f"({got:,} reported, {want:,} planted)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk-kb", type=int, default=64, help="text per record (a document's size)")
    ap.add_argument("--ner-mb", type=float, default=2, help="French text for spaCy's recogniser (0: not run)")
    a = ap.parse_args()
    chunks, planted, invalid = generate(a.mb, a.seed, a.chunk_kb * 1024)
    mb = sum(len(c.encode()) for c in chunks) / 1e6
    print(f"{mb:,.1f} MB of text in {len(chunks):,} records; planted: "
          + ", ".join(f"{k} {len(v):,}" for k, v in planted.items()) + f", invalid IBANs {len(invalid):,}")  # fmt: skip

    context = Context(regions=("FR", "GB", "US", "RU"))
    found: dict[str, set] = {"iban": set(), "phone": set()}
    counts: dict[str, int] = {}
    t, cpu = time.perf_counter(), time.process_time()
    for n, text in enumerate(chunks):
        for m in find_mentions(text, context):
            counts[m.kind] = counts.get(m.kind, 0) + 1
            if m.kind in found:
                found[m.kind].add((n, m.value))
    spent, cpu = time.perf_counter() - t, time.process_time() - cpu
    # The CPU time's rate beside the wall clock's: on a shared machine the first says what a core does.
    print(f"leaklens (validated): {mb / spent:,.2f} MB/s on one core ({spent:,.1f} s wall; "
          f"{mb / cpu:,.2f} MB per CPU second); mentions by kind: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))  # fmt: skip
    for kind in found:
        tp = len(found[kind] & planted[kind])
        recall = tp / max(1, len(planted[kind]))
        precision = tp / max(1, len(found[kind]))
        print(f"  {kind}: recall {recall:.4f}, precision {precision:.4f} ({len(found[kind]):,} reported)")
    bad = {v for _, v in found["iban"]} & invalid
    print(f"  invalid IBANs reported: {len(bad)}")

    plain = {"iban": 0, "phone": 0, "card": 0}
    patterns = {"iban": _IBAN, "phone": _CANDIDATE, "card": _CARD}
    t = time.perf_counter()
    for text in chunks:
        for kind, pattern in patterns.items():
            plain[kind] += sum(1 for _ in pattern.finditer(text))
    spent_plain = time.perf_counter() - t
    print(f"plain patterns, no validation: {mb / spent_plain:,.2f} MB/s (IBAN/phone/card candidates only); "
          f"would report: " + ", ".join(f"{k} {v:,}" for k, v in plain.items())  # fmt: skip
          + f" (phones {plain['phone'] / max(1, len(planted['phone'])):.1f}x the planted)")
    if a.ner_mb:
        bench_ner(a.ner_mb, a.seed, a.chunk_kb * 1024)


if __name__ == "__main__":
    main()
