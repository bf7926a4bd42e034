"""The analysis as a reader gets it: Rich tables for the terminal, JSON, and GraphML for the networks
(coordination edges by method, cascade trees), which Gephi and networkx open."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .ingest import FileReport


def _dur(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def ingest_table(reports: Iterable[FileReport]) -> Table:
    t = Table(title="Posts read")
    for col in ("file", "format", "posts", "new", "merged", "malformed", "API errors", "skipped"):
        t.add_column(col, justify="right" if col not in ("file", "format") else "left", overflow="fold")
    for r in reports:
        if r.message and not r.posts:
            t.add_row(escape(Path(r.path).name), r.format or "—", "", "", "", "", "", "")
            continue
        t.add_row(
            escape(Path(r.path).name),
            r.format,
            *(f"{v:,}" for v in (r.posts, r.new, r.merged, r.malformed, r.errors, r.skipped)),
        )
    return t


def ingest_notes(reports: Iterable[FileReport]) -> list[str]:
    """One line per file that needs saying: unreadable, read before, or with malformed places (the first few)."""
    lines = []
    for r in reports:
        if r.message:
            lines.append(f"{r.path}: {r.message}")
        if r.malformed or r.errors:
            where = "; ".join(f"{e['where']}: {e['reason']}" for e in r.examples)
            lines.append(
                f"{r.path}: {r.malformed:,} malformed, {r.errors:,} API error object(s), the rest read"
                + (f" (first: {where})" if where else "")
            )
    return lines


def print_analysis(a: dict[str, Any], console: Console) -> None:
    console.print(
        f"[bold]{a['posts']:,}[/] posts ({a['posts_in_case']:,} in the case), {a['accounts']:,} accounts, "
        f"on {', '.join(a['platforms']) or 'no platform'}"
        + (f" — matching {escape('; '.join(a['match']))}" if a["match"] else "")
    )
    tl = a["timeline"]
    if tl["peak"]:
        console.print(f"Busiest {tl['unit']}: {tl['peak']['start']} with {tl['peak']['posts']:,} posts.")
    t = Table(title="First movers and the hop between platforms")
    for col in ("platform", "first post", "after the first", "account", "text"):
        t.add_column(col, overflow="fold")
    for h in a["first_movers"]["hops"]:
        t.add_row(
            h["platform"],
            h["time"],
            _dur(h["after_first_s"]),
            escape(h["author"] or "(anonymous)"),
            escape(h["text"][:100]),
        )
    console.print(t)
    c = a["cascades"]
    t = Table(title=f"Cascades ({c['count']:,}), largest first")
    for col in (
        "root",
        "account",
        "size",
        "depth",
        "reposts",
        "quotes",
        "replies",
        "≤1 min",
        "≤5 min",
        "to 50%",
        "to 90%",
    ):
        t.add_column(col, overflow="fold")
    for x in c["cascades"][:15]:
        t.add_row(
            escape(x["root"]),
            escape(x["root_author"] or ("—" if x["root_in_exports"] else "(not in exports)")),
            f"{x['size']:,}",
            str(x["depth"]),
            f"{x['repost']:,}",
            f"{x['quote']:,}",
            f"{x['reply']:,}",
            str(x["within_1min"]),
            str(x["within_5min"]),
            _dur(x["to_half_s"]),
            _dur(x["to_90pct_s"]),
        )
    console.print(t)
    t = Table(title="Amplifiers: accounts whose posts were repeated most")
    for col in ("account", "reposts caused", "quotes", "replies", "reach", "posts"):
        t.add_column(col, overflow="fold")
    for x in a["amplifiers"][:15]:
        t.add_row(
            escape(x["author"] or x["account"]),
            f"{x['reposts_caused']:,}",
            f"{x['quotes_caused']:,}",
            f"{x['replies_received']:,}",
            f"{x['reach']:,}",
            f"{x['posts']:,}",
        )
    console.print(t)
    co = a["coordination"]
    t = Table(title="Coordination signals (to examine: none is a verdict on a person)")
    for col in ("method", "parameters", "groups", "accounts", "largest group: accounts, evidence"):
        t.add_column(col, overflow="fold")
    for name, r in co["methods"].items():
        g = r["groups"]
        largest = ""
        if g:
            top = g[0]
            who = ", ".join(x["author"] or x["account"] for x in top["accounts"][:6])
            ev = (
                f"{top.get('shared_objects', 0):,} shared objects"
                if "shared_objects" in top
                else "; ".join(str(v) for v in top.get("evidence", {}).get("reasons", []))
                or json.dumps(top.get("evidence", {}), default=str)[:120]
            )
            largest = f"{who}{'…' if len(top['accounts']) > 6 else ''} — {ev}"
        p = r["parameters"]
        t.add_row(
            name,
            escape(", ".join(f"{k}={v}" for k, v in p.items() if not isinstance(v, dict))[:120]),
            str(len(g)),
            str(sum(x["size"] for x in g)),
            escape(largest),
        )
    console.print(t)
    if a["dump_links"]:
        t = Table(title="Posts sharing case items")
        for col in ("post", "item", "how", "value"):
            t.add_column(col, overflow="fold")
        for x in a["dump_links"][:30]:
            t.add_row(escape(x["uid"]), escape(x["item_path"] or x["item_id"]), x["how"], escape(str(x["value"])[:80]))
        console.print(t)


def write_json(a: dict[str, Any], out: IO[str]) -> None:
    json.dump(a, out, ensure_ascii=False, indent=1, default=str)
    out.write("\n")


def write_graphml(a: dict[str, Any], out: IO[str]) -> None:
    """Accounts linked by each pair method (edge attribute `method`, `weight`), and the top cascades' posts
    linked by their repost/quote/reply edges (`kind`). Node attribute `type`: account or post."""
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for name, r in a["coordination"]["methods"].items():
        for gi, g in enumerate(r["groups"]):
            for acc in g["accounts"]:
                n = nodes.setdefault(acc["account"], {"type": "account", "label": acc["author"] or acc["account"]})
                n["groups"] = (n.get("groups", "") + f" {name}#{gi + 1}").strip()
            for e in g.get("edges", []):
                edges.append((e["a"], e["b"], {"method": name, "weight": str(e["weight"])}))
    for c in a["cascades"]["cascades"]:
        for src, dst, kind in c["edges"]:
            for u in (src, dst):
                nodes.setdefault(u, {"type": "post", "label": u})
            edges.append((dst, src, {"kind": kind, "cascade": c["root"]}))
    keys = [
        ("type", "node"),
        ("label", "node"),
        ("groups", "node"),
        ("method", "edge"),
        ("weight", "edge"),
        ("kind", "edge"),
        ("cascade", "edge"),
    ]
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n')
    for k, dom in keys:
        typ = "double" if k == "weight" else "string"
        out.write(f'  <key id="{k}" for="{dom}" attr.name="{k}" attr.type="{typ}"/>\n')
    out.write('  <graph id="spread" edgedefault="directed">\n')
    for nid, attrs in nodes.items():
        out.write(f"    <node id={quoteattr(nid)}>")
        out.write("".join(f"<data key={quoteattr(k)}>{_x(v)}</data>" for k, v in attrs.items()))
        out.write("</node>\n")
    for k, (s, d, attrs) in enumerate(edges):
        out.write(f'    <edge id="e{k}" source={quoteattr(s)} target={quoteattr(d)}>')
        out.write("".join(f"<data key={quoteattr(x)}>{_x(v)}</data>" for x, v in attrs.items()))
        out.write("</edge>\n")
    out.write("  </graph>\n</graphml>\n")


def _x(v: str) -> str:
    # Characters XML 1.0 cannot hold at all (control characters from hostile posts) are dropped.
    text = "".join(ch for ch in str(v) if ch in "\t\n\r" or ord(ch) >= 0x20)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
