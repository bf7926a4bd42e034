"""Which protected domain an observed domain imitates, and how: reverse scoring in one pass.

Tools like dnstwist enumerate the variants of one domain and then look each up; leaklens has the
domains already (the case's, a certificate-transparency list) and asks of each one which protected
domain it imitates. Everything that can be known of the protected domains is computed once when
the `Scorer` is made (their dnstwist variants, skeletons, deletion neighbourhoods); each observed
domain then costs a few dictionary look-ups and a substring test per protected name.

Techniques, each named in a match with its evidence:

- ``tld-swap``: the protected label under another suffix (en-marche.com); also added to any
  other technique when the suffix differs (portal-office.fr imitates office.com).
- ``idn-homograph``: a label in other characters that reads as the protected one (UTS #39
  skeletons from Unicode's confusables, punycode decoded), with the scripts it mixes;
  ``homoglyph``: the same within ASCII (0ffice, rnicrosoft).
- dnstwist's fuzzers as a library (``bitsquatting``, ``omission``, ``transposition``,
  ``vowel-swap``, ``hyphenation``, ``repetition``, ``addition``, ``insertion``, ``plural``, its
  ``homoglyph`` and ``cyrillic`` tables), named ``dnstwist:<fuzzer>``.
- ``keyboard``: one character replaced by a neighbour on a QWERTY, QWERTZ or AZERTY keyboard
  (dnstwist's ``replacement``, or found here); ``edit-distance``: one edit (two for labels of nine
  characters or more) that nothing above names.
- ``combosquatting``: the protected label as a token inside another name. A distinctive name
  (en-marche) with anything around it; a name that is itself a common word (office) only with
  lure words around it (mail, login, portal, accounts...: `data/lure_words.txt`, plurals
  included, extendable), so that officedepot is not office.com's lookalike.
- ``subdomain``: the protected domain spelled inside another domain's host names
  (office.com.account-verify.example).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from ..errors import UsageError
from .domains import Split, split_ascii, split_host, unicode_label
from .unicode import confusables, scripts_of, skeleton, substitutions

# Scores: how strongly the technique alone says "made to be mistaken for the protected domain".
SCORES = {
    "idn-homograph": 95, "homoglyph": 90, "subdomain": 80, "keyboard": 85, "dnstwist": 85,
    "edit-distance": 75, "combosquatting": 85, "combosquatting-weak": 70, "tld-swap": 70,
    "brand-in-subdomain": 65,
}  # fmt: skip
# dnstwist fuzzers left out: "subdomain" puts a dot inside the name (en-m.arche.fr is a lookalike
# of nothing once reduced to its registrable domain), "*original" is the domain itself, and the
# dictionary and TLD fuzzers are done here for every word and suffix, not for a list.
_SKIP_FUZZERS = {"subdomain", "*original", "dictionary", "tld-swap"}
_CHUNK = re.compile(r"[-0-9]+")


def _lines(name: str) -> list[list[str]]:
    text = (resources.files("leaklens.intel") / "data" / name).read_text(encoding="utf-8")
    return [line.lower().split() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _words(name: str) -> list[str]:
    return [parts[0] for parts in _lines(name)]


@lru_cache(maxsize=1)
def brand_words() -> frozenset[str]:
    """The lure words that are a service's name (microsoft, outlook): protected, they are distinctive."""
    return frozenset(parts[0] for parts in _lines("lure_words.txt") if parts[1:] == ["brand"])


@lru_cache(maxsize=1)
def default_lure_words() -> tuple[str, ...]:
    return tuple(_words("lure_words.txt"))


@lru_cache(maxsize=1)
def filler_words() -> tuple[str, ...]:
    return tuple(_words("filler_words.txt"))


def with_plurals(words: Iterable[str]) -> set[str]:
    out = set()
    for w in words:
        out.add(w)
        out.add(w + "s")
        if w.endswith(("s", "x", "sh", "ch")):
            out.add(w + "es")
        if w.endswith("y") and len(w) > 2:
            out.add(w[:-1] + "ies")
    return out


