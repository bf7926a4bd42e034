"""A raw MIME walker that keeps the original bytes of every entity.

``email`` parses headers well but forgets where each part's bytes were; an
embedded ``message/rfc822`` re-serialised by the library is no longer the
message that was signed. So the structure is walked here, on the raw bytes,
and the library is used only to read each entity's headers and decode leaf
payloads.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass, field
from email.errors import InvalidHeaderDefect
from email.message import Message

from ..headerblock import IRREGULARITY_TEXT, read_block
from ..model import Finding

_HEADER_END = re.compile(rb"\r?\n\r?\n")


class Headers(Message):
    """compat32 headers, read-only once parsed, with lookups by name in a dict and each header's
    parameters parsed once.

    Reading a part asks for a dozen headers and asks its Content-Type and Content-Disposition for
    type, charset, boundary, name and filename: the stdlib scans every header for each lookup and
    parses the whole header again for each parameter (together a fifth of reading an email).
    Values are what the stdlib returns (its own fetch and parameter parsing); changing the headers
    after parsing raises, so that the index cannot go stale.
    """

    _index: dict[str, list[tuple[str, str]]] | None = None
    _params: dict[str, list] | None = None

    def freeze(self) -> Headers:
        index: dict[str, list[tuple[str, str]]] = {}
        for k, v in self._headers:
            index.setdefault(k.lower(), []).append((k, v))
        self._index, self._params = index, {}
        return self

    def get(self, name, failobj=None):
        if self._index is None:
            return super().get(name, failobj)
        found = self._index.get(name.lower())
        return self.policy.header_fetch_parse(*found[0]) if found else failobj

    __getitem__ = get

    def get_all(self, name, failobj=None):
        if self._index is None:
            return super().get_all(name, failobj)
        found = self._index.get(name.lower())
        return [self.policy.header_fetch_parse(k, v) for k, v in found] if found else failobj

    def __contains__(self, name) -> bool:
        return super().__contains__(name) if self._index is None else name.lower() in self._index

    def _get_params_preserve(self, failobj, header):
        if self._params is None or header.lower() not in self._index:
            return super()._get_params_preserve(failobj, header)
        params = self._params.get(header.lower())
        if params is None:
            params = self._params[header.lower()] = super()._get_params_preserve(failobj, header)
        return list(params)

    def _read_only(self) -> None:
        if self._index is not None:
            raise TypeError("parsed headers are read-only")

    def __setitem__(self, name, val):
        self._read_only()
        super().__setitem__(name, val)

    def __delitem__(self, name):
        self._read_only()
        super().__delitem__(name)

    def set_raw(self, name, value):
        self._read_only()
        super().set_raw(name, value)

    def replace_header(self, _name, _value):
        self._read_only()
        super().replace_header(_name, _value)

    def add_header(self, _name, _value, **_params):
        self._read_only()
        super().add_header(_name, _value, **_params)

    def set_boundary(self, boundary):
        self._read_only()
        super().set_boundary(boundary)


MAX_PARTS = 10_000
MAX_DEPTH = 50


@dataclass
class Entity:
    headers: Headers
    body: bytes  # raw body bytes, transfer-encoded as in the message
    number: str  # "1", "1.2", ... like IMAP part numbers

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    @property
    def is_multipart(self) -> bool:
        return self.headers.get_content_maintype() == "multipart"


@dataclass
class Walk:
    root: Entity
    leaves: list[Entity] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def split_headers(raw: bytes) -> tuple[bytes, bytes]:
    """Split an entity at its first blank line. No blank line: all headers, empty body."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", raw[2:] if raw.startswith(b"\r\n") else raw[1:]
    m = _HEADER_END.search(raw)
    if not m:
        return raw, b""
    return raw[: m.start()], raw[m.end() :]


def parse_entity(raw: bytes, number: str = "") -> Entity:
    head, body = split_headers(raw)
    headers = parse_headers_fast(head)
    if headers is None:
        headers = headers_as_read(head)
    return Entity(headers.freeze(), body, number)


