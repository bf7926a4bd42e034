"""The correspondents read and graph on a real ingested and verified case (graph_case), on SQLite and
PostgreSQL: direction and weight of every link, the date, verdict and domain filters, real addresses
not display names, and a layout whose labels never overlap."""

from __future__ import annotations

import itertools
import re

import graph_case
import pytest
from fastapi.testclient import TestClient
from graph_case import ANNE, ATTACKER, BIDI, LONG, PAUL

from leaklens.investigate.correspondents import correspondents
from leaklens.web.app import create_app
from leaklens.web.charts import LABEL_CHARS, circle_layout, correspondents_svg, label_text


@pytest.fixture(scope="module")
def case(tmp_path_factory, module_backend):
    return graph_case.build(tmp_path_factory.mktemp("graph"), module_backend)


def directed(g: dict) -> dict[tuple[str, str], int]:
    return {(a, b): n for a, b, n in g["directed"]}


def test_links_have_a_direction_and_a_weight(case):
    g = correspondents(case.db)
    d = directed(g)
    assert d[(ANNE, PAUL)] == 3 and d[(PAUL, ANNE)] == 1
    assert d[(LONG, ANNE)] == 2 and (ANNE, LONG) not in d
    # The undirected view (the read's older key, kept for its callers) adds both directions up.
    assert (ANNE, PAUL, 4) in g["edges"]
    # 126 messages of traffic, the altered one, the display-name attack and the bidi sender.
    assert g["emails"] == 129
    assert sum(n for _, n in g["nodes"]) == 2 * sum(d.values())
    people = {p["address"]: p for p in g["people"]}
    assert [p["address"] for p in g["people"]] == [a for a, _ in g["nodes"]]
    assert (people[ANNE]["sent"], people[ANNE]["received"]) == (4, 3)  # 3 to Paul, 1 altered; 1 + 2 in


def test_the_sender_is_the_real_mailbox_never_the_display_name(case):
    g = correspondents(case.db)
    d = directed(g)
    names = {a for a, _ in g["nodes"]}
    assert (ATTACKER, PAUL) in d and BIDI in names
    # '"anne@horizon-campaign.example" <attacker@evil.example>' does not count as Anne writing to Paul.
    assert d[(ANNE, PAUL)] == 3
    assert not any('"' in a or "<" in a for a in names)


def test_dates_filter_after_inclusive_before_exclusive(case):
    g = correspondents(case.db, after="2017-05-03", before="2017-05-04")
    assert directed(g) == {(PAUL, ANNE): 1} and g["emails"] == 1
    g = correspondents(case.db, after="2017-05-02", before="2017-05-04")
    assert directed(g) == {(ANNE, PAUL): 3, (PAUL, ANNE): 1}


def test_verdict_filter(case):
    assert directed(correspondents(case.db, verdict="altered")) == {(ANNE, "journalist0@press.example"): 1}
    verified = directed(correspondents(case.db, verdict="verified"))
    assert verified[(ANNE, PAUL)] == 3
    # Unsigned senders are not verified: the attacker and the press are left out.
    assert all(a.endswith(graph_case.CAMPAIGN) for a, _ in verified)


def test_domain_filter_keeps_links_with_one_end_in_the_domain(case):
    g = correspondents(case.db, domain="evil.example")
    assert directed(g) == {(ATTACKER, PAUL): 1, (BIDI, PAUL): 1}
    # A subdomain belongs to its domain; the outside party of a link is kept.
    inside = correspondents(case.db, domain="@Horizon-Campaign.example ")
    assert directed(inside)[(LONG, ANNE)] == 2
    assert any(not a.endswith(graph_case.CAMPAIGN) for a, _ in inside["nodes"])
    assert all(a.endswith(graph_case.CAMPAIGN) or b.endswith(graph_case.CAMPAIGN) for a, b, _ in inside["directed"])
    # A suffix that is not a whole label matches nothing: "campaign.example" is not horizon-campaign's parent.
    assert correspondents(case.db, domain="campaign.example")["emails"] == 0
    # The form's list of domains is from before the domain filter.
    assert "press.example" in g["domains"]


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _hits_circle(x: float, y: float, r: float, box: tuple[float, ...]) -> bool:
    # The box's point nearest the centre, inside the radius or not.
    nx, ny = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
    return (nx - x) ** 2 + (ny - y) ** 2 < r * r


