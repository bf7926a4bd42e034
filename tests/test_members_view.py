"""Reading a dump the way it was kept: a mailbox's members sorted and paged, a conversation in
order with each message's verdict, downloads with real extensions, on both backends."""

from __future__ import annotations

import io
import re
import zipfile
from email import message_from_bytes
from email.parser import BytesParser
from email.policy import default
from urllib.parse import unquote

import pytest
import reading_case
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from reading_case import RLO_NAME, item_named, item_with_subject

from leaklens.case import Case
from leaklens.investigate.members import members
from leaklens.web.app import create_app


@pytest.fixture(scope="module")
def case(tmp_path_factory, module_backend) -> Case:
    return reading_case.build(tmp_path_factory.mktemp("kept"), module_backend)


@pytest.fixture(scope="module")
def client(case) -> TestClient:
    return TestClient(create_app(case.root))


@pytest.fixture(scope="module")
def mbox(case) -> str:
    return item_named(case, "board.mbox")


def _all(case, mbox, **kw) -> list[dict]:
    out, page = [], 1
    while True:
        m = members(case.db, mbox, page=page, per_page=7, **kw)
        out += m["members"]
        if page >= m["pages"]:
            return out
        page += 1


def test_pages_cover_every_member_once_in_the_order_found(case, mbox):
    found = _all(case, mbox)
    assert [m["name"] for m in found] == [f"#{i}" for i in range(1, reading_case.N_PLAIN + reading_case.N_FIRST + 1)]
    assert members(case.db, mbox, per_page=7)["pages"] == -(-len(found) // 7)


def test_date_sort_oldest_first_undated_last_both_ways(case, mbox):
    up = _all(case, mbox, sort="date")
    down = _all(case, mbox, sort="date", descending=True)
    dated = [m["date"] for m in up if m["date"]]
    assert dated == sorted(dated) and up[-1]["subject"] == "No date at all"
    assert [m["date"] for m in down if m["date"]] == sorted(dated, reverse=True)
    assert down[-1]["subject"] == "No date at all"  # no value: last either way
    assert up[0]["subject"] == "Display name attack"  # 2017-05-01 05:00 UTC, the oldest


def test_sender_sort_reads_the_address_never_the_display_name(case, mbox):
    by_sender = _all(case, mbox, sort="sender")
    spoof = next(m for m in by_sender if m["subject"] == "Display name attack")
    # The display name says aaa@kept.example (it would sort first); the address is zzz@evil.example.
    assert spoof["sender"] == "zzz@evil.example"
    assert by_sender[-1] is spoof
    assert [m["sender"] for m in by_sender] == sorted(m["sender"] for m in by_sender)


def test_verdict_sort_puts_what_is_proven_wrong_first(case, mbox):
    by_verdict = _all(case, mbox, sort="verdict")
    assert by_verdict[0]["subject"] == "Re: Budget 2017" and by_verdict[0]["verdict"] == "altered"
    assert by_verdict[1]["subject"] == "Display name attack" and by_verdict[1]["verdict"] == "suspicious"
    assert by_verdict[-1]["verdict"] == "verified"


def test_members_page_lists_sorts_and_pages(client, mbox):
    r = client.get(f"/items/{mbox}/members", params={"sort": "sender", "desc": "1"})
    assert r.status_code == 200
    doc = lxml_html.fromstring(r.text)
    rows = doc.xpath("//table[contains(@class,'members')]/tbody/tr")
    assert len(rows) == 50
    assert "zzz@evil.example" in rows[0].text_content()  # reversed: the spoof's real address first
    assert doc.xpath('//th[@aria-sort="descending"]')
    nxt = doc.xpath('//nav[@class="pager"]/a[@rel="next"]')[0].get("href")
    assert "sort=sender" in nxt and "desc=1" in nxt and "page=2" in nxt
    page2 = lxml_html.fromstring(client.get(nxt).text).xpath("//table[contains(@class,'members')]/tbody/tr")
    assert len(page2) == reading_case.N_PLAIN + reading_case.N_FIRST - 50
    api = client.get(f"/api/items/{mbox}/members", params={"sort": "date", "per_page": 3}).json()
    assert api["total"] == reading_case.N_PLAIN + reading_case.N_FIRST and len(api["members"]) == 3


def test_bad_sort_and_unknown_item_are_one_clear_line(client, mbox):
    r = client.get(f"/items/{mbox}/members", params={"sort": "rowid; drop"})
    assert r.status_code == 400 and "sort: one of" in r.text and "Traceback" not in r.text
    assert client.get("/items/0123456789abcdef0123/members").status_code == 404
    assert client.get("/api/items/nope/members").json() == {"detail": "No such item."}


def test_item_page_links_to_the_members_and_the_conversation(client, case, mbox):
    assert f'href="/items/{mbox}/members"' in client.get(f"/items/{mbox}").text
    reply = item_with_subject(case, "Re: Budget 2017")
    assert f'href="/items/{reply}/thread"' in client.get(f"/items/{reply}").text


def test_conversation_in_order_with_each_verdict(client, case):
    last = next(iter(case.db.items("message_id=?", ("<t3@kept.example>",))))["id"]
    doc = lxml_html.fromstring(client.get(f"/items/{last}/thread").text)
    msgs = doc.xpath("//ol[@class='conversation']/li")
    assert [m.xpath(".//h2/a")[0].text_content() for m in msgs] == ["Budget 2017", "Re: Budget 2017", "Re: Budget 2017"]
    badge = ".//div[@class='conv-verdict']//span[@class='vb-verdict']/span"
    verdicts = [m.xpath(badge)[0].text_content().strip().lower() for m in msgs]
    assert verdicts[0] == "verified" and verdicts[2] == "verified" and "altered" in verdicts[1]
    assert "pay the offshore" in msgs[1].xpath(".//pre")[0].text_content()
    assert msgs[2].get("aria-current") == "true"
    # The altered reply says why, in the sentence that decided it.
    assert "body" in msgs[1].xpath(".//span[@class='vb-reason']")[0].text_content()  # the changed body, said
    assert "Signed by" in msgs[0].xpath(".//span[@class='vb-signer']")[0].text_content()
    assert client.get(f"/items/{item_named(case, 'board.mbox')}/thread").status_code == 404


def _disposition_name(r) -> str:
    m = re.search(r"filename\*=UTF-8''([^;]+)", r.headers["content-disposition"])
    return unquote(m.group(1))


def test_a_mailbox_member_downloads_as_eml_with_its_bytes(client, case, mbox):
    first = members(case.db, mbox, per_page=1)["members"][0]
    r = client.get(f"/items/{first['id']}/raw")
    assert _disposition_name(r) == "message-1.eml"
    msg = BytesParser(policy=default).parsebytes(r.content)
    assert msg["Subject"] == "Budget 2017" and "DKIM-Signature" in msg
    assert message_from_bytes(r.content)["Message-ID"] == "<t1@kept.example>"


def test_a_member_keeps_its_own_name_without_hidden_characters(client, case):
    rlo = item_named(case, RLO_NAME)
    r = client.get(f"/items/{rlo}/raw")
    name = _disposition_name(r)
    assert name == "Rapport_fdp.exe.docx" and "\u202e" not in r.headers["content-disposition"]
    assert r.content == b"not really a document\n"
    zipped = item_named(case, "files.zip")
    with zipfile.ZipFile(io.BytesIO(client.get(f"/items/{zipped}/raw").content)) as z:
        assert RLO_NAME in z.namelist()  # the original bytes, name and all, untouched


def test_members_page_shows_a_hidden_character_as_a_marker(client, case):
    zipped = item_named(case, "files.zip")
    page = client.get(f"/items/{zipped}/members").text
    doc = lxml_html.fromstring(page)
    cell = doc.xpath("//table[contains(@class,'members')]//a[bdi]")[0]
    assert cell.xpath(".//span[@class='hidden-char']") and "\u202e" not in page
    assert cell.text_content().replace(cell.xpath(".//span[@class='hidden-char']")[0].text_content(), "") == (
        "Rapport_fdp.exe.docx"
    )


def test_an_altered_copy_side_by_side_with_its_verified_original(client, case):
    copy, original = (r["id"] for r in sorted(case.db.items("name=?", ("budget.txt",)), key=lambda r: r["verdict"]))
    page = client.get(f"/items/{copy}").text
    link = f"/items/{copy}/compare/{original}"
    assert f'href="{link}"' in page and "verified original" in page
    doc = lxml_html.fromstring(client.get(link).text)
    heads = doc.xpath("//table[@id='compare-table']/thead//th")
    assert "verified" in heads[0].text_content().lower() and "altered" in heads[1].text_content().lower()
    banners = doc.xpath("//tr[@class='banners']//div[contains(@class,'verdict-banner')]/@class")
    assert banners == ["verdict-banner vb-verified", "verdict-banner vb-altered"]
    changed = doc.xpath("//table[@id='compare-table']/tbody/tr[@class='d-replace']")
    assert len(changed) == 1  # one line differs, and within it one figure
    assert [d.text_content() for d in changed[0].xpath(".//del")] == ["1170"]
    assert [i.text_content() for i in changed[0].xpath(".//ins")] == ["91170"]
    assert len(doc.xpath("//table[@id='compare-table']/tbody/tr[@class='d-equal']")) == 39
    assert client.get(f"/items/{copy}/compare/0123456789abcdef0123").status_code == 404


def test_a_zip_of_mailbox_members_names_them_as_messages(case, mbox):
    import json

    from leaklens.web.export import as_zip, of_search

    first_two = [m["id"] for m in members(case.db, mbox, per_page=2)["members"]]
    rlo = item_named(case, RLO_NAME)
    with zipfile.ZipFile(as_zip(case, of_search("test", [*first_two, rlo]))) as z:
        names = z.namelist()
        want = [f"{first_two[0]}-message-1.eml", f"{first_two[1]}-message-2.eml", f"{rlo}-Rapport_fdp.exe.docx"]
        assert names[:3] == want
        manifest = json.loads(z.read("manifest.json"))
        assert [f["file"] for f in manifest["files"]] == names[:3]
        assert BytesParser(policy=default).parsebytes(z.read(names[0]))["Message-ID"] == "<t1@kept.example>"