@dataclass(frozen=True)
class Protected:
    domain: str  # registrable, A-labels
    label: str
    suffix: str
    shown: str  # the label as read (Unicode)
    skeleton: str
    flat: str  # the skeleton without hyphens
    generic: bool  # a common word itself (office): combosquats need lure words


@dataclass
class Match:
    domain: str  # the observed registrable domain, A-labels
    shown: str  # as a reader sees it (Unicode)
    target: str  # the protected domain it imitates
    techniques: list[str]
    score: int
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "shown": self.shown, "target": self.target,
                "techniques": self.techniques, "score": self.score, "evidence": self.evidence}  # fmt: skip


def protected_domain(text: str) -> Protected:
    """A protected domain as given by a user ("en-marche.fr", "https://office.com/"): UsageError if it is none."""
    raw = text.strip()
    host = raw.split("://", 1)[-1].split("/", 1)[0].split("@")[-1].split(":")[0]
    sp = split_host(host) if host else None
    if sp is None or not sp.label:
        raise UsageError(f"--protect expects a domain name such as en-marche.fr, got {text!r}")
    shown = unicode_label(sp.label)
    sk = skeleton(shown)
    return Protected(sp.registrable, sp.label, sp.suffix, shown, sk, sk.replace("-", ""), False)


# dnstwist's fuzzers whose variants are ASCII (run through its generate()), and those that make
# Unicode labels: those are kept as Unicode and matched against the decoded label, since encoding
# each of their thousands of variants to punycode (dnstwist's last step) costs a second per domain.
_ASCII_FUZZERS = ("addition", "bitsquatting", "hyphenation", "insertion", "omission", "plural", "repetition",
                  "replacement", "transposition", "vowel-swap", "various")  # fmt: skip
_UNICODE_FUZZERS = ("homoglyph", "cyrillic")


@lru_cache(maxsize=256)
def _dnstwist_labels(domain: str) -> tuple[tuple[str, str], ...]:
    """(label, fuzzer) of dnstwist's variants of the domain: A-labels for the ASCII fuzzers, the Unicode
    form (as `unicode_label` decodes an observed one) for the homoglyph and Cyrillic ones."""
    import dnstwist

    f = dnstwist.Fuzzer(domain, dictionary=[], tld_dictionary=[])
    f.generate(fuzzers=list(_ASCII_FUZZERS))
    out: dict[str, str] = {}
    for d in f.domains:
        sp = split_host(d["domain"])
        if sp is not None and sp.label and d["fuzzer"] not in _SKIP_FUZZERS:
            out.setdefault(sp.label, d["fuzzer"])
    for name in _UNICODE_FUZZERS:
        make = getattr(f, "_" + name, None)
        if make is None:  # another dnstwist: its public generate(), punycode and all
            f.generate(fuzzers=[name])
            variants = [split_host(d["domain"]) for d in f.domains]
            labels = [unicode_label(v.label) for v in variants if v is not None and v.label]
        else:
            labels = [v.casefold() for v in make() if v]
        for label in labels:
            out.setdefault(label, name)
    return tuple(out.items())


