"""Recovering the signed original of a body changed in transit (dkim.original_recovered).

Messages are signed in the test by dkimpy with a real RSA key, then changed the way
Mailman, Google Groups, Sympa and mail stores change them; a forged change must not be
explained away, and what was added is always shown.
"""

from __future__ import annotations

import base64
import hashlib
import re
from email.message import EmailMessage

import dkim
import pytest
from dkim.canonicalization import CanonicalizationPolicy
from helpers import make_rsa_key
from hypothesis import given, settings
from hypothesis import strategies as st

from leaklens.model import Finding
from leaklens.verify import recover
from leaklens.verify.keys import KeyArchive, KeyRecord
from leaklens.verify.message import verify_message
from leaklens.verify.recover import ListHints, explanation, recover_body
from leaklens.verify.verdict import EFFECTS, effect_of

AUTHOR = "author.example"
HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"content-type", b"mime-version"]
RELAXED = (b"relaxed", b"relaxed")
SIMPLE = (b"simple", b"simple")
TEXT = (
    "Hello all,\n\nThe budget review is on Thursday at six, in the small meeting room.\n"
    "Please bring your department's forecast for April.\n\n-- \nAnna Martin\nTreasurer\n"
)


@pytest.fixture(scope="module")
def key():
    pem, pub = make_rsa_key()
    return pem, KeyArchive([KeyRecord(AUTHOR, "s1", f"v=DKIM1; k=rsa; p={pub}", "generated in test")]), pub


def _message(kind: str = "plain") -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"Anna Martin <anna@{AUTHOR}>"
    m["To"] = "team@lists.example"
    m["Subject"] = "Budget review Thursday"
    m["Date"] = "Mon, 03 Apr 2017 09:12:00 +0200"
    m["Message-ID"] = f"<budget-1@{AUTHOR}>"
    m.set_content(TEXT)
    if kind == "alternative":
        m.add_alternative(
            "<html><body><p>Hello all,</p><p>The budget review is on Thursday at six.</p>"
            "<p>Anna Martin</p></body></html>\n",
            subtype="html",
        )
    elif kind == "mixed":
        m.add_attachment(b"%PDF-1.4 forecast " * 40, maintype="application", subtype="pdf", filename="forecast.pdf")
    return m


def _signed(key, kind: str = "plain", c=RELAXED) -> bytes:
    raw = bytes(_message(kind)).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return dkim.sign(raw, b"s1", AUTHOR.encode(), key[0], canonicalize=c, include_headers=HEADERS) + raw


def _boundary(raw: bytes) -> bytes:
    return re.search(rb'boundary="([^"]+)"', raw).group(1)


# --- what lists and stores do to a message ---------------------------------------------------
MAILMAN_HEADERS = (
    b"X-Mailman-Version: 2.1.29\r\n"
    b"Precedence: list\r\n"
    b"List-Id: Team mailing list <team.lists.example>\r\n"
    b"List-Unsubscribe: <https://lists.example/mailman/options/team>,\r\n"
    b" <mailto:team-request@lists.example?subject=unsubscribe>\r\n"
    b"List-Post: <mailto:team@lists.example>\r\n"
    b"List-Help: <mailto:team-request@lists.example?subject=help>\r\n"
    b"Sender: team-bounces@lists.example\r\n"
)
MAILMAN_FOOTER = (
    b"_______________________________________________\r\n"
    b"Team mailing list\r\n"
    b"team@lists.example\r\n"
    b"https://lists.example/mailman/listinfo/team\r\n"
)
GOOGLE_HEADERS = (
    b"X-Google-Group-Id: 918273645\r\n"
    b"List-Id: <team.googlegroups.com>\r\n"
    b"List-Post: <https://groups.google.com/group/team/post>, <mailto:team@googlegroups.com>\r\n"
    b"List-Unsubscribe: <mailto:googlegroups-manage+918273645+unsubscribe@googlegroups.com>,\r\n"
    b" <https://groups.google.com/group/team/subscribe>\r\n"
)
GOOGLE_TEXT_FOOTER = (
    b"\r\n-- \r\n"
    b'You received this message because you are subscribed to the Google Groups "Team" group.\r\n'
    b"To unsubscribe from this group and stop receiving emails from it, send an email to "
    b"team+unsubscribe@googlegroups.com.\r\n"
    b"To view this discussion on the web visit https://groups.google.com/d/msgid/team/budget-1%40author.example.\r\n"
)
GOOGLE_HTML_FOOTER = (
    b"<p></p>\r\n\r\n-- <br />\r\n"
    b"You received this message because you are subscribed to the Google Groups &quot;Team&quot; group.<br />\r\n"
    b'To unsubscribe from this group and stop receiving emails from it, send an email to <a href="mailto:'
    b'team+unsubscribe@googlegroups.com">team+unsubscribe@googlegroups.com</a>.<br />\r\n'
)
SYMPA_HEADERS = (
    b"List-Id: <team@sympa.lists.example>\r\n"
    b"List-Help: <mailto:sympa@sympa.lists.example?subject=help>\r\n"
    b"List-Unsubscribe: <mailto:sympa@sympa.lists.example?subject=unsubscribe%20team>\r\n"
    b"X-Loop: team@sympa.lists.example\r\n"
)


