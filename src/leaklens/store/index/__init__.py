"""Search for every backend: a tantivy index in the case folder (``DIR/index/``), derived from the
store (items, their texts and findings), rebuildable from it, kept up to date through the store's
search queue. `SearchIndexMixin` gives a backend the CaseStore search methods (what a backend
must provide for it: mixin.py's docstring)."""

from .engine import Busy, SearchIndex
from .mixin import SearchIndexMixin

__all__ = ["Busy", "SearchIndex", "SearchIndexMixin"]
