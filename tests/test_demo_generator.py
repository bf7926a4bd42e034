"""The demo dump: reproducible, well-formed, and planted exactly as its manifest says.

Generated once per session (a few seconds); every check reads the real
files with real libraries (zipfile, py7zr, mailbox, dkimpy, python-docx,
openpyxl, pikepdf).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import io
import json
import mailbox
import re
import time
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import dkim
import docx
import openpyxl
import pikepdf
import py7zr
import py7zr.io
import pytest
from dkim import CanonicalizationPolicy

from leaklens.demo import DemoManifest, generate_demo
from leaklens.demo.people import DOMAIN, FOREIGN_EDITOR, LOOKALIKE_MAIL_DOMAIN, PHISHING_URL
from leaklens.demo.signing import dnsfunc_from_archive

PUBLISHED = datetime.fromisoformat("2017-05-05T20:00:00+02:00")
FIRST_DAY = datetime.fromisoformat("2017-02-01T00:00:00+01:00")


class Demo:
    def __init__(self, out: Path, manifest: DemoManifest, seconds: float) -> None:
        self.out, self.manifest, self.seconds = out, manifest, seconds
        self.keys = json.loads((out / "demo-keys.json").read_text(encoding="utf-8"))
        self.dns = dnsfunc_from_archive(self.keys)
        self.zip = zipfile.ZipFile(out / "horizon-leak.zip")
        # message-id -> (bytes as stored in the container, bytes after mboxo un-escaping)
        self.stored: dict[str, bytes] = {}
        self.raw: dict[str, bytes] = {}
        self.mbox_counts: dict[str, int] = {}
        for name in self.zip.namelist():
            data = self.zip.read(name)
            if name.endswith(".mbox"):
                path = out / "unpacked" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                box = mailbox.mbox(path)
                self.mbox_counts[f"horizon-leak.zip!/{name}"] = len(box)
                for key in box.keys():
                    stored = box.get_bytes(key)
                    self._add(stored, re.sub(rb"^>From ", b"From ", stored, flags=re.MULTILINE))
            else:
                self._add(data, data)
        self.by_id = {m["message_id"]: m for m in manifest.messages}
        self.documents = read_7z(out / "documents.7z")

    def _add(self, stored: bytes, raw: bytes) -> None:
        mid = re.search(rb"^Message-ID: (\S+)", raw, re.MULTILINE | re.IGNORECASE).group(1).decode()
        assert mid not in self.raw, f"duplicate Message-ID {mid}"
        self.stored[mid], self.raw[mid] = stored, raw

    def parsed(self, mid: str) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw[mid], policy=email.policy.default)

    def case(self, name: str, kind: str = "email") -> list[dict]:
        return [e for e in self.manifest.expect if e["case"] == name and e["kind"] == kind]

    def verify(self, mid: str) -> bool:
        return dkim.verify(self.raw[mid], dnsfunc=self.dns)


def read_7z(path: Path) -> dict[str, bytes]:
    factory = py7zr.io.BytesIOFactory(64 * 1024 * 1024)
    with py7zr.SevenZipFile(path) as archive:
        names = archive.getnames()
        archive.extractall(factory=factory)
    out = {}
    for name in names:
        product = factory.get(name)
        product.seek(0)
        out[name] = product.read()
    return out


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("demo-a")
    # CPU time, not wall time: the budget must hold even when other test runs share the cores.
    start = time.process_time()
    manifest = generate_demo(out)
    return Demo(out, manifest, time.process_time() - start)


def as_utc(dt: datetime) -> datetime:
    """python-docx and openpyxl return core.xml's UTC times as naive datetimes."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def sha_tree(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir()) if p.is_file()}


