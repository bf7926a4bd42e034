"""Document checks over real files: each forged variant raises its finding, and in a mixed
population of authentic and forged documents no authentic item is flagged."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_docmeta_formats import (
    DOC,
    DOCX,
    ODT,
    XLSX,
    add_layers,
    append_incremental_update,
    append_signature_update,
    make_doc,
    make_docx,
    make_jpeg,
    make_odt,
    make_pdf,
    make_rtf,
    make_xlsx,
)

from leaklens.verify.doc_checks import DocRecord, check_document, population_checks, population_summary
from leaklens.verify.docmeta import DocMetadata, extract_metadata

NOW = datetime(2026, 11, 25, tzinfo=UTC)
PUBLISHED = datetime(2017, 5, 5, 18, 0, tzinfo=UTC)
SENT = datetime(2017, 4, 20, 17, 30, tzinfo=UTC)
EDITORS = ["Claire Martin", "Paul Durand", "Sophie Lefèvre", "Thomas Bernard", "Émilie Rousseau"]
RUSSIAN = "Рошка Георгий Петрович"


def checks(meta: DocMetadata, **kw) -> list[str]:
    args = {"email_date": None, "email_verdict": None, "published": PUBLISHED, "now": NOW} | kw
    return [f.code for f in check_document(meta, **args)]


def test_modified_after_sent_by_the_carrying_emails_standing(tmp_path: Path) -> None:
    # Issue 10 changed this rule: inside a verified email a late internal date is a clock discrepancy
    # (the signature proves the bytes were sent), no longer "altered".
    p = make_docx(tmp_path / "offer.docx", author="Claire Martin", last_by="Claire Martin",
                  created=SENT - timedelta(days=3), modified=SENT + timedelta(days=2))
    meta = extract_metadata(p, DOCX)
    (f,) = check_document(meta, email_date=SENT, email_verdict="verified", published=None, now=NOW)
    assert (f.code, f.severity, f.evidence["effect"]) == ("doc.modified_after_sent", "info", "none")
    assert "clock discrepancy, the signature proves these bytes were sent" in f.message
    assert f.evidence["document_date"] == (SENT + timedelta(days=2)).isoformat()
    for unproven in (None, "unverified", "suspicious"):
        (g,) = check_document(meta, email_date=SENT, email_verdict=unproven, published=None, now=NOW)
        assert (g.severity, g.evidence["effect"]) == ("warning", "suspicious")
    # The email's body no longer matches its signature: the late document is the swapped part.
    (h,) = check_document(meta, email_date=SENT, email_verdict="altered", published=None, now=NOW)
    assert (h.severity, h.evidence["effect"]) == ("critical", "altered") and "swapped" in h.message


def test_naive_email_and_publication_dates_are_taken_as_utc(tmp_path: Path) -> None:
    p = make_docx(tmp_path / "late.docx", author="Claire Martin", last_by="Claire Martin",
                  created=SENT - timedelta(days=3), modified=SENT + timedelta(days=2))
    meta = extract_metadata(p, DOCX)
    codes = [f.code for f in check_document(meta, email_date=SENT.replace(tzinfo=None), email_verdict=None,
                                            published=datetime(2017, 4, 21), now=datetime(2026, 1, 1))]
    assert codes == ["doc.modified_after_sent", "doc.after_publication"]


def test_hand_built_records_with_zone_less_dates() -> None:
    meta = DocMetadata(created=datetime(2017, 5, 1), modified=datetime(2017, 4, 1))
    codes = [f.code for f in check_document(meta, email_date=None, email_verdict=None, published=None,
                                            now=NOW)]
    assert codes == ["doc.created_after_modified"]
    recs = [DocRecord(f"r{i}", "g", DocMetadata(created=datetime(2010 + i, 1, 1),
                                                 modified=datetime(2017, 5, 4, 22, i))) for i in range(3)]
    assert set(population_checks(recs)) == {"r0", "r1", "r2"}


def test_saved_just_before_sending_is_fine(tmp_path: Path) -> None:
    p = make_docx(tmp_path / "ok.docx", author="Claire Martin", last_by="Claire Martin",
                  created=SENT - timedelta(days=3), modified=SENT - timedelta(minutes=2))
    assert checks(extract_metadata(p, DOCX), email_date=SENT, email_verdict="verified") == []


def test_naive_dates_get_a_time_zone_of_slack(tmp_path: Path) -> None:
    # RTF dates carry no zone: 3 hours "after" sending may just be a local clock east of UTC.
    p = make_rtf(tmp_path / "n.rtf", author="Claire Martin", operator="Claire Martin",
                 created=datetime(2017, 4, 1), revised=datetime(2017, 4, 20, 20, 30))
    meta = extract_metadata(p, "application/rtf")
    assert checks(meta, email_date=SENT) == []
    late = make_rtf(tmp_path / "l.rtf", author="Claire Martin", operator="Claire Martin",
                    created=datetime(2017, 4, 1), revised=datetime(2017, 4, 22, 12, 0))
    assert checks(extract_metadata(late, "application/rtf"), email_date=SENT) == ["doc.modified_after_sent"]


def test_after_publication_created_after_modified_future(tmp_path: Path) -> None:
    p = make_xlsx(tmp_path / "a.xlsx", author="Paul Durand", last_by="Paul Durand",
                  created=datetime(2017, 6, 1, tzinfo=UTC), modified=datetime(2017, 3, 1, tzinfo=UTC))
    assert sorted(checks(extract_metadata(p, XLSX))) == ["doc.after_publication", "doc.created_after_modified"]
    q = make_docx(tmp_path / "f.docx", author="Paul Durand", last_by="Paul Durand",
                  created=datetime(2016, 1, 1, tzinfo=UTC), modified=datetime(2031, 1, 1, tzinfo=UTC))
    codes = checks(extract_metadata(q, DOCX), published=None)
    assert codes == ["doc.future_dates"]


def test_incremental_update_names_objects_and_shows_changed_amount(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "invoice.pdf", created=SENT - timedelta(days=10), modified=SENT - timedelta(days=10))
    append_incremental_update(p, "1,250.00", "91,250.00", producer="PDF-XChange Editor 7.0")
    findings = {f.code: f for f in check_document(extract_metadata(p, "application/pdf"), email_date=None,
                                                    email_verdict=None, published=PUBLISHED, now=NOW)}
    f = findings["doc.incremental_update"]
    assert f.severity == "warning" and f.evidence["effect"] == "suspicious" and f.evidence["revisions"] == 2
    (update,) = f.evidence["updates"]
    assert update["changed_objects"] and update["content_changed"]
    (hunk,) = update["text_changes"][0]["diff"]
    assert (hunk["removed"], hunk["added"]) == ("1,250.00", "91,250.00")
    assert "91,250.00" in f.message
    # The update was written by another tool than the original producer.
    assert "doc.producer_inconsistent" in findings


def test_signing_update_by_another_tool_is_only_informative(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "signed.pdf", created=SENT - timedelta(days=1), modified=SENT - timedelta(days=1))
    append_signature_update(p)
    meta = extract_metadata(p, "application/pdf")
    assert meta.raw["revisions"] == 2 and meta.raw["signature_fields"] == [{"name": "Signature1", "signed": False}]
    findings = check_document(meta, email_date=SENT, email_verdict="verified", published=PUBLISHED, now=NOW)
    assert [(f.code, f.severity) for f in findings] == [("doc.incremental_update", "info")]
    (update,) = findings[0].evidence["updates"]
    assert not update["content_changed"] and update["added_objects"]


def test_layered_pdf(tmp_path: Path) -> None:
    p = make_pdf(tmp_path / "offshore.pdf", created=SENT, modified=SENT)
    add_layers(p, names=("Scan", "Account number"), hidden=("Scan",))
    (f,) = [f for f in check_document(extract_metadata(p, "application/pdf"), email_date=None,
                                      email_verdict=None, published=None, now=NOW) if f.code == "doc.layers"]
    assert f.severity == "warning" and f.evidence["hidden"] == ["Scan"] and "Account number" in f.message


def test_producer_inconsistent_ooxml_structure_and_pdf_xmp(tmp_path: Path) -> None:
    x = make_xlsx(tmp_path / "calc.xlsx", author="Paul Durand", last_by="Paul Durand", created=SENT,
                  modified=SENT, application="Microsoft Excel", workbook_app="Calc")
    (f,) = check_document(extract_metadata(x, XLSX), email_date=None, email_verdict=None, published=None, now=NOW)
    assert f.code == "doc.producer_inconsistent" and "LibreOffice" in f.message
    consistent = make_xlsx(tmp_path / "xl.xlsx", author="Paul Durand", last_by="Paul Durand", created=SENT,
                           modified=SENT, application="Microsoft Excel", workbook_app="xl")
    assert checks(extract_metadata(consistent, XLSX)) == []
    p = make_pdf(tmp_path / "x.pdf", created=SENT, modified=SENT, producer="Microsoft: Print To PDF",
                 xmp_producer="iText 2.1.7")
    assert checks(extract_metadata(p, "application/pdf")) == ["doc.producer_inconsistent"]
    # The same tool spelled with a ® mark in one place is not an inconsistency.
    same = make_pdf(tmp_path / "w.pdf", created=SENT, modified=SENT, producer="Microsoft® Word 2016",
                    xmp_producer="Microsoft Word 2016")
    assert checks(extract_metadata(same, "application/pdf")) == []


def test_ole_claiming_excel_with_word_stream(tmp_path: Path) -> None:
    p = make_doc(tmp_path / "x.xls", author="Paul Durand", last_by="Paul Durand", created=SENT, modified=SENT,
                 application="Microsoft Excel")
    assert checks(extract_metadata(p, "application/vnd.ms-excel")) == ["doc.producer_inconsistent"]


# --- the mixed population -----------------------------------------------------------------


@pytest.fixture(scope="module")
def population(tmp_path_factory) -> tuple[list[DocRecord], dict[str, dict], set[str]]:
    """20 authentic documents by the organisation's 5 editors (plus the odd outside contact),
    and forged ones of each kind. Returns records, per-item check arguments, authentic ids."""
    d = tmp_path_factory.mktemp("dump")
    rng = random.Random(4)
    records: list[DocRecord] = []
    context: dict[str, dict] = {}
    authentic: set[str] = set()

    def add(item_id: str, group: str, path: Path, mime: str, *, sent=None, verified=False, real=True) -> None:
        records.append(DocRecord(item_id, group, extract_metadata(path, mime)))
        context[item_id] = {"email_date": sent, "email_verdict": "verified" if verified else None}
        if real:
            authentic.add(item_id)

    base = datetime(2016, 9, 1, 9, 0, tzinfo=UTC)
    makers = ["docx", "xlsx", "pdf", "doc", "rtf", "odt", "jpeg"]
    for i in range(20):
        kind = makers[i % len(makers)]
        editor, other = EDITORS[i % 5], EDITORS[(i + 2) % 5]
        created = base + timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 8))
        modified = created + timedelta(days=rng.randint(0, 20), minutes=rng.randint(5, 600))
        group = ["Compta", "Direction", "Presse"][i % 3]
        p = d / f"auth{i}.{kind}"
        sent = modified + timedelta(hours=rng.randint(1, 48)) if i % 2 else None
        if kind == "docx":
            add(f"a{i}", group, make_docx(p, author=editor, last_by=other, created=created, modified=modified,
                                          company="En Marche"), DOCX, sent=sent, verified=bool(sent))
        elif kind == "xlsx":
            add(f"a{i}", group, make_xlsx(p, author=editor, last_by=other, created=created, modified=modified,
                                          company="En Marche"), XLSX, sent=sent)
        elif kind == "pdf":
            add(f"a{i}", group, make_pdf(p, author=editor, created=created, modified=modified), "application/pdf",
                sent=sent)
        elif kind == "doc":
            add(f"a{i}", group, make_doc(p, author=editor, last_by=other, created=created, modified=modified),
                DOC, sent=sent)
        elif kind == "rtf":
            add(f"a{i}", group, make_rtf(p, author=editor, operator=other, created=created.replace(tzinfo=None),
                                         revised=modified.replace(tzinfo=None)), "application/rtf", sent=sent)
        elif kind == "odt":
            add(f"a{i}", group, make_odt(p, initial=editor, last=other, created=created.replace(tzinfo=None),
                                         modified=modified.replace(tzinfo=None)), ODT, sent=sent)
        else:
            stamp = created.strftime("%Y:%m:%d %H:%M:%S")
            add(f"a{i}", group, make_jpeg(p, original=stamp, changed=stamp, artist=editor), "image/jpeg")
    # Hard cases that must stay quiet: an outside contact seen once, and three new documents
    # saved together in one working session (a burst of edits, but created together too).
    add("ext", "Presse", make_docx(d / "ext.docx", author="John Smith", last_by="John Smith",
                                   created=base, modified=base + timedelta(days=1), company="Reuters"), DOCX)
    session = base + timedelta(days=90)
    for k in range(3):
        add(f"s{k}", "Direction", make_xlsx(d / f"s{k}.xlsx", author="Paul Durand", last_by="Paul Durand",
                                             created=session + timedelta(minutes=k), modified=session
                                             + timedelta(minutes=3 + k)), XLSX)

    # Forgeries. The MacronLeaks spreadsheets: one folder, modified within four minutes,
    # created years apart, some last saved by a Russian-language editor.
    burst = datetime(2017, 5, 4, 22, 10, tzinfo=UTC)
    for k, year in enumerate((2007, 2011, 2015, 2016)):
        add(f"f_burst{k}", "Compta/2017", make_xlsx(
            d / f"burst{k}.xlsx", author=EDITORS[k], last_by=RUSSIAN if k % 2 else EDITORS[k],
            created=datetime(year, 2, 3, 10, tzinfo=UTC), modified=burst + timedelta(minutes=k)), XLSX, real=False)
    add("f_cp1251", "Direction", make_doc(d / "cp.doc", author="Paul Durand", last_by="Paul Durand",
                                          created=base + timedelta(days=30), modified=base + timedelta(days=31),
                                          codepage=1251, lid=0x0419), DOC, real=False)
    inv = make_pdf(d / "invoice.pdf", author="Sophie Lefèvre", created=base, modified=base)
    append_incremental_update(inv, "1,250.00", "91,250.00")
    add("f_incremental", "Compta", inv, "application/pdf", real=False)
    lay = make_pdf(d / "offshore.pdf", author="Thomas Bernard", created=base, modified=base)
    add_layers(lay)
    add("f_layers", "Compta", lay, "application/pdf", real=False)
    add("f_after_sent", "Direction", make_docx(d / "late.docx", author="Claire Martin", last_by="Claire Martin",
                                               created=SENT - timedelta(days=2), modified=SENT + timedelta(days=1)),
        DOCX, sent=SENT, real=False)
    # The same late save inside a verified email is a clock discrepancy (issue 10): not flagged.
    add("a_clock", "Direction", make_docx(d / "clock.docx", author="Claire Martin", last_by="Claire Martin",
                                          created=SENT - timedelta(days=2), modified=SENT + timedelta(days=1)),
        DOCX, sent=SENT, verified=True)
    return records, context, authentic


def _all_findings(records: list[DocRecord], context: dict[str, dict]) -> dict[str, list]:
    out = {r.item_id: check_document(r.meta, published=PUBLISHED, now=NOW, **context[r.item_id]) for r in records}
    for item_id, found in population_checks(records).items():
        out[item_id] += found
    return out


def test_mixed_population_flags_forged_and_only_forged(population) -> None:
    records, context, authentic = population
    findings = _all_findings(records, context)
    flagged = {i for i, fs in findings.items() if any(f.severity != "info" for f in fs)}
    assert flagged & authentic == set(), {i: [f.message for f in findings[i]] for i in flagged & authentic}
    codes = {i: {f.code for f in fs} for i, fs in findings.items()}
    for k in range(4):
        assert "doc.edit_burst" in codes[f"f_burst{k}"]
    assert "doc.foreign_editor" in codes["f_burst1"] and "doc.foreign_editor" in codes["f_burst3"]
    assert "doc.foreign_editor" not in codes["f_burst0"]
    assert "doc.foreign_editor" in codes["f_cp1251"]
    assert "doc.incremental_update" in codes["f_incremental"]
    assert "doc.layers" in codes["f_layers"]
    assert codes["f_after_sent"] == {"doc.modified_after_sent"}
    (clock,) = findings["a_clock"]
    assert (clock.code, clock.severity, clock.evidence["effect"]) == ("doc.modified_after_sent", "info", "none")
    assert all(f.severity == "info" or f.evidence.get("effect") for fs in findings.values() for f in fs)


def test_edit_burst_evidence(population) -> None:
    records, _, _ = population
    found = population_checks(records)
    (f,) = [f for f in found["f_burst2"] if f.code == "doc.edit_burst"]
    ev = f.evidence
    assert ev["members"] == ["f_burst0", "f_burst1", "f_burst2", "f_burst3"] and ev["group"] == "Compta/2017"
    assert ev["window"]["minutes"] == 3.0 and ev["creation"]["span_days"] > 9 * 365
    assert "years apart" in f.message


def test_foreign_editor_evidence(population) -> None:
    records, _, _ = population
    (f,) = [f for f in population_checks(records)["f_burst1"] if f.code == "doc.foreign_editor"]
    (o,) = f.evidence["outliers"]
    assert (o["field"], o["value"], o["script"], o["count"], o["population_script"]) == (
        "last_modified_by", RUSSIAN, "Cyrillic", 2, "Latin")
    assert set(o["common_values"]) <= set(EDITORS)
    (g,) = [f for f in population_checks(records)["f_cp1251"] if f.code == "doc.foreign_editor"]
    fields = {o["field"]: o for o in g.evidence["outliers"]}
    assert fields["codepage"]["value"] == 1251 and 1252 in fields["codepage"]["common_values"]
    assert fields["language"]["value"] == "ru-RU"


def test_a_cyrillic_organisation_is_not_foreign_to_itself(population) -> None:
    # A bilingual organisation (half its editors write their names in Cyrillic): nothing is
    # foreign when the population itself is mixed beyond the thresholds.
    records, _, _ = population
    latin = [r for r in records if r.item_id.startswith("a")][:6]
    cyr = [DocRecord(f"c{i}", "x", DocMetadata(author=["Иван Петров", "Олена Коваль"][i % 2])) for i in range(6)]
    assert population_checks(latin + cyr) == {}
    # ... while one Cyrillic editor among many Latin ones stands apart.
    assert list(population_checks(latin + cyr[:1])) == ["c0"]


def test_population_summary(population) -> None:
    records, _, _ = population
    s = population_summary(records)
    assert s["documents"] == len(records)
    editors = {e["value"]: e["count"] for e in s["editors"]}
    assert set(EDITORS) <= set(editors) and editors[RUSSIAN] == 2
    assert {c["value"] for c in s["codepages"]} == {1252, 1251}
    assert {"value": "Cyrillic", "count": 2} in s["scripts"]
    assert any(z["value"] == "+02:00" for z in s["time_zones"])  # the camera's EXIF offset
    assert s["companies"][0] == {"value": "En Marche", "count": max(c["count"] for c in s["companies"])}
