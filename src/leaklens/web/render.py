"""Jinja2 rendering with autoescape on, and the small filters the templates share."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..display import document_fields, evidence_shown, when
from ..model import VERDICTS
from . import query as webquery
from .charts import VERDICT_COLOURS, VERDICT_LABELS
from .leaktext import leak, leak_plain

_MARKERS = re.compile("([\x02\x03])")
_BDI_OPEN = '<bdi class="leak">'


def highlight(snippet: str | None) -> Markup:
    """FTS snippet -> HTML: everything escaped first, then the \\x02/\\x03 markers become <mark>."""
    if not snippet:
        return Markup("")
    out: list[str] = []
    open_ = False
    for part in _MARKERS.split(snippet):  # escaped run by run: per character, it was half the page's time
        if part == "\x02":
            if not open_:
                out.append("<mark>")
                open_ = True
        elif part == "\x03":
            if open_:
                out.append("</mark>")
                open_ = False
        elif part:
            # Leak text: hidden characters as markers (leaktext), the runs' own <bdi> dropped for one
            # around the whole snippet.
            shown = str(leak(part))
            out.append(shown[len(_BDI_OPEN) : -len("</bdi>")] if shown.startswith(_BDI_OPEN) else shown)
    if open_:
        out.append("</mark>")
    return Markup(_BDI_OPEN + "".join(out) + "</bdi>")


def plain_snippet(snippet: str | None) -> str:
    return (snippet or "").replace("\x02", "").replace("\x03", "")


def human_size(n: int | None) -> str:
    if n is None:
        return "—"
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def search_url(q: str, **params: Any) -> str:
    args = {"q": q, **{k: v for k, v in params.items() if v not in (None, "", 1, "relevance")}}
    return "/search?" + urlencode(args)


class Renderer:
    def __init__(self, templates: Path, *, case_name: str, auth: bool) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(templates)),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            highlight=highlight,
            human_size=human_size,
            pretty_json=pretty_json,
            plain_snippet=plain_snippet,
            leak=leak,
            leak_plain=leak_plain,
            when=when,
            evidence_shown=evidence_shown,
            document_fields=document_fields,
        )
        self.env.globals.update(
            VERDICTS=VERDICTS,
            VERDICT_LABELS=VERDICT_LABELS,
            VERDICT_COLOURS=VERDICT_COLOURS,
            case_name=case_name,
            auth=auth,
            search_url=search_url,
            add_filter=webquery.add_filter,
            remove_filter=webquery.remove_filter,
            facet_active=webquery.active,
            FACETS=webquery.FACETS,
            SEARCH_FILTERS=webquery.FILTERS,
            SORT_LABELS=webquery.SORT_LABELS,
        )

    def page(self, request: Request, name: str, **context: Any) -> str:
        session = getattr(request.state, "session", None)
        return self.env.get_template(name).render(
            request=request, csrf_token=session.csrf if session else "", path=request.url.path, **context
        )
