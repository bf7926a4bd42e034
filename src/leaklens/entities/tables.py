"""The tables of the texts steps, declared apart from the steps: the search index and the views read them
without loading the finders or the language model."""

from __future__ import annotations

from ..store.base import Column, TableSpec

ENGINE = "1"  # a change of finders is a new engine: texts scanned by an older one are scanned again
ENTITIES = TableSpec(
    "entities",
    key=(),  # a log: one row per mention; a text scanned again has its rows replaced
    columns=(
        Column("item_id", required=True, index=True),
        Column("source", required=True),
        Column("kind", required=True, index=True),
        Column("value", required=True, index=True),
        Column("char_start", "int", required=True),
        Column("char_end", "int", required=True),
        Column("snippet", required=True),
        # Which reader found it: "patterns" (the finders of kinds.KINDS, engine ENGINE) or "ner" (spaCy,
        # entities/ner.py). Each replaces only its own rows when it reads a text again.
        Column("scanner", required=True, default="patterns"),
    ),
    meaning="Each entity mention: the item and its text source, the kind, the normalised value, the "
    "character offsets in that text, the words around it, and the scanner that found it (patterns or ner).",
    version=2,
)
TEXT_SCANS = TableSpec(
    "text_scans",
    key=("item_id", "source"),
    columns=(
        Column("item_id", required=True),
        Column("source", required=True),
        Column("engine", required=True),
        Column("lang"),
        Column("lang_score", "real"),
        Column("mentions", "int", required=True, default=0),
    ),
    meaning="Which text records the entity finders (version `engine`) have read, with the language "
    "detected in each (fastText lid.176; none when too short or mixed).",
)
NER_SCANS = TableSpec(
    "ner_scans",
    key=("item_id", "source"),
    columns=(
        Column("item_id", required=True),
        Column("source", required=True),
        Column("engine", required=True),  # the spaCy model and its version: another model reads the text again
        Column("lang", required=True),
        Column("chars", "int", required=True),  # characters read (a longer text is read up to ner.MAX_CHARS)
        Column("truncated", "int", required=True, default=0),
        Column("mentions", "int", required=True, default=0),
    ),
    meaning="Which text records spaCy's named-entity recogniser has read (people and organisations, the "
    "optional `ner` extra), with which model, in which language, and how much of the text.",
)
