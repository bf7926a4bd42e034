"""The coordination methods on small posts made here: the windowed networks against the toolkit's
definition computed pair by pair, the CooRnet window on a worked example, co-link, co-reply and the
machine-like rates found, and no pair flagged for one shared reaction."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.spread.coordination import Params, coordinate, networks, window
from leaklens.spread.table import PostSet


def _posts(rows: list[dict]) -> PostSet:
    ps = PostSet()
    full = []
    for k, r in enumerate(rows):
        full.append(
            {
                "uid": r.get("uid", f"twitter:{k}"),
                "platform": "twitter",
                "ts": r["ts"],
                "author_id": r["a"],
                "author": r["a"],
                "author_created": r.get("created"),
                "text": r.get("text", f"text {k}"),
                "reply_to": r.get("reply", ""),
                "repost_of": r.get("rt", ""),
                "quote_of": "",
                "urls": "\n".join(r.get("urls", [])),
                "hashtags": "",
                "files": "",
                "context": "",
                "partial": 0,
            }
        )
    ps.add_rows(full)
    return ps


def _toolkit(events: list[tuple], w: float) -> Counter:
    """The toolkit's SQL, pair by pair: (u1, u2) -> count(distinct e_1.message_id) over e_2 with the same key
    and |t2 - t1| <= w; self-loops left out as its exports leave them."""
    out: Counter = Counter()
    seen = set()
    for k1, t1, u1, m1 in events:
        for k2, t2, u2, _m2 in events:
            if k1 == k2 and u1 != u2 and abs(t2 - t1) <= w and (m1, u2) not in seen:
                seen.add((m1, u2))
                out[(u1, u2)] += 1
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 100), st.integers(0, 4), st.integers(0, 2)), max_size=40),
    st.sampled_from([0, 1, 5, 30]),
)
def test_windowed_network_is_the_toolkits(raw, w):
    # (key, time, account, post): a post may appear under several keys (a post with several links)
    events = [(f"k{k}", float(t), f"a{a}", (m * 7 + t) % 20) for k, t, a, m in raw]
    events = list({(e[0], e[3]): e for e in events}.values())
    # one post has one time and one author
    first = {}
    for _k, t, a, m in events:
        first.setdefault(m, (t, a))
    events = [(k, first[m][0], first[m][1], m) for k, _t, _a, m in events]
    events = list(dict.fromkeys(events))
    assert networks.network(events, w) == _toolkit(events, w)
    # the toolkit's --min_edge_weight 2: its user_1 pruned to accounts with two posts, the same edges of weight >= 2
    heavy = {k: v for k, v in networks.network(events, w, 2).items() if v >= 2}
    assert heavy == {k: v for k, v in _toolkit(events, w).items() if v >= 2}


def test_coornet_window():
    # 20 links shared twice or more: the 10% quickest by their second share (2 links, 1 s and 2 s), then the time
    # from the first share until more than half of each one's shares: 5 s and 9 s -> median 7 s
    groups = {f"u{k}": [(0.0, "a", 0), (10.0 + k, "b", 1), (100.0, "c", 2)] for k in range(18)}
    groups["fast1"] = [(0.0, "a", 0), (1.0, "b", 1), (5.0, "c", 2), (50.0, "d", 3)]
    groups["fast2"] = [(0.0, "a", 0), (2.0, "b", 1), (9.0, "c", 2), (60.0, "d", 3)]
    est = window.estimate(groups)
    assert est["objects"] == 20 and est["quickest"] == 2 and est["seconds"] == 7.0


def test_co_link_co_reply_and_rates_are_found_and_one_shared_reaction_is_not():
    rows = []
    t = 1_000_000.0
    for r in range(5):  # three accounts share five links and answer five posts within seconds, each time
        for k, a in enumerate(("x1", "x2", "x3")):
            rows.append({"ts": t + 1000 * r + k, "a": a, "urls": [f"https://camp.example/{r}"], "text": f"{a} {r}"})
            rows.append({"ts": t + 1000 * r + 300 + k, "a": a, "reply": f"twitter:target{r}", "text": f"re {a} {r}"})
    for k in range(300):  # a crowd: each shares the same story once, within minutes
        rows.append({"ts": t + 20_000 + k, "a": f"c{k}", "urls": ["https://news.example/story"], "text": f"wow {k}"})
    for k in range(500):  # a scheduler: a post every 60 s
        rows.append({"ts": t + 60 * k, "a": "clock", "text": f"tick {k} " * 3})
    ps = _posts(rows)
    co = coordinate(ps, range(len(ps)), Params(window=30))
    m = co["methods"]
    assert [sorted(x["author"] for x in g["accounts"]) for g in m["co-link"]["groups"]] == [["x1", "x2", "x3"]]
    assert [sorted(x["author"] for x in g["accounts"]) for g in m["co-reply"]["groups"]] == [["x1", "x2", "x3"]]
    assert m["co-link"]["groups"][0]["shared_objects"] == 5
    rate = m["machine-like-rate"]["groups"]
    assert [g["accounts"][0]["author"] for g in rate] == ["clock"]
    assert any("regular" in reason for reason in rate[0]["evidence"]["reasons"])
    flagged = {x["account"] for x in co["accounts"]}
    assert not flagged & {f"twitter:c{k}" for k in range(300)}
    # with the weight at one, the crowd is a network: why repeated co-actions are asked for
    loose = coordinate(ps, range(len(ps)), Params(window=30, min_weight=1), methods=["co-link"])
    assert sum(g["size"] for g in loose["methods"]["co-link"]["groups"]) > 300