def headers_as_read(head: bytes) -> Headers:
    """An irregular header block as leaklens reads it everywhere (`headerblock`), in compat32's form.

    The stdlib would stop at the first line it cannot read, or split at a bare CR, and so
    show other fields than the verifier checks; each irregularity becomes a defect instead.
    """
    block = read_block(head)
    msg = Headers()
    for f in block.fields:
        value = f.value.decode("ascii", "surrogateescape").lstrip(" \t").rstrip("\r\n")
        msg._headers.append((f.name, value))
    if block.envelope is not None:
        msg.set_unixfrom(block.envelope.decode("ascii", "surrogateescape"))
    msg.defects.extend(InvalidHeaderDefect(f"line {i.line}: {IRREGULARITY_TEXT[i.kind]}") for i in block.irregular)
    msg.set_payload("")
    return msg


_FIELD = re.compile(r"[\041-\071\073-\176]+:")


def parse_headers_fast(head: bytes) -> Headers | None:
    """What compat32's ``BytesHeaderParser`` makes of a well-formed header block, or None.

    The stdlib's parser is a general incremental one and was 15% of ingest time.
    This handles the common case the same way (``tests/test_mime_headers.py`` checks it
    against the stdlib) and returns None for anything the stdlib would record a
    defect for, or treat specially, so that the stdlib handles it.
    """
    msg = Headers()
    if not head:
        msg.set_payload("\n")
        return msg
    text = head.decode("ascii", "surrogateescape")
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone CR is a line break to the stdlib
    add = msg._headers.append  # what set_raw does, without a call per header
    value: list[str] = []
    for line in text.split("\n"):
        line += "\n"
        if line[0] in " \t":
            if not value:
                return None  # a first line that is a continuation: a defect
            value.append(line)
            continue
        if not _FIELD.match(line):
            return None  # no field name (a body line, an envelope line, ": x"): the stdlib decides
        if value:
            add(_source_parse(value))
        value = [line]
    if value:
        add(_source_parse(value))
    msg.set_payload("")
    return msg


def _source_parse(lines: list[str]) -> tuple[str, str]:
    """compat32's header_source_parse, inlined (it is called for every header of every part)."""
    name, value = lines[0].split(":", 1)
    value = value.lstrip(" \t")
    if len(lines) > 1:
        value += "".join(lines[1:])
    return name, value.rstrip("\r\n")


def _delimiters(body: bytes, dash_boundary: bytes):
    """Yield (line_start, after_line, closing) for each boundary delimiter line.

    A delimiter is ``--boundary`` at the start of the body or of a line, followed by
    optional ``--`` (the closing one), optional blanks and the end of the line. Found
    with ``bytes.find``: a regex over base64 attachments is many times slower.
    """
    n = len(dash_boundary)
    pos = body.find(dash_boundary)
    while pos >= 0:
        if pos == 0 or body[pos - 1 : pos] == b"\n":
            if pos == 0:
                line_start = 0
            elif body[pos - 2 : pos - 1] == b"\r":
                line_start = pos - 2
            else:
                line_start = pos - 1
            k = pos + n
            closing = body[k : k + 2] == b"--"
            if closing:
                k += 2
            while body[k : k + 1] in (b" ", b"\t"):
                k += 1
            if k == len(body) or body[k : k + 1] in (b"\r", b"\n"):
                if body[k : k + 2] == b"\r\n":
                    k += 2
                elif body[k : k + 1] in (b"\n", b"\r"):
                    k += 1
                yield line_start, k, closing
        pos = body.find(dash_boundary, pos + n)


def split_multipart(body: bytes, boundary: str) -> tuple[list[bytes], bool]:
    """Split a multipart body into raw parts; returns (parts, closed).

    The line break before a delimiter belongs to the delimiter (RFC 2046), so a
    part's bytes end just before it.
    """
    parts: list[bytes] = []
    start = None
    for line_start, after, closing in _delimiters(body, b"--" + boundary.encode("utf-8", "surrogateescape")):
        if start is not None:
            parts.append(body[start:line_start])
        if closing:
            return parts, True
        start = after
    if start is not None:
        parts.append(body[start:])
    return parts, False