def mailman(signed: bytes) -> bytes:
    """Mailman 2 on a text/plain message: list headers on top, its footer appended."""
    return MAILMAN_HEADERS + signed + MAILMAN_FOOTER


def mailman_multipart(signed: bytes) -> bytes:
    """Mailman 2 on a multipart/mixed message: the footer becomes a MIME part of its own."""
    b = _boundary(signed)
    part = (
        b"--" + b + b"\r\n"
        b'Content-Type: text/plain; charset="us-ascii"\r\nMIME-Version: 1.0\r\n'
        b"Content-Transfer-Encoding: 7bit\r\nContent-Disposition: inline\r\n\r\n" + MAILMAN_FOOTER
    )
    closing = b"--" + b + b"--"
    assert signed.count(closing) == 1
    return MAILMAN_HEADERS + signed.replace(closing, part + closing)


def google_groups(signed: bytes) -> bytes:
    return GOOGLE_HEADERS + signed + GOOGLE_TEXT_FOOTER


def google_groups_alternative(signed: bytes) -> bytes:
    """Google Groups on text + HTML: its footer added to the end of both parts."""
    b = _boundary(signed)
    text_end = b"Treasurer\r\n"
    html_end = b"</html>\r\n"
    assert signed.count(text_end) == 1 and signed.count(html_end) == 1
    out = signed.replace(text_end, text_end + GOOGLE_TEXT_FOOTER).replace(html_end, html_end + GOOGLE_HTML_FOOTER)
    assert out.count(b"--" + b) == 3
    return GOOGLE_HEADERS + out


def sympa(signed: bytes) -> bytes:
    return SYMPA_HEADERS + signed + b"\r\n---\r\nTo unsubscribe: mailto:sympa@sympa.lists.example\r\n"


