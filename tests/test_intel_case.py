"""Phishing in a case (intel/): real MIME messages with real HTML, ingested and verified as a user does,
then `leaklens domains` and `leaklens iocs` on the command line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from email.message import EmailMessage

import pytest
from helpers import ROOT, build_case, codes
from stix2validator import ValidationOptions, validate_string

from leaklens.case import Case
from leaklens.intel.iocs import indicators, write_stix
from leaklens.intel.phishing import text_domain
from leaklens.intel.steps import set_protected
from leaklens.intel.tables import LOOKALIKES, SIGHTINGS
from leaklens.verify.case_verify import verify_case

# The kind of HTML a credential-phishing email carries: a table layout, inline styles, a tracking pixel,
# a button whose visible text is the real site's URL, a login form posting to the attacker.
PHISH_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Security notice</title>
<style>td{font-family:Arial} .btn{background:#0070ba;color:#fff}</style></head>
<body style="margin:0"><table width="600" align="center" cellpadding="0" cellspacing="0"><tr><td>
<img src="https://track.mail-en-marche.fr/o.gif?id=8812" width="1" height="1" alt="">
<p>Bonjour,</p><p>Votre mot de passe expire aujourd'hui. Validez votre compte&nbsp;:</p>
<p><a class="btn" href="https://onedrive-en-marche.fr/auth/login.php?u=staff">https://en-marche.fr/connexion</a></p>
<form action="https://portal-office.fr/owa/auth.owa" method="POST">
<input type="hidden" name="flags" value="4"><input type="text" name="username" placeholder="e-mail">
<input type="password" name="password"><input type="submit" value="Se connecter"></form>
<p style="font-size:11px">&copy; En Marche !
<a href="https://en-marche.fr/mentions-legales">Mentions l&eacute;gales</a></p>
</td></tr></table></body></html>"""

NEWSLETTER_HTML = """<html><body><h1>La lettre</h1>
<p><a href="https://en-marche.fr/articles/42">Lire l'article</a> ·
<a href="https://www.en-marche.fr/agenda">www.en-marche.fr/agenda</a> ·
<a href="https://dons.en-marche.fr/">dons.en-marche.fr</a></p>
<p>Source&nbsp;: <a href="https://www.lemonde.fr/politique/">Le Monde</a>, <a href="https://www.gouv.fr">gouv.fr</a></p>
<form action="https://en-marche.fr/newsletter" method="post"><input type="email" name="email"></form>
</body></html>"""

INVOICE_HTML = b"""<html><body><h2>Document partag\xc3\xa9 (OneDrive)</h2>
<p>Connectez-vous pour afficher le document.</p>
<form method="post" action="https://accounts-office.fr/common/login">
<input name="login" type="email"><input name="passwd" type="PASSWORD"><button>Afficher</button></form>
</body></html>"""


def _msg(sender: str, subject: str, *, text: str, html: str | None = None, reply_to: str | None = None,
         attachment: tuple[str, bytes] | None = None, day: int = 1) -> bytes:  # fmt: skip
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Équipe <equipe@en-marche.fr>"
    m["Subject"] = subject
    m["Date"] = f"Mon, {day:02d} Mar 2017 09:00:00 +0100"
    m["Message-ID"] = f"<msg{day}@{sender.rsplit('@', 1)[1].rstrip('>')}>"
    if reply_to:
        m["Reply-To"] = reply_to
    m.set_content(text)
    if html is not None:
        m.add_alternative(html, subtype="html")
    if attachment is not None:
        m.add_attachment(attachment[1], maintype="text", subtype="html", filename=attachment[0])
    return m.as_bytes()


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("intel")
    dump = tmp / "dump"
    dump.mkdir()
    mails = {
        "phish.eml": _msg('"Service informatique" <it@mail-en-marche.fr>', "Mot de passe", day=3,
                          text="Validez votre compte : https://onedrive-en-marche.fr/auth", html=PHISH_HTML),
        "newsletter.eml": _msg("La lettre <lettre@en-marche.fr>", "La lettre", day=1,
                               text="Lire : https://en-marche.fr/articles/42", html=NEWSLETTER_HTML),
        "invoice.eml": _msg("Comptabilité <compta@fournisseur.example>", "Facture", day=5,
                            text="Voir la pièce jointe.", attachment=("facture.html", INVOICE_HTML)),
        "replyto.eml": _msg("Directeur <directeur@en-marche.fr>", "Urgent", day=7, text="Rappelez-moi.",
                            reply_to="directeur@en-marche.com"),
        "broken.eml": _msg("x@lemonde.fr", "Cassé", day=2, text="ok",
                           html="<html><body><a href='https://exa<<mple'>>>https://<form action=<<input type=password"),
    }  # fmt: skip
    for name, data in mails.items():
        (dump / name).write_bytes(data)
    c = build_case(tmp, dump)
    set_protected(c, ["en-marche.fr", "office.com"])
    verify_case(c, workers=1)
    yield c, tmp
    c.close()


def _id(c: Case, name: str) -> str:
    from leaklens.store.base import ItemQuery

    return next(r["id"] for r in c.db.select_items(ItemQuery()) if r["name"] == name)


