"""intel's own data, declared as tables of the case (the store builds them; derived, made again each run)."""

from __future__ import annotations

import json

from ..store.base import Column, TableSpec

# Every indicator the case mentions, once per item and place: what `leaklens iocs` exports and the
# domains' "where seen" reads.
SIGHTINGS = TableSpec(
    "intel_sightings",
    key=("kind", "value", "item_id", "place"),
    columns=(
        Column("kind", required=True),  # domain, url, ipv4, email, sha256
        Column("value", required=True),
        Column("domain", index=True),  # the registrable domain it belongs to (domains, URLs, addresses)
        Column("item_id", required=True, index=True),
        Column("place", required=True),  # from, reply_to, return_path, sender, received, message_id, dkim, link...
        Column("date"),  # the item's date (ISO), for first and last sighting
    ),
    meaning="Indicators (domains, URLs, IP addresses, sender addresses, attachment hashes) with where each "
    "was seen: item and place.",
)

# The case's domains that imitate a protected one, ranked by score.
LOOKALIKES = TableSpec(
    "intel_lookalikes",
    key=("domain",),
    columns=(
        Column("domain"),  # registrable, A-labels
        Column("shown", required=True),  # as a reader sees it (Unicode)
        Column("target", required=True, index=True),
        Column("techniques", "json", required=True),
        Column("score", "int", required=True),
        Column("evidence", "json", required=True),
        Column("first_seen"),
        Column("last_seen"),
        Column("sightings", "int", required=True, default=0),
        Column("items", "int", required=True, default=0),
    ),
    meaning="Registrable domains of the case that imitate a protected domain: technique, evidence, score, "
    "first and last sighting.",
)

# Case settings (`CaseStore` meta): the protected domains and extra lure words, as JSON lists.
PROTECT_KEY = "intel.protect"
LURES_KEY = "intel.lure_words"


def protected_of(db) -> list[str]:  # noqa: ANN001 - a CaseStore
    """The case's protected domains, as `leaklens domains --protect` (or the demo) stored them."""
    return _list(db.get_meta(PROTECT_KEY))


def lure_words_of(db) -> list[str]:  # noqa: ANN001
    return _list(db.get_meta(LURES_KEY))


def _list(text: str | None) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
