"""Batch search (Datashare's): a list of terms, one a line, each counted as its own search.

A reporter pastes the names, companies or account numbers of a story and sees at once which the
leak holds and how often; a line the grammar cannot read gets its message in its row, the other
lines are still counted. `leaklens search --batch FILE` and the web's batch form both read this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import UsageError
from ..store.base import CaseStore

MAX_TERMS = 1000  # a list longer than this is a mistake (a whole file pasted), said in one line


@dataclass(frozen=True)
class BatchRow:
    term: str  # the query as written on its line
    count: int | None  # None: the line could not be read (`error` says why)
    error: str | None = None


def read_terms(lines: Iterable[str]) -> list[str]:
    """The terms of a list: one a line, blank lines and lines starting with # skipped, each once."""
    terms = [line.strip() for line in lines]
    terms = list(dict.fromkeys(t for t in terms if t and not t.startswith("#")))
    if len(terms) > MAX_TERMS:
        raise UsageError(f"a batch holds at most {MAX_TERMS:,} terms, this one {len(terms):,}: split it")
    return terms


def batch_search(store: CaseStore, terms: Iterable[str]) -> list[BatchRow]:
    """Each term's count of matches (a term is any query: `budg*`, `"Jean Dupont"`), in the list's order."""
    rows = []
    for term in terms:
        try:
            rows.append(BatchRow(term, store.search_count(term) or 0))
        except UsageError as exc:
            rows.append(BatchRow(term, None, str(exc)))
    return rows
