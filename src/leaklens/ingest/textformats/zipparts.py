"""Opening the zip behind Office Open XML, OpenDocument and EPUB files, defensively.

Members are read through a byte cap (a 40 KB member can inflate to gigabytes),
an encrypted Office file (an OLE container holding ``EncryptedPackage``) is
reported as encrypted rather than as "not a zip", and relationship targets
are resolved as names inside the zip, never as file-system paths.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import olefile

from .support import Budget, Failed, Target, feed_xml, local

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@contextmanager
def open_package(path: Path, fmt: str) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        if _is_encrypted_ooxml(path):
            raise Failed("ingest.encrypted",
                         f"This {fmt.upper()} file is password-protected; its text could not be read.",
                         format=fmt, error="OLE container with an EncryptedPackage stream") from None
        raise Failed("ingest.text_failed",
                     f"This {fmt.upper()} file is damaged (not a valid zip); its text could not be read.",
                     format=fmt, error=str(exc)) from None
    with zf:
        yield zf


def _is_encrypted_ooxml(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            if f.read(8) != _OLE_MAGIC:
                return False
        with olefile.OleFileIO(str(path)) as ole:
            return bool(ole.exists("EncryptedPackage"))
    except Exception:  # a broken OLE file is simply not a recognisable encrypted package
        return False


def feed_member(zf: zipfile.ZipFile, name: str, handler: Target, limit: int, fmt: str,
                budget: Budget | None = None) -> None:
    """Parse one XML member through ``handler``; a missing member is silently skipped.

    ``budget``, shared by the members of one document, caps what all of them
    together may inflate to: a zip bomb can spread itself over many parts.
    """
    try:
        info = zf.getinfo(name)
    except KeyError:
        return
    if info.flag_bits & 0x1:
        raise Failed("ingest.encrypted",
                     f"This {fmt.upper()} file has encrypted parts; its text could not be read.",
                     format=fmt, member=name)
    if budget is not None:
        limit = min(limit, budget.remaining)
    with zf.open(info) as stream:
        read = feed_xml(stream, handler, name, limit)
    if budget is not None:
        budget.remaining -= read


def read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    """A small member (relationships, manifests) in full, or None if absent or over ``limit``."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.flag_bits & 0x1:
        return None
    with zf.open(info) as stream:
        data = stream.read(limit + 1)
    return None if len(data) > limit else data


class _Rels:
    def __init__(self) -> None:
        self.targets: dict[str, tuple[str, str, str]] = {}

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if local(tag) == "Relationship":
            rid = attrib.get("Id", "")
            self.targets[rid] = (attrib.get("Type", ""), attrib.get("Target", ""),
                                 attrib.get("TargetMode", ""))

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass


def relationships(zf: zipfile.ZipFile, part: str, limit: int) -> dict[str, tuple[str, str]]:
    """``{rId: (type, member name)}`` for the internal relationships of ``part`` ('' for the package)."""
    folder, base = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    handler = _Rels()
    try:
        feed_member(zf, rels_name, handler, limit, "ooxml")
    except Exception:  # unreadable relationships: fall back to conventional part names
        return {}
    out = {}
    for rid, (rtype, target, mode) in handler.targets.items():
        if mode.lower() == "external" or not target:
            continue
        if target.startswith("/"):
            resolved = posixpath.normpath(target.lstrip("/"))
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target))
        out[rid] = (rtype, resolved)
    return out


def main_part(zf: zipfile.ZipFile, default: str, limit: int) -> str:
    for rtype, name in relationships(zf, "", limit).values():
        if rtype.endswith("/officeDocument"):
            return name
    return default
