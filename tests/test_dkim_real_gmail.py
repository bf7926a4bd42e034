"""The 2015 Gmail message from the Hunter Biden laptop leak, with Gmail's archived 20120113 key."""

from __future__ import annotations

from pathlib import Path

import pytest

from leaklens.verify.keys import KeyArchive, import_key_file
from leaklens.verify.message import verify_message

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real" / "gmail-2015"
MESSAGES = ["meeting-for-coffee.eml", "truncated.eml"]


@pytest.fixture(scope="module")
def keys() -> KeyArchive:
    return KeyArchive.bundled()


def _raw(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@pytest.mark.parametrize("name", MESSAGES)
def test_verifies_with_bundled_key(name: str, keys: KeyArchive) -> None:
    result = verify_message(_raw(name), keys)
    assert result.verdict == "verified", result.summary
    sig = result.signatures[0]
    assert (sig["d"], sig["s"], sig["key_bits"], sig["result"]) == ("gmail.com", "20120113", 2048, "pass")
    assert "hunter-dkim" in sig["key"]["source"]
    assert result.keys_used == [("gmail.com", "20120113")]
    assert "from 2012-01-13 on" in result.summary


def test_bundled_key_is_the_corpus_key(keys: KeyArchive) -> None:
    from_file = import_key_file(CORPUS / "20120113._domainkey.gmail.com.txt")
    assert [r.record for r in keys.lookup("gmail.com", "20120113")] == [r.record for r in from_file]


@pytest.mark.parametrize("name", MESSAGES)
def test_one_changed_body_byte_is_altered(name: str, keys: KeyArchive) -> None:
    raw = _raw(name)
    changed = raw.replace(b"quick coff=", b"quick cofF=")
    assert changed != raw and len(changed) == len(raw)
    result = verify_message(changed, keys)
    assert result.verdict == "altered"
    assert "dkim.body_hash_mismatch" in [f.code for f in result.findings]


@pytest.mark.parametrize("name", MESSAGES)
def test_changed_signed_subject_is_altered(name: str, keys: KeyArchive) -> None:
    changed = _raw(name).replace(b"Subject: Meeting for coffee?", b"Subject: Meeting for coffee!")
    result = verify_message(changed, keys)
    assert result.verdict == "altered"
    assert [f.code for f in result.findings if f.code.startswith("dkim.")] == ["dkim.header_mismatch"]


@pytest.mark.parametrize("unsigned", [b"X-Mailer:", b"Delivered-To:", b"Received-SPF:"])
def test_deleting_an_unsigned_header_keeps_it_verified(unsigned: bytes, keys: KeyArchive) -> None:
    raw = _raw("meeting-for-coffee.eml")
    lines = raw.split(b"\n")
    kept = [line for line in lines if not line.startswith(unsigned)]
    assert len(kept) == len(lines) - 1
    assert verify_message(b"\n".join(kept), keys).verdict == "verified"


def test_crlf_copy_still_verifies(keys: KeyArchive) -> None:
    raw = _raw("meeting-for-coffee.eml").replace(b"\n", b"\r\n")
    assert verify_message(raw, keys).verdict == "verified"


def test_without_the_archive_it_is_unverified() -> None:
    result = verify_message(_raw("meeting-for-coffee.eml"), KeyArchive())
    assert result.verdict == "unverified"
    assert result.keys_missing == [("gmail.com", "20120113")]


def test_received_chain_is_parsed(keys: KeyArchive) -> None:
    result = verify_message(_raw("meeting-for-coffee.eml"), keys)
    assert len(result.received) == 4
    assert result.received[1]["from"] == "mail-qc0-x232.google.com"
    assert result.received[1]["by"] == "mx.google.com"
    assert result.received[1]["with"] == "ESMTPS"
    assert result.received[1]["time"] == "2015-04-17T06:00:53-07:00"


def test_archive_and_result_cross_process_boundaries(keys: KeyArchive) -> None:
    # `leaklens verify` ships the archive to pool workers and the results back.
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    keys.lookup("gmail.com", "20120113")[0].key_bits  # warm caches before pickling  # noqa: B018
    with ProcessPoolExecutor(max_workers=1) as pool:
        result = pool.submit(verify_message, _raw("truncated.eml"), pickle.loads(pickle.dumps(keys))).result()
    assert result.verdict == "verified" and result.keys_used == [("gmail.com", "20120113")]
