"""Benchmark (not a test): lookalike detection against dnstwist and openSquat, in the same run.

    .venv/bin/python bench/lookalikes.py [--seed 1] [--benign 10000] [--repeat 3] [--list 1000000] [--speed-only]

A labelled set, made by generators leaklens does not use for scoring:

- lookalikes: dnstwist's own permutations (its Fuzzer, every fuzzer but the original) and CIRCL's
  ail-typo-squatting's (runAll, every algorithm) of each brand; combosquats built from a word list
  leaklens does not ship (`WORDS`, checked against its lure and filler lists); homographs with 1-2
  letters replaced by characters drawn from confusable_homoglyphs' confusables data and from the
  `homoglyphs` package's visually similar glyphs (IDNA-encoded);
- benign: 10,000 registrable domains containing "office", "mail", "portal" or "support" built from
  an ordinary business vocabulary (`BUSINESS`), plus well-known real domains and random names.

Scored by leaklens (`Scorer`, default settings), by dnstwist (default settings: its permutations of
each brand, a domain matches when it is one of them; the PyPI wheel ships no dictionary) and by
openSquat (`SquattingDetector.check` per brand keyword, default confidence level). Prints precision
and recall overall and per generator, the share of the benign "office..." domains flagged for
office.com, and domains scored per second (leaklens on a list of --list lines, several runs).

Bench-only dependencies (not leaklens's): dnstwist (a runtime one anyway), opensquat,
ail-typo-squatting, confusable_homoglyphs, homoglyphs:  pip install opensquat ail-typo-squatting
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from leaklens.intel.domains import split_host
from leaklens.intel.lookalike import Scorer, default_lure_words, filler_words, with_plurals

BRANDS = ["paypal.com", "microsoft.com", "google.com", "apple.com", "amazon.com", "netflix.com",
          "en-marche.fr", "office.com", "facebook.com", "linkedin.com"]  # fmt: skip

# Combosquat words (phishing vocabulary from reports and the CCS 2017 paper's examples), none of which
# leaklens ships; filtered below against its lists so that the check stays true if they grow.
WORDS = """refund claim prize winner unlock locked suspended activation activate renew renewal customer client
center centre official safe safety protect protection guard check checking review care assist assistance
connect gateway direct express order orders tracking delivery parcel bonus gift promo voucher crypto token
passcode otp code mfa twofactor unusual activity limited restore restored resolve dispute case ticket
billinginfo statement receipt refunds claims service24 alerts24 team365 verifyid accountid""".split()

# Ordinary names around office, mail, portal, support (real businesses look like this).
BUSINESS = """home depot max supplies furniture chair desk space design interior plus pro world city central
green blue red star sun moon river lake park garden house build builders tech solutions systems group global
local national royal prime smart easy quick fast best top first one united metro urban country village family
kids pet auto car bike sport fitness health dental medical law legal tax finance insurance realty estate
property rental rentals clean cleaning print printing paper copy ink box boxes store shop market trade media
studio art photo video music book books coffee tea food pizza wine beer travel tour hotel jet air sea ocean
north south east west alpha beta delta omega nova terra luna atlas titan eagle lion tiger wolf bear fox hawk
paris london berlin madrid rome lyon nice tokyo texas ohio miami boston denver seattle dallas austin chicago
jones smith brown martin dupont bernard petit moreau laurent simon michel garcia roux david bertrand morel
express direct network partners services systems digital cloudy bright clear simple modern classic vintage
green eco bio organic natural pure fresh daily weekly monthly happy lucky golden silver diamond crystal""".split()

REAL = """lemonde.fr gouv.fr elysee.gouv.fr wikipedia.org bbc.co.uk nytimes.com github.com gitlab.com
python.org debian.org mozilla.org theguardian.com liberation.fr lefigaro.fr orange.fr free.fr sfr.fr laposte.net
laposte.fr ovh.com gandi.net cloudflare.com fastly.net akamai.net amazonaws.com azure.com office365.com
outlook.com live.com hotmail.com gmail.com yahoo.com icloud.com protonmail.com mailchimp.com sendgrid.net
mailgun.org zoom.us slack.com dropbox.com box.com wetransfer.com docusign.com adobe.com salesforce.com
twitter.com x.com instagram.com whatsapp.com telegram.org signal.org reddit.com youtube.com twitch.tv
paypal.me paypalobjects.com microsoftonline.com googleusercontent.com appleid.apple.com aws.amazon.com""".split()


def _quiet():
    """ail-typo-squatting asks the network for the public suffix list (and prints the failure)."""
    logging.disable(logging.CRITICAL)
    return contextlib.redirect_stderr(io.StringIO())


def dnstwist_variants(domain: str) -> list[tuple[str, str]]:
    import dnstwist

    f = dnstwist.Fuzzer(domain)
    f.generate()
    return [(d["domain"], d["fuzzer"]) for d in f.domains if d["fuzzer"] != "*original"]


def ail_variants(domain: str, rng: random.Random, per_brand: int) -> list[tuple[str, str]]:
    from ail_typo_squatting import runAll

    with _quiet():
        out = runAll(domain, limit=100000, formatoutput="text", pathOutput=None, verbose=False, givevariations=True)
    out = [(d, k) for d, k in out if d != domain and "." in d]
    rng.shuffle(out)
    return out[:per_brand]


def combosquats(rng: random.Random, words: list[str], per_brand: int) -> list[tuple[str, str]]:
    tlds = ["com", "net", "org", "fr", "info", "online", "xyz", "top", "co", "io", "site", "support"]
    out = []
    for b in BRANDS:
        label = split_host(b).label
        for _ in range(per_brand):
            w = rng.choice(words)
            shape = rng.randrange(4)
            name = (f"{label}-{w}", f"{w}-{label}", f"{label}{w}", f"{w}{label}")[shape]
            out.append((f"{name}.{rng.choice(tlds)}", "combo"))
    return out


def homographs(rng: random.Random, per_brand: int) -> list[tuple[str, str]]:
    import homoglyphs as hg_mod
    from confusable_homoglyphs import confusables

    data = confusables.confusables_data  # Unicode's confusables.txt, as that package ships it
    glyphs = hg_mod.Homoglyphs(languages={"en", "ru", "el"}, strategy=hg_mod.STRATEGY_LOAD)
    out = []
    for b in BRANDS:
        sp = split_host(b)
        label = sp.label
        made, tries = 0, 0
        while made < per_brand and tries < per_brand * 50:
            tries += 1
            chars = list(label)
            letters = [i for i, c in enumerate(chars) if c.isalpha()]
            for i in rng.sample(letters, min(len(letters), rng.choice((1, 1, 2)))):
                c = chars[i]
                if rng.random() < 0.5:
                    pool = [g["c"] for g in data.get(c, []) if len(g["c"]) == 1 and not g["c"].isascii()]
                    source = "confusables"
                else:
                    pool = [g for g in glyphs.get_combinations(c) if len(g) == 1 and not g.isascii()]
                    source = "homoglyphs"
                if pool:
                    chars[i] = rng.choice(pool)
            text = "".join(chars)
            if text == label:
                continue
            try:
                host = f"{text}.{sp.suffix}".encode("idna").decode("ascii")
            except UnicodeError:
                continue
            out.append((host, f"homograph-{source}"))
            made += 1
    return out


def benign_office(rng: random.Random, n: int) -> list[str]:
    tlds = ["com", "net", "org", "fr", "de", "co.uk", "io", "biz", "us", "ca", "com.au", "nl", "be", "es", "it"]
    out: set[str] = set()
    while len(out) < n:
        core = rng.choice(("office", "mail", "portal", "support"))
        w = rng.choice(BUSINESS)
        w2 = rng.choice(BUSINESS) if rng.random() < 0.3 else ""
        shape = rng.randrange(4)
        name = (f"{w}{core}{w2}", f"{core}{w}{w2}", f"{w}-{core}", f"{core}-{w}")[shape]
        out.add(f"{name}.{rng.choice(tlds)}")
    return sorted(out)


def benign_random(rng: random.Random, n: int) -> list[str]:
    letters = 'abcdefghijklmnopqrstuvwxyz'
    return [f"{''.join(rng.choices(letters, k=rng.randint(5, 14)))}.{rng.choice(['com', 'fr', 'net'])}"
            for _ in range(n)]  # fmt: skip


def label_set(args) -> tuple[dict[str, str], dict[str, str]]:
    """(lookalike domain -> generator, benign domain -> kind)."""
    rng = random.Random(args.seed)
    shipped = with_plurals(default_lure_words()) | with_plurals(filler_words())
    words = [w for w in WORDS if w not in shipped]
    bad: dict[str, str] = {}
    protected = set(BRANDS)
    for b in BRANDS:
        variants = dnstwist_variants(b)
        rng.shuffle(variants)
        for d, k in variants[: args.dnstwist_per_brand]:
            bad.setdefault(d, f"dnstwist:{k}")
        for d, k in ail_variants(b, rng, args.ail_per_brand):
            bad.setdefault(d, f"ail:{k}")
    for d, k in combosquats(rng, words, args.combo_per_brand) + homographs(rng, args.homo_per_brand):
        bad.setdefault(d, k)
    # a generated variant that is itself a protected domain, or the same registrable domain, is no lookalike
    for d in list(bad):
        sp = split_host(d)
        if sp is None or not sp.label or sp.registrable in protected or " " in d:
            del bad[d]
    good: dict[str, str] = {}
    for d in benign_office(rng, args.benign):
        good[d] = "benign-office"
    for d in REAL:
        good[d] = "benign-real"
    for d in benign_random(rng, args.benign):
        good.setdefault(d, "benign-random")
    for d in list(good):
        if d in bad:
            del good[d]
    return bad, good


def score_leaklens(domains: list[str]) -> tuple[dict[str, str], float]:
    scorer = Scorer(BRANDS)
    t = time.perf_counter()
    found = {}
    for d in domains:
        m = scorer.score(d)
        if m is not None:
            found[d] = m.target
    return found, time.perf_counter() - t


def score_dnstwist(domains: list[str]) -> tuple[dict[str, str], float]:
    t = time.perf_counter()
    table: dict[str, str] = {}
    for b in BRANDS:
        for d, _ in dnstwist_variants(b):
            table.setdefault(d, b)
    found = {d: table[d] for d in domains if d in table}
    return found, time.perf_counter() - t


def score_opensquat(domains: list[str]) -> tuple[dict[str, str], float]:
    from opensquat.squatting_detector import SquattingDetector

    det = SquattingDetector()  # default confidence level (2, "medium")
    t = time.perf_counter()
    found: dict[str, str] = {}
    for b in BRANDS:
        keyword = split_host(b).label
        for d in det.check(keyword, domains, io.StringIO()):
            found.setdefault(d, b)
    return found, time.perf_counter() - t


def evaluate(name: str, found: dict[str, str], bad: dict[str, str], good: dict[str, str], seconds: float) -> dict:
    tp = sum(1 for d in bad if d in found)
    fp = sum(1 for d in good if d in found)
    by_gen: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for d, g in bad.items():
        family = g.split(":")[0] if not g.startswith("homograph") else "homograph"
        by_gen[family][1] += 1
        by_gen[family][0] += d in found
    office = [d for d, k in good.items() if k == "benign-office" and "office" in d]
    office_fp = sum(1 for d in office if found.get(d) == "office.com")
    benign_fp = Counter(k for d, k in good.items() if d in found)
    return {
        "tool": name, "precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / len(bad),
        "by_generator": {k: round(a / n, 3) for k, (a, n) in sorted(by_gen.items())},
        "office_flagged": office_fp / len(office) if office else 0.0, "benign_flagged": dict(benign_fp),
        "seconds": seconds, "domains_per_s": (len(bad) + len(good)) / seconds if seconds else 0.0,
    }  # fmt: skip


def list_speed(args) -> list[float]:
    """leaklens on a certificate-transparency-like list: one host a line, mostly unrelated names."""
    rng = random.Random(args.seed + 1)
    names = benign_random(rng, args.list - args.list // 50) + benign_office(rng, args.list // 50)
    hosts = [f"{rng.choice(['www.', 'mail.', '', '', 'cdn.'])}{d}" for d in names]
    scorer = Scorer(BRANDS)
    from leaklens.addresses import _extractor

    extract = _extractor()  # the baseline: tldextract's split alone, what any tool does per domain
    # Per core: domains per CPU second of this process (on a shared machine the wall clock also counts
    # the time other processes held the core); the baseline in the same run says how busy it was.
    rates, base = [], []
    for _ in range(args.repeat):
        t = time.process_time()
        n = 0
        for h in hosts:
            n += scorer.score_ascii(h) is not None
        rates.append(len(hosts) / (time.process_time() - t))
        t = time.process_time()
        for h in hosts:
            extract(h)
        base.append(len(hosts) / (time.process_time() - t))
    return rates, base


def stix_speed(n: int, repeat: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds to write a STIX bundle of n indicators (observable, indicator, sighting each) to a file."""
    import tempfile

    from leaklens.intel.iocs import Indicator, write_stix

    times = []
    for _ in range(repeat):
        rows = (Indicator("domain", f"host{i}.example{i % 97}.org", f"example{i % 97}.org", 3,
                          [f"item{i}", f"item{i + 1}"], ["from", "link"], "2017-03-01T10:00:00+01:00",
                          "2017-04-02T10:00:00+01:00") for i in range(n))  # fmt: skip
        with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
            t, c = time.perf_counter(), time.process_time()
            write_stix(rows, out)
            out.flush()
            times.append((time.perf_counter() - t, time.process_time() - c))
    return times


