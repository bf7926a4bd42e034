"""Snippets of a page of hits: the passage of each that holds the query's words, the matches
wrapped in \\x02 ... \\x03 (the callers' markers: HTML escapes around them, the CLI colours them).

The index does not keep the texts (that is what makes it small): a page's texts are read from
the store, and tantivy's snippet generator picks the passage, as its analyzer sees the words.

A long text is read a window at a time, up to the first window with a match: the generator
tokenizes everything it is given, and the stemmed pass (Snowball) costs ~10 ms per 100 KB, so a
page of 25 long reports ranked first for a common word spent 0.4 s on passages never shown.
"""

from __future__ import annotations

from collections.abc import Mapping

import tantivy

from .schema import STEM_FIELDS, TEXT_FIELDS
from .translate import stems_of, unit_query

MAX_CHARS = 110  # about the twelve words FTS5's snippet() showed
ELLIPSIS = " … "  # where the passage is cut, as FTS5's snippet() wrote it
# The text fields a snippet may come from, the body first (what a reader wants to see), then
# the fields with the heaviest weight.
SNIPPET_FIELDS = ("body", "subject", "names", "sender", "recipients")
# Characters of a text given to a generator at once; the next window starts OVERLAP before its
# end (at a space), so a passage or a phrase across the cut is whole in one of them.
WINDOW = 10_000
OVERLAP = 2 * MAX_CHARS


class Snippets:
    """The snippet generators of one query on one searcher (one per text field, made once a page)."""

    def __init__(self, searcher: tantivy.Searcher, schema: tantivy.Schema, units: list[list[str]]) -> None:
        weights = dict(TEXT_FIELDS)
        self.generators: list[tuple[str, tantivy.SnippetGenerator]] = []
        for name in SNIPPET_FIELDS:
            parts = [(tantivy.Occur.Should, unit_query(schema, w, ((name, weights[name]),))) for w in units]
            gen = tantivy.SnippetGenerator.create(searcher, tantivy.Query.boolean_query(parts), schema, name)
            gen.set_max_num_chars(MAX_CHARS)
            self.generators.append((name, gen))
        # Then a word's stems in the text (subject and body): "virement" marks "Virements". A stem
        # no document holds is left out: the generator weighs a term by its documents and never
        # marks one of none, so a language absent from the case would read every text for nothing.
        self.stemmed: list[tuple[str, tantivy.SnippetGenerator]] = []
        for name, language, _weight in STEM_FIELDS:
            stems = [s for w in units if len(w) == 1 for s in stems_of(language, w[0]) if searcher.doc_freq(name, s)]
            if stems:
                parts = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, name, s)) for s in stems]
                gen = tantivy.SnippetGenerator.create(searcher, tantivy.Query.boolean_query(parts), schema, name)
                gen.set_max_num_chars(MAX_CHARS)
                self.stemmed.append((name, gen))

    def of(self, fields: Mapping[str, str]) -> str:
        """The snippet of one item from its text fields: the first field (in SNIPPET_FIELDS order)
        with a match, or the passage of its subject and body with more of the words' stems marked,
        else the start of its body."""
        first = None
        best: tuple[int, str] | None = None
        for name, gen in self.generators:
            text = fields.get(name) or ""
            if not text:
                continue
            found = first_match(gen, name, text)
            if found is not None:
                best = found
                break
            if first is None:
                first = text
        said = "\n".join(filter(None, (fields.get("subject"), fields.get("body"))))
        for name, gen in self.stemmed if said else ():
            found = first_match(gen, name, said)
            if found is not None and found[0] > (best[0] if best else 0):
                best = found
        if best is not None:
            return best[1]
        if first is None:
            return ""
        return first[:MAX_CHARS] + (ELLIPSIS if len(first) > MAX_CHARS else "")


def windows(text: str) -> list[tuple[int, int]]:
    """(start, end) of the windows `text` is read in: one for a text up to WINDOW characters, else
    cuts at a space, each window starting OVERLAP before the previous one's end."""
    if len(text) <= WINDOW:
        return [(0, len(text))]
    out, start = [], 0
    while True:
        end = start + WINDOW
        if end >= len(text):
            out.append((start, len(text)))
            return out
        space = _last_space(text, end - OVERLAP, end)  # a word is never cut in two
        end = space if space > start else end
        out.append((start, end))
        nxt = _last_space(text, end - OVERLAP, end - OVERLAP // 2)
        start = nxt + 1 if nxt > start else end - OVERLAP


def _last_space(text: str, lo: int, hi: int) -> int:
    return max(text.rfind(c, lo, hi) for c in " \n\t\r")


def first_match(gen: tantivy.SnippetGenerator, name: str, text: str) -> tuple[int, str] | None:
    """(matches marked, the marked passage) of the first window of `text` with a match, or None.
    In a text of several windows, that window is read again from just before its first match: the
    generator cuts a text into passages from its start and marks a phrase's words one by one, so a
    phrase across a window's end, or across one of its passages, is then whole in one passage."""
    cuts = windows(text)
    for start, end in cuts:
        found = _passage(gen, name, text, start, end)
        if found is None:
            continue
        if len(cuts) == 1:
            return found[:2]
        at = found[2]
        lo = max(0, at - MAX_CHARS // 2)
        if lo > 0:  # from the start of a word
            space = _last_space(text, lo, at)
            lo = space + 1 if space >= lo else lo
        hi = lo + WINDOW
        if hi < len(text):
            space = _last_space(text, hi - OVERLAP, hi)
            hi = space if space > at else hi
        again = _passage(gen, name, text, lo, min(hi, len(text)))
        return (again if again is not None and again[0] >= found[0] else found)[:2]
    return None


def _passage(gen: tantivy.SnippetGenerator, name: str, text: str, start: int, end: int) -> tuple[int, str, int] | None:
    """(matches marked, the marked passage, where in `text` its first match starts) of
    text[start:end], or None when it has no match."""
    part = text[start:end]
    doc = tantivy.Document()
    doc.add_text(name, part)
    snippet = gen.snippet_from_doc(doc)
    marks = snippet.highlighted()
    if not marks:
        return None
    first = snippet.fragment_range().start + min(h.start for h in marks)  # bytes of `part`
    at = start + len(part.encode("utf-8")[:first].decode("utf-8", "ignore"))
    return len(marks), marked(part, snippet, start > 0, end < len(text)), at


def marked(text: str, snippet: tantivy.Snippet, cut_before: bool = False, cut_after: bool = False) -> str:
    """The snippet's passage with its matches marked; matches apart by spaces only are one mark
    (a phrase reads as one), and an ellipsis says where the passage is cut from the text (`text`
    being a window of a longer one: `cut_before`/`cut_after` say it has more before/after)."""
    data = text.encode("utf-8")
    frag = snippet.fragment_range()
    start, end = frag.start, frag.end
    spans: list[list[int]] = []
    for h in snippet.highlighted():  # offsets in bytes of the fragment
        a, b = start + h.start, start + h.end
        if spans and not data[spans[-1][1] : a].strip():
            spans[-1][1] = b
        else:
            spans.append([a, b])
    out, at = [], start
    for a, b in spans:
        out += [data[at:a], b"\x02", data[a:b], b"\x03"]
        at = b
    out.append(data[at:end])
    body = b"".join(out).decode("utf-8", "replace")
    return (ELLIPSIS if start > 0 or cut_before else "") + body + (ELLIPSIS if end < len(data) or cut_after else "")
