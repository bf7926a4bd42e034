"""`leaklens iocs`: the case's indicators with where each was seen, as CSV, STIX 2.1 or a MISP event.

Every format is written object by object as the rows are read (streaming): building a STIX
bundle with `stix2.Bundle()` keeps every object and re-checks them all, which takes hours at tens
of thousands of indicators (cti-python-stix2#302). Here each object is a dict serialised once.

STIX: for each indicator its observable (domain-name, url, ipv4-addr, email-addr, file), an
`indicator` with its pattern, and a `sighting` of it (first and last seen, how often, and in which
items and places, the item ids being leaklens's), all created by one `identity` (leaklens), so
that the bundle passes stix2-validator with no error and no warning, best practices included.
Observables' ids are the UUIDv5 the specification derives from their values; the others are
random (UUIDv4), as its best practice asks.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import IO, Any

from ..case import Case
from .tables import LOOKALIKES, SIGHTINGS

FORMATS = ("csv", "stix", "misp")
KINDS = ("domain", "url", "ipv4", "email", "sha256")
_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1 §2.9
MAX_ITEMS = 20  # item ids listed per indicator (the count is whole)


@dataclass
class Indicator:
    kind: str
    value: str
    domain: str | None
    sightings: int = 0
    items: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    lookalike: dict[str, Any] | None = None  # the lookalike row of its domain, if any

    @property
    def malicious(self) -> bool:
        return self.lookalike is not None


def indicators(case: Case) -> Iterator[Indicator]:
    """Each (kind, value) the case holds, with its sightings summed up, lookalikes first."""
    db = case.db
    looks = {r["domain"]: r for r in db.table_rows(LOOKALIKES)}
    by: dict[tuple[str, str], Indicator] = {}
    for s in db.table_rows(SIGHTINGS):
        key = (s["kind"], s["value"])
        ind = by.get(key)
        if ind is None:
            ind = by[key] = Indicator(s["kind"], s["value"], s["domain"], lookalike=looks.get(s["domain"] or ""))
        ind.sightings += 1
        if s["item_id"] not in ind.items:
            ind.items.append(s["item_id"])
        if s["place"] not in ind.places:
            ind.places.append(s["place"])
        d = s["date"]
        if d:
            ind.first_seen = d if ind.first_seen is None or d < ind.first_seen else ind.first_seen
            ind.last_seen = d if ind.last_seen is None or d > ind.last_seen else ind.last_seen
    order = {k: i for i, k in enumerate(KINDS)}
    yield from sorted(by.values(), key=lambda i: (not i.malicious, order.get(i.kind, 9), i.value))


# --- CSV -----------------------------------------------------------------------------------------

CSV_COLUMNS = ("kind", "value", "domain", "lookalike_of", "techniques", "score", "first_seen", "last_seen",
               "sightings", "items", "places")  # fmt: skip


def write_csv(rows: Iterator[Indicator], out: IO[str]) -> int:
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    n = 0
    for i in rows:
        la = i.lookalike or {}
        w.writerow([i.kind, i.value, i.domain or "", la.get("target", ""), ";".join(la.get("techniques") or ()),
                    la.get("score", ""), i.first_seen or "", i.last_seen or "", i.sightings,
                    ";".join(i.items[:MAX_ITEMS]), ";".join(i.places)])  # fmt: skip
        n += 1
    return n


# --- STIX 2.1 ------------------------------------------------------------------------------------

_SCO = {"domain": "domain-name", "url": "url", "ipv4": "ipv4-addr", "email": "email-addr", "sha256": "file"}


def _stix_time(value: str | None, default: str) -> str:
    """An ISO date as STIX writes it (UTC, "Z", milliseconds)."""
    if not value:
        return default
    return _stix_time_of(value) or default


@lru_cache(maxsize=4096)  # a case's indicators share few distinct dates
def _stix_time_of(value: str) -> str | None:
    default = None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return default
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _observable(i: Indicator) -> tuple[dict[str, Any], str]:
    """(the SCO, the pattern that matches it)."""
    t = _SCO[i.kind]
    if t == "file":
        contributing: dict[str, Any] = {"hashes": {"SHA-256": i.value}}
        pattern = f"[file:hashes.'SHA-256' = '{_quote(i.value)}']"
    else:
        contributing = {"value": i.value}
        pattern = f"[{t}:value = '{_quote(i.value)}']"
    canon = json.dumps(contributing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sco = {"type": t, "spec_version": "2.1", "id": f"{t}--{uuid.uuid5(_SCO_NAMESPACE, canon)}", **contributing}
    return sco, pattern


_WHAT = {"domain": "Domain", "url": "URL", "ipv4": "IP address", "email": "Address", "sha256": "Attachment"}


def _description(i: Indicator) -> str:
    more = len(i.items) - MAX_ITEMS
    items = ", ".join(i.items[:MAX_ITEMS]) + (f" and {more} more" if more > 0 else "")
    where = ", ".join(i.places)
    text = f"{_WHAT[i.kind]} seen {i.sightings} time(s) in {len(i.items)} item(s) of the case ({where}): {items}."
    if i.lookalike:
        la = i.lookalike
        text += f" {i.domain} imitates {la['target']} ({', '.join(la['techniques'])}, score {la['score']})."
    return text


def write_stix(rows: Iterator[Indicator], out: IO[str], *, case_name: str = "leaklens case",
               now: datetime | None = None) -> int:  # fmt: skip
    """A STIX 2.1 bundle, written as it goes."""
    stamp = _stix_time((now or datetime.now(UTC)).isoformat(), "")
    identity_id = f"identity--{uuid.uuid4()}"
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    out.write(f'{{"type":"bundle","id":"bundle--{uuid.uuid4()}","objects":[')
    out.write(dumps({
        "type": "identity", "spec_version": "2.1", "id": identity_id, "created": stamp, "modified": stamp,
        "name": "leaklens", "identity_class": "system",
        "description": f"leaklens, reading the {case_name}: indicators found in the items of a leaked dump.",
    }))  # fmt: skip
    n = 0
    for i in rows:
        sco, pattern = _observable(i)
        first = _stix_time(i.first_seen, stamp)
        last = _stix_time(i.last_seen, first)
        ind_id = f"indicator--{uuid.uuid4()}"
        name = f"{_WHAT[i.kind]} {i.value}" + (f" (lookalike of {i.lookalike['target']})" if i.lookalike else "")
        description = _description(i)
        indicator = {
            "type": "indicator", "spec_version": "2.1", "id": ind_id, "created": stamp, "modified": stamp,
            "created_by_ref": identity_id, "name": name[:250], "description": description,
            "indicator_types": ["malicious-activity" if i.malicious else "unknown"],
            "pattern": pattern, "pattern_type": "stix", "pattern_version": "2.1", "valid_from": first,
        }  # fmt: skip
        if i.malicious:
            indicator["labels"] = ["lookalike-domain", *i.lookalike["techniques"]]
        sighting = {
            "type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid4()}", "created": stamp,
            "modified": stamp, "created_by_ref": identity_id, "sighting_of_ref": ind_id, "first_seen": first,
            "last_seen": last, "count": i.sightings, "where_sighted_refs": [identity_id],
            "description": description,
        }  # fmt: skip
        for obj in (sco, indicator, sighting):
            out.write(",")
            out.write(dumps(obj))
        n += 1
    out.write("]}\n")
    return n


# --- MISP ----------------------------------------------------------------------------------------

_MISP = {
    "domain": ("domain", "Network activity"),
    "url": ("url", "Network activity"),
    "ipv4": ("ip-src", "Network activity"),
    "email": ("email-src", "Payload delivery"),
    "sha256": ("sha256", "Payload delivery"),
}


def write_misp(rows: Iterator[Indicator], out: IO[str], *, case_name: str = "leaklens case",
               now: datetime | None = None) -> int:  # fmt: skip
    """A MISP event (its JSON export format), attributes written as they come."""
    now = now or datetime.now(UTC)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    head = {
        "uuid": str(uuid.uuid4()), "info": f"leaklens: indicators of {case_name}", "date": now.date().isoformat(),
        "timestamp": str(int(now.timestamp())), "threat_level_id": "4", "analysis": "1", "distribution": "0",
        "published": False,
    }  # fmt: skip
    out.write('{"Event":' + dumps(head)[:-1] + ',"Attribute":[')
    n = 0
    for i in rows:
        t, category = _MISP[i.kind]
        attr = {
            "uuid": str(uuid.uuid4()), "type": t, "category": category, "value": i.value, "to_ids": i.malicious,
            "comment": _description(i)[:1000], "timestamp": head["timestamp"], "distribution": "5",
        }  # fmt: skip
        if i.first_seen:
            attr["first_seen"] = i.first_seen
        if i.last_seen:
            attr["last_seen"] = i.last_seen
        out.write(("," if n else "") + dumps(attr))
        n += 1
    out.write("]}}\n")
    return n


WRITERS: dict[str, Callable[..., int]] = {"csv": write_csv, "stix": write_stix, "misp": write_misp}