def test_phishing_email_flagged_with_every_technique(case) -> None:
    c, _ = case
    item = _id(c, "phish.eml")
    found = {f.code: f for f in c.db.findings_for(item)}
    assert {"intel.lookalike_sender", "intel.lookalike_link", "intel.link_text_mismatch",
            "intel.credential_form"} <= set(found)  # fmt: skip
    assert c.db.item(item)["verdict"] == "suspicious"
    mm = found["intel.link_text_mismatch"].evidence["links"][0]
    assert (mm["text_domain"], mm["href_domain"]) == ("en-marche.fr", "onedrive-en-marche.fr")
    form = found["intel.credential_form"].evidence
    assert form["action_domain"] == "portal-office.fr" and form["lookalike"]["target"] == "office.com"
    assert "password" in form["fields"]
    sender = found["intel.lookalike_sender"].evidence
    assert sender["place"] == "from" and sender["domain"] == "mail-en-marche.fr"


def test_newsletter_of_the_organisation_is_not_flagged(case) -> None:
    c, _ = case
    item = _id(c, "newsletter.eml")
    assert not [code for code in codes(c, item) if code.startswith("intel.")]


def test_credential_form_in_an_html_attachment_flags_the_email(case) -> None:
    c, _ = case
    item = _id(c, "invoice.eml")
    found = {f.code: f for f in c.db.findings_for(item)}
    assert found["intel.credential_form"].evidence["action_domain"] == "accounts-office.fr"
    assert found["intel.credential_form"].evidence["where"] == _id(c, "facture.html")
    assert c.db.item(item)["verdict"] == "suspicious"


def test_reply_to_on_a_tld_swap(case) -> None:
    c, _ = case
    (f,) = [f for f in c.db.findings_for(_id(c, "replyto.eml")) if f.code == "intel.lookalike_sender"]
    assert f.evidence["place"] == "reply_to" and f.evidence["techniques"] == ["tld-swap"]


def test_malformed_html_gives_no_crash_and_no_finding(case) -> None:
    c, _ = case
    assert not [code for code in codes(c, _id(c, "broken.eml")) if code.startswith("intel.")]


def test_lookalikes_table_has_first_and_last_sighting(case) -> None:
    c, _ = case
    rows = {r["domain"]: r for r in c.db.table_rows(LOOKALIKES)}
    assert {"mail-en-marche.fr", "onedrive-en-marche.fr", "portal-office.fr", "accounts-office.fr",
            "en-marche.com"} <= set(rows)  # fmt: skip
    assert not {"en-marche.fr", "lemonde.fr", "gouv.fr", "fournisseur.example"} & set(rows)
    assert rows["mail-en-marche.fr"]["first_seen"].startswith("2017-03-03")
    places = {s["place"] for s in c.db.table_rows(SIGHTINGS, domain="mail-en-marche.fr")}
    assert {"from", "message_id", "image"} <= places  # the tracking pixel's host is kept, never fetched


def test_verify_again_replaces_the_findings(case) -> None:
    c, _ = case
    item = _id(c, "phish.eml")
    before = sorted(codes(c, item))
    verify_case(c, workers=1)
    assert sorted(codes(c, item)) == before


def test_a_case_ingested_before_links_were_kept(case) -> None:
    """An HTML email whose metadata lacks links and forms (an earlier leaklens's ingest) is read from its bytes."""
    from leaklens.intel.steps import analyse

    c, _ = case
    item = _id(c, "phish.eml")
    meta = json.loads(c.db.item(item)["meta"])
    old = {k: v for k, v in meta.items() if k not in ("links", "forms", "ips")}
    c.db.set_item_meta([(item, old)])
    c.db.begin()
    analyse(c)
    c.db.commit()
    found = {f.code for f in c.db.findings_for(item)}
    assert {"intel.lookalike_link", "intel.link_text_mismatch", "intel.credential_form"} <= found
    c.db.set_item_meta([(item, meta)])


def test_text_domain() -> None:
    assert text_domain("https://www.paypal.com/signin") == "paypal.com"
    assert text_domain(" dons.en-marche.fr ") == "en-marche.fr"
    assert text_domain("Lire l'article") is None
    assert text_domain("rapport.pdf") is None  # no public suffix: a file name, not a domain
    assert text_domain("see paypal.com now") is None


