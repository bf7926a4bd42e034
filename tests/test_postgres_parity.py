"""A case on PostgreSQL is the same case as on SQLite: the demo leak (every planted forgery, footer,
ARC forward, near-copy, document and lookalike) ingested and verified into both, then every report
format, every read of verify/ and investigate/, and the workbench's answers compared.

The reads are compared as the values the callers get, in the order they get them: lists, dict
orders and the rows of the iterators, so that a report, a figure or a page lists the same things in
the same order whatever the backend.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from fastapi.testclient import TestClient

from leaklens.case import Case
from leaklens.demo.build import fill_demo_case
from leaklens.demo.generate import generate_demo
from leaklens.investigate.threads import thread
from leaklens.model import Finding
from leaklens.report.html_report import write_html
from leaklens.report.writers import write_csv, write_json, write_jsonl
from leaklens.store.base import ItemQuery
from leaklens.verify.case_docs import DOCUMENT_KINDS
from leaklens.verify.case_proof import LOCAL_HOSTS, SUBMISSION_PROTOCOLS
from leaklens.verify.case_verify import CHECKABLE_MIME, NOT_ORIGINAL, VERIFICATIONS
from leaklens.web.app import create_app


@pytest.fixture(scope="module")
def pair(tmp_path_factory, module_pg_url):
    """(SQLite case, PostgreSQL case) of the same demo dump, built as `leaklens demo` builds it."""
    tmp = tmp_path_factory.mktemp("parity")
    dump = tmp / "dump"
    manifest = generate_demo(dump)
    cases = []
    for name, db in (("sqlite", None), ("postgres", module_pg_url)):
        case = Case.open(tmp / name / "case", create=True, db=db)  # one folder name: pages show it
        fill_demo_case(case, dump, manifest, workers=1)
        cases.append(case)
    assert type(cases[0].db).__name__ != type(cases[1].db).__name__  # two backends, not one twice
    yield tuple(cases)
    for case in cases:
        case.close()


def _written(case: Case, writer) -> str:
    out = io.StringIO()
    writer(case, out)
    return _normal(out.getvalue(), case)


def _normal(text: str, case: Case) -> str:
    """What differs by nature left out: the case's folder, the times it was made, its sources added and its
    emails checked (now), and a web session's CSRF token."""
    text = text.replace(str(case.root.resolve()), "CASE").replace(str(case.root), "CASE")
    text = re.sub(r'(csrf[^"]*"\s*(?:content|value)=")[^"]*', r"\1", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?\+00:00", "NOW", text)
    # The same times as pages write them (display.when: "2026-12-03 11:00:10 UTC"); the demo's own dates
    # are of 2017 and stay compared.
    return re.sub(r"20[2-9]\d-\d\d-\d\d \d\d:\d\d(?::\d\d)? UTC", "NOW", text)


def test_every_report_format_is_the_same_on_both_backends(pair) -> None:
    lite, pg = pair
    a, b = json.loads(_written(lite, write_json)), json.loads(_written(pg, write_json))
    assert a["summary"]["items"] > 300 and a["summary"]["by_verdict"]["altered"] > 0  # the demo, verified
    assert a["summary"]["verification"]["verified_by_key"]  # keys proved something
    for part in a:
        assert json.dumps(a[part]) == json.dumps(b[part]), part  # same values, same order
    for writer in (write_jsonl, write_csv):
        assert _written(lite, writer) == _written(pg, writer)
    html_a, html_b = _written(lite, write_html), _written(pg, write_html)
    assert "altered" in html_a and html_a == html_b


def test_the_investigate_reads_are_the_same(pair) -> None:
    lite, pg = pair
    emails = ItemQuery(kind="email", state="stored")
    queries = [
        ItemQuery(),
        emails,
        ItemQuery(settled=True),
        ItemQuery(verdict="altered"),
        ItemQuery(kind="email", after="2017-04-01", before="2017-05-01"),
        ItemQuery(ids=()),
    ]
    for db_a, db_b in [(lite.db, pg.db)]:
        ids = [r["id"] for r in db_a.select_items(ItemQuery(), limit=40)]
        queries.append(ItemQuery(ids=tuple(ids)))
        for q in queries:
            assert db_a.count_items(q) == db_b.count_items(q), q
            for fields in (("kind",), ("day", "verdict"), ("email_from", "email_to", "email_cc"), ("ext", "date")):
                assert db_a.count_items_by(fields, q) == db_b.count_items_by(fields, q), (fields, q)
            fields = ("id", "path", "date")
            assert list(db_a.item_values(fields, q)) == list(db_b.item_values(fields, q)), q
            for order in ("found", "date"):
                rows_a = [dict(r) for r in db_a.select_items(q, order=order, limit=25)]
                assert rows_a == [dict(r) for r in db_b.select_items(q, order=order, limit=25)], (q, order)
        everything = [r["id"] for r in db_a.select_items(ItemQuery())]
        assert everything == [r["id"] for r in db_b.select_items(ItemQuery())]
        for item_id in everything:
            assert db_a.staged_findings(item_id) == db_b.staged_findings(item_id)
            assert _unclocked(db_a.verification_of(item_id)) == _unclocked(db_b.verification_of(item_id))
        assert db_a.latest_warnings(10) == db_b.latest_warnings(10) and db_a.latest_warnings(10)
        assert db_a.signing_domains(10) == db_b.signing_domains(10) and db_a.signing_domains(10)
        assert db_a.repeated_attachments(10) == db_b.repeated_attachments(10)
        assert db_a.duplicate_groups() == db_b.duplicate_groups() and db_a.duplicate_groups()
        for item_id in (r["id"] for r in db_a.select_items(emails, limit=30)):
            assert thread(db_a, db_a.item(item_id)) == thread(db_b, db_b.item(item_id))


def _plain(value):
    """A read's answer with its rows as tuples (each backend has its own row type)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "keys") and not isinstance(value, str):
        return tuple(value)
    return value


def _unclocked(verification: dict | None) -> dict | None:
    """A verification without the time it was made."""
    return verification and {**verification, "checked": bool(verification["checked"])}


def test_the_verify_reads_are_the_same(pair) -> None:
    a, b = pair[0].db, pair[1].db
    same = [
        lambda db: [dict(r) for r in db.checkable_emails(VERIFICATIONS, mime=CHECKABLE_MIME, unless=NOT_ORIGINAL)],
        lambda db: db.verdicts_by_signing_domain(VERIFICATIONS),
        lambda db: list(db.proving_key_counts(VERIFICATIONS).items()),
        lambda db: db.altered_email_findings(("dkim.original_recovered", "dup.altered_copy")),
        lambda db: sorted(db.verified_emails_with_parts()),  # in no order SQLite promises
        lambda db: sorted(db.parts_of(db.verified_emails_with_parts())),
        lambda db: db.aligned_signing_domains(db.verified_emails_with_parts()),
        lambda db: sorted(db.copies_of_verified(), key=lambda c: c["id"]),
        lambda db: db.relayed_unsigned_emails(
            VERIFICATIONS, local_hosts=LOCAL_HOSTS, submission_protocols=SUBMISSION_PROTOCOLS
        ),
        lambda db: list(db.checked_emails(VERIFICATIONS)),
        lambda db: db.carriers_of_altered(),
        lambda db: [dict(r) for r in db.documents_with_carriers(DOCUMENT_KINDS)],
        lambda db: list(db.document_texts(("document", "attachment"), 200)),
        lambda db: db.items_sharing_bytes(DOCUMENT_KINDS),
        lambda db: sorted(map(tuple, db.verdict_inputs(ItemQuery()))),
        lambda db: sorted(map(tuple, db.verdict_inputs(ItemQuery(kind="email", state="stored")))),
        lambda db: sorted(map(tuple, db.verdict_inputs(ItemQuery(ids=tuple(db.items_with_finding("dkim.pass")))))),
        lambda db: db.items_with_finding("dkim.body_hash_mismatch", unless="dkim.original_recovered"),
        lambda db: db.findings_of(db.items_with_finding("dkim.body_hash_mismatch")),
        lambda db: db.verdicts_of(db.items_with_finding("dkim.pass")),
    ]
    # Copies of a verified item are verified once verify ran; one made unverified again is found again.
    copies = sorted(a.items_with_finding("dkim.identical_to_verified"))
    assert copies and copies == sorted(b.items_with_finding("dkim.identical_to_verified"))
    before = a.verdicts_of(copies)
    for db in (a, b):
        db.set_verdicts((i, "unverified") for i in copies)
    try:
        empty = [n for n, read in enumerate(same) if not read(a)]
        differ = [n for n, read in enumerate(same) if _plain(read(a)) != _plain(read(b))]
    finally:
        for db in (a, b):
            db.set_verdicts(before.items())
    assert (empty, differ) == ([], [])  # the demo gives every read something to find, the same on both
    # A verified email's packed findings name the effects the verdict rules read.
    packed = dict((i, p) for i, _, p in b.verdict_inputs(ItemQuery(verdict="altered")))
    assert any("\x1f" in p and "altered" in p for p in packed.values() if p)


def test_the_workbench_answers_the_same(pair) -> None:
    lite = pair[0]
    clients = [TestClient(create_app(c.root)) for c in pair]
    ids = [r["id"] for r in lite.db.select_items(ItemQuery(state="stored"))][::40]
    for path in ("/api/summary", *(f"/api/items/{i}" for i in ids), *(f"/api/items/{i}/findings" for i in ids)):
        got = [c.get(path) for c in clients]
        assert got[0].status_code == got[1].status_code == 200, path
        assert _normal(got[0].text, pair[0]) == _normal(got[1].text, pair[1]), path
    for path in ("/", "/correspondents", *(f"/items/{i}" for i in ids[:6])):
        pages = [_normal(c.get(path).text, case) for c, case in zip(clients, pair, strict=True)]
        assert pages[0] == pages[1], path


def test_bulk_writes_copies_and_hostile_evidence(backend, tmp_path) -> None:
    """The verify writes and the copies read on a small case of each backend: the last verdict of an item
    wins, findings of a stage go by item, and evidence holding a NUL (a hostile header's) is written and
    read back whole, and never stops a read that parses evidence."""
    from helpers import build_case

    dump = tmp_path / "dump"
    dump.mkdir()
    for n in range(3):
        (dump / f"m{n}.eml").write_bytes(f"From: a{n}@x.example\r\nSubject: s{n}\r\n\r\nbody {n}\r\n".encode())
    copy = b"From: a@x.example\r\nMessage-ID: <same@x.example>\r\nSubject: c\r\n\r\nthe copy %d\r\n"
    for n in range(2):
        (dump / f"copy{n}.eml").write_bytes(copy % n)
    case = build_case(tmp_path, dump, db=backend)
    db = case.db
    ids = [r["id"] for r in db.select_items(ItemQuery(kind="email")) if r["name"].startswith("m")]
    copies = [r["id"] for r in db.select_items(ItemQuery(kind="email")) if r["name"].startswith("copy")]
    assert len(ids) == 3 and len(copies) == 2
    assert [tuple(r) for r in db.email_copy_texts()] == [
        (copies[0], "<same@x.example>", "the copy 0\r\n"),
        (copies[1], "<same@x.example>", "the copy 1\r\n"),
    ]

    db.set_verdicts([(ids[0], "suspicious"), (ids[1], "altered"), (ids[0], "altered")])
    assert db.verdicts_of(ids) == {ids[0]: "altered", ids[1]: "altered", ids[2]: "unverified"}

    hostile = {"d": "Sign\x00er.Example", "aligned": True, "h": "x\x00y", "signature": 0, "effect": "altered"}
    evidence = json.dumps(hostile, sort_keys=True)
    db.add_encoded_findings([(i, "dkim.pass", "info", "valid", evidence) for i in ids], "dkim")
    db.add_findings_of([(ids[2], Finding("dkim.body_hash_mismatch", "critical", "bad", hostile))], "dkim2")
    assert db.findings_of([ids[2]])[ids[2]] == [
        Finding("dkim.pass", "info", "valid", hostile),
        Finding("dkim.body_hash_mismatch", "critical", "bad", hostile),
    ]
    # The domain as each engine reads it: PostgreSQL's text holds no NUL (U+FFFD for it, as the store
    # writes one); SQLite's lower() stops at the NUL. Either way the read goes on.
    domain = "sign" if backend is None else "sign\ufffder.example"
    assert db.aligned_signing_domains(ids) == {i: {domain} for i in ids}
    assert db.signing_domains(5) == [(domain, 3)]
    assert {tuple(r)[2] for r in db.verdict_inputs(ItemQuery(ids=(ids[2],)))} == {
        "dkim.pass\x1faltered\x1edkim.body_hash_mismatch\x1faltered"
    }
    assert db.altered_email_findings(()) == {
        ids[0]: [Finding("dkim.pass", "info", "", {"signature": 0, "effect": "altered"})],
        ids[1]: [Finding("dkim.pass", "info", "", {"signature": 0, "effect": "altered"})],
    }

    db.delete_findings_of(ids[:2], "dkim")
    assert db.items_with_finding("dkim.pass") == {ids[2]}
    assert db.items_with_finding("dkim.pass", unless="dkim.body_hash_mismatch") == set()
    assert db.clear_findings(("dkim", "dkim2")) == {ids[2]}
    assert db.findings_of(ids) == {}

    db.set_item_meta([(ids[1], {"author": "Anne"}), (ids[1], {"author": "Paul"})])
    assert json.loads(db.item(ids[1])["meta"]) == {"author": "Paul"}
    case.close()
