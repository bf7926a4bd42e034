"""Received-chain parsing and date anomalies."""

from __future__ import annotations

from datetime import UTC, datetime

from leaklens.verify.headers import check_headers, parse_received
from leaklens.verify.keys import KeyArchive
from leaklens.verify.message import verify_message
from leaklens.verify.rawmail import parse_raw


def _mail(received: list[str], date: str | None = "Tue, 3 Jan 2017 12:31:41 -0800") -> bytes:
    lines = [f"Received: {r}" for r in received]
    if date is not None:
        lines.append(f"Date: {date}")
    lines += ["From: a@example.com", "Subject: hello", "", "body"]
    return "\r\n".join(lines).encode()


# Top = last hop. Times are consistent: 12:31:50 -> 12:32:00 -> 12:32:02 (-0800).
GOOD_CHAIN = [
    "by 10.157.52.162 with SMTP id g31csp5274520otc; Tue, 3 Jan 2017 12:32:02 -0800 (PST)",
    "from mx.relay.example (mx.relay.example [192.0.2.7]) by mx.inbound.example (Postfix) with ESMTPS "
    "id 4F2A1; Tue, 3 Jan 2017 20:32:00 +0000",
    "from [10.0.0.5] (helo by fake.example) by smtp.example.com with ESMTPSA id xyz "
    "for <bob@example.org>; Tue, 3 Jan 2017 12:31:50 -0800",
]


def test_received_hops_are_parsed() -> None:
    hop = parse_received(GOOD_CHAIN[2], 2)
    # Clause keywords inside comments ("by fake.example") are not mistaken for clauses.
    assert (hop.from_, hop.by, hop.with_, hop.id, hop.for_) == (
        "[10.0.0.5]",
        "smtp.example.com",
        "ESMTPSA",
        "xyz",
        "bob@example.org",
    )
    assert hop.time == datetime(2017, 1, 3, 20, 31, 50, tzinfo=UTC)
    folded = parse_received("from a.example\r\n\tby b.example with SMTP;\r\n Tue, 3 Jan 2017 12:00:00 +0000")
    assert (folded.from_, folded.by, folded.time.hour) == ("a.example", "b.example", 12)


def test_consistent_chain_has_no_findings() -> None:
    hops, findings = check_headers(parse_raw(_mail(GOOD_CHAIN)))
    assert len(hops) == 3 and [h.index for h in hops] == [0, 1, 2]
    assert findings == []


def test_time_travel_beyond_tolerance() -> None:
    chain = list(GOOD_CHAIN)
    chain[0] = "by 10.157.52.162 with SMTP id g31; Tue, 3 Jan 2017 11:02:00 -0800 (PST)"  # 90 min earlier
    _, findings = check_headers(parse_raw(_mail(chain)))
    [f] = [f for f in findings if f.code == "headers.time_travel"]
    assert f.evidence["gap_seconds"] == 90 * 60
    assert f.evidence["later_hop"]["index"] == 0 and f.evidence["earlier_hop"]["index"] == 1


def test_small_clock_drift_is_tolerated() -> None:
    chain = list(GOOD_CHAIN)
    chain[0] = "by 10.157.52.162 with SMTP id g31; Tue, 3 Jan 2017 12:25:00 -0800 (PST)"  # 7 min earlier
    _, findings = check_headers(parse_raw(_mail(chain)))
    assert findings == []


def test_date_skew() -> None:
    _, findings = check_headers(parse_raw(_mail(GOOD_CHAIN, date="Fri, 30 Dec 2016 09:00:00 -0800")))
    [f] = findings
    assert f.code == "headers.date_skew" and f.evidence["skew_seconds"] > 24 * 3600
    assert "before" in f.message


def test_date_after_publication() -> None:
    raw = _mail(GOOD_CHAIN)
    _, findings = check_headers(parse_raw(raw), published=datetime(2017, 1, 1))
    [f] = findings
    assert f.code == "headers.date_after_publication"
    assert f.evidence["published"] == "2017-01-01T00:00:00+00:00"
    _, later = check_headers(parse_raw(raw), published=datetime(2017, 2, 1, tzinfo=UTC))
    assert later == []


def test_publication_check_falls_back_to_first_received() -> None:
    _, findings = check_headers(parse_raw(_mail(GOOD_CHAIN, date=None)), published=datetime(2017, 1, 2))
    assert [f.evidence["source"] for f in findings] == ["first Received header"]


def test_unreadable_dates_are_noted() -> None:
    _, findings = check_headers(parse_raw(_mail(["by x.example with SMTP; yesterday"], date="soon")))
    assert sorted(f.code for f in findings) == ["headers.date_unreadable", "headers.received_unparsed"]


def test_anomalies_make_an_unsigned_message_suspicious() -> None:
    chain = list(GOOD_CHAIN)
    chain[0] = "by 10.157.52.162 with SMTP id g31; Mon, 2 Jan 2017 12:32:02 -0800 (PST)"
    result = verify_message(_mail(chain), KeyArchive())
    assert result.verdict == "suspicious"
    assert "headers.time_travel" in [f.code for f in result.findings]
    assert len(result.received) == 3 and result.received[2]["by"] == "smtp.example.com"
