"""verify_message on hostile input: arbitrary bytes and mutated real messages never raise or crash inside.

`verify_message` has a last-resort guard that turns an exception into `verify.internal_error`;
these tests require that guard never to fire, so parser bugs cannot hide behind it.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leaklens.model import VERDICTS
from leaklens.verify.keys import KeyArchive, KeyRecord
from leaklens.verify.message import verify_message

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
GMAIL = (SHARED / "real" / "gmail-2015" / "meeting-for-coffee.eml").read_bytes()
BODY_START = GMAIL.index(b"\n\n") + 2


def _arc_sample() -> tuple[bytes, KeyArchive]:
    with (SHARED / "conformance" / "arc" / "arc-draft-validation-tests.yml").open() as fh:
        docs = list(yaml.safe_load_all(fh))
    for doc in docs:
        if "cv_pass_i2_1" in doc["tests"]:
            keys = KeyArchive(
                KeyRecord(n.split("._domainkey.")[1], n.split("._domainkey.")[0], val, "suite")
                for n, val in doc["txt-records"].items()
            )
            return doc["tests"]["cv_pass_i2_1"]["message"].encode(), keys
    raise AssertionError("scenario cv_pass_i2_1 not found")


ARC_MSG, ARC_KEYS = _arc_sample()
KEYS = KeyArchive.bundled().merge(ARC_KEYS)


def _check(raw: bytes) -> str:
    result = verify_message(raw, KEYS)
    assert "verify.internal_error" not in [f.code for f in result.findings], result.findings
    assert result.verdict in VERDICTS
    assert isinstance(result.summary, str) and result.summary
    result.to_dict()
    return result.verdict


def test_the_samples_are_what_the_mutations_start_from() -> None:
    assert _check(GMAIL) == "verified"
    assert verify_message(ARC_MSG, KEYS).arc["cv"] == "pass"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"DKIM-Signature: ",
                b"ARC-Seal: ",
                b"ARC-Message-Signature: ",
                b"i=1; ",
                b"ARC-Authentication-Results: i=1; ",
                b"a=rsa-sha256; ",
                b"d=gmail.com; ",
                b"s=20120113; ",
                b"h=from:to; ",
                b"bh=AAAA; ",
                b"b=AAAA; ",
                b"l=5; ",
                b"x=1; ",
                b"t=99999999999; ",
                b"c=relaxed/simple; ",
                b"cv=pass; ",
                b"\r\n",
                b"\n",
                b"\t",
                b"From: a@b\r\n",
                b"\x00",
                b"\xff\xfe",
                b":",
                b"=",
                b";",
            ]
        ),
        max_size=60,
    )
)
def test_header_shaped_noise(parts: list[bytes]) -> None:
    _check(b"".join(parts))


_mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "truncate", "dup_line", "nul"]),
    st.floats(0, 1, exclude_max=True),
    st.integers(0, 255),
)


def _mutate(raw: bytes, mutations: list[tuple[str, float, int]]) -> bytes:
    for kind, where, byte in mutations:
        if not raw:
            break
        i = int(where * len(raw))
        if kind == "flip":
            raw = raw[:i] + bytes([byte]) + raw[i + 1 :]
        elif kind == "insert":
            raw = raw[:i] + bytes([byte]) + raw[i:]
        elif kind == "delete":
            raw = raw[:i] + raw[i + 1 :]
        elif kind == "truncate":
            raw = raw[:i]
        elif kind == "nul":
            raw = raw[:i] + b"\x00" + raw[i:]
        else:
            lines = raw.split(b"\n")
            j = int(where * len(lines))
            raw = b"\n".join(lines[:j] + [lines[j]] + lines[j:])
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["gmail", "arc"]), st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_real_messages(which: str, mutations: list[tuple[str, float, int]]) -> None:
    _check(_mutate(GMAIL if which == "gmail" else ARC_MSG, mutations))


_visible = st.integers(0x21, 0x7E)


@settings(max_examples=150, deadline=None)
@given(st.integers(BODY_START, len(GMAIL) - 1), _visible)
def test_a_changed_visible_body_byte_is_never_verified(pos: int, byte: int) -> None:
    if GMAIL[pos] in b" \t\r\n" or GMAIL[pos] == byte:
        return
    changed = GMAIL[:pos] + bytes([byte]) + GMAIL[pos + 1 :]
    assert _check(changed) == "altered"


def test_empty_and_headerless_input_is_an_error_finding() -> None:
    for raw in (b"", b"\r\n\r\nonly a body", b"\x00\x00\x00"):
        result = verify_message(raw, KEYS)
        assert result.verdict == "error"
        assert [f.code for f in result.findings] == ["email.unreadable"]


def test_a_damaged_header_line_is_reported_and_skipped() -> None:
    lines = GMAIL.split(b"\n")
    at = lines.index(next(line for line in lines if line.startswith(b"X-Mailer:")))
    damaged = b"\n".join(lines[:at] + [b"\x00\x00garbage line without a colon"] + lines[at:])
    result = verify_message(damaged, KEYS)
    # Issue 10: the signature still validates, but a line that readers take differently (and NUL
    # bytes) make the block ambiguous, so the message is not verified; the finding shows the line.
    assert result.signatures[0]["result"] == "pass"
    assert result.verdict == "suspicious"
    [f] = [f for f in result.findings if f.code == "headers.ambiguous"]
    assert {x["line"] for x in f.evidence["lines"]} == {at + 1}
    assert {x["what"] for x in f.evidence["lines"]} >= {"a NUL byte"}