def walk(raw: bytes) -> Walk:
    """Every leaf entity of a message, each with its raw body; defects as findings."""
    root = parse_entity(raw, "")
    result = Walk(root)
    _walk(root, result, 0)
    return result


def _walk(entity: Entity, result: Walk, depth: int) -> None:
    if not entity.is_multipart:
        result.leaves.append(entity)
        return
    boundary = entity.headers.get_boundary()
    where = entity.number or "message"
    if not boundary:
        result.findings.append(
            Finding(
                "mime.missing_boundary",
                "warning",
                "A multipart part declares no boundary; its content was read as one block of text.",
                {"part": where},
            )
        )
        result.leaves.append(Entity(entity.headers, entity.body, entity.number))
        return
    if depth >= MAX_DEPTH:
        result.findings.append(
            Finding(
                "mime.too_deep",
                "warning",
                "MIME nesting too deep; inner parts not read.",
                {"part": where, "depth": depth},
            )
        )
        return
    parts, closed = split_multipart(entity.body, boundary)
    if not parts:
        result.findings.append(
            Finding(
                "mime.boundary_not_found",
                "warning",
                "The multipart boundary never appears in the body; its content was read as one block of text.",
                {"part": where, "boundary": boundary},
            )
        )
        result.leaves.append(Entity(entity.headers, entity.body, entity.number))
        return
    if not closed:
        result.findings.append(
            Finding(
                "mime.unterminated",
                "info",
                "A multipart body has no closing boundary (the message may be truncated).",
                {"part": where},
            )
        )
    for i, part in enumerate(parts, 1):
        if len(result.leaves) >= MAX_PARTS:
            result.findings.append(
                Finding(
                    "mime.too_many_parts",
                    "warning",
                    "Too many MIME parts; the rest were not read.",
                    {"limit": MAX_PARTS},
                )
            )
            return
        number = f"{entity.number}.{i}" if entity.number else str(i)
        _walk(parse_entity(part, number), result, depth + 1)


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_OK = _B64_ALPHABET + b"= \t\r\n"
_B64_NOT_DATA = bytes(c for c in range(256) if c not in _B64_ALPHABET + b"=")


def header_str(value: object) -> str:
    """A header value as text, whatever compat32 returned: a field holding raw 8-bit bytes comes back
    as an `email.header.Header`, which has no string methods (fuzzing found `.strip()` failing on it);
    its undecodable bytes become U+FFFD here, which is enough for a token such as an encoding."""
    return "" if value is None else str(value)


def decode_payload(entity: Entity) -> tuple[bytes, list[Finding]]:
    """Undo the Content-Transfer-Encoding, tolerating the damage real dumps carry."""
    cte = header_str(entity.headers.get("Content-Transfer-Encoding")).strip().lower()
    body = entity.body
    findings: list[Finding] = []
    if cte == "base64":
        # Anything but the alphabet and line breaks means damage (or a smuggling attempt).
        damaged = bool(body.translate(None, _B64_OK))
        try:
            decoded = base64.b64decode(body)  # validate=False: skips line breaks (and junk)
        except (binascii.Error, ValueError):
            damaged = True
            data = body.translate(None, _B64_NOT_DATA).rstrip(b"=")
            usable = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
            try:
                decoded = base64.b64decode(usable + b"=" * (-len(usable) % 4))
            except (binascii.Error, ValueError):
                decoded = b""
        if damaged:
            findings.append(
                Finding(
                    "mime.bad_base64",
                    "warning",
                    "A base64 part is damaged; what could be decoded was kept.",
                    {"part": entity.number or "body", "encoded_bytes": len(body), "decoded_bytes": len(decoded)},
                )
            )
        return decoded, findings
    if cte == "quoted-printable":
        return quopri.decodestring(body), findings
    if cte and cte not in ("7bit", "8bit", "binary"):
        findings.append(
            Finding(
                "mime.unknown_encoding",
                "info",
                "Unknown Content-Transfer-Encoding; the part was kept as it is.",
                {"part": entity.number or "body", "encoding": cte},
            )
        )
    return body, findings
