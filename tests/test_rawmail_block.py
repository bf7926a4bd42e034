"""DKIM's view of a message built from the one header reading equals the careful line-by-line split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.headerblock import head_of, read_block
from leaklens.verify.rawmail import from_block, parse_raw

field = st.tuples(
    st.sampled_from([b"From", b"To", b"Subject", b"DKIM-Signature", b"X-A", b"from"]),
    st.binary(max_size=20).filter(lambda b: b"\n" not in b and b"\r" not in b),
    st.lists(st.binary(max_size=12).filter(lambda b: b"\n" not in b and b"\r" not in b), max_size=2),
).map(lambda t: t[0] + b":" + t[1] + b"".join(b"\n " + c for c in t[2]))
body = st.binary(max_size=60)


@settings(max_examples=400)
@given(st.lists(field, min_size=1, max_size=6), body, st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_from_block_equals_parse_raw(fields, tail, eol, blank):
    message = eol.join(f.replace(b"\n", eol) for f in fields) + ((eol + eol + tail) if blank else b"")
    head = head_of(message)
    fast, slow = from_block(message, head, read_block(head)), parse_raw(message)
    assert (fast.headers, fast.body) == (slow.headers, slow.body), message


def test_irregular_blocks_take_the_careful_path() -> None:
    for message in (b"From x Tue\nFrom: a@b\n\nbody", b"From : a@b\nTo: c\n\nbody", b"A: b\rC: d\n\nbody"):
        head = head_of(message)
        got = from_block(message, head, read_block(head))
        assert (got.headers, got.body, got.skipped_lines) == (lambda r: (r.headers, r.body, r.skipped_lines))(
            parse_raw(message)
        )
