"""The one header reading: the fast pass agrees with the careful one, and irregular blocks are caught."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.headerblock import careful_read, disagreement, read_block

line = st.one_of(
    st.tuples(
        st.sampled_from(["From", "To", "Subject", "X-Odd", "from", "From ", "From\t", " ", ""]),
        st.binary(max_size=20),
    ).map(lambda t: t[0].encode() + b":" + t[1]),
    st.binary(max_size=20).map(lambda b: b" " + b),
    st.binary(max_size=20),
)


@settings(max_examples=500)
@given(st.lists(line, min_size=1, max_size=8), st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_fast_pass_reads_as_the_careful_one(lines, eol):
    head = eol.join(lines)
    if b"\n\n" in head or b"\r\n\r\n" in head:
        return
    fast, slow = read_block(head), careful_read(head)
    assert [(f.name, f.value, f.line) for f in fast.fields] == [(f.name, f.value, f.line) for f in slow.fields], head
    assert fast.irregular == slow.irregular or not fast.irregular and not slow.irregular, head


def test_irregular_blocks_show_every_reader() -> None:
    cases = {
        b"From : a@x.example\r\nTo: b@y.example": "obsolete_name",
        b"Subject: s\r\nFrom\t: a@x.example": "obsolete_name",
        b"From\r\n : a@x.example": "folded_name",
        b" From: a@x.example\r\nTo: b": "leading_continuation",
        b"To: b\r\nnot a field\r\nFrom: a@x.example": "not_a_field",
        b"Subject: s\rFrom: a@x.example": "bare_cr",
        b"Subject: s\r\nTo: b\nFrom: a@x.example": "bare_lf",
        b"Subject: s\x00\r\nFrom: a@x.example": "nul",
    }
    for head, kind in cases.items():
        block = read_block(head)
        assert kind in {i.kind for i in block.irregular}, (head, block.irregular)
        seen = disagreement(head, block)
        assert seen is not None and len(seen["readers"]) == 3
    # "From\t:" hides the rest of the block from the Python email package, not from leaklens.
    seen = disagreement(b"Subject: s\r\nFrom\t: a@x.example\r\nTo: b")
    readers = seen["readers"]
    assert readers["leaklens (RFC 5322 with obsolete syntax)"]["from_fields"] == 1
    assert readers["Python email package"]["fields"] == ["Subject"]
    assert readers["DKIM (RFC 6376, dkimpy)"]["from_fields"] == 0


def test_well_formed_blocks_have_no_disagreement() -> None:
    for head in (b"From: a@x.example\nTo: b\n c", b"From: a@x.example\r\nSubject: =?utf-8?q?x?=\r\n\tcontinued"):
        assert disagreement(head) is None
        assert read_block(head).count("from") == 1
    # An mbox envelope line is not a field, and not a disagreement about one.
    block = read_block(b"From alice@x.example Tue May  2 09:00:00 2017\nFrom: a@x.example")
    assert block.envelope and block.count("From") == 1
