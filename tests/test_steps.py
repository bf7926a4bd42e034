"""The steps of a verification run: declared, ordered by what they need, run by `verify_case`; and the
executor seam under them (a message or document that overruns its time limit or kills its worker
becomes a finding, and the run goes on)."""

from __future__ import annotations

import faulthandler
import os
import signal
import time
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from helpers import GMAIL, build_case, codes, rows
from test_docmeta_formats import make_pdf

from leaklens.model import Finding
from leaklens.steps import REGISTRY, Registry, Run, Step, StepError, step
from leaklens.verify import case_docs, case_verify
from leaklens.verify.case_verify import VERIFICATIONS, propagate, verify_case


def _email(name: str, body: str, attachment: bytes | None = None) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = f"{name}@x.example", "b@y.example", name
    m["Date"] = "Tue, 02 May 2017 09:00:00 +0200"
    m.set_content(body)
    if attachment:
        m.add_attachment(attachment, maintype="application", subtype="pdf", filename=f"{name}.pdf")
    return bytes(m)


@pytest.fixture
def dump(tmp_path):
    d = tmp_path / "dump"
    d.mkdir()
    (d / "gmail.eml").write_bytes((GMAIL / "meeting-for-coffee.eml").read_bytes())
    for name in ("stall", "crash", "plain"):
        (d / f"{name}.eml").write_bytes(_email(name, f"This is the {name} message.\n"))
    return d


@pytest.fixture
def declared():
    """Steps a test declares in leaklens's registry, taken out again afterwards."""
    names: list[str] = []

    def declare(name: str, **kw):
        names.append(name)
        return step(name, **kw)

    yield declare
    for name in names:
        REGISTRY.unregister(name)


def test_a_registered_step_runs_in_order(tmp_path, dump, declared):
    case = build_case(tmp_path, dump)
    seen: dict[str, object] = {}

    @declared("test.after_inherit", needs=("proof.inherit",), stage="test")
    def after_inherit(run: Run) -> set[str]:
        order = [s.name for s in run.steps]
        seen["order"] = order
        # What it needs has run: the emails' verdicts are derived.
        gmail = next(r for r in rows(case) if r["name"] == "gmail.eml")
        seen["gmail"] = gmail["verdict"]
        plain = next(r for r in rows(case) if r["name"] == "plain.eml")
        # A later capability's finding, written by its own step: its verdict follows without a call.
        run.case.db.add_findings(plain["id"], "test", [Finding("headers.display_name_address", "warning", "x")])
        return {plain["id"]}

    @declared("test.last", needs=("test.after_inherit",), group="documents")
    def last(run: Run) -> None:
        seen["last"] = True

    verify_case(case, workers=1)
    order = seen["order"]
    assert order.index("verify.messages") < order.index("proof.inherit") < order.index("test.after_inherit")
    assert order.index("test.after_inherit") < order.index("test.last")
    assert seen["gmail"] == "verified" and seen["last"] is True
    assert next(r for r in rows(case) if r["name"] == "plain.eml")["verdict"] == "suspicious"
    # The case-wide steps clear the stages their group owns before the emails' verdicts are derived:
    # run again, the step's finding is written again, not twice.
    REGISTRY.unregister("test.last")
    propagate(case)
    plain = next(r for r in rows(case) if r["name"] == "plain.eml")
    assert plain["verdict"] == "suspicious" and codes(case, plain["id"]).count("headers.display_name_address") == 1


def test_a_step_with_an_unknown_need_fails_before_anything_runs(tmp_path, dump, declared):
    case = build_case(tmp_path, dump)

    @declared("test.orphan", needs=("intel.lookalikes",))
    def orphan(run: Run) -> None:
        raise AssertionError("never run")

    with pytest.raises(StepError, match=r"'test.orphan'.*needs 'intel.lookalikes', which no module registers"):
        verify_case(case, workers=1)
    assert case.db.count_rows(VERIFICATIONS) == 0  # not one step ran


