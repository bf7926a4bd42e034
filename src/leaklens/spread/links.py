"""Links back to the dump: posts that share a case item, by the attachment's MD5 (4chan gives it for
every file), a sha256 written in the text, the file's name, or a URL whose last segment names it.

Each link is a row of `post_links`; each linked item gets one `spread.shared` finding (information,
no effect on its verdict) saying where and when it was first shared and by whom, so the item page
shows it with the rest of the evidence. The step `spread.links` runs it again after every verify, so
posts read before the dump (or the dump before the posts) are linked either way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from ..case import Case
from ..model import Finding
from ..steps import Run, derive_verdicts, step
from ..store.base import ItemQuery
from .model import iso
from .table import POST_LINKS, POSTS, decode_row, iter_parts

STAGE = "spread"
SHA = re.compile(r"\b[0-9a-fA-F]{64}\b")
MIN_NAME = 5  # shorter names ("a.jpg") say nothing about which file it was


def _name_key(name: str) -> str:
    return name.strip().lower()


def _url_name(url: str) -> str:
    try:
        path = urlsplit(url if "://" in url else "http://" + url).path
    except ValueError:
        return ""
    return _name_key(unquote(PurePosixPath(path).name))


def link_posts(case: Case) -> int:
    """Write `post_links` and the items' `spread.shared` findings again; returns the links found."""
    db = case.db
    db.ensure_table(POST_LINKS)
    by_sha: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    by_size: dict[int, list[tuple[str, str]]] = {}
    for item_id, sha, size, name in db.item_values(("id", "sha256", "size", "name"), ItemQuery(settled=True)):
        if sha:
            by_sha.setdefault(sha, []).append(item_id)
            if size is not None:
                by_size.setdefault(int(size), []).append((item_id, sha))
        if name and len(name) >= MIN_NAME and "." in name:
            by_name.setdefault(_name_key(name), []).append(item_id)
    md5_cache: dict[str, str] = {}

    def md5_of(sha: str) -> str:
        if sha not in md5_cache:
            h = hashlib.md5(usedforsecurity=False)
            try:
                with case.blobs.open(sha) as f:
                    while block := f.read(1 << 20):
                        h.update(block)
                md5_cache[sha] = h.hexdigest()
            except OSError:
                md5_cache[sha] = ""
        return md5_cache[sha]

    rows: list[dict[str, Any]] = []
    firsts: dict[str, list[dict[str, Any]]] = {}
    if by_sha:
        for part in iter_parts(db):
            for p in map(decode_row, part):
                found = list(_links_of(p, by_sha, by_name, by_size, md5_of))
                for item_id, how, value in found:
                    rows.append({"uid": p["uid"], "item_id": item_id, "how": how, "value": value})
                    firsts.setdefault(item_id, []).append({**p, "how": how})
    db.delete_rows(POST_LINKS)
    db.put_rows(POST_LINKS, rows)
    changed = db.clear_findings([STAGE])
    pairs = [(item_id, _finding(posts)) for item_id, posts in firsts.items()]
    db.add_findings_of(pairs, STAGE)
    changed |= set(firsts)
    if changed:
        derive_verdicts(db, ItemQuery(ids=tuple(changed)))
    return len(rows)


def _links_of(p: dict[str, Any], by_sha, by_name, by_size, md5_of) -> Iterable[tuple[str, str, str]]:
    seen = set()
    for f in p["files"]:
        if f.get("sha256") in by_sha:
            for i in by_sha[f["sha256"]]:
                seen.add((i, "sha256", f["sha256"]))
        if f.get("md5"):
            size = f.get("size")
            candidates = (
                by_size.get(int(size), [])
                if isinstance(size, int)
                else [(i, s) for v in by_size.values() for i, s in v]
            )
            for item_id, sha in candidates:
                if md5_of(sha) == f["md5"]:
                    seen.add((item_id, "md5", f["md5"]))
        name = _name_key(f.get("name") or "")
        for i in by_name.get(name, ()):
            seen.add((i, "name", f.get("name")))
    for u in p["urls"]:
        for i in by_name.get(_url_name(u), ()):
            seen.add((i, "url", u))
        for sha in SHA.findall(u):
            for i in by_sha.get(sha.lower(), ()):
                seen.add((i, "url", u))
    if "sha" in p["text"].lower() or len(p["text"]) >= 64:
        for sha in SHA.findall(p["text"]):
            for i in by_sha.get(sha.lower(), ()):
                seen.add((i, "sha256", sha.lower()))
    return seen


def _finding(posts: list[dict[str, Any]]) -> Finding:
    dated = sorted((p for p in posts if p["ts"] is not None), key=lambda p: p["ts"]) or posts
    first = dated[0]
    who = first["author"] or first["author_id"] or "an anonymous poster"
    uids = {p["uid"] for p in posts}
    platforms = sorted({p["platform"] for p in posts})
    when = iso(first["ts"]) or "an unknown time"
    how = sorted({p["how"] for p in posts})
    return Finding(
        "spread.shared",
        "info",
        f"First shared on {first['platform']} at {when}, by {who} ({', '.join(how)} match); "
        f"{len(uids)} post{'s' if len(uids) != 1 else ''} in all, on {', '.join(platforms)}.",
        {
            "first_post": first["uid"],
            "first_time": when,
            "first_author": who,
            "posts": len(uids),
            "platforms": platforms,
            "matched_by": how,
            "sample": sorted(uids)[:20],
        },
    )


def links_for_posts(case: Case, uids: Iterable[str]) -> list[dict[str, Any]]:
    wanted = set(uids)
    out = []
    for r in case.db.table_rows(POST_LINKS):
        if r["uid"] in wanted:
            item = case.db.item(r["item_id"])
            out.append({**r, "item_name": item["name"] if item else "", "item_path": item["path"] if item else ""})
    return out


def posts_for_item(case: Case, item_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The posts sharing this item, earliest first, each with how it matched."""
    out = []
    for r in case.db.table_rows(POST_LINKS, item_id=item_id):
        p = case.db.get_row(POSTS, (r["uid"],))
        if p:
            p = decode_row(p)
            out.append({**p, "how": r["how"], "value": r["value"], "time": iso(p["ts"])})
    out.sort(key=lambda p: (p["ts"] is None, p["ts"] or 0))
    return out[:limit]


@step("spread.links", needs=(), group="spread", stage=STAGE)
def _links_step(run: Run) -> set[str] | None:
    """Link the case's posts to its items again (new items, new posts)."""
    if run.case.db.table_columns(POSTS) and run.case.db.count_rows(POSTS):  # no table made as a side effect
        link_posts(run.case)
    return None