@pytest.mark.parametrize("numbered", [False, True])
@pytest.mark.parametrize("count", [1, 2, 5, 34, 40])
def test_labels_never_overlap_and_stay_on_the_canvas(count, numbered):
    # The worst case: every address as long as a label gets, many on one domain, equal volumes.
    nodes = [(f"person-with-a-long-name-{i:02d}@one-domain.example", 3) for i in range(count)]
    lay = circle_layout(nodes, numbered=numbered)
    boxes = [lab["box"] for lab in lay["labels"].values()]
    assert len(boxes) == count
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), (a, b)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= lay["width"] and 0 <= y0 < y1 <= lay["height"]
    # No label covers a node's circle either.
    for x, y, r in lay["nodes"].values():
        assert not any(_hits_circle(x, y, r, b) for b in boxes)


def test_labels_of_the_real_case_do_not_overlap(case):
    lay = circle_layout(correspondents(case.db)["nodes"])
    for a, b in itertools.combinations([lab["box"] for lab in lay["labels"].values()], 2):
        assert not _overlap(a, b)


def test_label_keeps_the_domain_end_and_the_length_bound():
    assert label_text(f"a@{graph_case.CAMPAIGN}") == f"a@{graph_case.CAMPAIGN}"
    cut = label_text(LONG)
    assert len(cut) == LABEL_CHARS and cut.endswith("campaign.example") and "…" in cut


def test_svg_arrows_weights_and_full_addresses(case):
    g = correspondents(case.db)
    svg = correspondents_svg(g["nodes"], g["directed"])
    edges = re.findall(r'<path class="edge"[^>]*stroke-width="([0-9.]+)" marker-end="url\(#arrow\)">', svg)
    assert len(edges) == len(g["directed"])
    # Drawn lightest first: the last edge is the heaviest (anne -> paul, 3) and the thickest.
    assert float(edges[-1]) == max(map(float, edges)) > float(edges[0])
    nodes = re.findall(r'<a href="([^"]+)" class="node" aria-label="([^"]+)"><title>([^<]+)</title>', svg)
    assert len(nodes) == len(g["nodes"])
    titles = [t for _, _, t in nodes]
    assert any(t.startswith(LONG + ":") for t in titles)
    # Leak text is shown with a visible marker, never as a raw right-to-left override.
    assert "\u202e" not in svg and any(t.startswith("rlo[RLO]moc") for t in titles)


def test_narrow_drawing_numbers_people_as_the_table_does(case):
    g = correspondents(case.db)
    svg = correspondents_svg(g["nodes"], g["directed"], numbered=True)
    labels = re.findall(r'aria-label="(\d+)\. ([^:]+):', svg)
    assert sorted(int(n) for n, _ in labels) == list(range(1, len(g["nodes"]) + 1))
    assert all(g["nodes"][int(n) - 1][0] == a for n, a in labels if "[" not in a)
    # Both drawings go on one page: their arrow markers must not share an id.
    assert 'id="arrow-n"' in svg and 'id="arrow"' not in svg


def test_page_filters_and_bad_input(case):
    client = TestClient(create_app(case.root))
    r = client.get("/correspondents", params={"domain": "evil.example", "after": "2017-05-01"})
    assert r.status_code == 200
    assert "attacker@evil.example" in r.text and 'value="evil.example"' in r.text
    assert "journalist0@press.example" not in r.text
    # The legend's domains filter the graph, keeping the dates chosen.
    assert 'href="/correspondents?after=2017-05-01&amp;domain=evil.example"' in r.text
    bad = client.get("/correspondents", params={"domain": "<script>"})
    assert bad.status_code == 400 and "domain: expects a domain name" in bad.text
    assert "Traceback" not in bad.text