def _run(*args, check_rc=0):
    proc = subprocess.run([sys.executable, "-m", "leaklens", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert proc.returncode == check_rc, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def test_cli_domains_json_and_a_list(case, tmp_path) -> None:
    c, tmp = case
    listing = tmp_path / "ct.txt"
    listing.write_text("# certificate transparency\nwww.onedrive-en-marche.fr\nlemonde.fr\nxn--ffice-iye.com\n"
                       "https://login.accounts-office.fr/x\n\nnot a domain at all\n", encoding="utf-8")  # fmt: skip
    out = _run("domains", "--case", tmp / "case", "--protect", "en-marche.fr", "--protect", "office.com",
               "--domains", listing, "--format", "json")  # fmt: skip
    rows = json.loads(out.stdout)
    case_rows = [r for r in rows if not r.get("where")]
    assert case_rows[0]["score"] >= case_rows[-1]["score"]
    assert {r["domain"] for r in case_rows} >= {"mail-en-marche.fr", "portal-office.fr"}
    listed = {r["domain"]: r for r in rows if r.get("where")}
    assert set(listed) == {"onedrive-en-marche.fr", "xn--ffice-iye.com", "accounts-office.fr"}
    assert listed["xn--ffice-iye.com"]["techniques"][0] == "idn-homograph"
    assert listed["accounts-office.fr"]["where"] == "ct.txt:5"
    assert "lines" in out.stderr and "/s" in out.stderr


def test_cli_domains_clear_errors(case, tmp_path) -> None:
    _, tmp = case
    bad = _run("domains", "--case", tmp / "case", "--protect", "http://", check_rc=1)
    assert "--protect expects a domain name" in bad.stderr and "Traceback" not in bad.stderr
    missing = _run("domains", "--case", tmp / "case", "--domains", tmp_path / "nope.txt", check_rc=2)
    assert "cannot read" in missing.stderr and "Traceback" not in missing.stderr
    fmt = _run("domains", "--case", tmp / "case", "--format", "xml", check_rc=1)
    assert "--format" in fmt.stderr
    empty = build_case(tmp_path, name="empty")
    empty.close()
    none = _run("domains", "--case", tmp_path / "empty", check_rc=1)
    assert "no protected domain" in none.stderr


def test_cli_iocs_csv_misp_and_valid_stix(case, tmp_path) -> None:
    _, tmp = case
    out = _run("iocs", "--case", tmp / "case", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    kinds = {r["kind"] for r in table}
    assert {"domain", "url", "email", "sha256"} <= kinds
    first = table[0]
    assert first["lookalike_of"] in ("en-marche.fr", "office.com")  # lookalikes first
    urls = {r["value"] for r in table if r["kind"] == "url"}
    assert "https://onedrive-en-marche.fr/auth/login.php?u=staff" in urls
    misp = json.loads(_run("iocs", "--case", tmp / "case", "--format", "misp").stdout)
    attrs = misp["Event"]["Attribute"]
    assert {a["type"] for a in attrs} >= {"domain", "url", "email-src", "sha256"}
    assert any(a["to_ids"] and a["value"] == "mail-en-marche.fr" for a in attrs)
    target = tmp_path / "iocs.json"
    _run("iocs", "--case", tmp / "case", "--format", "stix", "-o", target)
    result = validate_string(target.read_text(encoding="utf-8"), ValidationOptions(version="2.1", strict=True))
    assert result.is_valid and not result.errors and not result.warnings, (result.errors, result.warnings)
    bundle = json.loads(target.read_text(encoding="utf-8"))
    types = {o["type"] for o in bundle["objects"]}
    assert {"identity", "indicator", "sighting", "domain-name", "url", "email-addr", "file"} <= types


def test_stix_of_many_indicators_validates(case, tmp_path) -> None:
    """The streaming writer at 150 indicators: still one valid bundle (speed is measured in bench/)."""
    from leaklens.intel.iocs import Indicator

    rows = (Indicator("domain", f"host{i}.example.org", "example.org", 2, [f"item{i}"], ["link"],
                      "2017-03-01T10:00:00+01:00", "2017-03-02T10:00:00+01:00") for i in range(150))  # fmt: skip
    buf = io.StringIO()
    assert write_stix(rows, buf) == 150
    result = validate_string(buf.getvalue(), ValidationOptions(version="2.1", strict=True))
    assert result.is_valid and not result.warnings
    assert len(json.loads(buf.getvalue())["objects"]) == 1 + 3 * 150
    c, _ = case
    assert sum(1 for _ in indicators(c)) > 10


def test_phishing_page_of_the_workbench(case, tmp_path) -> None:
    from fastapi.testclient import TestClient
    from lxml import html as lxml_html

    from leaklens.web.app import create_app

    c, _ = case
    page = TestClient(create_app(c.root)).get("/phishing")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.text)
    assert doc.xpath("//nav//a[@href='/phishing'][@aria-current='page']")
    cells = " ".join(doc.xpath("//table//td//code/text()"))
    assert "mail-en-marche.fr" in cells and "portal-office.fr" in cells
    assert doc.xpath("//svg[contains(@class, 'sightings')]//circle")  # the timeline of sightings
    hrefs = doc.xpath("//main//a/@href")
    assert hrefs and all(h.startswith("/items/") for h in hrefs)  # the attacker's URLs are text, never links
    flagged = " ".join(doc.xpath("//section[@aria-labelledby='h-emails']//a/text()"))
    assert "Mot de passe" in flagged and "Facture" in flagged and "La lettre" not in flagged
    empty = build_case(tmp_path, name="blank")
    empty.close()
    blank = TestClient(create_app(tmp_path / "blank")).get("/phishing")
    assert blank.status_code == 200 and "leaklens domains --protect" in blank.text