def _split(raw: bytes) -> tuple[bytes, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    return head + sep, body


def lf_store(raw: bytes) -> bytes:
    """A store that keeps mail with LF line ends (Maildir on Unix, mbox)."""
    return raw.replace(b"\r\n", b"\n")


def lf_store_stripping(raw: bytes) -> bytes:
    """An LF store whose export also strips trailing whitespace ("-- " loses its space)."""
    return b"\n".join(line.rstrip(b" \t") for line in lf_store(raw).split(b"\n"))


def mbox_store(raw: bytes) -> bytes:
    """An mboxo store: LF line ends and every body line starting with "From " quoted."""
    head, body = _split(raw)
    return lf_store(head) + re.sub(rb"(?m)^From ", b">From ", lf_store(body))


def doubled_line_ends(raw: bytes) -> bytes:
    """A store that keeps the body apart from the headers and converted its line ends a second time."""
    head, body = _split(raw)
    return head + body.replace(b"\r\n", b"\r\r\n")


def padded_lines(raw: bytes) -> bytes:
    """An export that pads lines with trailing spaces (fixed-width tools)."""
    head, body = _split(raw)
    return head + body.replace(b"\r\n", b"  \r\n")


# --- helpers -------------------------------------------------------------------------------
def _check(raw: bytes, key):
    r = verify_message(raw, key[1])
    return r, [f for f in r.findings if f.code == recover.CODE]


def _recovered(raw: bytes, key) -> Finding:
    r, found = _check(raw, key)
    assert r.verdict == "altered", (r.verdict, r.codes())
    assert "dkim.body_hash_mismatch" in r.codes()
    assert len(found) == 1, r.codes()
    return found[0]


def _body_hash(body: bytes, c: bytes = b"relaxed") -> bytes:
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/" + c)
    return hashlib.sha256(policy.canonicalize_body(body)).digest()


# --- lists ---------------------------------------------------------------------------------
@pytest.mark.parametrize("c", [RELAXED, SIMPLE], ids=["relaxed", "simple"])
def test_mailman_footer_on_a_text_message(key, c):
    f = _recovered(mailman(_signed(key, c=c)), key)
    ev = f.evidence
    assert ev["in_transit"] is True and ev["adds_mime_part"] is False
    assert ev["transformations"] == ["footer_removed"]
    assert ev["list"]["name"] == "Team mailing list" and ev["list"]["platform"] == "Mailman"
    [block] = ev["removed"]
    assert block["where"] == "end" and block["text"].startswith("____") and "listinfo/team" in block["text"]
    assert block["body_lines"][1] - block["body_lines"][0] + 1 == MAILMAN_FOOTER.count(b"\r\n")
    assert "+Team mailing list" in ev["diff"] and ev["diff"].startswith("--- signed original")
    assert "Team mailing list" in f.message and "4-line footer" in f.message and AUTHOR in f.message
    assert effect_of(f) is None and EFFECTS[recover.CODE] is None  # the verdict stays altered
    assert f.severity == "warning"


def test_the_recovered_original_is_what_was_signed(key):
    signed = _signed(key)
    _, original_body = _split(signed)
    mail_body = _split(mailman(signed))[1]
    sig = dkim.util.parse_tag_value(re.search(rb"DKIM-Signature:(.*?)\r\n(?=\S)", signed, re.S).group(1))
    claimed = base64.b64decode(re.sub(rb"\s+", b"", sig[b"bh"]))
    policy = CanonicalizationPolicy.from_c_value(sig[b"c"])
    rec = recover_body(mail_body, policy, hashlib.sha256, claimed)
    assert rec is not None
    assert policy.canonicalize_body(rec.original) == policy.canonicalize_body(original_body)


def test_mailman_footer_as_a_mime_part(key):
    f = _recovered(mailman_multipart(_signed(key, "mixed")), key)
    [block] = f.evidence["removed"]
    assert block["where"] == "mime_part" and block["text"].startswith("--")
    assert "Content-Disposition: inline" in block["text"] and "Team mailing list" in block["text"]
    assert f.evidence["in_transit"] and "as an extra MIME part" in f.message
    assert f.evidence["adds_mime_part"] is True


@pytest.mark.parametrize("c", [RELAXED, SIMPLE], ids=["relaxed", "simple"])
def test_google_groups_footer(key, c):
    f = _recovered(google_groups(_signed(key, c=c)), key)
    assert f.evidence["in_transit"] and f.evidence["list"]["platform"] == "Google Groups"
    assert "You received this message" in f.evidence["removed"][0]["text"]
    assert "team.googlegroups.com" in f.message


def test_google_groups_footer_in_the_text_and_the_html_part(key):
    f = _recovered(google_groups_alternative(_signed(key, "alternative")), key)
    blocks = f.evidence["removed"]
    assert len(blocks) == 2 and all(b["where"] == "part_end" for b in blocks)
    assert "Google Groups" in blocks[0]["text"] and "&quot;Team&quot;" in blocks[1]["text"]
    assert "in 2 places" in f.message and f.evidence["in_transit"]


def test_sympa_footer(key):
    f = _recovered(sympa(_signed(key)), key)
    assert f.evidence["list"]["platform"] == "Sympa" and f.evidence["in_transit"]


# --- stores --------------------------------------------------------------------------------
@pytest.mark.parametrize("c", [RELAXED, SIMPLE], ids=["relaxed", "simple"])
def test_crlf_to_lf_alone_breaks_nothing(key, c):
    r, found = _check(lf_store(_signed(key, c=c)), key)
    assert r.signatures[0]["result"] == "pass" and not found


def test_lf_store_that_strips_trailing_whitespace(key):
    """Simple canonicalisation keeps trailing spaces: the "-- " separator's loss breaks the hash."""
    f = _recovered(lf_store_stripping(_signed(key, c=SIMPLE)), key)
    assert f.evidence["transformations"] == ["separator_space_stripped"]
    assert f.evidence["in_transit"] and not f.evidence["removed"]
    assert "\n---·\n+--\n" in f.evidence["diff"]  # the lost space, made visible
    assert "No word of the text was changed" in f.message


@pytest.mark.parametrize("c", [RELAXED, SIMPLE], ids=["relaxed", "simple"])
def test_mbox_from_quoting(key, c):
    raw = _signed(key, c=c)
    head, body = _split(raw)
    # A signed body with a line starting "From " (which every mbox store quotes).
    raw = _resign(key, body.replace(b"Please bring", b"From now on, bring"), c)
    f = _recovered(mbox_store(raw), key)
    assert f.evidence["transformations"] == ["from_quoted"]
    assert f.evidence["changed_lines"]["count"] == 1
    assert "->From now on" not in f.evidence["diff"] and "+>From now on" in f.evidence["diff"]


def _resign(key, body: bytes, c) -> bytes:
    m = _message()
    m.set_content(body.decode().replace("\r\n", "\n"))
    raw = bytes(m).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return dkim.sign(raw, b"s1", AUTHOR.encode(), key[0], canonicalize=c, include_headers=HEADERS) + raw


def test_line_ends_converted_twice(key):
    f = _recovered(doubled_line_ends(_signed(key)), key)
    assert f.evidence["transformations"] == ["line_endings_doubled"]
    assert f.evidence["changed_lines"]["count"] == TEXT.count("\n")
    assert "␍" in f.evidence["diff"] and f.evidence["in_transit"]


def test_trailing_whitespace_added(key):
    f = _recovered(padded_lines(_signed(key, c=SIMPLE)), key)
    assert f.evidence["transformations"] == ["trailing_whitespace_added"]


def test_blank_lines_added_at_the_end(key):
    f = _recovered(_signed(key, c=SIMPLE) + b"  \r\n\t\r\n", key)
    assert f.evidence["transformations"] == ["blank_lines_added"] and f.evidence["in_transit"]


def test_footer_and_line_ends_together(key):
    """Mailman's footer, then a store that converted the body's line ends again."""
    f = _recovered(doubled_line_ends(mailman(_signed(key))), key)
    assert set(f.evidence["transformations"]) == {"line_endings_doubled", "footer_removed"}
    assert f.evidence["in_transit"] and "Team mailing list" in f.message


# --- what must not be explained away ----------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [mailman, google_groups, lambda raw: raw, lambda raw: doubled_line_ends(mailman(raw))],
    ids=["mailman", "google", "bare", "mailman+line-ends"],
)
def test_a_changed_word_is_not_recovered(key, change):
    raw = change(_signed(key)).replace(b"on Thursday at six", b"on Thursday at nine")
    r, found = _check(raw, key)
    assert r.verdict == "altered" and "dkim.body_hash_mismatch" in r.codes()
    assert not found
    assert explanation(r.findings) is None