def test_order_follows_needs_not_declarations():
    reg = Registry()
    for name, needs in (("c", ("b",)), ("b", ("a",)), ("a", ()), ("d", ())):
        reg.register(Step(name, lambda run: None, needs, module="m"))
    assert [s.name for s in reg.ordered()] == ["a", "b", "c", "d"]
    assert [s.name for s in reg.ordered(exclude=("case",))] == []  # every step here is of group "case"
    reg.register(Step("a2", lambda run: None, ("c2",), module="m"))
    reg.register(Step("c2", lambda run: None, ("a2",), module="m"))
    with pytest.raises(StepError, match="a2, c2 need each other"):
        reg.ordered()
    with pytest.raises(StepError, match="declared twice"):
        reg.register(Step("a", lambda run: None, module="n"))


def _stalling():
    """verify_message as it is, except that it never returns on one message and kills its process on another."""
    real = case_verify.verify_message

    def check(raw: bytes, *args, **kw):
        if b"Subject: stall" in raw:
            time.sleep(600)
        if b"Subject: crash" in raw:
            faulthandler.disable()  # pytest's, inherited: it would print the worker's stack
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(raw, *args, **kw)

    return check


def test_a_message_that_stalls_or_crashes_its_worker_becomes_a_finding(tmp_path, dump, monkeypatch):
    case = build_case(tmp_path, dump)
    monkeypatch.setattr(case_verify, "verify_message", _stalling())  # the workers are forked: they see it
    started = time.monotonic()
    stats = verify_case(case, workers=2, timeout=1.0)
    assert time.monotonic() - started < 60
    assert stats.checked == stats.emails == 4
    by_name = {r["name"]: r for r in rows(case)}
    assert codes(case, by_name["stall.eml"]["id"]) == ["verify.timeout"]
    assert codes(case, by_name["crash.eml"]["id"]) == ["verify.crash"]
    assert by_name["stall.eml"]["verdict"] == by_name["crash.eml"]["verdict"] == "error"
    (f,) = case.db.findings_for(by_name["crash.eml"]["id"])
    assert "SIGSEGV" in f.message and f.evidence["error"]
    # The others were checked as ever.
    assert by_name["gmail.eml"]["verdict"] == "verified"
    assert by_name["plain.eml"]["verdict"] == "unverified" and "dkim.none" in codes(case, by_name["plain.eml"]["id"])
    row = case.db.get_row(VERIFICATIONS, (by_name["stall.eml"]["id"],))
    assert row["verdict"] == "error" and row["engine"] == case_verify.ENGINE_VERSION


def test_a_document_that_stalls_its_reader_becomes_a_finding(tmp_path, monkeypatch):
    d = tmp_path / "dump"
    d.mkdir()
    when = datetime(2017, 4, 30, 9, 0, tzinfo=UTC)
    for name in ("stall", "fine"):
        pdf = make_pdf(tmp_path / f"{name}.pdf", created=when, modified=when, lines=(f"The {name} invoice",))
        (d / f"{name}.eml").write_bytes(_email(name, "See attached.\n", pdf.read_bytes()))
    case = build_case(tmp_path, d)
    real = case_docs.extract_metadata
    stall_sha = next(r["sha256"] for r in rows(case) if r["name"] == "stall.pdf")

    def extract(path, mime):
        if path.name == stall_sha or str(path).endswith(stall_sha):
            time.sleep(600)
        return real(path, mime)

    monkeypatch.setattr(case_docs, "extract_metadata", extract)
    verify_case(case, workers=1, doc_timeout=1.0)
    by_name = {r["name"]: r for r in rows(case)}
    assert "doc.metadata_timeout" in codes(case, by_name["stall.pdf"]["id"])
    assert "doc.metadata_timeout" not in codes(case, by_name["fine.pdf"]["id"])
    row = case.db.get_row(case_docs.DOC_METADATA, (stall_sha,))
    assert row["engine"] == case_docs.DOC_ENGINE and row["meta"]["family"] == "pdf"
    assert case.db.get_row(case_docs.DOC_METADATA, (by_name["fine.pdf"]["sha256"],))["meta"]["findings"] == []
