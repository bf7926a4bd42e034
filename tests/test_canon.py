"""canon.py against dkimpy's canonicalisation, the reference, byte for byte."""

from __future__ import annotations

import re

import dkim
import pytest
from dkim.canonicalization import CanonicalizationPolicy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leaklens.verify import canon
from leaklens.verify.rawmail import _NAME, parse_raw

POLICIES = [
    CanonicalizationPolicy.from_c_value(c)
    for c in (b"simple/simple", b"simple/relaxed", b"relaxed/simple", b"relaxed/relaxed")
]

# Mostly the bytes canonicalisation cares about, so runs of whitespace and line ends are common.
SPECIAL = st.sampled_from([b" ", b"\t", b"\r", b"\n", b"\r\n", b"\x00", b"\x0b", b"\x0c", b"a", b"b", b"=", b";"])
chunks = st.one_of(SPECIAL, st.binary(max_size=4))
blobs = st.lists(chunks, max_size=60).map(b"".join)
anything = st.one_of(blobs, st.binary(max_size=200))


@settings(max_examples=1500)
@given(anything)
@example(b"")
@example(b"\r\n")
@example(b"\r\n\r\n\r\n")
@example(b" \t \r\n\t\r\n")
@example(b"a\r\r\n\r\n")
@example(b"a\n\n\r\n\r\n")
@example(b"a\r\n\n\r\n")
@example(b"x" * 70 + b"\r\n" * 300)
@example(b"\r\n" * 100 + b"\n")
def test_body_equals_dkimpy(body):
    for policy in POLICIES:
        assert canon.canonicalize_body(policy, body) == policy.canonicalize_body(body), policy.to_c_value()


header_names = st.one_of(st.sampled_from([b"From", b"SUBJECT", b"to ", b"X-A\t", b"dkim-signature"]), blobs)


@settings(max_examples=1000)
@given(st.lists(st.tuples(header_names, anything), max_size=6))
@example([(b"Subject", b" a  \t b \r\n\t c\r\n")])
@example([(b"To", b"\r\r\n \r\n")])
@example([(b"X", b"")])
def test_headers_equal_dkimpy(headers):
    for policy in POLICIES:
        assert canon.canonicalize_headers(policy, headers) == policy.canonicalize_headers(headers)


base64ish = st.lists(
    st.one_of(st.sampled_from([b"b=", b" b = ", b";b=", b"\tb\r\n =", b"bh=", b"=", b"\r\n ", b" ", b";"]), blobs),
    max_size=30,
).map(b"".join)


@settings(max_examples=1500)
@given(st.one_of(base64ish, anything))
@example(b" a=rsa-sha256; b=abc\r\n def==\r\n")
@example(b"; b=abc \r\n")
@example(b";b= ;b=x;bh=y; b=\r\n\t z\r\n")
@example(b" b==abc")
@example(b"; b=\r\n")
def test_b_value_removed_as_dkimpy_does(value):
    assert canon.without_b_value(value) == dkim.RE_BTAG.sub(b"\\1", value)


messages = st.lists(
    st.one_of(
        st.sampled_from([b"From: a@b.example", b"Subject:  x \t y ", b"\t folded", b"", b" ", b"body  line \t"]),
        blobs,
    ),
    max_size=20,
).flatmap(lambda lines: st.sampled_from([b"\r\n", b"\n"]).map(lambda eol: eol.join(lines)))


@settings(max_examples=800)
@given(messages)
def test_what_rawmail_produces(message):
    mail = parse_raw(message)
    for policy in POLICIES:
        assert canon.canonicalize_body(policy, mail.body) == policy.canonicalize_body(mail.body)
        assert canon.canonicalize_headers(policy, mail.headers) == policy.canonicalize_headers(mail.headers)


@pytest.mark.parametrize(
    ("body", "simple", "relaxed"),
    [
        (b"", b"\r\n", b""),  # RFC 6376 3.4.3 / 3.4.4: an empty body
        (b"\r\n", b"\r\n", b""),
        (b"  \r\n\t\r\n", b"  \r\n\t\r\n", b""),  # lines of whitespace only, at the end
        (b"no final line end", b"no final line end\r\n", b"no final line end\r\n"),
        (b"a \t b\t\r\n\r\n\r\n", b"a \t b\t\r\n", b"a b\r\n"),
        (b"lf only  \nline\n", b"lf only  \nline\n\r\n", b"lf only \nline\n\r\n"),  # LF is not a line end here
        (b"bare\rcr \r\n", b"bare\rcr \r\n", b"bare\rcr\r\n"),
        (b"nul\x00 \x00\r\n", b"nul\x00 \x00\r\n", b"nul\x00 \x00\r\n"),
        (b"x\r\n" + b"\r\n" * 10_000, b"x\r\n", b"x\r\n"),
    ],
)
def test_body_edge_cases(body, simple, relaxed):
    assert canon.simple_body(body) == simple
    assert canon.relaxed_body(body) == relaxed
    assert canon.canonicalize_body(b"simple", body) == simple


def test_relaxed_header_edge_cases():
    relaxed = canon.canonicalize_headers(b"relaxed", [(b"SUBJECT \t", b"  a\r\n\t b  \r\n"), (b"X", b" a\rb\r")])
    # A CR not followed by LF is not a line end: it stays (and, being whitespace to strip(), goes at the end).
    assert relaxed == [(b"subject", b"a b\r\n"), (b"x", b"a\rb\r\n")]
    headers = [[b"From", b" a\r\n"]]
    assert canon.canonicalize_headers(b"simple", headers) is headers


@settings(max_examples=1500)
@given(st.one_of(blobs, messages, st.binary(max_size=300)))
@example(b"a\r\r\n\n\rb\n")
def test_crlf_lines_equals_joining_split_lines(data):
    assert canon.crlf_lines(data) == b"\r\n".join(re.split(rb"\r?\n", data))


def _parse_raw_by_lines(message: bytes):
    """rawmail.parse_raw as it was when it split the whole message into lines: the reference."""
    headers, skipped = [], []
    lines = re.split(rb"\r?\n", message)
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line) == 0:
            i += 1
            break
        if line[0] in (0x09, 0x20):
            if headers:
                headers[-1][1] += line + b"\r\n"
            else:
                skipped.append((i + 1, line))
        else:
            m = _NAME.match(line)
            if m is not None:
                headers.append([m.group(1), line[m.end(0) :] + b"\r\n"])
            elif not (i == 0 and line.startswith(b"From ")):
                skipped.append((i + 1, line))
        i += 1
    return headers, b"\r\n".join(lines[i:]), skipped


@settings(max_examples=2000)
@given(st.one_of(messages, blobs, st.binary(max_size=300)))
@example(b"")
@example(b"\n")
@example(b"\r\n\r\nbody\n")
@example(b"\nA: b\n\nbody")
@example(b"\r\nA: b\r\n\r\nbody\n")
@example(b"A: b\r\n \r\n\r\nbody")
@example(b"From x\nA: b\r\n\r\r\n\nbody\r")
@example(b"A: b\r\r\n\r\nbody")
@example(b"A: b\n\r\nc\nd\r\n")
@example(b"A: b\r\n")
@example(b"A: b\r\n\r")
def test_parse_raw_reads_as_when_it_split_every_line(message):
    mail = parse_raw(message)
    assert (mail.headers, mail.body, mail.skipped_lines) == _parse_raw_by_lines(message)
