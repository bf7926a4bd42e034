"""zip, tar (plain or compressed), 7z, and single-file gzip/bzip2/xz.

Each member becomes a child item through ``ctx.add_child``, which enforces the
expansion-ratio and total-budget limits while streaming. Symlinks, devices and
encrypted members are recorded as skipped, with a reason, so that the
accounting still balances.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

from ...model import Finding
from ...store.blobs import LimitExceeded
from .archive_names import clean_member_name, unsafe_name_findings
from .base import BudgetExceeded, ReadContext, ReaderSpec, Source
from .zip_recover import scan_local_headers


def _encrypted(name: str) -> Finding:
    return Finding(
        "ingest.encrypted",
        "warning",
        "This member is encrypted; without the password its content cannot be read.",
        {"member": name},
    )


def _corrupt(ctx: ReadContext, fmt: str, exc: BaseException, **extra) -> None:
    ctx.finding(
        "ingest.corrupt",
        "warning",
        f"The {fmt} archive is damaged or truncated; the members that could be read were kept.",
        error=f"{type(exc).__name__}: {exc}"[:300],
        **extra,
    )


# --- zip ---------------------------------------------------------------------------


def read_zip(src: Source, ctx: ReadContext) -> None:
    ctx.kind = "archive"
    try:
        zf = zipfile.ZipFile(src.path)
    # NotImplementedError: a central directory asking for a zip version Python cannot read.
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        _corrupt(ctx, "zip", exc, recovery="local headers scanned")
        scan_local_headers(src.path, ctx)
        return
    with zf:
        try:
            infos = zf.infolist()
        except Exception as exc:  # noqa: BLE001 - a damaged directory must not stop the run
            _corrupt(ctx, "zip", exc)
            return
        for info in infos:
            # ZipInfo.is_dir() reads the name's last character: an empty name raised IndexError.
            if info.filename.endswith("/"):
                continue
            name = clean_member_name(info.filename)
            findings = unsafe_name_findings(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                ctx.skip_child(
                    name,
                    "symbolic link (not followed)",
                    findings=[
                        *findings,
                        Finding(
                            "ingest.symlink",
                            "info",
                            "A symbolic link inside the archive was recorded but not followed.",
                            {"member": info.filename},
                        ),
                    ],
                )
                continue
            if info.flag_bits & 0x1:
                ctx.skip_child(name, "encrypted member", findings=[*findings, _encrypted(info.filename)])
                continue
            hints = {
                "archive_mtime": "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}".format(*info.date_time),
                "member_name": info.filename,
            }
            try:
                with zf.open(info) as stream:
                    ctx.add_child(
                        name,
                        stream=stream,
                        declared_size=info.file_size,
                        compressed_size=info.compress_size,
                        hints=hints,
                        findings=findings,
                    )
            except BudgetExceeded:
                raise
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                NotImplementedError,
                ValueError,
                RuntimeError,
                lzma.LZMAError,
            ) as exc:
                ctx.fail_child(
                    name,
                    f"unreadable member: {type(exc).__name__}: {exc}"[:300],
                    hints=hints,
                    findings=findings,
                )


# --- tar ---------------------------------------------------------------------------


def read_tar(src: Source, ctx: ReadContext) -> None:
    ctx.kind = "archive"
    try:
        tf = tarfile.open(src.path, mode="r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        _corrupt(ctx, "tar", exc)
        return
    with tf:
        while True:
            try:
                member = tf.next()
            except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
                _corrupt(ctx, "tar", exc)
                break
            if member is None:
                break
            if member.isdir():
                continue
            name = clean_member_name(member.name)
            findings = unsafe_name_findings(member.name)
            hints = {"archive_mtime": member.mtime, "member_name": member.name}
            if member.issym() or member.islnk():
                ctx.skip_child(
                    name,
                    "link (not followed)",
                    hints=hints,
                    findings=[
                        *findings,
                        Finding(
                            "ingest.symlink",
                            "info",
                            "A link inside the archive was recorded but not followed.",
                            {"member": member.name, "target": member.linkname},
                        ),
                    ],
                )
                continue
            if not member.isfile():
                ctx.skip_child(name, "special file (device, fifo)", hints=hints, findings=findings)
                continue
            try:
                stream = tf.extractfile(member)
                assert stream is not None
                with stream:
                    # A tar member is stored, not compressed: the ratio guard applies to the
                    # compressed tar as a whole, through the expansion budget.
                    ctx.add_child(name, stream=stream, declared_size=member.size, hints=hints, findings=findings)
            except BudgetExceeded:
                raise
            except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError, AssertionError) as exc:
                ctx.fail_child(
                    name,
                    f"unreadable member: {type(exc).__name__}: {exc}"[:300],
                    hints=hints,
                    findings=findings,
                )


# --- single-stream compressors -------------------------------------------------------

_OPENERS = {
    "application/gzip": gzip.open,
    "application/x-bzip2": bz2.open,
    "application/x-xz": lzma.open,
}
_SUFFIXES = {
    "application/gzip": (".gz", ".tgz"),
    "application/x-bzip2": (".bz2", ".tbz2"),
    "application/x-xz": (".xz", ".txz"),
}


def _looks_like_tar(opener, path: Path) -> bool:
    try:
        with opener(path, "rb") as fh:
            head = fh.read(512)
    except (OSError, EOFError, zlib.error, lzma.LZMAError):
        return False
    return len(head) == 512 and head[257:262] == b"ustar"


def read_compressed(src: Source, ctx: ReadContext) -> None:
    opener = _OPENERS[src.mime]
    if _looks_like_tar(opener, src.path):
        read_tar(src, ctx)
        return
    ctx.kind = "archive"
    name = src.name
    for suffix in _SUFFIXES[src.mime]:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)] + (".tar" if suffix.startswith(".t") else "")
            break
    else:
        name = name + ".out"
    try:
        with opener(src.path, "rb") as stream:
            ctx.add_child(name, stream=stream, compressed_size=src.size)
    except BudgetExceeded:
        raise
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        _corrupt(ctx, src.mime.split("/")[-1].removeprefix("x-"), exc)
        # Keep what decompresses before the damage.
        _salvage(opener, src, ctx, name)


def _salvage(opener, src: Source, ctx: ReadContext, name: str) -> None:
    tmp = tempfile.SpooledTemporaryFile(max_size=64 << 20)
    try:
        with opener(src.path, "rb") as stream:
            while True:
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                tmp.write(chunk)
    except (OSError, EOFError, zlib.error, lzma.LZMAError):
        pass
    if tmp.tell():
        tmp.seek(0)
        ctx.add_child(
            name + ".partial",
            stream=tmp,
            compressed_size=src.size,
            findings=[
                Finding(
                    "ingest.truncated",
                    "warning",
                    "Only the start of this compressed file could be recovered.",
                    {"recovered_bytes": tmp.tell()},
                )
            ],
        )
    else:
        ctx.fail_child(name, "nothing could be decompressed")


# --- 7z ------------------------------------------------------------------------------


def read_7z(src: Source, ctx: ReadContext) -> None:
    import py7zr
    from py7zr.exceptions import Bad7zFile, PasswordRequired, UnsupportedCompressionMethodError

    ctx.kind = "archive"
    errors = (
        Bad7zFile,
        PasswordRequired,
        UnsupportedCompressionMethodError,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        lzma.LZMAError,
        zlib.error,
        RuntimeError,
        AttributeError,
    )
    try:
        archive = py7zr.SevenZipFile(src.path, mode="r")
    except PasswordRequired:
        ctx.finding(
            "ingest.encrypted",
            "warning",
            "The 7z archive's file list is encrypted; without the password nothing can be read.",
        )
        return
    except errors as exc:
        _corrupt(ctx, "7z", exc)
        return
    with archive:
        try:
            entries = [e for e in archive.list() if not e.is_directory]
            encrypted = archive.needs_password()
        except errors as exc:
            _corrupt(ctx, "7z", exc)
            return
        if encrypted:
            for e in entries:
                ctx.skip_child(
                    clean_member_name(e.filename),
                    "encrypted member",
                    findings=[*unsafe_name_findings(e.filename), _encrypted(e.filename)],
                )
            return
        total = sum(e.uncompressed for e in entries)
        if total > max(src.size * ctx.limits.max_ratio, 1 << 20):
            for e in entries:
                ctx._bomb(clean_member_name(e.filename), total, src.size, None, [], None)
            return
        factory = _SevenZipFactory(ctx)
        try:
            archive.extract(factory=factory)
        except BudgetExceeded:
            raise
        except errors as exc:
            _corrupt(ctx, "7z", exc)
        by_name = {e.filename: e for e in entries}
        for name, entry in by_name.items():
            if name not in factory.done:
                if getattr(entry, "is_symlink", False):
                    ctx.skip_child(clean_member_name(name), "symbolic link (not followed)")
                else:
                    ctx.fail_child(
                        clean_member_name(name),
                        "member could not be extracted",
                        findings=unsafe_name_findings(name),
                    )


class _SevenZipFactory:
    """Streams each 7z member into a spooled temp file, then into the blob store."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.done: set[str] = set()

    def create(self, filename: str):
        return _SevenZipMember(self, filename)


