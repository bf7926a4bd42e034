"""OCR with the real Tesseract: pages rendered from known text, clean and degraded, in three languages;
a PDF with a text layer is not read; the text becomes an "ocr" text record, searchable by its entities."""

from __future__ import annotations

import io
import os
import random
import shutil

import pytest
from helpers import build_case
from PIL import Image, ImageDraw, ImageFont

from leaklens.entities.tables import ENTITIES, TEXT_SCANS
from leaklens.ocr import tesseract
from leaklens.ocr.step import OCR_PAGES, run_ocr
from leaklens.steps import Run, run_steps

# Skipped where Tesseract is absent, except in CI (.ci/run installs it and sets LEAKLENS_REQUIRE_TESSERACT).
pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None and not os.environ.get("LEAKLENS_REQUIRE_TESSERACT"),
    reason="tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-fra tesseract-ocr-rus)",
)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"  # Debian's fonts-dejavu-core: Latin and Cyrillic

TEXTS = {
    "eng": [
        "The transfer of 250,000 euros was approved by the",
        "campaign treasurer on Friday evening, before the",
        "second round of the presidential election.",
    ],
    "fra": [
        "Le virement de 250 000 euros a été approuvé par le",
        "trésorier de la campagne vendredi soir, avant le",
        "second tour de l'élection présidentielle.",
    ],
    "rus": [
        "Перевод на сумму 250 000 евро был одобрен",
        "казначеем кампании в пятницу вечером, перед",
        "вторым туром президентских выборов.",
    ],
}


