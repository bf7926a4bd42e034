"""The mbox splitter: offsets, separators, and undoing the format's '>From ' quoting."""

import mailbox
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.ingest.readers.mbox import split_messages, unquote

line = st.one_of(
    st.sampled_from(
        [
            "From here on we disagree.",
            ">From the archive",
            ">>From a quote",
            "From: not a header",
            "",
            "Regards,",
            "From me",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40),
)
body = st.lists(line, max_size=12)


def _message(i: int, lines: list[str]) -> bytes:
    head = f"From: a{i}@example.org\nTo: b@example.org\nSubject: message {i}\nMessage-ID: <{i}@example.org>\n\n"
    return (head + "\n".join(lines) + "\n").encode("utf-8")


def _mboxrd(messages: list[bytes]) -> bytes:
    """An mboxrd writer: every '>*From ' body line gets one more '>'."""
    out = []
    for m in messages:
        out.append(
            b"From sender@example.org Thu Jan  5 10:00:00 2017\n" + re.sub(rb"(?m)^(>*From )", rb">\1", m) + b"\n"
        )
    return b"".join(out)


@settings(max_examples=60, deadline=None)
@given(st.lists(body, min_size=1, max_size=6))
def test_mboxrd_round_trip_is_exact(bodies):
    messages = [_message(i, b) for i, b in enumerate(bodies)]
    assert split_messages(_mboxrd(messages)) == messages


@settings(max_examples=40, deadline=None)
@given(st.lists(body, min_size=1, max_size=6))
def test_python_mailbox_mboxo_round_trip(tmp_path_factory, bodies):
    # mboxo cannot tell an original '>From ' from an escaped 'From ': keep bodies free of them.
    bodies = [[ln for ln in b if not re.match(r">+From ", ln)] for b in bodies]
    messages = [_message(i, b) for i, b in enumerate(bodies)]
    path = tmp_path_factory.mktemp("mbox") / "box.mbox"
    box = mailbox.mbox(path)
    for m in messages:
        box.add(m)
    box.close()
    assert split_messages(path.read_bytes()) == messages


def test_python_mailbox_leaves_escaping_in_and_we_undo_it(tmp_path):
    msg = _message(1, ["From the start, this line was escaped."])
    box = mailbox.mbox(tmp_path / "b.mbox")
    box.add(msg)
    box.close()
    raw = (tmp_path / "b.mbox").read_bytes()
    assert b"\n>From the start" in raw
    read_back = mailbox.mbox(tmp_path / "b.mbox").get_bytes(0)
    assert read_back != msg  # the standard library keeps the escape
    assert split_messages(raw) == [msg]


def test_unquote_counts_lines():
    assert unquote(b"a\n>From x\n>>From y\nFrom z\n") == (b"a\nFrom x\n>From y\nFrom z\n", 2)


def test_crlf_mbox_and_blank_line_separator():
    m1 = b"Subject: one\r\n\r\nbody one\r\n"
    m2 = b"Subject: two\r\n\r\nbody two\r\n"
    raw = b"From a@b Mon Jan  2 10:00:00 2017\r\n" + m1 + b"\r\nFrom a@b Mon Jan  2 11:00:00 2017\r\n" + m2 + b"\r\n"
    assert split_messages(raw) == [m1, m2]


def test_from_line_in_body_without_blank_line_is_not_a_separator():
    m = b"Subject: one\n\nsee below\nFrom what I hear, fine.\n"
    assert split_messages(b"From a@b Mon Jan  2 10:00:00 2017\n" + m + b"\n") == [m]