def test_an_appended_paragraph_is_recovered_and_shown_not_excused(key):
    """Removing the tail restores bh=, so the original is proven; the P.S. is shown, not called a footer."""
    ps = b"\r\nP.S. Delete this email after reading. The Cyprus money stays off the books.\r\n"
    f = _recovered(_signed(key) + ps, key)
    assert f.evidence["in_transit"] is False and f.evidence["transformations"] == ["footer_removed"]
    assert "Cyprus money" in f.evidence["removed"][0]["text"]
    assert "No mailing list or forwarder is named" in f.message and "footer" not in f.message
    ex = explanation(verify_message(_signed(key) + ps, key[1]).findings)
    assert ex is not None and ex["in_transit"] is False and ex["label"] == recover.ADDED_LABEL


def test_a_paragraph_appended_to_list_mail_is_not_a_list_footer(key):
    ps = b"\r\nP.S. Delete this email after reading. The Cyprus money stays off the books.\r\n"
    f = _recovered(MAILMAN_HEADERS + _signed(key) + ps, key)
    assert f.evidence["in_transit"] is False
    assert "does not look like anything that list adds" in f.message


def test_no_recovery_without_a_valid_header_signature(key):
    raw = mailman(_signed(key)).replace(b"Subject: Budget review Thursday", b"Subject: Budget review Friday")
    r, found = _check(raw, key)
    assert r.verdict == "altered" and not found