def _stix_line(args) -> str:
    times = stix_speed(args.iocs, args.repeat)
    wall, cpu = [w for w, _ in times], [c for _, c in times]
    return (f"STIX bundle of {args.iocs:,} indicators: {min(wall):.2f}-{max(wall):.2f} s wall, "
            f"{min(cpu):.2f}-{max(cpu):.2f} s CPU ({args.repeat} runs)")  # fmt: skip


def only_speed(args) -> None:
    rates, base = list_speed(args)
    ratios = [r / b for r, b in zip(rates, base, strict=True)]
    print(f"list {args.list:,}: leaklens {min(rates):,.0f}-{max(rates):,.0f}/s, tldextract {min(base):,.0f}-"
          f"{max(base):,.0f}/s, ratio {min(ratios):.2f}-{max(ratios):.2f}")  # fmt: skip
    print(_stix_line(args))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--benign", type=int, default=10_000)
    ap.add_argument("--dnstwist-per-brand", type=int, default=300)
    ap.add_argument("--ail-per-brand", type=int, default=300)
    ap.add_argument("--combo-per-brand", type=int, default=100)
    ap.add_argument("--homo-per-brand", type=int, default=60)
    ap.add_argument("--list", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--iocs", type=int, default=25_000, help="indicators in the timed STIX bundle")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--speed-only", action="store_true", help="only the list and STIX timings")
    args = ap.parse_args()
    if args.speed_only:
        only_speed(args)
        return

    bad, good = label_set(args)
    domains = sorted(bad) + sorted(good)
    print(f"labelled set: {len(bad):,} lookalikes of {len(BRANDS)} brands, {len(good):,} benign "
          f"({Counter(good.values())})", flush=True)  # fmt: skip
    print("lookalikes by generator:", dict(Counter(g.split(":")[0] for g in bad.values())))
    results = []
    leaklens_found: dict[str, str] = {}
    for name, fn in (("leaklens", score_leaklens), ("dnstwist", score_dnstwist), ("openSquat", score_opensquat)):
        with _quiet():
            found, seconds = fn(domains)
        results.append(evaluate(name, found, bad, good, seconds))
        if name == "leaklens":
            leaklens_found = found
        r = results[-1]
        print(f"{name:10s} precision {r['precision']:.3f}  recall {r['recall']:.3f}  office… flagged for office.com "
              f"{r['office_flagged']:.2%}  {r['domains_per_s']:,.0f} domains/s  by generator {r['by_generator']}  "
              f"benign flagged {r['benign_flagged']}", flush=True)  # fmt: skip
    missed = Counter(g for d, g in bad.items() if d not in leaklens_found)
    print("leaklens misses by generator and algorithm:", dict(missed.most_common(12)))
    rates, base = list_speed(args)
    ratios = [r / b for r, b in zip(rates, base, strict=True)]
    print(f"leaklens on a {args.list:,}-line list: {min(rates):,.0f}-{max(rates):,.0f} domains per CPU second; "
          f"tldextract's split alone {min(base):,.0f}-{max(base):,.0f}/s; ratio {min(ratios):.2f}-{max(ratios):.2f} "
          f"({args.repeat} runs)")  # fmt: skip
    print(_stix_line(args))
    if args.json:
        figures = {"results": results, "list_rates": rates, "tldextract_rates": base}
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
