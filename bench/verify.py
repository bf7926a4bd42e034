"""Verification benchmark (not a test): `leaklens verify` vs a one-process dkim.verify loop.

    python bench/verify.py [--n 20000]

Signs N realistic messages with a fresh RSA-2048 key (in parallel), ingests them
into a case (not timed), then times in the same run (a) `leaklens verify` over
the case with the key imported and (b) a baseline: one process calling
`dkim.verify` on every message with an in-memory key lookup. Prints messages/s
for both and the ratio. Target: leaklens >= 1.5x the baseline.
"""

from __future__ import annotations

import argparse
import base64
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DOMAIN, SELECTOR = b"horizon.example", b"bench"
WORDS = "budget meeting press poll rally donors schedule speech transfer invoice venue debate".split()


def _sign_batch(args: tuple[bytes, int, int]) -> list[bytes]:
    pem, start, count = args
    rng = random.Random(start)
    out = []
    for i in range(start, start + count):
        m = EmailMessage()
        m["From"] = f"staff{i % 40}@horizon.example"
        m["To"] = "team@horizon.example"
        m["Subject"] = " ".join(rng.choices(WORDS, k=6))
        m["Date"] = "Tue, 02 May 2017 09:00:00 +0200"
        m["Message-ID"] = f"<{i}@horizon.example>"
        m.set_content("\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(rng.randint(5, 80))) + "\n")
        if rng.random() < 0.15:
            m.add_attachment(
                rng.randbytes(rng.randint(5_000, 80_000)),
                maintype="application",
                subtype="pdf",
                filename=f"doc{i}.pdf",
            )
        raw = bytes(m).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        out.append(
            dkim.sign(
                raw,
                SELECTOR,
                DOMAIN,
                pem,
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
            )
            + raw
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    args = ap.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    pub = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    record = f"v=DKIM1; k=rsa; p={pub}".encode()
    tmp = Path(tempfile.mkdtemp(prefix="leaklens-bench-verify-"))
    try:
        t = time.perf_counter()
        step = 500
        with ProcessPoolExecutor() as pool:
            batches = list(pool.map(_sign_batch, [(pem, s, min(step, args.n - s)) for s in range(0, args.n, step)]))
        messages = [m for b in batches for m in b]
        with open(tmp / "signed.mbox", "wb") as out:
            for m in messages:
                out.write(b"From bench@horizon.example Tue May  2 09:00:00 2017\n" + m + b"\n")
        (tmp / "keys.txt").write_text(f'{SELECTOR.decode()}._domainkey.{DOMAIN.decode()}. IN TXT "{record.decode()}"\n')
        print(f"signed {len(messages):,} messages in {time.perf_counter() - t:.0f} s")
        case = tmp / "case"
        leak = [sys.executable, "-m", "leaklens"]
        subprocess.run(
            [*leak, "ingest", "--quiet", "--case", str(case), str(tmp / "signed.mbox")],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [*leak, "keys", "import", "--case", str(case), str(tmp / "keys.txt")],
            check=True,
            stdout=subprocess.DEVNULL,
        )

        def dnsfunc(name, timeout=5):
            return record

        t = time.perf_counter()
        ok = sum(bool(dkim.verify(m, dnsfunc=dnsfunc)) for m in messages)
        base_s = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([*leak, "verify", "--quiet", "--case", str(case)], check=True, stdout=subprocess.DEVNULL)
        ll_s = time.perf_counter() - t
        base_rate, ll_rate = len(messages) / base_s, len(messages) / ll_s
        print(f"baseline dkim.verify (1 process): {base_rate:8,.0f} msg/s  ({ok:,} valid)")
        print(f"leaklens verify (all cores):      {ll_rate:8,.0f} msg/s")
        print(f"ratio leaklens/baseline: {ll_rate / base_rate:.2f}  (target >= 1.5)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