def test_no_recovery_without_the_key(key):
    r = verify_message(mailman(_signed(key)), KeyArchive([]))
    assert recover.CODE not in r.codes()


def test_explanation_needs_every_change_explained(key):
    r = verify_message(mailman(_signed(key)), key[1])
    ex = explanation(r.findings)
    assert ex == {
        "in_transit": True,
        "label": recover.IN_TRANSIT_LABEL,
        "message": next(f.message for f in r.findings if f.code == recover.CODE),
        "signatures": [0],
    }
    footer = next(f for f in r.findings if f.code == recover.CODE).evidence["removed"][0]["text"]
    same_footer = Finding(
        "dup.altered_copy",
        "critical",
        "",
        {"effect": "altered", "diff": [{"op": "insert", "removed": "", "added": " ".join(footer.split()[:5])}]},
    )
    more = Finding(
        "dup.altered_copy",
        "critical",
        "",
        {"effect": "altered", "diff": [{"op": "replace", "removed": "six", "added": "nine"}]},
    )
    assert explanation([*r.findings, same_footer]) is not None  # the sent copy differs by the footer only
    assert explanation([*r.findings, more]) is None
    header_change = Finding("dkim.header_mismatch", "critical", "", {"signature": 1})
    assert explanation([*r.findings, header_change]) is None
    assert explanation([f for f in r.findings if f.code != "dkim.body_hash_mismatch"]) is None


# --- bounds --------------------------------------------------------------------------------
def test_bodies_over_the_limit_are_not_tried():
    body = b"x" * (recover.MAX_BODY_BYTES + 1)
    stats: dict[str, int] = {}
    assert recover_body(body, b"relaxed", hashlib.sha256, b"\0" * 32, stats=stats) is None
    assert stats["attempts"] == 0


def test_work_is_bounded_on_a_long_unexplained_body():
    boundary = b"==b=="
    lines = [b"--" + boundary, b"Content-Type: text/plain", b""]
    lines += [b"line %d of a long report, with a -- marker and an unsubscribe word" % i for i in range(30_000)]
    lines += [b"--" + boundary, b"Content-Type: text/html", b""] + [b"<p>%d</p>" % i for i in range(200)]
    lines += [b"</body>", b"--" + boundary + b"--", b""]
    body = b"\r\n".join(lines)
    stats: dict[str, int] = {}
    hints = ListHints(name="Team", references=("team@lists.example",), boundaries=(boundary,))
    assert recover_body(body, b"relaxed", hashlib.sha256, _body_hash(b"other"), hints=hints, stats=stats) is None
    assert 0 < stats["attempts"] <= recover.MAX_ATTEMPTS
    assert stats["hashed_bytes"] <= recover.MAX_HASHED_BYTES + len(body)


