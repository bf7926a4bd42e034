"""The fast header parser must read every header block exactly as compat32's parser does, or decline."""

from __future__ import annotations

import glob
from email.parser import BytesHeaderParser
from email.policy import compat32

from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.ingest import mime

STDLIB = BytesHeaderParser(policy=compat32)


def same_as_stdlib(head: bytes) -> bool:
    """True when the fast parser answers and agrees with the stdlib; declining is always allowed."""
    fast = mime.parse_headers_fast(head)
    if fast is None:
        return True
    slow = STDLIB.parsebytes(head + b"\n\n")
    assert fast._headers == slow._headers, head
    assert fast.defects == slow.defects == [], head
    assert fast.get_unixfrom() == slow.get_unixfrom()
    assert fast.get_payload() == slow.get_payload()
    return False


line = st.one_of(
    st.tuples(
        st.sampled_from(["From", "To", "Subject", "X-Odd", "Content-Type", "a", "From ", " ", ""]),
        st.binary(max_size=30),
    ).map(lambda t: t[0].encode() + b": " + t[1]),
    st.binary(max_size=40).map(lambda b: b" " + b),
    st.binary(max_size=40),
)


@settings(max_examples=400)
@given(st.lists(line, min_size=0, max_size=8), st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_random_header_blocks_read_as_the_stdlib_reads_them(lines, eol):
    head = eol.join(lines)
    head = mime.split_headers(head + b"\n\n")[0]  # what parse_entity hands it: no blank line inside
    same_as_stdlib(head)


def test_real_messages_take_the_fast_path_and_agree():
    files = sorted(glob.glob("/usr/lib/python3.11/test/test_email/data/msg_*.txt")) + sorted(
        glob.glob("../shared/corpus/real/**/*.eml", recursive=True)
    )
    assert files, "no real messages found (libpython3.11-testsuite or ../shared/corpus)"
    fast = sum(not same_as_stdlib(mime.split_headers(open(f, "rb").read())[0]) for f in files)
    assert fast > len(files) * 0.7  # well-formed messages are the common case: most take the fast path


def test_defects_are_left_to_the_stdlib():
    malformed = (b" continued\nA: b", b"A: b\nnot a header line", b"From x\nA: b", b": no name", b"A: b\rC: d")
    for head in malformed:
        assert mime.parse_headers_fast(head) is None
    assert mime.parse_entity(b"A: b\nnot a header\n\nbody").headers.defects  # and they still record it
