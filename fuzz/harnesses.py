"""Fuzz harnesses: one per parser that reads bytes an adversary wrote (issue 15).

Each harness is ``fn(data: bytes) -> None`` and checks the leaklens contract: no exception
escapes except leaklens's own declared error types (`ALLOWED`); a bad input gives findings.
A violation is raised as `ContractBroken` chained to the original exception, so the runner
(tests/test_fuzz.py, fuzz/run.py under atheris, bench/fuzz.py) sees it as a crash.

The same functions serve the bounded run in the test suite (a seeded mutator, no atheris
needed) and the long coverage-guided runs (atheris, in a subprocess per harness).
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from leaklens.codes import CATALOGUE
from leaklens.errors import LeaklensError
from leaklens.headerblock import careful_read, disagreement, head_of, python_email_reading, read_block
from leaklens.ingest import mime as mimemod
from leaklens.ingest.limits import Limits
from leaklens.ingest.readers import reader_for
from leaklens.ingest.readers.base import BudgetExceeded, ReadContext, Source
from leaklens.ingest.readers.mbox import cut_message, split_messages, split_offsets
from leaklens.ingest.sniff import family, sniff
from leaklens.intel.domains import host_of_url, ip_of_url, split_host, unicode_label
from leaklens.intel.lookalike import Scorer, protected_domain
from leaklens.spread.model import Bad, Post
from leaklens.spread.readers import load as spread_readers
from leaklens.spread.readers import pick as spread_pick
from leaklens.store.blobs import BlobStore
from leaklens.verify import docmeta
from leaklens.verify.rawmail import parse_raw

# What a parser may raise: leaklens's own declared errors (one clear line at the CLI) and the
# expansion budget, which the worker turns into an `ingest.expansion_limit` finding.
ALLOWED: tuple[type[BaseException], ...] = (LeaklensError, BudgetExceeded)

# Exception types that mean a bug in the code that raised them, not a damaged input.
BUG_TYPES: tuple[type[BaseException], ...] = (
    AttributeError, TypeError, NameError, AssertionError, KeyError, IndexError, ZeroDivisionError,
)


class ContractBroken(Exception):
    """An input made a parser break the contract (the cause is chained)."""


def _declared(findings) -> None:
    for f in findings:
        code = f.code if hasattr(f, "code") else f["code"]
        if code not in CATALOGUE:
            raise ContractBroken(f"undeclared finding code {code!r}")


def _guard(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except ALLOWED:
        return None
    except RecursionError as exc:  # a stack overflow on nesting is a crash of the reader process
        raise ContractBroken(f"RecursionError: {exc}") from exc
    except Exception as exc:
        raise ContractBroken(f"{type(exc).__name__}: {exc}"[:300]) from exc


# -- scratch space: one per process, emptied now and then so long runs do not fill the disk ----------
class _Scratch:
    def __init__(self) -> None:
        self.root: Path | None = None
        self.uses = 0

    def get(self) -> Path:
        """The scratch folder for one harness call (called once per call: it may start a new one)."""
        self.uses += 1
        if self.root is None or self.uses % 500 == 0:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
            self.root = Path(tempfile.mkdtemp(prefix="leaklens-fuzz-"))
            (self.root / "blobs").mkdir()
        return self.root


_scratch = _Scratch()
LIMITS = Limits(max_depth=4, max_expanded_bytes=64 << 20, max_item_bytes=16 << 20, max_items=2000)


def _file(data: bytes, name: str) -> Path:
    path = _scratch.get() / name
    path.write_bytes(data)
    return path


def _read(data: bytes, name: str, mime: str | None = None, depth: int = 0, hint: str | None = None,
          blobs: BlobStore | None = None) -> ReadContext:
    """One item read the way the worker reads it (sniff, pick the reader, read), minus the catch-all."""
    blobs = blobs or BlobStore(_scratch.get() / "blobs")
    sha, size = blobs.put_bytes(data)
    mime = mime or sniff(data, name, len(data))
    src = Source(path=blobs.path(sha), name=name, chain=f"fuzz/{name}", size=size, mime=mime, depth=depth,
                 parent_kind=hint, sha256=sha, data=data)
    ctx = ReadContext(src, blobs, LIMITS, budget=LIMITS.max_expanded_bytes, parent="fuzz", source="fuzz")
    _guard(lambda: reader_for(mime).read(src, ctx))
    _declared(ctx.findings)
    for child in ctx.children:
        _declared(child.findings)
    return ctx


# -- the harnesses ----------------------------------------------------------------------------------
def mime_reader(data: bytes) -> None:
    """ingest/mime.py: the entity tree of a message and every part's decoded payload."""

    def run() -> None:
        head, _body = mimemod.split_headers(data)
        mimemod.headers_as_read(head)
        mimemod.parse_headers_fast(head)
        tree = mimemod.walk(data)
        for entity in _entities(tree):
            _payload, findings = mimemod.decode_payload(entity)
            _declared(findings)

    _guard(run)


