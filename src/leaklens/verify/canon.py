"""DKIM canonicalisation (RFC 6376 §3.4) by whole-buffer byte operations.

Returns byte for byte what dkimpy's `CanonicalizationPolicy` returns, on any bytes (bare CR,
LF-only lines, NUL, trailing whitespace, no final CRLF, an empty body): tests/test_canon.py
checks it against dkimpy as the reference. dkimpy runs a regex substitution per whitespace
run of the body and several regexes per header; here the common case (no tab, no double
space, one final CRLF) is a few substring searches done in C, and a substitution runs only
over the runs that actually change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# Whitespace runs that relaxed canonicalisation changes: a lone space is already canonical.
_WSP_TO_SPACE = re.compile(rb"[\t ]{2,}|\t")
# dkim.RE_BTAG with its FWS written as \s* (the same language: FWS is optional "\s*\r?\n" then
# "\s+", which matches exactly the non-empty whitespace strings) and the value as "runs of
# whitespace and base64 characters up to the last base64 character", which is what
# "(FWS base64-char)*" consumes. The same matches, without backtracking through FWS per character.
_B_VALUE = re.compile(rb"([;\s]b\s*=)(?:[\sa-zA-Z0-9+/=]*[a-zA-Z0-9+/=])?(?:\r?\n\Z)?")


def _algorithm(policy: Any, part: str) -> bytes:
    """b"simple" or b"relaxed" from a dkimpy policy (or the name itself)."""
    if isinstance(policy, bytes):
        return policy
    return getattr(policy, part + "_algorithm").name


def _compress(data: bytes) -> bytes:
    """Every run of spaces and tabs as one space (dkimpy's compress_whitespace)."""
    if b"\t" in data or b"  " in data:
        return _WSP_TO_SPACE.sub(b" ", data)
    return data


def _trailing_crlf_pairs(data: bytes) -> int:
    """How many CRLF pairs end `data`, without walking them pair by pair in Python."""
    if not data.endswith(b"\r\n"):
        return 0
    if not data.endswith(b"\r\n\r\n"):
        return 1
    window = 64
    while True:
        chunk = data[-window:]
        core = chunk.rstrip(b"\r\n")
        if core or window >= len(data):
            break
        window *= 8
    tail = chunk[len(core) :]
    # `tail` holds only CR and LF and ends with LF; its CRLF pairs are its longest suffix in which
    # CR and LF alternate, i.e. what follows the last doubled character.
    start = max(tail.rfind(b"\r\r"), tail.rfind(b"\n\n")) + 1
    return (len(tail) - start) // 2


def _one_final_crlf(data: bytes) -> bytes:
    """Trailing empty lines removed, and a CRLF added if the last line has none (dkimpy's strip_trailing_lines)."""
    pairs = _trailing_crlf_pairs(data)
    if pairs == 0:
        return data + b"\r\n"
    if pairs == 1:
        return data
    return data[: len(data) - 2 * (pairs - 1)]


def simple_body(body: bytes) -> bytes:
    return _one_final_crlf(body)


def relaxed_body(body: bytes) -> bytes:
    # dkimpy strips whitespace before each CRLF, then compresses runs. Compressing first leaves each
    # such run as exactly one space before the CRLF, and removing that space cannot create another.
    body = _compress(body)
    if b" \r\n" in body:
        body = body.replace(b" \r\n", b"\r\n")
    body = _one_final_crlf(body)
    return b"" if body == b"\r\n" else body


def canonicalize_body(policy: Any, body: bytes) -> bytes:
    """`policy.canonicalize_body(body)` for a dkimpy policy (or b"simple" / b"relaxed")."""
    if _algorithm(policy, "body") == b"relaxed":
        return relaxed_body(body)
    return simple_body(body)


def canonicalize_headers(policy: Any, headers: Sequence[Sequence[bytes]]) -> Any:
    """`policy.canonicalize_headers(headers)`: simple returns the same list, as dkimpy does."""
    if _algorithm(policy, "header") != b"relaxed":
        return headers
    out = []
    for h in headers:
        value = h[1]
        if b"\n" in value:
            # dkimpy removes "\r?\n": every LF, and a CR only when it comes right before an LF.
            value = value.replace(b"\r\n", b"").replace(b"\n", b"")
        if b"\t" in value or b"  " in value:
            value = _WSP_TO_SPACE.sub(b" ", value)
        out.append((h[0].lower().rstrip(), value.strip() + b"\r\n"))
    return out


def crlf_lines(data: bytes) -> bytes:
    """Every line end (LF or CRLF) made CRLF: `b"\\r\\n".join(re.split(rb"\\r?\\n", data))` without a list of lines."""
    lf = data.count(b"\n")
    if lf == 0 or lf == data.count(b"\r\n"):
        return data  # already CRLF throughout (the usual case): no copy
    # CRLF stays CRLF, a bare LF becomes CRLF, a bare CR stays as it is.
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def without_b_value(value: bytes) -> bytes:
    """The DKIM-Signature value with its b= emptied, as `dkim.RE_BTAG.sub(b"\\1", value)`."""
    return _B_VALUE.sub(_tag_only, value)


def _tag_only(match: re.Match[bytes]) -> bytes:
    return match.group(1)  # a function, not the template b"\\1", which re expands in Python for every call
