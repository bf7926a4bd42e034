"""Snippets of a page of hits: the passage of each that holds the query's words, the matches
wrapped in \\x02 ... \\x03 (the callers' markers: HTML escapes around them, the CLI colours them).

The index does not keep the texts (that is what makes it small): a page's texts are read from
the store, and tantivy's snippet generator picks the passage, as its analyzer sees the words.
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
        # Then a word's stems in the text (subject and body): "virement" marks "Virements".
        self.stemmed: list[tuple[str, tantivy.SnippetGenerator]] = []
        for name, language, _weight in STEM_FIELDS:
            stems = [s for w in units if len(w) == 1 for s in stems_of(language, w[0])]
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
            doc = tantivy.Document()
            doc.add_text(name, text)
            snippet = gen.snippet_from_doc(doc)
            if snippet.highlighted():
                best = (len(snippet.highlighted()), marked(text, snippet))
                break
            if first is None:
                first = text
        said = "\n".join(filter(None, (fields.get("subject"), fields.get("body"))))
        for name, gen in self.stemmed if said else ():
            doc = tantivy.Document()
            doc.add_text(name, said)
            snippet = gen.snippet_from_doc(doc)
            if len(snippet.highlighted()) > (best[0] if best else 0):
                best = (len(snippet.highlighted()), marked(said, snippet))
        if best is not None:
            return best[1]
        if first is None:
            return ""
        return first[:MAX_CHARS] + (ELLIPSIS if len(first) > MAX_CHARS else "")


def marked(text: str, snippet: tantivy.Snippet) -> str:
    """The snippet's passage with its matches marked; matches apart by spaces only are one mark
    (a phrase reads as one), and an ellipsis says where the passage is cut from the text."""
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
    return (ELLIPSIS if start > 0 else "") + body + (ELLIPSIS if end < len(data) else "")