def _entities(tree) -> Iterator:
    for name in ("parts", "entities", "leaves"):
        parts = getattr(tree, name, None)
        if parts:
            yield from parts
            return
    root = getattr(tree, "root", None)
    if root is not None:
        stack = [root]
        while stack:
            e = stack.pop()
            yield e
            stack.extend(getattr(e, "children", []) or [])


def header_block(data: bytes) -> None:
    """headerblock.py and verify/rawmail.py: the one reading of a header block and DKIM's."""

    def run() -> None:
        head = head_of(data)
        block = read_block(head)
        careful_read(head)
        disagreement(head, block)
        python_email_reading(head)
        raw = parse_raw(data)
        for name in (b"from", b"dkim-signature", b"received"):
            raw.values(name.decode())
        raw.first_text("from")

    _guard(run)


def email_reader(data: bytes) -> None:
    """ingest/readers/email_reader.py: a message read as ingest reads it (fields, text, attachments)."""
    _read(data, "message.eml", mime="message/rfc822", hint="email")


def mbox_splitter(data: bytes) -> None:
    """ingest/readers/mbox.py: the separator scan, the members' ranges and mboxrd unquoting."""

    def run() -> None:
        offsets = list(split_offsets(data))
        last = 0
        for sep, start, end in offsets:
            if not (last <= sep <= start <= end <= len(data)):
                raise ContractBroken(f"member range out of order: {(sep, start, end)} after {last}")
            last = end
            _msg, findings = cut_message(data[start:end])
            _declared(findings)
        split_messages(data)

    _guard(run)
    _read(data, "box.mbox", mime="application/mbox")


def archive_walker(data: bytes) -> None:
    """ingest/readers: sniff, read, and read each member again (as the walker does), 3 levels deep."""
    blobs = BlobStore(_scratch.get() / "blobs")
    todo = [(data, "dump.bin", 0)]
    seen = 0
    while todo and seen < 50:
        item, name, depth = todo.pop()
        seen += 1
        ctx = _read(item, name, depth=depth, blobs=blobs)
        if depth >= 3:
            continue
        for child in ctx.children:
            if child.sha256 and child.state in ("stored", "pending"):
                child_bytes = blobs.read(child.sha256)
                if family(sniff(child_bytes, child.name, len(child_bytes))) in ("archive", "mbox", "email"):
                    todo.append((child_bytes, child.name or "member", depth + 1))


def _docmeta(fam: str, mime: str, suffix: str) -> Callable[[bytes], None]:
    def harness(data: bytes) -> None:
        path = _file(data, f"doc{suffix}")
        # The entry point: never raises, whatever the file.
        meta = _guard(lambda: docmeta.extract_metadata(path, mime))
        if meta is None:
            raise ContractBroken("extract_metadata returned nothing")
        _declared(meta.findings)
        # The family's parser on its own: a library's error on a damaged file is its declared way to
        # fail (extract_metadata makes it a finding), but a bug type raised in leaklens's own code is not.
        try:
            docmeta._EXTRACTORS[fam](path, docmeta.DocMetadata(family=fam))
        except BUG_TYPES as exc:
            if _raised_in_leaklens(exc):
                raise ContractBroken(f"{type(exc).__name__} in leaklens's {fam} parser: {exc}"[:300]) from exc
        except Exception:  # noqa: BLE001 - the library's failure mode, checked above through the entry point
            pass

    harness.__name__ = f"docmeta_{fam}"
    harness.__doc__ = f"verify/docmeta/{fam}.py through extract_metadata and on its own."
    return harness


