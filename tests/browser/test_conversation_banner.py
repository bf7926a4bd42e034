"""The verdict where a conversation is read, and in the printed report (issue 16), in Chromium: each
message of a thread opens with the item page's banner (verdict, one-sentence reason, signer) right
above its text, text beyond a signature's l= is marked unsigned inside it, and the offline report,
printed to PDF, keeps each item's banner in colour."""

from __future__ import annotations

import io
from email.message import EmailMessage

import banner_case as bc
import dkim
import pypdfium2 as pdfium
import pytest
from conftest import LiveServer
from helpers import SIGNED_HEADERS, key_record_file, make_rsa_key

from leaklens.case import Case
from leaklens.ingest.walker import ingest
from leaklens.report.html_report import write_html
from leaklens.verify.case_verify import verify_case

pytestmark = pytest.mark.browser
DOMAIN, SELECTOR = "conv.example", "c2017"
APPENDED = b"P.S. New bank details: FR76 9999 0000 1111 2222 3333 444.\r\n"
ALTERED_RED = (198, 40, 40)  # app.css --altered
ALTERED_PINK = (253, 236, 236)  # app.css .vb-altered's background

# Message-ID: (verdict, words of the banner's reason, its signer line). Oldest first, as shown.
THREAD = {
    "c1": ("verified", f"Signed by {DOMAIN}", f"Signed by {DOMAIN} (key {SELECTOR})"),
    "c2": ("altered", f"The body was changed after {DOMAIN} signed it", f"Signature by {DOMAIN} no longer matches"),
    "c3": ("suspicious", "(l= tag)", f"Signed by {DOMAIN} (key {SELECTOR})"),
    "c4": ("unverified", "carries no DKIM signature", "No valid signature of its own"),
}


def _message(n: int, mid: str, body: str, sender: str = f"Zoé Martin <zoe@{DOMAIN}>") -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = f"board@{DOMAIN}"
    m["Subject"] = "Budget 2017" if n == 1 else "Re: Budget 2017"
    m["Date"] = f"Tue, 0{n + 1} May 2017 09:00:00 +0200"
    m["Message-ID"] = f"<{mid}@{DOMAIN}>"
    if n > 1:
        m["In-Reply-To"] = f"<c{n - 1}@{DOMAIN}>"
        m["References"] = " ".join(f"<c{k}@{DOMAIN}>" for k in range(1, n))
    m.set_content(body)
    return bytes(m).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _sign(pem: bytes, raw: bytes, *, length: bool = False) -> bytes:
    return dkim.sign(raw, SELECTOR.encode(), DOMAIN.encode(), pem, include_headers=SIGNED_HEADERS, length=length) + raw


@pytest.fixture(scope="module")
def thread(tmp_path_factory):
    """A conversation of four messages, one per verdict a message can have in a thread (an unreadable
    one has no headers, so no thread), built by the real ingest and verify steps."""
    root = tmp_path_factory.mktemp("conv-banner")
    pem, pub = make_rsa_key()
    dump = root / "dump"
    dump.mkdir()
    (dump / "1.eml").write_bytes(_sign(pem, _message(1, "c1", "The budget is approved.\n")))
    changed = _sign(pem, _message(2, "c2", "I will pay the printer.\n")).replace(b"the printer", b"the offshore")
    (dump / "2.eml").write_bytes(changed)
    (dump / "3.eml").write_bytes(_sign(pem, _message(3, "c3", "Bank details unchanged.\n"), length=True) + APPENDED)
    (dump / "4.eml").write_bytes(_message(4, "c4", "Which bank?\n", sender="Outside <x@outside.example>"))
    keys = key_record_file(root / "keys.txt", pub, SELECTOR, DOMAIN)
    with Case.open(root / "case", create=True) as case:
        ingest(case, [dump], workers=1)
        verify_case(case, key_files=[keys], workers=1)
        ids = {r["message_id"].strip("<>").split("@")[0]: r["id"] for r in case.db.items("kind='email'")}
    with LiveServer(root / "case") as server:
        server.ids = ids  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def tpage(browser, thread):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(thread.url + "/") else r.abort())
    yield context.new_page()
    context.close()


