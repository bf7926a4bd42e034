"""Header forensics: the Received chain as hops, and dates that do not add up.

Received headers are added top-down by each server, so read bottom-up they tell the
message's path in time order. None of them is signed, and server clocks drift, so these
are anomalies to look at, never proof on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from leaklens.display import when_quoted
from leaklens.model import Finding
from leaklens.verify.rawmail import RawMail, as_text

TIME_TRAVEL_TOLERANCE = timedelta(minutes=15)
DATE_SKEW_LIMIT = timedelta(hours=24)

_CLAUSE = re.compile(r"\b(from|by|with|id|for|via)\s+(\S+)", re.I)


@dataclass(frozen=True)
class Hop:
    """One Received header; `index` counts from the top (0 = last server to handle it)."""

    index: int
    raw: str
    from_: str | None
    by: str | None
    with_: str | None
    id: str | None
    for_: str | None
    time: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "from": self.from_,
            "by": self.by,
            "with": self.with_,
            "id": self.id,
            "for": self.for_,
            "time": self.time.isoformat() if self.time else None,
            "raw": self.raw,
        }


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 date as an aware datetime (naive ones taken as UTC), or None if unreadable."""
    if not value:
        return None
    try:
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_INNER_COMMENT = re.compile(r"\([^()]*\)")


def _strip_comments(text: str) -> str:
    # Received headers carry parenthesised comments (TLS details, IPs) that contain clause keywords.
    # Innermost first, so nested comments go too; an unbalanced "(" is left as text.
    while "(" in text:
        stripped = _INNER_COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    return text


def parse_received(value: str, index: int = 0) -> Hop:
    text = " ".join(value.split())
    clauses, _, when = text.rpartition(";")
    if not _:
        clauses, when = text, ""
    found: dict[str, str] = {}
    for m in _CLAUSE.finditer(_strip_comments(clauses)):
        found.setdefault(m.group(1).lower(), m.group(2).strip("<>;"))
    return Hop(
        index,
        text,
        found.get("from"),
        found.get("by"),
        found.get("with"),
        found.get("id"),
        found.get("for"),
        parse_date(when),
    )


def received_chain(mail: RawMail) -> list[Hop]:
    return [parse_received(as_text(v), i) for i, v in enumerate(mail.values("Received"))]


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def check_headers(mail: RawMail, published: datetime | None = None) -> tuple[list[Hop], list[Finding]]:
    """The Received hops (top to bottom) and findings about times that contradict each other."""
    hops = received_chain(mail)
    findings: list[Finding] = []
    unparsed = [h.index for h in hops if h.time is None]
    if unparsed:
        findings.append(
            Finding(
                "headers.received_unparsed",
                "info",
                f"{len(unparsed)} Received header(s) carry no readable time, so they cannot be placed "
                "on the timeline.",
                {"hops": unparsed},
            )
        )
    # Bottom-up is chronological: each later hop should not be earlier than the one before it.
    timed = [h for h in reversed(hops) if h.time is not None]
    for earlier, later in zip(timed, timed[1:], strict=False):
        if later.time < earlier.time - TIME_TRAVEL_TOLERANCE:
            gap = earlier.time - later.time
            findings.append(
                Finding(
                    "headers.time_travel",
                    "warning",
                    f"The Received chain goes back in time: server {later.by or '?'} says it received "
                    "the message "
                    f"{_fmt_gap(gap)} before the previous server {earlier.by or '?'} did. Server clocks "
                    "can be wrong, "
                    f"but this is also what hand-edited or transplanted headers look like.",
                    {
                        "earlier_hop": earlier.to_dict(),
                        "later_hop": later.to_dict(),
                        "gap_seconds": int(gap.total_seconds()),
                        "tolerance_seconds": int(TIME_TRAVEL_TOLERANCE.total_seconds()),
                    },
                )
            )

    date_value = mail.first_text("Date")
    date = parse_date(date_value)
    if date_value and date is None:
        findings.append(
            Finding(
                "headers.date_unreadable",
                "info",
                f"The Date header cannot be read as a date: {date_value[:100]!r}.",
                {"date": date_value},
            )
        )
    first = timed[0] if timed else None
    if date is not None and first is not None:
        skew = first.time - date
        if abs(skew) > DATE_SKEW_LIMIT:
            direction = "before" if skew.total_seconds() > 0 else "after"
            findings.append(
                Finding(
                    "headers.date_skew",
                    "warning",
                    f"The Date header ({when_quoted(date)}) is {_fmt_gap(abs(skew))} {direction} the first "
                    "server received "
                    f"the message ({when_quoted(first.time)}). A wrong sender clock or a delayed queue can "
                    "explain it; so "
                    f"can a back- or forward-dated message.",
                    {
                        "date": _iso(date),
                        "first_received": first.to_dict(),
                        "skew_seconds": int(skew.total_seconds()),
                        "limit_seconds": int(DATE_SKEW_LIMIT.total_seconds()),
                    },
                )
            )
    if published is not None:
        pub = published if published.tzinfo else published.replace(tzinfo=UTC)
        when, what = (
            (date, "Date header")
            if date is not None
            else ((first.time, "first Received header") if first is not None else (None, ""))
        )
        if when is not None and when > pub:
            findings.append(
                Finding(
                    "headers.date_after_publication",
                    "warning",
                    f"The message's {what} ({when_quoted(when)}) is later than the dump's publication "
                    f"({when_quoted(pub)}): "
                    f"it cannot have been in the dump as published.",
                    {"date": _iso(when), "source": what, "published": _iso(pub)},
                )
            )
    return hops, findings


def _fmt_gap(gap: timedelta) -> str:
    secs = int(gap.total_seconds())
    if secs >= 2 * 86400:
        return f"{secs // 86400} days"
    if secs >= 2 * 3600:
        return f"{secs // 3600} hours"
    return f"{max(secs // 60, 1)} minutes"