def _osa(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (adjacent transpositions count one), or limit + 1 past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _deletions(s: str) -> set[str]:
    return {s[:i] + s[i + 1 :] for i in range(len(s))}


@lru_cache(maxsize=1)
def _keyboard() -> dict[str, set[str]]:
    """Each key's neighbours on QWERTY, QWERTZ and AZERTY (dnstwist's tables)."""
    import dnstwist

    out: dict[str, set[str]] = {}
    for layout in (dnstwist.Fuzzer.qwerty, dnstwist.Fuzzer.qwertz, dnstwist.Fuzzer.azerty):
        for key, near in layout.items():
            out.setdefault(key, set()).update(near)
    return out


def _substitution(a: str, b: str) -> tuple[int, str, str] | None:
    """(position, was, now) when b is a with exactly one character replaced."""
    if len(a) != len(b):
        return None
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return (diff[0], a[diff[0]], b[diff[0]]) if len(diff) == 1 else None


class Scorer:
    """Scores observed domains against protected ones; made once, then `score` per domain."""

    def __init__(self, protected: Iterable[str | Protected], *, lure_words: Iterable[str] = (),
                 use_defaults: bool = True) -> None:  # fmt: skip
        self.protected: list[Protected] = []
        words = list(default_lure_words()) if use_defaults else []
        words += [w.strip().lower() for w in lure_words if w.strip()]
        self.lures = with_plurals(words)
        self.fillers = with_plurals(filler_words()) - self.lures
        # Read in skeletons, as the observed label is (the skeleton of "mail" is "rnail"): word by skeleton.
        self.vocabulary = {skeleton(w): w for w in self.fillers | self.lures}
        self._max_word = max((len(w) for w in self.vocabulary), default=1)
        seen = set()
        for p in protected:
            p = p if isinstance(p, Protected) else protected_domain(p)
            if p.domain in seen:
                continue
            seen.add(p.domain)
            # a common word (office, mail, portal) needs lure words around it; a name (en-marche, microsoft) does not
            generic = (p.skeleton in self.vocabulary and p.label not in brand_words()) or len(p.flat) <= 4
            self.protected.append(Protected(p.domain, p.label, p.suffix, p.shown, p.skeleton, p.flat, generic))
        if not self.protected:
            raise UsageError("no protected domain: give at least one with --protect DOMAIN")
        self.domains = {p.domain for p in self.protected}
        # The protected suffix spelled into the name (microsoft-com.example, en-marche-fr.com) is a lure too.
        for p in self.protected:
            for part in p.suffix.split("."):
                if skeleton(part) not in self.vocabulary:
                    self.vocabulary[skeleton(part)] = part
                    self.lures.add(part)
        self._by_label: dict[str, list[Protected]] = {}
        self._by_skeleton: dict[str, list[Protected]] = {}
        self._fuzz: dict[str, list[tuple[Protected, str]]] = {}
        self._dels: dict[str, list[Protected]] = {}
        for p in self.protected:
            self._by_label.setdefault(p.label, []).append(p)
            self._by_skeleton.setdefault(p.skeleton, []).append(p)
            self._fuzz_variants(p)
            if len(p.shown) >= 5:
                near = _deletions(p.shown) | {p.shown}
                if len(p.shown) >= 9:  # two edits on a long label: two deletions from it
                    near |= {d2 for d in near for d2 in _deletions(d)}
                for d in near:
                    self._dels.setdefault(d, []).append(p)
        self._lengths = {len(p.shown) - k for p in self.protected if len(p.shown) >= 5 for k in (0, 1, 2)}
        self._dot_domains = [(p, "." + p.domain + ".", p.domain + ".") for p in self.protected]
        self._del_keys = frozenset(self._dels)
        # Within the edits allowed, one half (a third, when two edits are) of a protected label is left
        # intact: a label with none of those pieces is not near any, found by one search.
        pieces = set()
        for p in self.protected:
            k = 3 if len(p.shown) >= 9 else 2
            step = len(p.shown) / k
            pieces.update(p.shown[round(i * step) : round((i + 1) * step)] for i in range(k))
        self._near_any = re.compile("|".join(re.escape(x) for x in sorted(pieces, key=len, reverse=True) if x))
        self._ascii = {cp: sk for cp, sk in confusables().items() if cp < 128}
        self._flat_any = re.compile("|".join(re.escape(p.flat) for p in self.protected))
        self._domain_any = re.compile("|".join(r"(?:^|\.)" + re.escape(p.domain) + r"\." for p in self.protected))

    def _fuzz_variants(self, p: Protected) -> None:
        for label, fuzzer in _dnstwist_labels(p.domain):
            if label == p.label or label == p.shown:
                continue
            entries = self._fuzz.setdefault(label, [])
            if all(q is not p for q, _ in entries):
                entries.append((p, fuzzer))

    # -- scoring ---------------------------------------------------------------------------------
    def score(self, host: str) -> Match | None:
        """The best match of a host (any form: Unicode, A-labels, upper case) or None."""
        sp = split_host(host)
        return None if sp is None else self.score_split(sp)

    def score_ascii(self, host: str) -> Match | None:
        """`score` for a host already lower case, in A-labels, without a final dot (lists read in bulk)."""
        return self.score_split(split_ascii(host))

    def score_split(self, sp: Split) -> Match | None:
        if not sp.label or sp.registrable in self.domains:
            return None  # a public suffix, or the protected organisation itself (any of its subdomains)
        label = sp.label
        if "xn--" in label:
            shown = unicode_label(label)
            skel = skeleton(shown)
        else:  # lower-case ASCII already: the skeleton's table alone
            shown = label
            skel = label.translate(self._ascii)
        best: Match | None = None
        # exact label, homoglyphs, dnstwist's variants: dictionary look-ups
        for p in self._by_label.get(label, ()):
            best = self._better(best, sp, shown, p, "tld-swap", {"label": label})
        for p in self._by_skeleton.get(skel, ()):
            if p.label != label:
                best = self._better(best, sp, shown, p, *self._homoglyph(shown, p))
        for p, fuzzer in self._fuzz.get(label, ()) or self._fuzz.get(shown, ()):
            # dnstwist's "replacement" is a keyboard neighbour (QWERTY, QWERTZ, AZERTY): named for that
            technique = "keyboard" if fuzzer == "replacement" else f"dnstwist:{fuzzer}"
            best = self._better(best, sp, shown, p, technique, {"dnstwist_fuzzer": fuzzer, "of": p.label})
        # one edit away (a deletion neighbourhood: the label or one of its deletions is a protected
        # label or one of its deletions), checked with the real distance; on the letters as written
        # (on skeletons, m -> n would be an insertion: rn -> n)
        low = shown.casefold()
        n = len(low)
        if best is None and (n in self._lengths or n - 1 in self._lengths) and self._near_any.search(low):
            near = _deletions(low)
            near.add(low)
            for d in self._del_keys.intersection(near):  # one set operation for the common case: none
                for p in self._dels[d]:
                    best = self._edit(best, sp, shown, low, p)
        # the protected label inside another name (one search for all of them first)
        flat = skel.replace("-", "")
        if self._flat_any.search(flat):
            for p in self.protected:
                if len(flat) > len(p.flat) and p.flat in flat:
                    best = self._combo(best, sp, shown, skel, flat, p)
        # the protected domain spelled in the host's other labels, or its label cut by dots (pay.pal.com)
        if sp.host != sp.registrable:
            host = sp.host
            if self._domain_any.search(host):
                for p, inner, first in self._dot_domains:
                    if inner in host or host.startswith(first):
                        best = self._better(best, sp, shown, p, "subdomain", {"host": host})
            names = host[: -len(sp.suffix) - 1]
            for p in self._by_label.get(names.replace(".", ""), ()):
                best = self._better(best, sp, shown, p, "subdomain", {"host": host, "reads_as": p.label})
            for name in names.split(".")[:-1]:
                for p in self._by_label.get(name, ()):
                    if not p.generic:  # paypal.some-host.example; not office.some-company.example
                        ev = {"host": host, "label": name}
                        best = self._better(best, sp, shown, p, "subdomain", ev, SCORES["brand-in-subdomain"])
        return best

    def _better(self, best: Match | None, sp: Split, shown: str, p: Protected, technique: str,
                evidence: dict[str, Any], score: int | None = None) -> Match:  # fmt: skip
        techniques = [technique]
        score = SCORES.get(technique.split(":")[0], 70) if score is None else score
        if technique != "tld-swap" and sp.suffix != p.suffix and technique != "subdomain":
            techniques.append("tld-swap")
            evidence = {**evidence, "suffix": sp.suffix, "protected_suffix": p.suffix}
        m = Match(sp.registrable, f"{shown}.{sp.suffix}", p.domain, techniques, score, {technique: evidence})
        if best is None or m.score > best.score:
            return m
        if m.target == best.target and technique not in best.techniques and m.score >= best.score - 15:
            best.techniques.insert(len(best.techniques) - ("tld-swap" in best.techniques), technique)
            best.evidence[technique] = evidence
        return best

    def _homoglyph(self, shown: str, p: Protected) -> tuple[str, dict[str, Any]]:
        if shown.isascii():
            return "homoglyph", {"reads_as": p.shown, "skeleton": p.skeleton}
        scripts = scripts_of(shown)
        return "idn-homograph", {
            "decoded": shown, "reads_as": p.shown, "characters": substitutions(shown), "scripts": scripts,
            "mixed_script": len(scripts) > 1,
        }  # fmt: skip

    def _edit(self, best: Match | None, sp: Split, shown: str, low: str, p: Protected) -> Match | None:
        limit = 2 if len(p.shown) >= 9 else 1
        dist = _osa(low, p.shown, limit)
        if dist == 0 or dist > limit:
            return best
        sub = _substitution(p.shown, low)
        if sub is not None and sub[2] in _keyboard().get(sub[1], ()):
            ev = {"position": sub[0], "was": sub[1], "now": sub[2], "of": p.label}
            return self._better(best, sp, shown, p, "keyboard", ev)
        ev = {"distance": dist, "of": p.label}
        return self._better(best, sp, shown, p, "edit-distance", ev, SCORES["edit-distance"] - 10 * (dist - 1))

    def _segment(self, text: str) -> list[str] | None:
        """The text (a skeleton) as a run of known words (lure and filler), or None."""
        n = len(text)
        back: list[int | None] = [None] * (n + 1)
        back[0] = 0
        for i in range(1, n + 1):
            for j in range(max(0, i - self._max_word), i):
                if back[j] is not None and text[j:i] in self.vocabulary:
                    back[i] = j
                    break
        if back[n] is None:
            return None
        out, i = [], n
        while i > 0:
            j = back[i]
            assert j is not None
            out.append(self.vocabulary[text[j:i]])
            i = j
        return out[::-1]

    def _combo(self, best: Match | None, sp: Split, shown: str, skel: str, flat: str, p: Protected) -> Match | None:
        low = shown.casefold()
        at = low.find(p.shown)
        if at >= 0:  # the name as written: the words around it read from the label itself
            rest = low[:at] + "-" + low[at + len(p.shown) :]
            spelled = {}
        else:  # written in lookalike characters (0ffice-login): read from the skeleton
            spelled = {"written_as_lookalike": True}
            at = skel.find(p.skeleton)
            rest = skel[:at] + "-" + skel[at + len(p.skeleton) :] if at >= 0 else flat.replace(p.flat, "-", 1)
        known: list[str] = []
        unknown: list[str] = []
        for chunk in _CHUNK.split(rest):
            if not chunk:
                continue
            words = self._segment(skeleton(chunk))
            if words is None:
                unknown.append(chunk)
            else:
                known.extend(words)
        lures = [w for w in known if w in self.lures]
        ev = {
            "brand": p.label,
            "lure_words": lures,
            "other_words": unknown + [w for w in known if w not in lures],
            **spelled,
        }
        if lures and not unknown:
            return self._better(best, sp, shown, p, "combosquatting", ev)
        if p.generic:
            return best  # officedepot, officeonline: a common word in an ordinary name
        return self._better(best, sp, shown, p, "combosquatting", ev,
                            SCORES["combosquatting"] if lures else SCORES["combosquatting-weak"])  # fmt: skip
