"""The reader registry: each format module declares what it reads; one line per module here."""

from __future__ import annotations

from . import archives, documents, email_reader, mbox
from .base import ReaderSpec

_MODULES = [email_reader, mbox, archives, documents]

try:  # Outlook formats need libpff/extract-msg; without them those files are stored unread.
    from . import outlook

    _MODULES.append(outlook)
except ImportError:  # pragma: no cover - depends on the machine
    outlook = None

REGISTRY: list[ReaderSpec] = [spec for module in _MODULES for spec in module.READERS]


def reader_for(mime: str) -> ReaderSpec:
    """The best-scoring reader for a MIME type; the leaf reader reads anything."""
    candidates = [s for s in REGISTRY if mime in s.mimes or "*" in s.mimes]
    return max(candidates, key=lambda s: (s.score, "*" not in s.mimes))