def render(lines: list[str], dpi: int = 300, pt: int = 12) -> Image.Image:
    """A page (A4 wide, as tall as the text) with the lines drawn in a 12-point serif at `dpi`."""
    px = int(pt * dpi / 72)
    font = ImageFont.truetype(FONT, px)
    img = Image.new("L", (int(8.27 * dpi), int(len(lines) * px * 1.6 + dpi)), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((int(dpi * 0.6), int(dpi * 0.5 + i * px * 1.6)), line, font=font, fill=0)
    return img


def degrade(img: Image.Image) -> bytes:
    """2° of skew, 2% salt-and-pepper noise, saved as JPEG at quality 40 (the page rendered at 200 dpi)."""
    img = img.rotate(2, expand=True, fillcolor=255)
    rng = random.Random(0)
    px = img.load()
    for _ in range(img.width * img.height // 50):
        px[rng.randrange(img.width), rng.randrange(img.height)] = rng.choice((0, 255))
    return _bytes(img, "JPEG", quality=40)


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def cer(truth: str, read: str) -> float:
    """Character error rate: edit distance over the truth's length, whitespace runs as one space."""
    a, b = " ".join(truth.split()), " ".join(read.split())
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / max(1, len(a))


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """A folder of scans: a clean and a degraded page per language, an image-only PDF, a PDF with text."""
    folder = tmp_path_factory.mktemp("scans")
    for lang, lines in TEXTS.items():
        (folder / f"clean-{lang}.png").write_bytes(_bytes(render(lines), "PNG"))
        (folder / f"degraded-{lang}.jpg").write_bytes(degrade(render(lines, dpi=200)))
    page = render(["Virement vers FR76 3000 6000 0112 3456 7890 189", "signé par Horizon Conseil SAS."])
    (folder / "scan.pdf").write_bytes(_bytes(page.convert("RGB"), "PDF", resolution=300))
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, "This PDF has a text layer and is not read by OCR.")
    c.save()
    (folder / "text.pdf").write_bytes(buf.getvalue())
    return folder


@pytest.fixture(scope="module")
def ocr_case(tmp_path_factory, scans):
    case = build_case(tmp_path_factory.mktemp("case"), scans, workers=1)
    run_steps(Run(case, workers=2, options={"ocr_lang": "eng+fra+rus"}), ("texts",))
    yield case
    case.close()


def _text_of(case, name: str):
    (item,) = case.db.select_items(_query_by_name(case, name))
    recs = case.db.texts_for(item["id"], "ocr")
    return item, (recs[0] if recs else None)


def _query_by_name(case, name):
    from leaklens.store.base import ItemQuery

    ids = tuple(i for i, n in case.db.item_values(("id", "name"), ItemQuery(state="stored")) if n == name)
    return ItemQuery(ids=ids)


@pytest.mark.parametrize("lang", list(TEXTS))
def test_clean_pages_read_within_two_percent(ocr_case, lang):
    _, rec = _text_of(ocr_case, f"clean-{lang}.png")
    assert rec is not None and rec.source == "ocr"
    assert cer("\n".join(TEXTS[lang]), rec.text) <= 0.02
    assert rec.confidence is not None and rec.confidence > 80


@pytest.mark.parametrize("lang", list(TEXTS))
def test_degraded_pages_read_within_ten_percent(ocr_case, lang):
    _, rec = _text_of(ocr_case, f"degraded-{lang}.jpg")
    assert rec is not None
    assert cer("\n".join(TEXTS[lang]), rec.text) <= 0.10


def test_a_pdf_with_a_text_layer_is_not_ocred(ocr_case):
    item, rec = _text_of(ocr_case, "text.pdf")
    assert rec is None
    pages = ocr_case.db.table_rows(OCR_PAGES, sha256=item["sha256"])
    assert [(p["page"], p["status"]) for p in pages] == [(1, "text-layer")]


def test_an_image_only_pdf_is_read_and_its_entities_found_with_positions(ocr_case):
    item, rec = _text_of(ocr_case, "scan.pdf")
    assert rec is not None and "Horizon Conseil SAS" in rec.text
    found = {(r["kind"], r["value"]): r for r in ocr_case.db.table_rows(ENTITIES, item_id=item["id"])}
    iban = found[("iban", "FR7630006000011234567890189")]
    assert iban["source"] == "ocr"
    assert "".join(rec.text[iban["char_start"] : iban["char_end"]].split()) == "FR7630006000011234567890189"
    assert ("org", "Horizon Conseil SAS") in found
    (scan,) = ocr_case.db.table_rows(TEXT_SCANS, item_id=item["id"], source="ocr")
    assert scan["lang"] == "fr"


def test_scans_are_read_once(ocr_case):
    assert run_ocr(ocr_case.db, str(ocr_case.root))["scans"] == 0


def test_a_page_past_its_timeout_is_a_row_saying_so_and_the_run_goes_on(tmp_path, scans):
    case = build_case(tmp_path, scans / "clean-eng.png", scans / "text.pdf", workers=1)
    report = run_ocr(case.db, str(case.root), langs="eng", page_timeout=0.001)
    assert report["scans"] == 2
    rows = case.db.table_rows(OCR_PAGES)
    assert sorted(r["status"] for r in rows) == ["text-layer", "timeout"]
    case.close()


def test_missing_languages_are_named_and_the_rest_used():
    usable, absent = tesseract.usable_languages("eng+xyz")
    assert usable == "eng" and absent == ["xyz"]


def test_workbench_shows_the_scan_beside_its_text_and_the_entity_pages(ocr_case):
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from leaklens.web.app import create_app

    client = TestClient(create_app(ocr_case.root))
    item, rec = _text_of(ocr_case, "scan.pdf")
    page = client.get(f"/items/{item['id']}").text
    assert f'src="/items/{item["id"]}/pages/1.png"' in page and "Horizon Conseil SAS" in page
    assert "/entities/iban/FR7630006000011234567890189" in page
    png = client.get(f"/items/{item['id']}/pages/1.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert client.get(f"/items/{item['id']}/pages/2.png").status_code == 422  # no such page: said, not a crash
    listing = client.get("/entities?kind=iban").text
    assert "FR7630006000011234567890189" in listing
    one = client.get("/entities/iban/FR7630006000011234567890189")
    assert one.status_code == 200 and "scan.pdf" in one.text
    api = client.get("/api/entities/org/" + quote("Horizon Conseil SAS")).json()
    assert [i["name"] for i in api["items"]] == ["scan.pdf"] and api["items"][0]["mentions"][0]["source"] == "ocr"
    assert client.get("/entities/iban/FR00NOTHING").status_code == 404
    assert client.get("/entities/nokind/x").status_code == 404


def test_search_by_entity_and_language_and_their_facets(ocr_case):
    total, hits = ocr_case.db.search("entity:iban:FR76-3000-6000-0112-3456-7890-189")  # any printed form
    assert total == 1 and hits[0]["name"] == "scan.pdf"
    assert ocr_case.db.search('entity:"org:Horizon Conseil SAS" lang:fr')[0] == 1
    assert ocr_case.db.search("entity:iban:FR7630006000011234567890188")[0] == 0
    by_lang = {n for n, _ in ocr_case.db.search_facets("", top=10, budget_s=5)[1]["lang"]}
    assert {"en", "fr", "ru"} <= by_lang
    _, facets = ocr_case.db.search_facets("lang:fr", top=10, budget_s=5)
    assert ("iban:FR7630006000011234567890189", 1) in facets["entity"]
    with pytest.raises(Exception, match="kind:value"):
        ocr_case.db.search("entity:nokind:x")


def test_report_carries_each_items_entities_and_languages_and_the_case_index(ocr_case):
    import io
    import json

    from leaklens.report.writers import write_json

    out = io.StringIO()
    write_json(ocr_case, out)
    report = json.loads(out.getvalue())
    (scan,) = [i for i in report["items"] if i["path"].endswith("scan.pdf")]
    _, rec = _text_of(ocr_case, "scan.pdf")
    (iban,) = [e for e in scan["entities"] if e["kind"] == "iban"]
    assert iban["source"] == "ocr" and "".join(rec.text[iban["start"] : iban["end"]].split()) == iban["value"]
    assert scan["languages"] == {"ocr": "fr"}
    top = report["entities"]["top"]
    assert {"kind": "iban", "value": "FR7630006000011234567890189", "mentions": 1, "items": 1} in top
    assert all(i["entities"] == [] for i in report["items"] if i["path"].endswith("text.pdf"))


LETTER = [
    "Dear Sir, we confirm that the sum of two hundred and fifty thousand euros",
    "was transferred on Friday evening to the account held in the name of the",
    "campaign association, as agreed with the treasurer during the meeting of",
    "the finance committee. The documents signed by both parties are kept at",
    "the head office and a copy was sent by registered mail to the auditors.",
]


def test_a_scan_and_the_typed_document_it_copies_are_near_duplicates(tmp_path):
    from leaklens.investigate.figures import duplicate_groups
    from leaklens.verify.case_verify import verify_case

    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "letter.txt").write_text(" ".join(LETTER) + "\n", encoding="utf-8")
    (folder / "letter-scan.png").write_bytes(_bytes(render(LETTER), "PNG"))
    case = build_case(tmp_path, folder)
    run_steps(Run(case, workers=1, options={"ocr_lang": "eng"}), ("texts",))
    verify_case(case, workers=1)
    from leaklens.store.base import ItemQuery

    names = dict(case.db.item_values(("id", "name"), ItemQuery()))
    groups = [sorted(names[m] for m in g["members"]) for g in duplicate_groups(case)]
    assert ["letter-scan.png", "letter.txt"] in groups
    case.close()