def body_hash_matches(raw: bytes) -> bool:
    """Recompute the relaxed body hash and compare it with the signature's bh=."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    sig = re.search(rb"^DKIM-Signature:(.*?)(?=^\S)", head + b"\n", re.MULTILINE | re.DOTALL).group(1)
    tags = dict(t.strip().split(b"=", 1) for t in re.sub(rb"\s+", b"", sig).split(b";") if t.strip())
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    canon = policy.canonicalize_body(body.replace(b"\n", b"\r\n"))
    if b"l" in tags:
        canon = canon[: int(tags[b"l"])]
    return base64.b64encode(hashlib.sha256(canon).digest()) == tags[b"bh"]


# ------------------------------------------------------------------ packaging


def test_generation_is_fast(demo: Demo) -> None:
    assert demo.seconds < 15


def test_same_seed_gives_byte_identical_files(demo: Demo, tmp_path: Path) -> None:
    generate_demo(tmp_path, seed=2017)
    first = sha_tree(demo.out)
    assert first == sha_tree(tmp_path)
    assert set(first) == {"horizon-leak.zip", "documents.7z", "demo-keys.json", "MANIFEST.json"}


def test_another_seed_gives_another_dump(tmp_path: Path, demo: Demo) -> None:
    other = generate_demo(tmp_path, seed=7)
    assert other.files["horizon-leak.zip"] != demo.manifest.files["horizon-leak.zip"]


def test_manifest_file_is_the_returned_manifest_and_hashes_the_files(demo: Demo) -> None:
    assert DemoManifest.load(demo.out / "MANIFEST.json") == demo.manifest
    for name, sha in demo.manifest.files.items():
        assert hashlib.sha256((demo.out / name).read_bytes()).hexdigest() == sha
    assert demo.manifest.published == "2017-05-05T20:00:00+02:00"
    assert demo.manifest.keys_file == "demo-keys.json"


def test_archives_are_valid_and_hold_what_the_manifest_lists(demo: Demo) -> None:
    assert demo.zip.testzip() is None
    names = demo.zip.namelist()
    assert all(n.startswith(("mailboxes/", "loose/")) for n in names)
    assert {f"horizon-leak.zip!/{n}" for n in names if n.endswith(".mbox")} == set(demo.manifest.mailboxes)
    assert sum(n.endswith(".eml") for n in names) == demo.manifest.counts["loose_emails"] == 2
    listed = {d["path_hint"].removeprefix("documents.7z!/"): d["sha256"] for d in demo.manifest.documents}
    assert {n: hashlib.sha256(b).hexdigest() for n, b in demo.documents.items()} == listed
    assert any("/" in n for n in listed) and any("/" not in n for n in listed)


def test_zip_and_7z_member_times_are_pinned_to_the_story(demo: Demo) -> None:
    for info in demo.zip.infolist():
        assert (2017, 2, 1) <= info.date_time[:3] <= (2017, 5, 5)
    with py7zr.SevenZipFile(demo.out / "documents.7z") as archive:
        for f in archive.list():
            assert f.creationtime.year == 2017


def test_mboxes_split_into_the_expected_number_of_messages(demo: Demo) -> None:
    assert demo.mbox_counts == demo.manifest.mailboxes
    counts = demo.manifest.counts
    assert sum(demo.mbox_counts.values()) == counts["emails_in_mailboxes"]
    assert len(demo.raw) == counts["emails"] == len(demo.manifest.messages)
    assert 250 <= counts["emails"] <= 350
    assert len(demo.mbox_counts) >= 6


def test_unescaped_mbox_messages_are_the_original_bytes(demo: Demo) -> None:
    for mid, raw in demo.raw.items():
        assert hashlib.sha256(raw).hexdigest() == demo.by_id[mid]["sha256"], mid


def test_from_lines_in_bodies_are_mboxo_escaped_and_still_verify(demo: Demo) -> None:
    escaped = [mid for mid, stored in demo.stored.items()
               if re.search(rb"^>From ", stored, re.MULTILINE)
               and demo.by_id[mid]["expected_verdict"] == "verified"]
    assert escaped, "no signed message has a body line starting with 'From '"
    for mid in escaped:
        assert not dkim.verify(demo.stored[mid], dnsfunc=demo.dns)  # the escaped copy is not the original
        assert demo.verify(mid)


# ------------------------------------------------------------------ email realism


def test_messages_are_realistic_mime(demo: Demo) -> None:
    seen = Counter()
    for mid, raw in demo.raw.items():
        msg = demo.parsed(mid)
        head = raw.split(b"\n\n", 1)[0]
        assert msg["MIME-Version"] == "1.0" and msg["Content-Type"] and msg["From"], mid
        sent = parsedate_to_datetime(msg["Date"])
        assert FIRST_DAY <= sent <= PUBLISHED, mid
        hops = [parsedate_to_datetime(h.rsplit(";", 1)[1].strip()) for h in msg.get_all("Received")]
        assert 2 <= len(hops) <= 4, mid
        assert hops == sorted(hops, reverse=True), f"{mid}: Received times go backwards"
        assert timedelta(0) <= hops[-1] - sent <= timedelta(minutes=1), mid
        seen["rfc2047_subject"] += b"Subject: =?utf-8?" in head
        seen["qp"] += b"quoted-printable" in raw
        seen["base64_text"] += bool(re.search(rb"text/plain[^\n]*\nContent-Transfer-Encoding: base64", raw))
        seen["html"] += any(p.get_content_type() == "text/html" for p in msg.walk())
        seen["latin1"] += b'charset="iso-8859-1"' in raw
        seen["french"] += "é" in (msg.get_body(("plain",)).get_content())
    for feature in ("rfc2047_subject", "qp", "base64_text", "html", "latin1", "french"):
        assert seen[feature] >= 3, feature


def test_threads_link_to_their_parents_and_quote_them(demo: Demo) -> None:
    replies = 0
    for mid in demo.raw:
        msg = demo.parsed(mid)
        parent_id = msg["In-Reply-To"]
        if not parent_id:
            continue
        replies += 1
        assert parent_id in demo.raw, f"{mid} replies to a message missing from the dump"
        assert msg["References"].split()[-1] == parent_id
        assert msg["Subject"].startswith("Re: ")
        parent = demo.parsed(parent_id)
        parent_first_line = parent.get_body(("plain",)).get_content().split("\n")[0]
        assert f"> {parent_first_line}".rstrip() in msg.get_body(("plain",)).get_content()
    assert replies >= 100


def test_attachments_are_real_documents_with_coherent_metadata(demo: Demo) -> None:
    opened = Counter()
    sha_count: Counter[str] = Counter()
    for mid in demo.raw:
        msg = demo.parsed(mid)
        sent = parsedate_to_datetime(msg["Date"])
        sender = msg["From"].addresses[0]
        for part in msg.iter_attachments():
            data = part.get_content()
            sha_count[hashlib.sha256(data).hexdigest()] += 1
            name = part.get_filename()
            if name.endswith(".docx"):
                props = docx.Document(io.BytesIO(data)).core_properties
                opened["docx"] += 1
            elif name.endswith(".xlsx"):
                props = openpyxl.load_workbook(io.BytesIO(data)).properties
                opened["xlsx"] += 1
            else:
                with pikepdf.open(io.BytesIO(data)) as pdf:
                    assert len(pdf.pages) >= 1
                opened["pdf"] += 1
                continue
            if name == "Virements_avril.docx":
                continue  # the planted "modified after sent" forgery, checked below
            assert as_utc(props.created) < as_utc(props.modified) <= sent, (mid, name)
            if sender.domain == DOMAIN:
                author = getattr(props, "author", None) or props.creator
                assert author in {sender.display_name, "Camille Rousseau", "Thomas Lefèvre"}, (mid, name)
    assert min(opened.values()) >= 5, opened
    counts = demo.manifest.counts
    assert 0.15 <= counts["with_attachments"] / counts["emails"] <= 0.35
    assert max(sha_count.values()) >= 3, "some attachment should recur with identical bytes"


# ------------------------------------------------------------------ DKIM / ARC (issue 3)


def test_key_archive_has_the_exact_format(demo: Demo) -> None:
    keys = demo.keys["keys"]
    assert [(k["domain"], k["selector"]) for k in keys] == [
        (DOMAIN, "mail2017"), (f"lists.{DOMAIN}", "arc2017")]
    for k in keys:
        assert set(k) == {"domain", "selector", "record", "source", "first_seen", "last_seen"}
        assert k["record"].startswith("v=DKIM1; k=rsa; p=MIIBIjAN")  # RSA-2048 SubjectPublicKeyInfo
        assert "demo only" in k["source"]


def test_every_message_meant_to_verify_verifies_and_no_other_does(demo: Demo) -> None:
    for m in demo.manifest.messages:
        ok = demo.verify(m["message_id"]) if m["signed_by"] else False
        expected = m["expected_verdict"] == "verified" or m["expected_findings"] == ["dkim.length_limited"]
        assert ok == expected, (m["subject"], m["expected_verdict"])
    verified = sum(m["expected_verdict"] == "verified" for m in demo.manifest.messages)
    assert verified / len(demo.manifest.messages) > 0.6


def test_altered_bodies_fail_their_body_hash(demo: Demo) -> None:
    cases = demo.case("dkim_altered_body") + demo.case("dkim_appended_text") + demo.case("list_footer_arc")
    assert len(cases) == 3
    for e in cases:
        assert e["expected_verdict"] == "altered" and e["expected_findings"][0] == "dkim.body_hash_mismatch"
        # Removing the list's footer or the appended P.S. restores the signed body: the original is recovered.
        recovered = e["case"] != "dkim_altered_body"
        assert ("dkim.original_recovered" in e["expected_findings"]) == recovered, e["case"]
        assert not body_hash_matches(demo.raw[e["message_id"]])
        assert not demo.verify(e["message_id"])


def test_changed_subject_keeps_the_body_hash_but_fails(demo: Demo) -> None:
    (e,) = demo.case("dkim_altered_subject")
    assert e["expected_findings"] == ["dkim.header_mismatch"]
    raw = demo.raw[e["message_id"]]
    assert body_hash_matches(raw) and not demo.verify(e["message_id"])
    assert b"cash payments" in raw.split(b"\n\n", 1)[0]


def test_prepended_from_is_the_only_change(demo: Demo) -> None:
    (e,) = demo.case("dkim_prepended_from")
    assert (e["expected_verdict"], e["expected_findings"]) == ("suspicious", ["dkim.unsigned_header"])
    raw = demo.raw[e["message_id"]]
    assert len(demo.parsed(e["message_id"]).get_all("From")) == 2
    # dkimpy hashes extra From fields on purpose (so verify() fails); without the
    # prepended line the signature validates: the rest is untouched.
    assert not demo.verify(e["message_id"])
    first, rest = raw.split(b"\n", 1)
    assert first.startswith(b"From: ") and dkim.verify(rest, dnsfunc=demo.dns)


def test_length_limited_signature_leaves_an_unsigned_tail(demo: Demo) -> None:
    (e,) = demo.case("dkim_length_limit")
    raw = demo.raw[e["message_id"]]
    assert re.search(rb";\s*l=\d+;", raw) and demo.verify(e["message_id"])
    assert b"UPDATE: the numbers above are fake" in raw
    assert e["expected_verdict"] != "verified"


def test_list_forward_carries_a_valid_arc_seal(demo: Demo) -> None:
    (e,) = demo.case("list_footer_arc")
    raw = demo.raw[e["message_id"]]
    cv, results, _ = dkim.arc_verify(raw, dnsfunc=demo.dns)
    assert cv == b"pass" and len(results) == 1
    assert b"dkim=pass header.d=horizon-campaign.example" in results[0]["aar-value"]
    assert b"List-Id:" in raw and b"Equipe mailing list" in raw


def test_outside_signatures_use_keys_absent_from_the_archive(demo: Demo) -> None:
    outside = [m for m in demo.manifest.messages
               if m["signed_by"] and not m["signed_by"].startswith(DOMAIN + "/")]
    assert len(outside) >= 5
    for m in outside:
        domain, selector = m["signed_by"].split("/")
        assert demo.dns(f"{selector}._domainkey.{domain}.".encode()) is None
        if m["from"].endswith("@" + LOOKALIKE_MAIL_DOMAIN):  # the phishing email: the lookalike step flags it
            assert m["expected_findings"][0] == "dkim.key_unavailable" and m["expected_verdict"] == "suspicious"
            continue
        assert m["expected_findings"] == ["dkim.key_unavailable"] and m["expected_verdict"] == "unverified"
    unsigned = [m for m in demo.manifest.messages if not m["signed_by"]]
    assert any(m["from"].endswith("@" + DOMAIN) for m in unsigned)


def test_phishing_email_comes_from_the_lookalike_domain(demo: Demo) -> None:
    (e,) = demo.case("phishing")
    msg = demo.parsed(e["message_id"])
    assert msg["From"].addresses[0].domain == LOOKALIKE_MAIL_DOMAIN
    assert PHISHING_URL in msg.get_body(("plain",)).get_content()
    assert f'href="{PHISHING_URL}"' in msg.get_body(("html",)).get_content()
    assert sum(a.domain == DOMAIN for a in msg["To"].addresses) >= 3
    assert e["indicators"]["urls"] == [PHISHING_URL]
    assert LOOKALIKE_MAIL_DOMAIN in e["indicators"]["domains"]


# ------------------------------------------------------------------ forged documents (issue 4)


def test_finance_folder_is_an_edit_burst_with_a_foreign_editor(demo: Demo) -> None:
    sheets = {n: b for n, b in demo.documents.items() if n.startswith("finance/")}
    assert len(sheets) >= 6
    props = {n: openpyxl.load_workbook(io.BytesIO(b)).properties for n, b in sheets.items()}
    modified = sorted(p.modified for p in props.values())
    created = sorted(p.created for p in props.values())
    assert modified[-1] - modified[0] <= timedelta(minutes=4)
    assert created[-1] - created[0] >= timedelta(days=5 * 365)
    foreign = [n for n, p in props.items() if p.lastModifiedBy == FOREIGN_EDITOR]
    assert len(foreign) == len(sheets) // 2
    expected = {e["path_hint"].removeprefix("documents.7z!/"): e["expected_findings"]
                for e in demo.case("forged_finance_sheet", "document")}
    assert set(expected) == set(sheets)
    assert {n for n, f in expected.items() if "doc.foreign_editor" in f} == set(foreign)
    assert all("doc.edit_burst" in f for f in expected.values())


def test_incremental_update_changes_an_amount(demo: Demo) -> None:
    (e,) = demo.case("pdf_incremental_update", "document")
    data = demo.documents[e["path_hint"].removeprefix("documents.7z!/")]
    assert data.count(b"%%EOF") == 2
    first_revision = data[: data.index(b"%%EOF") + 5]
    with pikepdf.open(io.BytesIO(first_revision)) as old, pikepdf.open(io.BytesIO(data)) as new:
        assert b"38 400 EUR" in old.pages[0].Contents.read_bytes()
        assert b"384 000 EUR" in new.pages[0].Contents.read_bytes()
        assert str(new.docinfo["/ModDate"]) != str(new.docinfo["/CreationDate"])


def test_layered_pdf_hides_a_layer(demo: Demo) -> None:
    (e,) = demo.case("pdf_layers", "document")
    with pikepdf.open(io.BytesIO(demo.documents[e["path_hint"].removeprefix("documents.7z!/")])) as pdf:
        oc = pdf.Root.OCProperties
        assert len(oc.OCGs) == 2 and len(oc.D.OFF) == 1
        assert e["expected_findings"] == ["doc.layers"]


def _attachment(demo: Demo, entry: dict) -> tuple[bytes, datetime]:
    msg = demo.parsed(entry["message_id"])
    (part,) = [p for p in msg.iter_attachments() if p.get_filename() == entry["attachment"]]
    data = part.get_content()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    return data, parsedate_to_datetime(msg["Date"])


def test_attachment_modified_after_its_email_was_sent(demo: Demo) -> None:
    (e,) = demo.case("doc_modified_after_sent", "attachment")
    data, sent = _attachment(demo, e)
    modified = as_utc(docx.Document(io.BytesIO(data)).core_properties.modified)
    assert modified - sent > timedelta(days=1)
    assert demo.by_id[e["message_id"]]["signed_by"] is None
    assert e["expected_findings"] == ["doc.modified_after_sent"]


def test_altered_copy_differs_from_the_verified_original_by_one_amount(demo: Demo) -> None:
    (orig,) = demo.case("altered_copy_original", "attachment")
    (copy,) = demo.case("dup_altered_copy", "attachment")
    assert demo.verify(orig["message_id"])
    assert demo.by_id[copy["message_id"]]["signed_by"] is None
    texts = []
    for entry in (orig, copy):
        data, _ = _attachment(demo, entry)
        texts.append([p.text for p in docx.Document(io.BytesIO(data)).paragraphs])
    diff = [(a, b) for a, b in zip(*texts, strict=True) if a != b]
    assert diff == [("Meetings et déplacements : 1 250 000 EUR.",
                     "Meetings et déplacements : 12 500 000 EUR.")]
    assert copy["expected_verdict"] == "altered" and copy["expected_findings"] == ["dup.altered_copy"]


def test_manifest_counts_match_the_planted_items(demo: Demo) -> None:
    m = demo.manifest
    assert m.counts["planted_by_case"] == dict(sorted(Counter(e["case"] for e in m.expect).items()))
    assert m.counts["emails_by_expected_verdict"] == dict(
        sorted(Counter(x["expected_verdict"] for x in m.messages).items()))
    by_case = Counter(e["case"] for e in m.expect)
    for case in ("dkim_altered_body", "dkim_appended_text", "dkim_altered_subject", "dkim_prepended_from",
                 "list_footer_arc", "dkim_length_limit", "phishing", "doc_modified_after_sent",
                 "dup_altered_copy", "pdf_incremental_update", "pdf_layers"):
        assert by_case[case] == 1, case
    codes = {c for e in m.expect for c in e["expected_findings"]}
    assert {"doc.foreign_editor", "doc.edit_burst", "doc.modified_after_sent", "doc.incremental_update",
            "doc.layers", "dup.altered_copy", "dkim.body_hash_mismatch", "dkim.header_mismatch",
            "dkim.unsigned_header", "dkim.length_limited"} <= codes
    for e in m.expect:
        if e["kind"] != "document":
            assert e["message_id"] in demo.raw
            hint = demo.by_id[e["message_id"]]["path_hint"]
            assert e["path_hint"] == hint and e["mbox_index"] == demo.by_id[e["message_id"]]["mbox_index"]
