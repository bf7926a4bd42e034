"""The ranked lookalike table of `leaklens domains` and of the workbench: each lookalike domain with
its target, techniques, score and where it was seen (in the case, or on a line of a list)."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from ..case import Case
from ..errors import LeaklensError
from .domains import split_ascii, split_host
from .lookalike import Scorer
from .tables import LOOKALIKES, SIGHTINGS

MAX_SEEN = 10  # item ids listed per domain in the table (the counts are whole)


def case_lookalikes(case: Case) -> list[dict[str, Any]]:
    """The case's lookalike domains, best first, each with "seen": {place: count} and "item_ids" (the first few)."""
    db = case.db
    rows = sorted(db.table_rows(LOOKALIKES), key=lambda r: (-r["score"], -r["items"], r["domain"]))
    for r in rows:
        places: dict[str, int] = {}
        items: list[str] = []
        for s in db.table_rows(SIGHTINGS, kind="domain", domain=r["domain"]):
            places[s["place"]] = places.get(s["place"], 0) + 1
            if s["item_id"] not in items:
                items.append(s["item_id"])
        r["seen"] = places
        r["item_ids"] = items[:MAX_SEEN]
    return rows


def _host_of_line(line: str) -> str | None:
    """The host a list's line names: a bare name, a URL, or the first field of a CSV line."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    text = text.split(",", 1)[0].split()[0].strip("\"'")
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split(":", 1)[0].lstrip("*.")
    return text or None


def score_list(scorer: Scorer, path: Path, stats: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Each line of a domain list (certificate transparency, passive DNS) that imitates a protected domain."""
    try:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below, read as it goes
    except OSError as exc:
        raise LeaklensError(f"cannot read {path}: {exc.strerror}") from None
    started = time.perf_counter()
    lines = 0
    seen: set[str] = set()
    with f:
        for n, line in enumerate(f, 1):
            lines = n
            host = _host_of_line(line)
            if host is None:
                continue
            if host.isascii() and host.islower() and not host.endswith("."):
                sp = split_ascii(host) if "." in host else None
            else:
                sp = split_host(host)
            if sp is None or sp.registrable in seen:
                continue
            seen.add(sp.registrable)
            m = scorer.score_split(sp)
            if m is not None:
                row = m.to_dict()
                row.update({"seen": {"list": 1}, "item_ids": [], "where": f"{path.name}:{n}", "items": 0,
                            "sightings": 1, "first_seen": None, "last_seen": None})  # fmt: skip
                yield row
    if stats is not None:
        elapsed = time.perf_counter() - started
        stats.update({"lines": lines, "domains": len(seen), "seconds": elapsed})


def where_text(row: dict[str, Any]) -> str:
    if row.get("where"):
        return row["where"]
    places = ", ".join(f"{p} x{n}" if n > 1 else p for p, n in row.get("seen", {}).items())
    return f"{row.get('items', 0)} item(s): {places}"


def write_json(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    out.write("[")
    for i, r in enumerate(rows):
        out.write(("," if i else "") + "\n" + json.dumps(r, ensure_ascii=False, default=str))
    out.write("\n]\n")


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    w = csv.writer(out)
    w.writerow(["domain", "shown", "target", "techniques", "score", "first_seen", "last_seen", "where", "items"])
    for r in rows:
        first, last, ids = r.get("first_seen") or "", r.get("last_seen") or "", ";".join(r.get("item_ids") or ())
        w.writerow([r["domain"], r["shown"], r["target"], ";".join(r["techniques"]), r["score"], first, last,
                    where_text(r), ids])  # fmt: skip
