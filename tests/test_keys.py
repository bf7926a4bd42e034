"""The key archive: zone-file and JSON import, lookups, bundled keys, and recorded live DNS lookups."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.errors import LeaklensError
from leaklens.verify.keys import DnsKeySource, KeyArchive, KeyRecord, import_key_file, parse_zone_file

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real" / "gmail-2015"
GMAIL_P_START = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1Kd87"
ED25519_RECORD = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def test_zone_file_strings_are_joined() -> None:
    [rec] = parse_zone_file((CORPUS / "20120113._domainkey.gmail.com.txt").read_text())
    assert (rec.domain, rec.selector) == ("gmail.com", "20120113")
    assert rec.record.startswith("k=rsa; p=" + GMAIL_P_START)
    assert '"' not in rec.record and " " not in rec.tags["p"]
    assert rec.key_bits == 2048 and rec.key_type == "rsa" and not rec.revoked


def test_zone_file_syntax_variants() -> None:
    text = """
; keys exported from our DNS server
$ORIGIN example.com.
$TTL 3600
mail2019._domainkey  IN  TXT  ( "v=DKIM1; k=rsa; "   ; first part
        "p=AAAA" )                                      ; second part
sel2._domainkey.example.org. 300 IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
example.com.  IN TXT "v=spf1 -all"
_dmarc  IN TXT "v=DMARC1; p=reject"
old._domainkey TXT "v=DKIM1; p="
"""
    recs = {(r.domain, r.selector): r for r in parse_zone_file(text, source="export.zone")}
    assert set(recs) == {("example.com", "mail2019"), ("example.org", "sel2"), ("example.com", "old")}
    assert recs[("example.com", "mail2019")].record == "v=DKIM1; k=rsa; p=AAAA"
    assert (
        recs[("example.org", "sel2")].key_type == "ed25519" and recs[("example.org", "sel2")].key_bits == 256
    )
    assert recs[("example.com", "old")].revoked and recs[("example.com", "old")].key_bits is None
    assert all(r.source == "export.zone" for r in recs.values())


@pytest.mark.parametrize(
    "text",
    [
        'a._domainkey.example.com. IN TXT "v=DKIM1; p=AAAA\n',
        'a._domainkey.example.com. IN TXT ( "v=DKIM1; p=AAAA"\n',
        'a._domainkey.example.com. IN TXT "v=DKIM1; p=AAAA" )\n',
    ],
)
def test_zone_file_syntax_errors_are_one_line(text: str) -> None:
    with pytest.raises(LeaklensError) as e:
        parse_zone_file(text)
    assert "\n" not in str(e.value) and "line 1" in str(e.value)


def test_json_round_trip(tmp_path: Path) -> None:
    original = KeyArchive(
        [
            KeyRecord(
                "Example.COM.", "S1", "v=DKIM1; k=rsa; p=AAAA", "archive.org copy", "2015-02-01", "2017-12-31"
            ),
            KeyRecord("example.org", "ed", ED25519_RECORD, "test"),
        ]
    )
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(original.to_json()))
    loaded = KeyArchive.load([path])
    assert loaded.records == original.records
    [rec] = loaded.lookup("EXAMPLE.com.", "s1")
    assert (rec.first_seen, rec.last_seen, rec.source) == ("2015-02-01", "2017-12-31", "archive.org copy")
    assert rec.window_text() == "between 2015-02-01 and 2017-12-31"


def test_archive_keeps_distinct_keys_per_selector_and_drops_duplicates() -> None:
    a = KeyArchive()
    assert a.add([KeyRecord("x.example", "s", "p=AAAA"), KeyRecord("x.example", "s", "k=rsa; p=AA AA")]) == 1
    assert a.add([KeyRecord("x.example", "s", "p=BBBB")]) == 1
    assert [r.tags["p"] for r in a.lookup("x.example", "s")] == ["AAAA", "BBBB"]
    assert a.lookup("x.example", "other") == [] and len(a) == 2


def test_bundled_archive_follows_the_json_contract() -> None:
    folder = Path(__file__).resolve().parents[1] / "src" / "leaklens" / "data" / "keys"
    files = sorted(folder.glob("*.json"))
    assert files and (folder / "README.md").exists()
    for f in files:
        for entry in json.loads(f.read_text())["keys"]:
            assert set(entry) == {"domain", "selector", "record", "source", "first_seen", "last_seen"}
            assert entry["source"].strip()
    gmail = KeyArchive.bundled().lookup("gmail.com", "20120113")
    assert len(gmail) == 1 and gmail[0].first_seen == "2012-01-13" and gmail[0].key_bits == 2048


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00garbage", "not a text file"),
        (b"", "no DKIM key found"),
        (b"just some notes about keys\n", "no DKIM key found"),
        (b'{"keys": [{"domain": "x.example"}]}', "lacks a text 'selector'"),
        (
            b'{"keys": [{"domain": "x", "selector": "s", "record": "p=A", "first_seen": "May 2015"}]}',
            "YYYY-MM-DD",
        ),
        (b'{"keys": ', "not valid JSON"),
        (b'["p=AAAA"]', "expected a JSON object"),
    ],
)
def test_import_rejects_bad_files_in_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "keys.txt"
    path.write_bytes(content)
    with pytest.raises(LeaklensError) as e:
        import_key_file(path)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_import_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LeaklensError, match="cannot read key file"):
        import_key_file(tmp_path / "nope.txt")


_zone_chars = st.sampled_from(
    list('abc._domainkey.example.com IN TXT "v=DKIM1; k=rsa; p=AB+/=" ();\\\n\t$ORIGIN@')
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(_zone_chars, max_size=200).map("".join)))
def test_parse_zone_file_only_raises_leaklens_error(text: str) -> None:
    try:
        records = parse_zone_file(text)
    except LeaklensError as e:
        assert "\n" not in str(e)
        return
    for r in records:
        assert "._domainkey." in r.name
        r.key_bits  # must not raise either  # noqa: B018


# --- live DNS, answered by a DNS server on localhost (no network) ------------------------------


@pytest.fixture()
def local_dns() -> Iterator[tuple[str, int]]:
    zone = {"sel._domainkey.live.example.": ['"v=DKIM1; k=rsa; " "p=AAAA"']}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            name = query.question[0].name.to_text()
            if name in zone:
                response.answer.append(dns.rrset.from_text(name, 60, "IN", "TXT", *zone[name]))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()
    stop.set()
    thread.join()
    sock.close()


def _resolver(host: str, port: int) -> dns.resolver.Resolver:
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [host]
    r.port = port
    return r


def test_dns_answers_and_failures_are_recorded(local_dns: tuple[str, int]) -> None:
    source = DnsKeySource(_resolver(*local_dns), timeout=2)
    [rec] = source.lookup("LIVE.example", "sel")
    assert rec.record == "v=DKIM1; k=rsa; p=AAAA"
    assert rec.first_seen is None and rec.last_seen is None  # today's DNS says nothing about the past
    assert rec.source.startswith("live DNS lookup of sel._domainkey.live.example at ")
    assert source.lookup("live.example", "gone") == []
    first, second = source.log
    assert (first.name, first.answer, first.error) == (
        "sel._domainkey.live.example",
        "v=DKIM1; k=rsa; p=AAAA",
        None,
    )
    assert (second.answer, second.error) == (None, "NXDOMAIN (no such name)")
    assert first.at.endswith("+00:00") and set(first.to_dict()) == {"name", "answer", "error", "at"}


def test_dns_timeout_is_recorded_not_raised() -> None:
    # A bound UDP socket that never answers: the query times out locally.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        source = DnsKeySource(_resolver(*silent.getsockname()), timeout=0.3)
        assert source.lookup("example.com", "s") == []
        assert source.log[0].answer is None and "Timeout" in source.log[0].error
    finally:
        silent.close()


def test_verify_message_consults_dns_only_when_archive_lacks_the_key(local_dns: tuple[str, int]) -> None:
    from leaklens.verify.message import verify_message

    msg = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=live.example; s=sel; h=from; bh=AAAA; b=AAAA\r\n"
        b"From: a@live.example\r\n\r\nhi\r\n"
    )
    source = DnsKeySource(_resolver(*local_dns), timeout=2)
    verify_message(msg, KeyArchive([KeyRecord("live.example", "sel", "p=AAAA", "archive")]), dns=source)
    assert source.log == []
    result = verify_message(msg, KeyArchive(), dns=source)
    assert [entry.name for entry in source.log] == ["sel._domainkey.live.example"]
    assert result.signatures[0]["key_origin"] == "dns"
    assert [entry["name"] for entry in result.dns_lookups] == ["sel._domainkey.live.example"]
