"""investigate/: the shared reads, and the one rule that links a reply to its parent (checked by
verify, shown by the thread view)."""

from __future__ import annotations

import ast
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from helpers import ROOT, build_case, codes, dkim_signed, key_record_file, make_rsa_key
from lxml import html as lxml_html

from leaklens.investigate.threads import link, parent_ids, thread
from leaklens.store.base import ItemQuery
from leaklens.verify.case_keys import import_into_case
from leaklens.verify.case_verify import verify_case
from leaklens.web.app import create_app

DOMAIN, SELECTOR = "horizon.example", "mail2017"
PARENT_BODY = (
    "The transfer of 12,000 euros to the printer is approved for Friday.\n"
    "Please keep the invoice for the campaign accounts.\n"
)


def test_parent_ids_prefer_in_reply_to_then_the_last_reference() -> None:
    assert parent_ids("<a@x>", "<r@x> <b@x>") == ["<a@x>"]
    assert parent_ids(None, "<r@x> <b@x>") == ["<b@x>"]
    assert parent_ids("not an id", "<r@x><b@x>") == ["<b@x>"]  # a header naming no id does not count
    assert parent_ids("<a@x> (sent by Anne)", None) == ["<a@x>"]
    assert parent_ids("", "") == []


def test_link_takes_the_first_email_found_with_the_id_and_never_the_reply_itself() -> None:
    emails = [
        ("p", "<p@x>", None, None, "2017-05-02T09:00:00+02:00"),
        ("p-copy", "<p@x>", None, None, "2017-05-02T09:00:00+02:00"),
        ("late", "<l@x>", "<p@x>", None, "2017-05-04T09:00:00+02:00"),
        ("r", "<r@x>", None, "<root@x> <p@x>", "2017-05-03T09:00:00+02:00"),
        ("undated", "<u@x>", "<p@x>", None, None),
        ("self", "<s@x>", "<s@x>", None, None),
        ("orphan", "<o@x>", "<gone@x>", None, None),
    ]
    links = link(emails)
    assert links.parent == {"late": "p", "r": "p", "undated": "p"}
    assert links.children == {"p": ["undated", "r", "late"]}  # oldest first, undated first


def _message(mid: str, body: str, subject: str, date: str, **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"Anne Leroy <anne@{DOMAIN}>"
    m["To"] = f"paul@{DOMAIN}"
    m["Subject"] = subject
    m["Date"] = date
    m["Message-ID"] = f"<{mid}@{DOMAIN}>"
    for name, value in headers.items():
        m[name] = value
    m.set_content(body)
    return m


@pytest.fixture(scope="module")
def case(tmp_path_factory, module_backend):
    root = tmp_path_factory.mktemp("investigate")
    pem, pub = make_rsa_key()
    dump = root / "dump"
    dump.mkdir()
    parent = _message("p1", PARENT_BODY, "Budget", "Tue, 02 May 2017 09:00:00 +0200")
    (dump / "parent.eml").write_bytes(dkim_signed(parent, pem, SELECTOR, DOMAIN))
    # Threaded by References only (no In-Reply-To), as some webmail and list software send it,
    # and quoting the verified parent with one number changed.
    misquote = "Agreed.\n\n> " + PARENT_BODY.replace("12,000", "120,000").replace("\n", "\n> ")
    reply = _message("r1", misquote, "Re: Budget", "Tue, 02 May 2017 11:00:00 +0200", References=f"<p1@{DOMAIN}>")
    (dump / "reply.eml").write_bytes(bytes(reply))
    deeper = _message(
        "r2",
        "Paid.\n",
        "Re: Budget",
        "Wed, 03 May 2017 08:00:00 +0200",
        References=f"<elsewhere@other.example> <p1@{DOMAIN}> <r1@{DOMAIN}>",
    )
    (dump / "deeper.eml").write_bytes(bytes(deeper))
    c = build_case(root, dump, db=module_backend)  # on SQLite and on PostgreSQL
    import_into_case(c, key_record_file(root / "keys.txt", pub, SELECTOR, DOMAIN))
    verify_case(c, workers=1)
    return c


def _id(case, name: str) -> str:
    [row] = [r for r in case.db.select_items(ItemQuery(kind="email", state="stored")) if r["name"] == name]
    return row["id"]


def test_a_reply_threaded_only_by_references_is_checked_and_shown_under_its_parent(case) -> None:
    parent, reply, deeper = (_id(case, n) for n in ("parent.eml", "reply.eml", "deeper.eml"))
    assert case.db.item(parent)["verdict"] == "verified"

    # Checked: the misquote of the verified parent is found, against that parent.
    [mismatch] = [f for f in case.db.findings_for(reply) if f.code == "thread.quote_mismatch"]
    assert mismatch.evidence["parent"] == parent
    assert any(h["parent"] == "12" and h["quote"] == "120" for h in mismatch.evidence["diff"])
    assert "thread.quote_mismatch" not in codes(case, deeper)

    # Shown: the same link puts the reply under its parent, and the deeper reply under it.
    t = thread(case.db, case.db.item(parent))
    assert [r["id"] for r in t["replies"]] == [reply]
    assert [(n["id"], n["depth"]) for n in t["tree"]] == [(parent, 0), (reply, 1), (deeper, 2)]

    client = TestClient(create_app(case.root))
    it = client.get(f"/api/items/{deeper}").json()
    assert [a["id"] for a in it["thread"]["ancestors"]] == [parent, reply]
    page = lxml_html.fromstring(client.get(f"/items/{parent}").text)
    shown = page.xpath('//ol[@class="thread-tree"]/li//a/@href')
    assert f"/items/{reply}" in shown and f"/items/{deeper}" in shown


def test_store_reads_name_only_declared_fields(case) -> None:
    days = case.db.count_items_by(("day", "verdict"), ItemQuery(kind="email", state="stored"))
    assert ("2017-05-02", "verified", 1) in days
    assert case.db.count_items(ItemQuery(kind="email", state="stored", after="2017-05-03")) == 1
    with pytest.raises(ValueError):
        case.db.count_items_by(("verdict; DROP TABLE items",))


def _imports(package: str) -> set[str]:
    """Every leaklens module imported by the modules of `package` (relative imports resolved)."""
    found: set[str] = set()
    for path in (ROOT / "src" / "leaklens" / package).rglob("*.py"):
        parts = ["leaklens", *path.relative_to(ROOT / "src" / "leaklens").with_suffix("").parts]
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = parts[: len(parts) - node.level] if node.level else []
                module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
                found.update(f"{module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
    return found


def test_web_and_report_meet_only_in_investigate() -> None:
    web, report = _imports("web"), _imports("report")
    assert not {m for m in web if m.startswith("leaklens.report")}
    # The HTML report draws with the workbench's templates and charts (presentation, no reads).
    assert {m for m in report if m.startswith("leaklens.web")} <= {
        "leaklens.web.charts",
        "leaklens.web.leaktext.leak",
        "leaklens.web.leaktext.leak_plain",
        "leaklens.web.render.human_size",
        "leaklens.web.render.pretty_json",
    }
