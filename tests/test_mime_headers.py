"""The fast header parser must read every header block exactly as compat32's parser does, or decline."""

from __future__ import annotations

import glob
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.headerblock import read_block
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


LOOKUPS = ("from", "To", "SUBJECT", "content-type", "Content-Disposition", "X-Odd", "Missing")
PARAMS = ("charset", "boundary", "name", "filename", "format")


def ask(question):
    """The answer, or the kind of error: the stdlib fails on some RFC 2231 forms, and so must we."""
    try:
        return question()
    except Exception as exc:  # noqa: BLE001
        return type(exc)


def answers(h) -> list:
    """Everything the readers ask of a part's headers, as the stdlib's Message answers it."""
    out: list = [ask(h.get_content_type), ask(h.get_filename), ask(h.get_boundary), ask(h.get_content_charset)]
    for name in LOOKUPS:
        out += [name in h, str(h.get(name)), [str(v) for v in h.get_all(name, [])]]
    for p in PARAMS:
        out += [ask(lambda p=p: h.get_param(p)), ask(lambda p=p: h.get_param(p, header="content-disposition"))]
    return out


content_line = st.tuples(
    st.sampled_from(["Content-Type", "content-type", "Content-Disposition", "To", "X-Odd"]),
    st.sampled_from(["text/plain", "multipart/mixed", "application/pdf", "attachment", "inline", "x", ""]),
    st.lists(
        st.tuples(
            st.sampled_from(PARAMS + ("filename*", "name*0", "name*1", "filename*0*", "charset*")),
            st.sampled_from(['"a b.pdf"', "utf-8", "us-ascii''caf%C3%A9", '"=?utf-8?q?r=C3=A9?="', "", '"x\\"y"']),
        ),
        max_size=3,
    ),
).map(lambda t: (t[0] + ": " + t[1] + "".join(f"; {k}={v}" for k, v in t[2])).encode())


def as_read(head: bytes) -> Message:
    """A plain stdlib Message holding the fields headerblock.read_block finds in the block."""
    msg = Message()
    for f in read_block(head).fields:
        msg.set_raw(f.name, f.value.decode("ascii", "surrogateescape").lstrip(" \t").rstrip("\r\n"))
    return msg


@settings(max_examples=300)
@given(st.lists(st.one_of(content_line, line), max_size=6))
def test_parsed_headers_answer_every_lookup_as_the_stdlib_does(lines):
    # Issue 10: a header block is read one way everywhere. A well-formed block as the stdlib reads it;
    # an irregular one as headerblock reads it (the stdlib would stop or split where the verifier does not).
    head = mime.split_headers(b"\n".join(lines) + b"\n\n")[0]
    ours = mime.parse_entity(head + b"\n\nbody").headers
    well_formed = mime.parse_headers_fast(head) is not None
    stdlib = answers(STDLIB.parsebytes(head + b"\n\n") if well_formed else as_read(head))
    assert answers(ours) == stdlib, head
    assert answers(ours) == stdlib, head  # asked again: from the cached parameters


def test_an_irregular_block_is_read_as_the_verifier_reads_it():
    # The stdlib takes "From\t:" for the start of the body and hides the fields after it; leaklens
    # reads it as RFC 5322's obsolete syntax does (a From field) and keeps reading.
    h = mime.parse_entity(b"From\t: Mallory <m@attacker.example>\nFrom: a@victim.example\nSubject: x\n\nbody").headers
    assert h.get_all("From") == ["Mallory <m@attacker.example>", "a@victim.example"]
    assert h["Subject"] == "x"
    assert h.defects
    assert STDLIB.parsebytes(b"From\t: Mallory <m@attacker.example>\nSubject: x\n\n").get("Subject") is None


def test_parsed_headers_are_read_only():
    headers = mime.parse_entity(b"Content-Type: text/plain; charset=utf-8\n\nbody").headers
    for change in (
        lambda: headers.__setitem__("X-New", "1"),
        lambda: headers.__delitem__("Content-Type"),
        lambda: headers.set_param("charset", "latin-1"),
        lambda: headers.replace_header("Content-Type", "text/html"),
        lambda: headers.set_boundary("b"),
    ):
        try:
            change()
        except TypeError:
            continue
        raise AssertionError("a parsed header block was changed")
    assert headers.get_content_charset() == "utf-8"
