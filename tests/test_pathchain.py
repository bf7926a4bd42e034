from hypothesis import given
from hypothesis import strategies as st

from leaklens import pathchain

segments = st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=6)


@given(segments)
def test_join_split_round_trip(segs):
    chain = pathchain.join(segs)
    assert pathchain.split(chain) == segs
    assert "\n" not in chain and "\x00" not in chain


@given(segments, st.text(max_size=20))
def test_child_extends_chain(segs, last):
    assert pathchain.split(pathchain.child(pathchain.join(segs), last)) == [*segs, last]


def test_readable_chain_and_stable_id():
    chain = pathchain.join(["dump.zip", "inbox.mbox", "#42", "offer.pdf"])
    assert chain == "dump.zip!/inbox.mbox!/#42!/offer.pdf"
    assert pathchain.item_id(chain) == pathchain.item_id("dump.zip!/inbox.mbox!/#42!/offer.pdf")
    assert pathchain.item_id(chain) != pathchain.item_id(chain + "x")
    # A name that itself contains the separator cannot be confused with nesting.
    tricky = pathchain.join(["a!/b", "c"])
    assert pathchain.split(tricky) == ["a!/b", "c"]
