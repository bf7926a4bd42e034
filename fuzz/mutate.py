"""A small seeded mutator: the bounded fuzz run in the test suite, where atheris is not required.

Deterministic for a seed (random.Random), so a failure in the suite is reproduced by rerunning it.
It does what libFuzzer's default mutators do most: flip, insert, erase, repeat and splice bytes,
and insert tokens that parsers treat specially.
"""

from __future__ import annotations

import random

TOKENS = [
    b"\r\n", b"\n", b"\r\n\r\n", b"--", b"boundary=", b"Content-Type: ", b"multipart/mixed", b"message/rfc822",
    b"Content-Transfer-Encoding: base64", b"quoted-printable", b"=?utf-8?b?", b"?=", b"From ", b"From: ", b">From ",
    b"<", b">", b"\"", b"\\", b"(", b")", b":", b";", b",", b"@", b"=", b"%", b"\x00", b"\xff", b"\xed\xa0\x80",
    b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"ustar", b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"%PDF-", b"obj",
    b"endobj",
    b"xref", b"trailer", b"startxref", b"<<", b">>", b"/Info", b"/Encrypt", b"{\\rtf1", b"{\\info", b"\\u", b"\\'",
    b"\xff\xd8\xff\xe1", b"Exif\x00\x00", b"MM\x00*", b"II*\x00", b"\xd0\xcf\x11\xe0", b"xn--", b".", b"..", b"/",
    b"{", b"}", b"[", b"]", b"\"id_str\":", b"\"text\":", b"null", b"1e999", b"-1", b"4294967295", b"9" * 30,
]


def mutate(data: bytes, rng: random.Random, others: list[bytes], max_len: int = 1 << 16) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(8)
        pos = rng.randint(0, len(buf))
        if op == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # set a byte to an interesting value
            buf[rng.randrange(len(buf))] = rng.choice((0, 0xFF, 0x7F, 0x80, 0x0A, 0x0D, 0x20, rng.randrange(256)))
        elif op == 2:  # insert a token
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 3 and buf:  # erase a run
            del buf[pos : pos + rng.randint(1, 64)]
        elif op == 4 and buf:  # repeat a run
            start = rng.randrange(len(buf))
            chunk = buf[start : start + rng.randint(1, 64)]
            buf[pos:pos] = chunk * rng.randint(1, 8)
        elif op == 5 and others:  # splice with another input
            other = rng.choice(others)
            cut = rng.randint(0, len(other))
            buf = buf[:pos] + bytearray(other[cut:])
        elif op == 6:  # truncate
            del buf[pos:]
        else:  # random bytes
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(buf[:max_len])


def campaign(harness, seeds: list[bytes], runs: int, seed: int, time_limit: float | None = None):
    """Run `harness` on `runs` mutants; yields (input, exception) for each failure. Keeps inputs as a corpus."""
    import time

    rng = random.Random(seed)
    corpus = list(seeds) or [b""]
    for s in corpus:
        yield from _one(harness, s)
    deadline = None if time_limit is None else time.monotonic() + time_limit
    for n in range(runs):
        if deadline is not None and time.monotonic() > deadline:
            return
        data = mutate(rng.choice(corpus), rng, corpus)
        failed = list(_one(harness, data))
        yield from failed
        if not failed and n % 16 == 0 and len(corpus) < 256:
            corpus.append(data)  # no coverage feedback: keep a sample, so mutations compound


def _one(harness, data: bytes):
    try:
        harness(data)
    except Exception as exc:  # noqa: BLE001 - every failure is reported to the caller
        yield data, exc
