"""Shared test helpers: real cases built by the real ingest pipeline."""

from __future__ import annotations

import email
import email.message
import hashlib
from pathlib import Path

from leaklens.case import Case
from leaklens.ingest.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
GMAIL = CORPUS / "real" / "gmail-2015"


def cpython_email_data() -> Path | None:
    """CPython's own real-world test messages (pyenv builds ship them; Debian: libpython3.11-testsuite)."""
    candidates = [
        Path(email.__file__).resolve().parents[1] / "test" / "test_email" / "data",
        Path("/usr/lib/python3.11/test/test_email/data"),
    ]
    return next((p for p in candidates if p.is_dir()), None)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_case(
    tmp_path: Path, *sources: Path, name: str = "case", workers: int = 1, db: str | None = None, **limits
) -> Case:
    """A case ingested from the sources, on SQLite (db None) or the database `db` names (conftest's `backend`)."""
    from leaklens.ingest.walker import ingest

    case = Case.open(tmp_path / name, create=True, db=db)
    ingest(case, list(sources), limits=Limits(**limits), workers=workers)
    return case


def rows(case: Case, where: str = "", args=()) -> list[dict]:
    return [dict(r) for r in case.db.items(where, args)]


def codes(case: Case, item_id: str) -> list[str]:
    return [f.code for f in case.db.findings_for(item_id)]


def assert_balanced(case: Case) -> dict:
    acc = case.db.accounting()
    items = acc["items"]
    assert items["pending"] == 0
    assert items["found"] == items["stored"] + items["skipped"] + items["failed"]
    files = acc["files"]
    assert files["found"] == files["stored"] + files["skipped"] + files["failed"]
    return acc


def make_rsa_key(bits: int = 2048) -> tuple[bytes, str]:
    """A fresh RSA key: (private PEM for dkim.sign, base64 public key for a DKIM TXT record)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    k = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der = k.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(der).decode()


SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to"]


def dkim_signed(message, pem: bytes, selector: str, domain: str) -> bytes:
    """The message (an EmailMessage) with CRLF line ends, DKIM-signed by dkimpy."""
    import dkim

    raw = bytes(message).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return dkim.sign(raw, selector.encode(), domain.encode(), pem, include_headers=SIGNED_HEADERS) + raw


def key_record_file(path: Path, pub: str, selector: str, domain: str) -> Path:
    path.write_text(f'{selector}._domainkey.{domain}. IN TXT "v=DKIM1; k=rsa; " "p={pub}"\n')
    return path


def app_routes(app) -> list:
    """Every endpoint of the web app with its methods, through the included routers (this FastAPI keeps
    them nested: app.routes alone lists only the app's own); not the static mount."""
    out, todo = [], list(app.routes)
    while todo:
        r = todo.pop()
        if hasattr(r, "original_router"):  # an included router: its routes carry their own prefix
            assert not r.include_context.prefix, "a prefix at include time: add it to the paths here"
            todo.extend(r.original_router.routes)
        elif getattr(r, "methods", None):
            out.append(r)
    return out


def differences(a, b, path: str = "", out: list[str] | None = None, limit: int = 40) -> list[str]:
    """Where two JSON-like values differ, one line a place (at most `limit`): an assertion that two
    reports are equal then says what differs instead of printing both reports whole."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in the {'first' if k in a else 'second'}")
            else:
                differences(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            differences(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: {str(a)[:300]!s} != {str(b)[:300]!s}")
    return out[:limit]


def thread_message(sender: str, to: str, subject: str, date: str | None, mid: str, domain: str,
                   reply_to: str | None = None) -> email.message.EmailMessage:
    """A message of a conversation: Message-ID `<mid@domain>`, and In-Reply-To/References to `reply_to`'s."""
    m = email.message.EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    if date:
        m["Date"] = date
    m["Message-ID"] = f"<{mid}@{domain}>"
    if reply_to:
        m["In-Reply-To"] = m["References"] = f"<{reply_to}@{domain}>"
    return m
