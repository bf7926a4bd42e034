"""Outlook readers over real files: .msg written with extract-msg's OLE writer, PST written by Aspose.

Every .msg built here is first opened with extract-msg itself, so the tests
never trust a hand-made structure that the real library would reject.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import compressed_rtf
import extract_msg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from outlook_fixtures import Attachment, Message, build_msg, write_sample_pst

from leaklens.ingest.limits import Limits
from leaklens.ingest.readers.base import BudgetExceeded, ReadContext, Source
from leaklens.ingest.readers.outlook import READERS, read_msg, read_pst, rtf_to_text
from leaklens.store.blobs import BlobStore

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
COFFEE = CORPUS / "real" / "gmail-2015" / "meeting-for-coffee.eml"


def run(reader, path: Path, tmp_path: Path, *, budget: int = 10**9, mime: str = "") -> ReadContext:
    src = Source(path=path, name=path.name, chain=path.name, size=path.stat().st_size, mime=mime, depth=0)
    ctx = ReadContext(src, BlobStore(tmp_path / "blobs"), Limits(), budget=budget)
    reader(src, ctx)
    return ctx


def blob(ctx: ReadContext, child: dict) -> bytes:
    return ctx.blobs.path(child["sha256"]).read_bytes()


def codes(findings) -> list[str]:
    return [f["code"] if isinstance(f, dict) else f.code for f in findings]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


INNER = Message(subject="Original note", sender_name="Carol", sender_email="carol@example.org",
                to=[("Élodie", "elodie@en-marche.fr")], body="the inner body",
                message_id="<inner@example.org>")
PDF = b"%PDF-1.4\n% tiny but real bytes\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def campaign_message(**overrides) -> Message:
    fields = dict(
        subject="Réunion budget — jeudi",
        sender_name="Élodie Dupré", sender_email="elodie@en-marche.fr",
        to=[("Bob Martin", "bob@example.org")], cc=[("Dan", "dan@example.org")],
        body="Bonjour Bob,\nvoir le plan ci-joint.\n",
        message_id="<abc123@en-marche.fr>", in_reply_to="<prev@example.org>",
        references="<root@example.org> <prev@example.org>",
        submit_time=datetime(2017, 5, 3, 10, 15, tzinfo=UTC),
        delivery_time=datetime(2017, 5, 3, 10, 16, tzinfo=UTC),
        attachments=[
            Attachment("plan.pdf", PDF, "application/pdf"),
            Attachment("logo.png", PNG, "image/png", content_id="logo1@en-marche.fr", hidden=True),
            Attachment("Original note.msg", embedded=INNER),
        ],
    )
    fields.update(overrides)
    return Message(**fields)


# --- the fixture builder itself -------------------------------------------------------------------


def test_built_msg_is_read_by_extract_msg(tmp_path):
    path = write(tmp_path, "m.msg", build_msg(campaign_message()))
    msg = extract_msg.openMsg(str(path))
    try:
        assert msg.classType == "IPM.Note"
        assert msg.subject == "Réunion budget — jeudi"
        assert msg.to == "Bob Martin <bob@example.org>"
        assert msg.body.startswith("Bonjour Bob")
        assert [a.longFilename for a in msg.attachments] == ["plan.pdf", "logo.png", "Original note.msg"]
        assert msg.attachments[0].data == PDF
        assert msg.attachments[2].data.subject == "Original note"
    finally:
        msg.close()


# --- .msg -------------------------------------------------------------------------------------------


def test_msg_fields_text_and_children(tmp_path):
    path = write(tmp_path, "m.msg", build_msg(campaign_message()))
    ctx = run(read_msg, path, tmp_path)

    assert ctx.kind == "email"
    assert ctx.email == {
        "from": "Élodie Dupré <elodie@en-marche.fr>",
        "to": "Bob Martin <bob@example.org>",
        "cc": "Dan <dan@example.org>",
        "subject": "Réunion budget — jeudi",
        "date": "2017-05-03T10:15:00+00:00",
        "message_id": "<abc123@en-marche.fr>",
        "in_reply_to": "<prev@example.org>",
        "references": "<root@example.org> <prev@example.org>",
    }
    assert ctx.text.startswith("Bonjour Bob,\nvoir le plan")
    assert ctx.text_status == "extracted"
    meta = ctx.metadata
    assert meta["message_class"] == "IPM.Note"
    assert meta["transport_headers_present"] is False
    assert meta["sender_address_type"] == "SMTP"
    assert meta["delivery_time"] == "2017-05-03T10:16:00+00:00"
    assert {"type": "cc", "name": "Dan", "address": "dan@example.org"} in meta["recipients"]
    assert "ingest.msg_no_transport_headers" in codes(ctx.findings)

    by_name = {c["name"]: c for c in ctx.children}
    assert list(by_name) == ["plan.pdf", "logo.png", "Original note.msg"]
    pdf = by_name["plan.pdf"]
    assert pdf["state"] == "stored" and pdf["kind_hint"] == "attachment"
    assert blob(ctx, pdf) == PDF and pdf["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert pdf["hints"]["content_type"] == "application/pdf"
    assert pdf["hints"]["disposition"] == "attachment"
    logo = by_name["logo.png"]
    assert logo["hints"]["content_id"] == "logo1@en-marche.fr"
    assert logo["hints"]["disposition"] == "inline"
    assert blob(ctx, logo) == PNG
    assert pdf["path"] == "m.msg!/plan.pdf"


def test_embedded_msg_becomes_a_standalone_msg_child(tmp_path):
    path = write(tmp_path, "m.msg", build_msg(campaign_message()))
    ctx = run(read_msg, path, tmp_path)
    child = next(c for c in ctx.children if c["name"] == "Original note.msg")
    assert child["kind_hint"] == "email"
    assert child["hints"]["content_type"] == "application/vnd.ms-outlook"

    # The exported bytes are an .msg of their own: extract-msg and our reader both open them.
    inner_path = write(tmp_path, "inner.msg", blob(ctx, child))
    inner = run(read_msg, inner_path, tmp_path / "inner")
    assert inner.kind == "email"
    assert inner.email["subject"] == "Original note"
    assert inner.email["from"] == "Carol <carol@example.org>"
    assert inner.email["to"] == "Élodie <elodie@en-marche.fr>"
    assert inner.text == "the inner body"


TRANSPORT = (
    "Received: from mail.en-marche.fr (mail.en-marche.fr [192.0.2.7])\r\n"
    "\tby mx.example.org; Wed, 03 May 2017 12:15:02 +0200\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; d=en-marche.fr; s=mail; h=from:to:subject;\r\n"
    "\tbh=AAAA; b=BBBB\r\n"
    "From: =?utf-8?q?=C3=89lodie?= <elodie@en-marche.fr>\r\n"
    "To: bob@example.org\r\n"
    "Subject: =?utf-8?q?R=C3=A9union?=\r\n"
    "Date: Wed, 03 May 2017 12:15:00 +0200\r\n"
    "Message-ID: <from-headers@en-marche.fr>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
)


def test_msg_transport_headers_are_kept_and_flagged(tmp_path):
    msg = campaign_message(transport_headers=TRANSPORT, attachments=[],
                           sender_name="Someone Else", sender_email="other@example.org")
    ctx = run(read_msg, write(tmp_path, "h.msg", build_msg(msg)), tmp_path)

    # What went over the wire wins; Outlook's own copy is kept for comparison.
    assert ctx.email["from"] == "Élodie <elodie@en-marche.fr>"
    assert ctx.email["to"] == "bob@example.org"
    assert ctx.email["date"] == "2017-05-03T10:15:00+00:00"
    assert ctx.email["message_id"] == "<from-headers@en-marche.fr>"
    assert ctx.metadata["properties_from"] == "Someone Else <other@example.org>"
    assert ctx.metadata["transport_headers_present"] is True
    assert "DKIM-Signature: v=1; a=rsa-sha256; d=en-marche.fr" in ctx.metadata["transport_headers"]
    finding = next(f for f in ctx.findings if f.code == "ingest.msg_not_original_bytes")
    assert finding.severity == "info"
    assert finding.evidence["dkim_signature_present"] is True
    assert "ingest.msg_no_transport_headers" not in codes(ctx.findings)


def test_exchange_sender_uses_smtp_address(tmp_path):
    dn = "/O=EN MARCHE/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=EDUPRE"
    msg = campaign_message(sender_addrtype="EX", sender_email=dn, sender_smtp="elodie@en-marche.fr",
                           attachments=[])
    ctx = run(read_msg, write(tmp_path, "ex.msg", build_msg(msg)), tmp_path)
    assert ctx.email["from"] == "Élodie Dupré <elodie@en-marche.fr>"
    assert ctx.metadata["sender_address_type"] == "EX"
    assert ctx.metadata["sender_address"] == dn


def test_html_only_body_is_converted_to_text(tmp_path):
    html = "<html><head><title>t</title><style>p{}</style></head><body><p>Le <b>plan</b> est prêt</p>" \
           "<script>alert(1)</script></body></html>"
    msg = campaign_message(body=None, html=html.encode("utf-8"), attachments=[])
    ctx = run(read_msg, write(tmp_path, "html.msg", build_msg(msg)), tmp_path)
    assert ctx.text == "Le plan est prêt"
    assert ctx.metadata["body_formats"] == ["html"]


def test_rtf_only_body_is_converted_to_text(tmp_path):
    rtf = (rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}{\colortbl;\red0\green0\blue0;}"
           rb"{\*\generator Riched20;}\f0 Caf\'e9 au lait\par Second {\b bold} line \u8364?\par}")
    msg = campaign_message(body=None, rtf_compressed=compressed_rtf.compress(rtf, compressed=True),
                           attachments=[])
    ctx = run(read_msg, write(tmp_path, "rtf.msg", build_msg(msg)), tmp_path)
    assert ctx.text == "Café au lait\nSecond bold line €"
    assert ctx.text_status == "extracted"


def test_empty_body(tmp_path):
    ctx = run(read_msg, write(tmp_path, "e.msg", build_msg(campaign_message(body=None, attachments=[]))),
              tmp_path)
    assert ctx.text == "" and ctx.text_status == "empty"
    assert ctx.email["subject"] == "Réunion budget — jeudi"


def test_smime_encrypted_msg_keeps_the_encrypted_blob(tmp_path):
    p7m = b"0\x82\x01\x00" + bytes(range(64))  # opaque to us, as an encrypted part is
    msg = campaign_message(message_class="IPM.Note.SMIME", body=None,
                           attachments=[Attachment("smime.p7m", p7m, "application/pkcs7-mime")])
    ctx = run(read_msg, write(tmp_path, "enc.msg", build_msg(msg)), tmp_path)
    assert "ingest.encrypted" in codes(ctx.findings)
    assert [c["name"] for c in ctx.children] == ["smime.p7m"]
    assert blob(ctx, ctx.children[0]) == p7m


def test_smime_signed_msg_keeps_the_signed_entity_for_the_email_reader(tmp_path):
    entity = (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="b1"\r\n\r\n'
              b"--b1\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n"
              b"--b1\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\r\nSIG\r\n--b1--\r\n")
    msg = campaign_message(message_class="IPM.Note.SMIME.MultipartSigned", body="signed text",
                           attachments=[Attachment("smime.p7m", entity, "multipart/signed")])
    ctx = run(read_msg, write(tmp_path, "signed.msg", build_msg(msg)), tmp_path)
    assert "ingest.encrypted" not in codes(ctx.findings)
    [child] = ctx.children
    assert child["kind_hint"] == "email"  # a MIME entity: the email reader opens it and its parts
    assert blob(ctx, child) == entity


def test_garbage_msg_is_a_finding_not_a_crash(tmp_path):
    ctx = run(read_msg, write(tmp_path, "junk.msg", b"this is not an OLE file at all\n" * 20), tmp_path)
    assert ctx.kind == "other"
    assert codes(ctx.findings) == ["ingest.corrupt"]
    assert ctx.children == []


def test_ole_file_that_is_not_a_message(tmp_path):
    writer = extract_msg.OleWriter()
    writer.addEntry("WordDocument", b"\0" * 600)
    path = tmp_path / "doc.msg"
    writer.write(str(path))
    ctx = run(read_msg, path, tmp_path)
    assert "ingest.corrupt" in codes(ctx.findings) or ctx.kind == "document"
    assert ctx.children == []


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.75, 0.95])
def test_truncated_msg_never_raises(tmp_path, keep):
    data = build_msg(campaign_message())
    path = write(tmp_path, "cut.msg", data[: int(len(data) * keep)])
    ctx = run(read_msg, path, tmp_path)
    assert ctx.findings, "a damaged file must say so"
    for child in ctx.children:
        assert child["state"] in ("stored", "skipped", "failed")


def test_budget_exceeded_propagates(tmp_path):
    path = write(tmp_path, "m.msg", build_msg(campaign_message()))
    with pytest.raises(BudgetExceeded):
        run(read_msg, path, tmp_path, budget=len(PDF) + 1)


names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(str.strip)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=names, body=names, sender=names, filename=names, payload=st.binary(max_size=300))
def test_msg_round_trip_property(tmp_path_factory, subject, body, sender, filename, payload):
    """Whatever text Outlook stored, the reader hands it back unchanged (whitespace folded in fields)."""
    tmp = tmp_path_factory.mktemp("prop")
    msg = Message(subject=subject, sender_name=sender, sender_email="s@example.org",
                  to=[("T", "t@example.org")],
                  body=body, attachments=[Attachment(filename, payload, "application/octet-stream")])
    ctx = run(read_msg, write(tmp, "p.msg", build_msg(msg)), tmp)
    assert ctx.email["subject"] == " ".join(subject.split())
    assert ctx.text == body.replace("\x00", "")
    assert len(ctx.children) == 1 and blob(ctx, ctx.children[0]) == payload


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_rtf_to_text_never_raises(data):
    assert isinstance(rtf_to_text(b"{\\rtf1 " + data + b"}"), str)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF,
                                      blacklist_characters="\\{}"), max_size=80))
def test_rtf_plain_text_survives(text):
    rtf = b"{\\rtf1\\ansi " + "".join(f"\\u{ord(c)}?" if ord(c) > 0x7E else c for c in text).encode() + b"}"
    assert rtf_to_text(rtf) == text.strip().replace("\r", "")


# --- .pst / .ost ------------------------------------------------------------------------------------


def test_readers_are_declared():
    assert {(r.name, r.mimes) for r in READERS} == {
        ("msg", ("application/vnd.ms-outlook",)),
        ("pst", ("application/vnd.ms-outlook-pst",)),
    }


@pytest.mark.parametrize("data", [
    b"definitely not a PST" * 50,
    b"!BDN" + b"\0" * 200,  # right magic, truncated header
    b"!BDN\x8f\xa0\x53\x4d\x17\x00\x13\x00\x01\x01" + bytes(range(256)) * 4,
    b"",
])
def test_garbage_pst_is_a_finding_not_a_crash(tmp_path, data):
    ctx = run(read_pst, write(tmp_path, "bad.pst", data), tmp_path)
    assert ctx.kind == "archive"
    assert codes(ctx.findings) == ["ingest.corrupt"]
    assert ctx.children == []


@pytest.fixture(scope="module")
def sample_pst(tmp_path_factory) -> Path:
    """A real PST from Aspose.Email, the one PST writer on PyPI; skipped where it is not installed."""
    # .NET needs ICU for culture data unless told to run culture-invariant; it reads this on import.
    os.environ.setdefault("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
    pytest.importorskip(
        "aspose.email", reason="no PST writer (Aspose.Email); test_pst_enron.py reads a real PST"
    )
    path = tmp_path_factory.mktemp("pst") / "sample.pst"
    write_sample_pst(str(path), COFFEE.read_bytes())
    return path


def test_real_pst_messages_are_rebuilt(sample_pst, tmp_path):
    ctx = run(read_pst, sample_pst, tmp_path)
    assert ctx.kind == "archive"
    assert ctx.metadata["format"] == "pst" and ctx.metadata["messages"] == 4
    assert [c["path"] for c in ctx.children] == ["sample.pst!/Inbox/#1", "sample.pst!/Inbox/Campagne/#1",
                                                 "sample.pst!/Sent Items/#1", "sample.pst!/Contacts/#1"]
    assert {"path": "Inbox/Campagne", "messages": 1} in ctx.metadata["folders"]
    for child in ctx.children:
        assert child["state"] == "stored" and child["kind_hint"] == "email"
        assert child["findings"][0]["code"] == "ingest.reconstructed"
        assert child["hints"]["content_type"] == "message/rfc822"
        parsed = email.message_from_bytes(blob(ctx, child), policy=email.policy.default)
        assert parsed.get_all("MIME-Version") == ["1.0"]
        assert parsed["X-Leaklens-Reconstructed"]


def test_real_pst_keeps_transport_headers(sample_pst, tmp_path):
    ctx = run(read_pst, sample_pst, tmp_path)
    child = ctx.children[0]
    parsed = email.message_from_bytes(blob(ctx, child), policy=email.policy.default)
    original = email.message_from_bytes(COFFEE.read_bytes(), policy=email.policy.default)
    assert parsed["Message-Id"] == original["Message-Id"]
    assert parsed["DKIM-Signature"].startswith("v=1; a=rsa-sha256")
    assert len(parsed.get_all("Received")) == len(original.get_all("Received"))
    assert "Dear Hunter" in parsed.get_body(("plain",)).get_content()
    assert child["hints"]["transport_headers_present"] is True
    assert child["hints"]["client_submit_time"] == "2015-04-17T13:00:51+00:00"


def test_real_pst_attachments_become_mime_parts(sample_pst, tmp_path):
    ctx = run(read_pst, sample_pst, tmp_path)
    child = ctx.children[1]
    parsed = email.message_from_bytes(blob(ctx, child), policy=email.policy.default)
    assert parsed["From"] == "Élodie Dupré <elodie@en-marche.fr>"
    assert parsed["Cc"] == "Dan <dan@example.org>"
    assert child["hints"]["recipients"][1] == {"type": "cc", "name": "Dan", "address": "dan@example.org",
                                               "address_type": "SMTP"}
    parts = {p.get_filename(): p for p in parsed.iter_attachments()}
    assert parts["plan.pdf"].get_content() == b"%PDF-1.4 tiny"
    assert parts["plan.pdf"].get_content_type() == "application/pdf"
    logo = next(p for p in parts.values() if p["Content-ID"] == "<logo1>")
    assert logo.get_content_type() == "image/png"
    assert logo.get_content_disposition() == "inline"
    assert "<b>le plan</b>" in parsed.get_body(("html",)).get_content()
    # libpff's Python binding cannot open attached Outlook items: said, not silently dropped.
    assert "ingest.embedded_item_unsupported" in codes(child["findings"])


def test_real_pst_without_transport_headers_builds_headers(sample_pst, tmp_path):
    ctx = run(read_pst, sample_pst, tmp_path)
    child = ctx.children[2]
    assert child["hints"]["transport_headers_present"] is False
    parsed = email.message_from_bytes(blob(ctx, child), policy=email.policy.default)
    assert parsed["From"] == "alice@example.org"
    assert parsed["To"] == "x@example.org"
    assert parsed["Subject"].startswith("third")
    assert parsed["Date"] is not None
    assert "plain third" in parsed.get_content()


def test_real_pst_non_mail_items_are_kept_with_their_class(sample_pst, tmp_path):
    ctx = run(read_pst, sample_pst, tmp_path)
    contact = ctx.children[3]
    assert contact["state"] == "stored"
    assert contact["hints"]["message_class"] == "IPM.Contact"
    parsed = email.message_from_bytes(blob(ctx, contact), policy=email.policy.default)
    assert parsed["Subject"] == "Jean Dupont"
    assert "IPM.Contact" in parsed["X-Leaklens-Reconstructed"]


@pytest.mark.parametrize("keep", [0.1, 0.3, 0.6, 0.9])
def test_truncated_real_pst_never_raises(sample_pst, tmp_path, keep):
    data = sample_pst.read_bytes()
    ctx = run(read_pst, write(tmp_path, "cut.pst", data[: int(len(data) * keep)]), tmp_path)
    assert ctx.kind == "archive"
    for child in ctx.children:
        assert child["state"] in ("stored", "failed")
    assert ctx.findings or ctx.children


def test_real_pst_budget_exceeded_propagates(sample_pst, tmp_path):
    with pytest.raises(BudgetExceeded):
        run(read_pst, sample_pst, tmp_path, budget=100)