class _SevenZipMember:
    def __init__(self, factory: _SevenZipFactory, filename: str) -> None:
        self.factory = factory
        self.filename = filename
        self.buf = tempfile.SpooledTemporaryFile(max_size=32 << 20)
        self.written = 0
        self.cap = min(factory.ctx.limits.max_item_bytes, factory.ctx.budget - factory.ctx.expanded)
        self.over = False

    def write(self, s) -> int:
        self.written += len(s)
        if self.written > self.cap:
            self.over = True
        elif not self.over:
            self.buf.write(s)
        return len(s)

    def read(self, size=None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.written

    def close(self) -> None:
        if self.filename in self.factory.done:
            return
        self.factory.done.add(self.filename)
        ctx = self.factory.ctx
        name = clean_member_name(self.filename)
        findings = unsafe_name_findings(self.filename)
        if self.over:
            ctx.skip_child(name, "larger than the remaining expansion budget", findings=findings)
            return
        self.buf.seek(0)
        try:
            ctx.add_child(name, stream=self.buf, findings=findings, hints={"member_name": self.filename})
        except LimitExceeded:
            ctx.skip_child(name, "larger than the remaining expansion budget", findings=findings)
        finally:
            self.buf.close()


READERS = [
    ReaderSpec("zip", ("application/zip",), read_zip),
    ReaderSpec("tar", ("application/x-tar",), read_tar),
    ReaderSpec("compressed", tuple(_OPENERS), read_compressed),
    ReaderSpec("7z", ("application/x-7z-compressed",), read_7z),
]