def _raised_in_leaklens(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and "/leaklens/" in last.replace("\\", "/") and "/fuzz/" not in last


def spread_reader(data: bytes) -> None:
    """spread/readers: the sniffers, then every reader on the file (each post a Post, each bad line a Bad)."""
    path = _file(data, "export.json")
    head = data[:65536]

    def run() -> None:
        spread_pick(path, head)
        for reader in spread_readers().values():
            reader.sniff(head, path.name)
            for n, got in enumerate(reader.read(path)):
                if not isinstance(got, Post | Bad):
                    raise ContractBroken(f"{reader.name} yielded {type(got).__name__}")
                if n > 10_000:
                    break

    _guard(run)


_SCORER: Scorer | None = None


def domain_parser(data: bytes) -> None:
    """intel/domains.py and intel/lookalike.py: hosts, URLs, labels and the lookalike score."""
    global _SCORER
    if _SCORER is None:
        _SCORER = Scorer(["examplebank.com", "paypal.com", "bund.de"])
    text = data.decode("utf-8", "replace")

    def run() -> None:
        split_host(text)
        host_of_url(text)
        ip_of_url(text)
        for label in text.split(".")[:8]:
            unicode_label(label)
        _SCORER.score(text)
        try:
            protected_domain(text)
        except ValueError:
            pass  # protected_domain's documented refusal of a name that is not a domain

    _guard(run)


HARNESSES: dict[str, Callable[[bytes], None]] = {
    "mime_reader": mime_reader,
    "header_block": header_block,
    "email_reader": email_reader,
    "mbox_splitter": mbox_splitter,
    "archive_walker": archive_walker,
    "docmeta_pdf": _docmeta("pdf", "application/pdf", ".pdf"),
    "docmeta_ooxml": _docmeta("ooxml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                              ".docx"),
    "docmeta_odf": _docmeta("odf", "application/vnd.oasis.opendocument.text", ".odt"),
    "docmeta_ole": _docmeta("ole", "application/msword", ".doc"),
    "docmeta_rtf": _docmeta("rtf", "application/rtf", ".rtf"),
    "docmeta_exif": _docmeta("exif", "image/jpeg", ".jpg"),
    "spread_readers": spread_reader,
    "domain_parser": domain_parser,
}


# -- seed inputs: one or more valid files per harness, so mutation starts from real structure --------
MESSAGE = (
    b"From: Alice Example <alice@example.com>\r\nTo: bob@example.org, \"Carol\" <carol@example.net>\r\n"
    b"Subject: =?utf-8?q?Quarterly_r=C3=A9sultats?=\r\nDate: Tue, 1 Mar 2022 10:00:00 +0100\r\n"
    b"Message-ID: <1@example.com>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n"
    b"Content-Type: multipart/alternative; boundary=b2\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nHello =C3=A9\r\n--b2\r\nContent-Type: text/html\r\n\r\n"
    b"<p>Hello</p>\r\n--b2--\r\n--b1\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n"
    b"Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: x@y.z\r\nSubject: inner\r\n\r\ninner body\r\n--b1--\r\n"
)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buf.getvalue()


def _tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def _pdf() -> bytes:
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Author (Alice) /Creator (Word) /Producer (macOS Quartz) /CreationDate (D:20220301100000+01'00') "
        b"/ModDate (D:20220302100000Z) /Title <FEFF00480069> >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (i, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R /ID [<00112233> <44556677>] >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objs) + 1, xref))
    # An incremental update, so the revision reader has two revisions to compare.
    out.write(b"4 0 obj\n<< /Author (Mallory) /ModDate (D:20230101000000Z) >>\nendobj\n%%EOF\n")
    return out.getvalue()


def _ooxml() -> bytes:
    core = (b'<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            b'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/'
            b'dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>Alice</dc:creator>'
            b'<cp:lastModifiedBy>Bob</cp:lastModifiedBy><cp:revision>3</cp:revision><dcterms:created '
            b'xsi:type="dcterms:W3CDTF">2022-03-01T10:00:00Z</dcterms:created><dcterms:modified xsi:type="dcterms:'
            b'W3CDTF">2022-03-02T10:00:00Z</dcterms:modified></cp:coreProperties>')
    app = (b'<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
           b'extended-properties"><Application>Microsoft Office Word</Application><AppVersion>16.0000</AppVersion>'
           b'<TotalTime>12</TotalTime><Company>ACME</Company><Template>Normal.dotm</Template></Properties>')
    return _zip({"[Content_Types].xml": b'<?xml version="1.0"?><Types/>', "docProps/core.xml": core,
                 "docProps/app.xml": app, "word/document.xml": b"<w:document/>"})


def _odf() -> bytes:
    meta = (b'<?xml version="1.0"?><office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
            b'office:1.0" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/'
            b'dc/elements/1.1/"><office:meta><meta:generator>LibreOffice/7.3</meta:generator><meta:initial-creator>'
            b'Alice</meta:initial-creator><dc:creator>Bob</dc:creator><meta:creation-date>2022-03-01T10:00:00'
            b'</meta:creation-date><dc:date>2022-03-02T10:00:00</dc:date><meta:editing-cycles>4</meta:editing-cycles>'
            b'<meta:editing-duration>PT1H2M3S</meta:editing-duration></office:meta></office:document-meta>')
    return _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "meta.xml": meta,
                 "content.xml": b"<office:document-content/>"})


def _rtf() -> bytes:
    return (b"{\\rtf1\\ansi\\deff0{\\info{\\title Report}{\\author Alice}{\\operator Bob}"
            b"{\\creatim\\yr2022\\mo3\\dy1\\hr10\\min0}{\\revtim\\yr2022\\mo3\\dy2\\hr10\\min0}{\\version2}"
            b"{\\edmins12}{\\*\\company ACME}}\\pard Hello \\'e9\\u8364?\\par}")


