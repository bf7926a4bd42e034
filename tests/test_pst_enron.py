"""A real Outlook PST read end to end: Enron's `enron.pst` from the npm package pst-extractor 1.12.0
(MIT; 71 messages, 70 attachments), fetched by tests/fetch_enron_pst.sh (`make test` runs it).

The other PST tests write their PSTs with Aspose.Email when it is installed; this one is a PST
Outlook itself wrote, with its folders, its compressible encryption and its attachments.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from helpers import assert_balanced, build_case, rows

from leaklens.ingest.limits import Limits
from leaklens.ingest.readers.base import ReadContext, Source
from leaklens.ingest.readers.outlook import read_pst
from leaklens.store.blobs import BlobStore

PST = Path(__file__).parent / "fixtures" / "downloaded" / "enron.pst"
SHA256 = "6152489de3472be6f1f840935d34b6dbf5f62b025dd015929ea9cf66eb5a5b46"

if not PST.is_file():
    if os.environ.get("LEAKLENS_REQUIRE_PST"):
        raise RuntimeError(f"{PST} is missing: run tests/fetch_enron_pst.sh (LEAKLENS_REQUIRE_PST is set)")
    pytest.skip("enron.pst not fetched (tests/fetch_enron_pst.sh needs npm)", allow_module_level=True)

FOLDERS = {
    "lokay-m/MLOKAY (Non-Privileged)": 1,
    "lokay-m/MLOKAY (Non-Privileged)/TW-Commercial Group": 14,
    "lokay-m/MLOKAY (Non-Privileged)/Systems": 7,
    "lokay-m/MLOKAY (Non-Privileged)/Sent Items": 2,
    "lokay-m/MLOKAY (Non-Privileged)/Personal": 47,
}


@pytest.fixture(scope="module")
def read() -> ReadContext:
    assert hashlib.sha256(PST.read_bytes()).hexdigest() == SHA256
    src = Source(path=PST, name=PST.name, chain=PST.name, size=PST.stat().st_size, mime="", depth=0)
    ctx = ReadContext(src, BlobStore(Path(tempfile.mkdtemp()) / "blobs"), Limits(), budget=10**10)
    read_pst(src, ctx)
    return ctx


def parsed(ctx: ReadContext, child) -> email.message.EmailMessage:
    return email.message_from_bytes(ctx.blobs.path(child["sha256"]).read_bytes(), policy=email.policy.default)


def test_every_message_of_every_folder_is_rebuilt(read):
    assert read.kind == "archive" and read.findings == []
    assert read.metadata["messages"] == 71 and read.metadata["orphan_messages"] == 0
    counted = {f["path"]: f["messages"] for f in read.metadata["folders"] if f["messages"]}
    assert counted == FOLDERS
    assert len(read.children) == 71
    by_folder = Counter(c["path"].removeprefix("enron.pst!/").rsplit("/#", 1)[0] for c in read.children)
    assert dict(by_folder) == FOLDERS
    for child in read.children:
        assert child["state"] == "stored" and child["kind_hint"] == "email"
        assert child["hints"]["message_class"] == "IPM.Note"
        assert [f["code"] for f in child["findings"]] == ["ingest.reconstructed"]


def test_transport_headers_and_attachments_survive(read):
    first = parsed(read, read.children[0])
    assert first["Message-ID"] == "<IWTBDKF2WUUQG3I3RF3DVZAFDYEPIJCPB@zlsvr22>"
    assert first["Subject"] == "Power Mart '01 - Register online for your FREE exhibition pass!"
    assert first["From"].addresses[0].addr_spec == "ftenergy1@FTENERGY.COM"
    assert read.children[0]["hints"]["transport_headers_present"] is True
    attachments = [a for c in read.children for a in parsed(read, c).iter_attachments()]
    assert len(attachments) == 70
    for a in attachments:
        assert a.get_filename() and a.get_payload(decode=True)


def test_a_case_of_the_pst_accounts_for_every_item(tmp_path):
    case = build_case(tmp_path, PST)
    acc = assert_balanced(case)
    assert acc["files"]["stored"] == 1 and acc["items"]["stored"] == 142
    kinds = Counter((r["kind"], r["depth"]) for r in rows(case))
    assert kinds == {("archive", 0): 1, ("email", 1): 71, ("attachment", 2): 70}
    # The original PST is kept byte for byte.
    top = next(r for r in rows(case) if r["depth"] == 0)
    assert top["sha256"] == SHA256
    assert case.db.search("exhibition")[0] >= 1