# --- the search against dkimpy's canonicalisation, on arbitrary bodies ----------------------------
_line = st.lists(st.sampled_from([b"a", b"bc", b" ", b"\t", b"  ", b"\r", b"--", b"From x", b"_____"]), max_size=6).map(
    b"".join
)


@settings(max_examples=300, deadline=None)
@given(
    original=st.lists(_line, max_size=12),
    added=st.lists(_line, min_size=1, max_size=5),
    at_end=st.booleans(),
    c=st.sampled_from([b"relaxed", b"simple"]),
)
def test_any_appended_block_is_found(original, added, at_end, c):
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/" + c)
    original_body = b"\r\n".join(original) + b"\r\n" if original else b""
    if at_end or not original:
        found = b"\r\n".join(original + added) + b"\r\n"
    else:
        found = b"\r\n".join([original[0], *added, *original[1:]]) + b"\r\n"
    claimed = hashlib.sha256(policy.canonicalize_body(original_body)).digest()
    rec = recover_body(found, policy, hashlib.sha256, claimed)
    if policy.canonicalize_body(found) == policy.canonicalize_body(original_body):
        return  # nothing to recover: the hash already matches
    if at_end or not original:
        assert rec is not None
    if rec is not None:
        # Whatever was found hashes to bh= by dkimpy's own canonicalisation.
        assert hashlib.sha256(policy.canonicalize_body(rec.original)).digest() == claimed


def test_a_header_added_by_a_list_at_the_start(key):
    signed = _signed(key, c=SIMPLE)
    head, body = _split(signed)
    raw = MAILMAN_HEADERS + head + b"[Team] Messages to this list are archived.\r\n\r\n" + body
    f = _recovered(raw, key)
    assert f.evidence["transformations"] == ["header_removed"]
    assert f.evidence["removed"][0]["where"] == "start" and f.evidence["removed"][0]["body_lines"] == [1, 2]


# --- counted apart: the case summary, the JSON and HTML reports, the workbench ------------------
@pytest.fixture(scope="module")
def case(tmp_path_factory, key):
    from helpers import build_case, key_record_file

    from leaklens.verify.case_verify import verify_case

    root = tmp_path_factory.mktemp("recovered")
    dump = root / "dump"
    dump.mkdir()
    signed = _signed(key)
    (dump / "1-intact.eml").write_bytes(signed)
    (dump / "2-list.eml").write_bytes(mailman(signed))
    (dump / "3-ps.eml").write_bytes(signed + b"\r\nP.S. Delete this email after reading.\r\n")
    (dump / "4-changed.eml").write_bytes(signed.replace(b"at six", b"at nine"))
    keys = key_record_file(root / "keys.txt", key[2], "s1", AUTHOR)
    c = build_case(root, dump)
    verify_case(c, key_files=[keys], workers=1)
    yield c
    c.close()


def _id(case, name: str) -> str:
    return case.db.conn.execute("SELECT id FROM items WHERE name=?", (name,)).fetchone()[0]


def test_summary_counts_recovered_apart(case):
    from leaklens.report.items import summary

    s = summary(case)
    assert s["by_verdict"]["altered"] == 3  # the verdict does not change
    assert (s["altered_recovered"], s["altered_in_transit"], s["altered_unexplained"]) == (2, 1, 1)
    v = s["verification"]
    assert (v["altered_recovered"], v["altered_in_transit"], v["altered_unexplained"]) == (2, 1, 1)


def test_json_report_items_say_recovered(case):
    import io
    import json

    from leaklens.report.writers import write_json

    out = io.StringIO()
    write_json(case, out)
    doc = json.loads(out.getvalue())
    by_name = {i["path"].rsplit("/", 1)[-1]: i for i in doc["items"]}
    assert by_name["2-list.eml"]["verdict"] == "altered"
    assert by_name["2-list.eml"]["recovered"] == {
        "in_transit": True,
        "label": recover.IN_TRANSIT_LABEL,
        "signatures": [0],
    }
    assert by_name["3-ps.eml"]["recovered"]["label"] == recover.ADDED_LABEL
    assert "recovered" not in by_name["4-changed.eml"] and "recovered" not in by_name["1-intact.eml"]
    assert doc["summary"]["altered_in_transit"] == 1


