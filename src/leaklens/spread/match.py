"""Which posts an analysis is about: `--match` values, each a hashtag, a URL, a sha256 or md5, a case
item (`item:ID`), or a keyword. A post matches if any value does; the reposts, quotes and replies of
matching posts (whose text may have lost the hashtag to truncation) and the posts they answer or
repeat come with them, so every cascade is whole."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..store.base import CaseStore
from .table import POST_LINKS, PostSet

HEX64 = re.compile(r"[0-9a-fA-F]{64}")
HEX32 = re.compile(r"[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class Match:
    kind: str  # hashtag, url, sha256, md5, item, keyword
    value: str

    def describe(self) -> str:
        return f"{self.kind} {self.value}"


def parse(values: Sequence[str]) -> list[Match]:
    out = []
    for raw in values:
        v = raw.strip()
        if not v:
            continue
        if v.startswith("#") and len(v) > 1:
            out.append(Match("hashtag", v[1:].lower()))
        elif v.lower().startswith(("http://", "https://", "www.")):
            out.append(Match("url", norm_url(v)))
        elif HEX64.fullmatch(v):
            out.append(Match("sha256", v.lower()))
        elif HEX32.fullmatch(v):
            out.append(Match("md5", v.lower()))
        elif v.startswith("item:"):
            out.append(Match("item", v[5:]))
        else:
            out.append(Match("keyword", v.lower()))
    return out


SCHEME = re.compile(r"^[a-z]+://", re.I)


@lru_cache(maxsize=1 << 16)  # popular links recur across a million posts, in co-link and in the projection
def norm_url(url: str) -> str:
    """Scheme, "www." and a trailing slash dropped, host lower-cased: the forms of one link compare equal."""
    u = SCHEME.sub("", url.strip())
    host, sep, rest = u.partition("/")
    host = host.lower().removeprefix("www.")
    return (host + sep + rest).rstrip("/")


def select(ps: PostSet, matches: Sequence[Match], store: CaseStore | None = None) -> list[int]:
    """Indexes of the matching posts, with their cascades' other posts; every post when nothing is asked."""
    if not matches:
        return list(range(len(ps)))
    linked: set[str] = set()
    for m in matches:
        if m.kind in ("item", "sha256") and store is not None:
            item_ids = [m.value] if m.kind == "item" else [r["id"] for r in store.select_items(_by_sha(m.value))]
            for item_id in item_ids:
                linked.update(r["uid"] for r in store.table_rows(POST_LINKS, item_id=item_id))
    tags = {m.value for m in matches if m.kind == "hashtag"}
    urls = [m.value for m in matches if m.kind == "url"]
    words = [m.value for m in matches if m.kind == "keyword"]
    digests = {m.value for m in matches if m.kind in ("sha256", "md5")}
    hashtag_text = [re.compile(r"#" + re.escape(t) + r"\b", re.I) for t in tags]
    hit = set()
    for i in range(len(ps)):
        if ps.uid[i] in linked or (
            tags and (tags.intersection(ps.hashtags[i]) or any(p.search(ps.text[i]) for p in hashtag_text))
        ):
            hit.add(i)
            continue
        low = None
        if words:
            low = ps.text[i].lower()
            if (
                any(w in low for w in words)
                or any(w in u.lower() for u in ps.urls[i] for w in words)
                or any(w in (f.get("name") or "").lower() for f in ps.files[i] for w in words)
            ):
                hit.add(i)
                continue
        if urls and ps.urls[i]:
            mine = [norm_url(u) for u in ps.urls[i]]
            if any(u.startswith(w) for u in mine for w in urls):
                hit.add(i)
                continue
        if digests and (
            any(f.get("md5") in digests or f.get("sha256") in digests for f in ps.files[i])
            or any(d in (low if low is not None else ps.text[i].lower()) for d in digests)
        ):
            hit.add(i)
    return sorted(_with_cascades(ps, hit))


def _by_sha(sha: str):
    from ..store.base import ItemQuery

    return ItemQuery(sha256=sha)


def _with_cascades(ps: PostSet, hit: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    parent_of: dict[int, list[int]] = {}
    idx = ps.index
    for i in range(len(ps)):
        for ref in (ps.repost_of[i], ps.quote_of[i], ps.reply_to[i]):
            if ref:
                j = idx.get(ref)
                if j is not None:
                    children.setdefault(j, []).append(i)
                    parent_of.setdefault(i, []).append(j)
    out = set(hit)
    stack = list(hit)
    while stack:  # down: every repost, quote and reply of a matching post, at any depth
        for c in children.get(stack.pop(), ()):
            if c not in out:
                out.add(c)
                stack.append(c)
    stack = list(hit)
    while stack:  # up: what a matching post repeats or answers, to its root
        for p in parent_of.get(stack.pop(), ()):
            if p not in out:
                out.add(p)
                stack.append(p)
    return out
