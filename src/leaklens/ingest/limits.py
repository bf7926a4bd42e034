"""Limits that keep a hostile dump from exhausting the machine. Every one is a CLI option."""

from __future__ import annotations

from dataclasses import dataclass

GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    """Containers nested deeper than this are stored but not opened."""
    max_ratio: int = 200
    """A member expanding more than this many times its compressed size is a bomb."""
    max_expanded_bytes: int = 50 * GiB
    """Total bytes a single source may expand to, all nesting levels together."""
    max_items: int = 2_000_000
    """Items a single source may produce before containers stop being opened."""
    max_item_bytes: int = 8 * GiB
    """Largest single member extracted from a container."""
    item_timeout: int = 300
    """Seconds one item may take to be read; past it the item fails with that reason."""
    max_text_chars: int = 5_000_000
    """Extracted text kept per item for search."""
