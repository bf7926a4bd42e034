"""DKIM and ARC signing for the demo dump, with the demo organisation's keys.

The signatures must be reproducible: RSA PKCS#1 v1.5 is deterministic, but
dkimpy stamps `t=` with the wall clock, so DKIM signing runs under a clock
frozen at the moment the demo message was sent (ARC takes a timestamp).
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import dkim
from cryptography.hazmat.primitives import serialization

from .people import DOMAIN, LIST_DOMAIN

KEYS_DIR = Path(__file__).parent / "keys"

DKIM_SELECTOR = "mail2017"
ARC_SELECTOR = "arc2017"
# Outside domains sign with a key that the demo key archive does not hold.
OUTSIDE_SELECTOR = "s2017"

SIGNED_HEADERS = ("from", "to", "cc", "subject", "date", "message-id", "mime-version", "content-type")


@dataclass(frozen=True)
class Signer:
    domain: str
    selector: str
    key_file: str

    @property
    def private_pem(self) -> bytes:
        return _read_key(self.key_file)


ORG_SIGNER = Signer(DOMAIN, DKIM_SELECTOR, "demo-dkim-private.pem")
ARC_SIGNER = Signer(LIST_DOMAIN, ARC_SELECTOR, "demo-arc-private.pem")


def outside_signer(domain: str) -> Signer:
    return Signer(domain, OUTSIDE_SELECTOR, "demo-outside-private.pem")


@cache
def _read_key(name: str) -> bytes:
    return (KEYS_DIR / name).read_bytes()


class _FrozenClock:
    """Stands in for the `time` module inside dkimpy while it signs."""

    def __init__(self, ts: int) -> None:
        self._ts = ts

    def time(self) -> float:
        return float(self._ts)

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)


@contextlib.contextmanager
def _frozen_dkim_clock(ts: int) -> Iterator[None]:
    saved = dkim.time
    dkim.time = _FrozenClock(ts)  # type: ignore[assignment]
    try:
        yield
    finally:
        dkim.time = saved


def dkim_sign(message: bytes, signer: Signer, when: datetime, *, length: bool = False) -> bytes:
    """Return `message` with a DKIM-Signature (rsa-sha256, relaxed/relaxed) prepended."""
    with _frozen_dkim_clock(int(when.timestamp())):
        header = dkim.sign(
            message,
            signer.selector.encode(),
            signer.domain.encode(),
            signer.private_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h.encode() for h in SIGNED_HEADERS],
            length=length,
            linesep=b"\n",
        )
    return header + message


def arc_seal(message: bytes, when: datetime, signer: Signer = ARC_SIGNER) -> bytes:
    """Return `message` with an ARC set prepended; needs an Authentication-Results by the sealer."""
    headers = dkim.arc_sign(
        message,
        signer.selector.encode(),
        signer.domain.encode(),
        signer.private_pem,
        signer.domain.encode(),
        timestamp=int(when.timestamp()),
        linesep=b"\n",
    )
    if not headers:
        raise ValueError("ARC sealing produced no headers (no Authentication-Results by the sealer?)")
    return b"".join(headers) + message


def public_record(signer: Signer) -> str:
    """The DNS TXT record that would publish `signer`'s public key."""
    key = serialization.load_pem_private_key(_pem_block(signer.private_pem), password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")


def _pem_block(pem: bytes) -> bytes:
    # The demo key files open with a warning paragraph before the PEM armour.
    return pem[pem.index(b"-----BEGIN") :]


KEY_SOURCE = "leaklens demo organisation (generated, demo only)"


def key_archive() -> dict[str, Any]:
    """The demo key archive, in leaklens' JSON key-archive format."""
    return {
        "keys": [
            {
                "domain": s.domain,
                "selector": s.selector,
                "record": public_record(s),
                "source": KEY_SOURCE,
                "first_seen": "2016-09-01",
                "last_seen": "2017-12-31",
            }
            for s in (ORG_SIGNER, ARC_SIGNER)
        ]
    }


def key_archive_json() -> bytes:
    return (json.dumps(key_archive(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def dnsfunc_from_archive(archive: dict[str, Any]):  # noqa: ANN201 - dkimpy's callback shape
    """A dkimpy `dnsfunc` answering from a key archive instead of DNS (for tests and checks)."""
    records = {
        f"{k['selector']}._domainkey.{k['domain']}.".encode(): k["record"].encode() for k in archive["keys"]
    }

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name if name.endswith(b".") else name + b".")

    return lookup