def test_workbench_shows_recovered_apart(case):
    from fastapi.testclient import TestClient
    from lxml import html as lxml_html

    from leaklens.web.app import create_app

    client = TestClient(create_app(case.root))
    dash = lxml_html.fromstring(client.get("/").text)
    quote = " ".join(dash.xpath('//p[@class="quote"]')[0].text_content().split())
    assert (
        "3 items proven altered: 1 altered in transit, original recovered; 1 with text added after signing, "
        "original recovered; 1 altered, unexplained." in quote
    )
    sub = {
        r.xpath("td")[0].text_content().strip("↳ "): r.xpath(".//a/@href")[0] for r in dash.xpath('//tr[@class="sub"]')
    }
    assert list(sub) == [
        "in transit, original recovered",
        "text added after signing, original recovered",
        "unexplained",
    ]
    unexplained = client.get("/api/search", params={"q": "verdict:altered -finding:dkim.original_recovered"}).json()
    assert [h["name"] for h in unexplained["hits"]] == ["4-changed.eml"]
    assert "-finding%3Adkim.original_recovered" in sub["unexplained"]
    page = lxml_html.fromstring(client.get(f"/items/{_id(case, '2-list.eml')}").text)
    badge = page.xpath('//p[@class="item-verdict"]/span[contains(@class, "verdict")]')[0]
    assert badge.text_content().strip() == recover.IN_TRANSIT_LABEL and "v-in-transit" in badge.get("class")
    lede = page.xpath('//p[contains(@class, "lede")]')[0].text_content()
    assert "Team mailing list" in lede and "footer" in lede
    first = page.xpath('//li[contains(@class, "finding")]')[0].text_content()
    assert recover.CODE in first  # the explanation comes before the critical mismatch it explains
    changed = lxml_html.fromstring(client.get(f"/items/{_id(case, '4-changed.eml')}").text)
    badge = changed.xpath('//p[@class="item-verdict"]/span[contains(@class, "verdict")]')[0]
    assert badge.text_content().strip().endswith("Altered")


def test_html_report_shows_recovered_apart(case):
    import io

    from lxml import html as lxml_html

    from leaklens.report.html_report import write_html

    buf = io.StringIO()
    write_html(case, buf)
    doc = lxml_html.fromstring(buf.getvalue())
    text = " ".join(doc.text_content().split())
    assert "3 items proven altered (1 altered in transit, original recovered;" in text
    altered = doc.xpath('//section[@id="altered"]')[0]
    articles = altered.xpath("./article")
    # Each item's banner says its verdict, recovered or not (the report's banner is the item page's).
    labels = [" ".join(a.xpath('./div[contains(@class, "verdict-banner")]//span[@class="vb-verdict"]//text()')).strip()
              for a in articles]  # fmt: skip
    assert labels[0] == "Altered"  # the unexplained one first
    assert sorted(labels[1:]) == sorted([recover.IN_TRANSIT_LABEL, recover.ADDED_LABEL])


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=600), cut=st.integers(0, 600), c=st.sampled_from([b"relaxed", b"simple"]))
def test_arbitrary_bytes_never_raise(body, cut, c):
    """Damaged bodies (bare CR and LF, NUL, no final line break): found or not, never an exception."""
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/" + c)
    claimed = hashlib.sha256(policy.canonicalize_body(body[:cut])).digest()
    rec = recover_body(body, policy, hashlib.sha256, claimed, hints=ListHints(boundaries=(b"b",)))
    if rec is not None:
        assert hashlib.sha256(policy.canonicalize_body(rec.original)).digest() == claimed