def _jpeg() -> bytes:
    # A minimal JPEG with an APP1 Exif segment (big-endian TIFF, IFD0 with Make, Model, Software, DateTime).
    import struct

    entries = [(0x010F, b"Canon\x00"), (0x0110, b"EOS 5D\x00"), (0x0131, b"GIMP 2.10\x00"),
               (0x0132, b"2022:03:01 10:00:00\x00")]
    ifd_size = 2 + 12 * len(entries) + 4
    data_off = 8 + ifd_size
    ifd = struct.pack(">H", len(entries))
    blob = b""
    for tag, value in entries:
        ifd += struct.pack(">HHII", tag, 2, len(value), data_off + len(blob))
        blob += value
    ifd += b"\x00\x00\x00\x00"
    tiff = b"MM\x00*" + struct.pack(">I", 8) + ifd + blob
    app1 = b"Exif\x00\x00" + tiff
    return (b"\xff\xd8\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + b"\xff\xdb\x00\x43\x00" + bytes(64)
            + b"\xff\xd9")


def _ole() -> bytes:
    # The header of a compound file with one FAT sector; olefile reads it as an empty storage.
    import struct

    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 44, 1, 1, 0, 0x1000, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    struct.pack_into("<I", header, 76, 0)
    header[80:512] = b"\xff" * 432
    fat = struct.pack("<II", 0xFFFFFFFD, 0xFFFFFFFE) + b"\xff" * 504
    entry = bytearray(128)
    name = "Root Entry".encode("utf-16-le") + b"\x00\x00"
    entry[0:len(name)] = name
    struct.pack_into("<HBB", entry, 64, len(name), 5, 1)
    struct.pack_into("<III", entry, 68, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    struct.pack_into("<II", entry, 116, 0xFFFFFFFE, 0)
    directory = bytes(entry) + bytes(384)
    return bytes(header) + fat + directory


def _tweets() -> bytes:
    return (b'{"id_str":"1","full_text":"see https://examp1ebank.com/login #leak","created_at":"Tue Mar 01 10:00:00'
            b' +0000 2022","user":{"id_str":"9","screen_name":"alice"},"entities":{"urls":[{"expanded_url":'
            b'"https://bit.ly/x"}]}}\n{"id_str":"2","text":"RT @alice: see","retweeted_status":{"id_str":"1"},'
            b'"created_at":"Tue Mar 01 10:05:00 +0000 2022","user":{"id_str":"8","screen_name":"bob"}}\n')


def _seeds() -> dict[str, list[bytes]]:
    mbox = b"From alice@example.com Tue Mar  1 10:00:00 2022\n" + MESSAGE.replace(b"\r\n", b"\n") + (
        b"\nFrom bob@example.org Tue Mar  1 11:00:00 2022\nFrom: bob@example.org\nSubject: two\n\n>From quoted\n"
        b">>From twice\nbody\n")
    archive = _zip({"mail/a.eml": MESSAGE, "inner.zip": _zip({"b.txt": b"hello"}), "box.mbox": mbox,
                    "docs/r.pdf": _pdf()})
    return {
        "mime_reader": [MESSAGE, b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\na\r\n--x--\r\n"],
        "header_block": [MESSAGE, b"From: a@b\r\nFrom: c@d\r\n x\r\nbad line\r\nSubject:\r\n\r\n"],
        "email_reader": [MESSAGE],
        "mbox_splitter": [mbox],
        "archive_walker": [archive, _tar({"a.eml": MESSAGE, "b.zip": _zip({"c.txt": b"c"})}),
                           _tar({"x.eml": MESSAGE}, "w:gz")],
        "docmeta_pdf": [_pdf()],
        "docmeta_ooxml": [_ooxml()],
        "docmeta_odf": [_odf()],
        "docmeta_ole": [_ole()],
        "docmeta_rtf": [_rtf()],
        "docmeta_exif": [_jpeg()],
        "spread_readers": [_tweets(), b"id,date,from,text\n1,2022-03-01 10:00:00,alice,hello https://x.y/z\n",
                           b'{"name":"chan","type":"public_channel","messages":[{"id":1,"type":"message","date":'
                           b'"2022-03-01T10:00:00","from":"a","from_id":"user1","text":["hi ",{"type":"link",'
                           b'"text":"https://x.y"}]}]}'],
        "domain_parser": [b"https://xn--pypal-4ve.com/login", b"examp1ebank-secure-login.co.uk", b"192.168.0.1",
                          "pаypal.com".encode()],
    }


SEEDS = _seeds()