def test_each_message_opens_with_its_banner_above_its_text(tpage, thread, shots):
    tpage.goto(f"{thread.url}/items/{thread.ids['c4']}/thread")
    messages = tpage.locator("ol.conversation > li.conv-msg")
    assert messages.count() == len(THREAD)
    for n, (mid, (verdict, reason, signer)) in enumerate(THREAD.items()):
        msg = messages.nth(n)
        assert msg.get_attribute("id") == f"m-{thread.ids[mid]}"  # oldest first
        banner = msg.locator(".verdict-banner")
        assert banner.count() == 1 and banner.is_visible(), mid
        assert banner.get_attribute("class") == f"verdict-banner vb-{verdict}", mid
        assert banner.locator(".vb-verdict .verdict").inner_text().strip().lower().endswith(verdict), mid
        said = banner.locator(".vb-reason").inner_text().strip()
        assert reason in said, (mid, said)  # a reason, one sentence, on every verdict
        assert " ".join(banner.locator(".vb-signer").inner_text().split()) == signer, mid
        # Above the message's text, inside the message's own box: it is read before the text, with it.
        b, text, box = banner.bounding_box(), msg.locator("pre.body-text").bounding_box(), msg.bounding_box()
        assert b["y"] + b["height"] <= text["y"] + 0.5, mid
        assert box["y"] - 0.5 <= b["y"] and box["x"] - 0.5 <= b["x"], mid
        assert b["x"] + b["width"] <= box["x"] + box["width"] + 0.5, mid
    # The text appended beyond l= reads as unsigned inside the message, as on the item page.
    tails = tpage.locator("li.conv-msg pre.body-text .unsigned-tail")
    assert tails.count() == 1 and tails.inner_text().strip() == APPENDED.decode().strip()
    assert tpage.locator(f"#m-{thread.ids['c3']} pre.body-text .unsigned-tail").count() == 1
    assert tails.evaluate("e => getComputedStyle(e).outlineStyle") == "dashed"
    tpage.screenshot(path=str(shots / "conversation-banners.png"), full_page=True)


def test_a_message_banner_says_what_its_item_page_says(tpage, thread):
    tpage.goto(f"{thread.url}/items/{thread.ids['c1']}/thread")
    in_thread = {
        mid: " ".join(tpage.locator(f"#m-{thread.ids[mid]} .verdict-banner").inner_text().split()) for mid in THREAD
    }
    for mid in THREAD:
        tpage.goto(f"{thread.url}/items/{thread.ids[mid]}")
        on_page = tpage.locator("section.content-panel .verdict-banner").first.inner_text()
        assert " ".join(on_page.split()) == in_thread[mid], mid


def _has_colour(img, rgb: tuple[int, int, int]) -> bool:
    return any(all(abs(a - b) <= 6 for a, b in zip(c, rgb, strict=True)) for _, c in img.getcolors(1 << 22))


def test_the_printed_report_keeps_each_banner_in_colour(browser, tmp_path, shots):
    case = bc.build(tmp_path)
    buf = io.StringIO()
    write_html(case, buf)
    case.close()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda r: r.abort())  # the report is one file: it asks for nothing
    page = context.new_page()
    page.set_content(buf.getvalue())
    page.emulate_media(media="print")
    banner = page.locator("section#altered article .verdict-banner").first
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb({}, {}, {})".format(*ALTERED_PINK)
    pdf = page.pdf(format="A4")
    context.close()
    (shots / "report-print.pdf").write_bytes(pdf)
    doc = pdfium.PdfDocument(pdf)
    text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    squeezed = " ".join(text.split())
    for said in ("The body was changed after horizon-campaign.example signed it", "(l= tag)",
                 "Signature by horizon-campaign.example no longer matches", "it has no header fields"):
        assert said in squeezed, said  # fmt: skip
    assert "ALTERED" in text and "SUSPICIOUS" in text
    pages = [doc[i].render(scale=1).to_pil().convert("RGB") for i in range(len(doc))]
    assert any(_has_colour(img, ALTERED_PINK) for img in pages)  # the banner's background, printed
    assert any(_has_colour(img, ALTERED_RED) for img in pages)  # and its badge
