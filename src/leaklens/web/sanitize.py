"""Make an email's HTML inert before it is shown: an allow-list walk over lxml's tree.

The HTML is attacker-made. It is shown in an iframe with ``sandbox=""`` and a CSP
that allows no scripts, no remote loads and no forms; this module is the second
wall, so that a browser bug or a missed header still finds nothing to run or
fetch. What goes: scripts, event handlers, every element that loads or embeds
(iframe, object, embed, link, meta, base, form and its controls, svg, math),
every URL that is not ``data:image/...`` or an in-page ``#anchor``, and CSS
``url()``/``@import``/``expression()``. Links keep their text and show their
target in a title, so a reader can still see where they pointed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree
from lxml import html as lxml_html

# Dropped with everything inside them.
DROP_WHOLE = {
    "script",
    "noscript",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "link",
    "meta",
    "base",
    "svg",
    "math",
    "template",
    "audio",
    "video",
    "source",
    "track",
    "canvas",
    "portal",
    "param",
    "title",
}
# Dropped, keeping their text and children (the words of a form are still evidence).
UNWRAP = {
    "form",
    "button",
    "input",
    "select",
    "option",
    "optgroup",
    "textarea",
    "label",
    "fieldset",
    "legend",
    "datalist",
    "output",
    "dialog",
    "html",
    "head",
    "body",
    "picture",
    "map",
    "area",
    "font",
    "center",
}
ALLOWED = {
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
}
ATTRS = {
    "align",
    "alt",
    "bgcolor",
    "border",
    "cellpadding",
    "cellspacing",
    "class",
    "color",
    "colspan",
    "dir",
    "face",
    "height",
    "href",
    "id",
    "lang",
    "rowspan",
    "size",
    "src",
    "style",
    "summary",
    "title",
    "valign",
    "width",
    "headers",
    "scope",
    "start",
    "type",
    "reversed",
    "datetime",
    "cite",
    "name",
    "open",
}
_CSS_URL = re.compile(
    r"url\s*\(|@import|expression\s*\(|behaviou?r\s*:|-moz-binding|javascript:|image-set\s*\(|"
    r"\\[0-9a-f]",
    re.I,
)
_CSS_URL_CALL = re.compile(r"url\s*\([^)]*\)?", re.I)
_CSS_IMPORT = re.compile(r"@import[^;]*;?", re.I)
_DATA_IMAGE = re.compile(r"^data:image/(png|gif|jpeg|jpg|webp|bmp);base64,[a-z0-9+/=\s]*$", re.I)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# Presentation an email could use to pass itself off as the workbench: content taken out of the flow
# and pinned (a fake "✓ VERIFIED" badge drawn over the frame's top, staying there as one scrolls),
# stacked over other content, or pushed out of its box by negative margins or transforms.
# A property name not preceded by "-" or a letter: `background-position` is left alone.
_PRESENTATION = re.compile(
    r"(?<![-\w])(position|z-index|transform|translate|rotate|scale|inset|offset(?:-[a-z-]+)?|margin(?:-[a-z-]+)?)"
    r"\s*:\s*"
    r"((?:[^;}\"']|\"[^\"]*\"|'[^']*')*)",
    re.I,
)
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.S)
_NEGATIVE = re.compile(r"(?<![\w)])-\.?\d[\w.%]*")


def _neutral_presentation(m: re.Match[str]) -> str:
    name = m.group(1).lower()
    if name == "position":
        # Every box stays in the flow: even a relative one could be moved by top/left over other text.
        return "position: static"
    if name.startswith("margin"):
        # calc(), var() and the like could compute a negative margin the pattern cannot see.
        value = "0" if "(" in m.group(2) else _NEGATIVE.sub("0", m.group(2))
        return f"{m.group(1)}: {value}"
    return f"{m.group(1)}: initial"  # z-index, transforms, motion paths, inset: as if never written


# The stylesheet of the document the sanitised body is shown in (the sandboxed iframe): the third
# wall after the sanitiser and the sandbox, and the only !important rules there (the email's are
# stripped), so no box leaves the flow or grows wider than the frame, whatever the email wrote.
FRAME_CSS = (
    "body{font:15px/1.5 system-ui,sans-serif;color:#111;background:#fff;margin:12px;word-wrap:break-word;"
    "overflow-x:hidden}img{max-width:100%;height:auto}img[alt]{outline:1px dashed #999;font-size:12px;color:#555}"
    "*{position:static!important;z-index:auto!important;transform:none!important;translate:none!important;"
    "rotate:none!important;scale:none!important;max-width:100%!important;box-sizing:border-box}"
)


def clean_css(css: str) -> str:
    """CSS with nothing that loads or runs (url(), @import, expression() and escapes removed) and
    nothing that positions content out of the flow (position fixed/sticky/absolute, z-index, transforms,
    negative margins neutralised), so an email cannot draw over the frame that shows it."""
    # Comments could split a property name or value past the patterns below.
    css = _CSS_COMMENT.sub(" ", css)
    if _CSS_URL.search(css):
        css = _CSS_IMPORT.sub("", css)
        css = _CSS_URL_CALL.sub("none", css)
        # CSS escapes could spell "url(" or "fixed" past the patterns; drop them outright.
        css = re.sub(r"\\[0-9a-fA-F]{1,6}\s?", "", css)
        css = re.sub(r"expression\s*\(|behaviou?r\s*:|-moz-binding|javascript:|image-set\s*\(", "", css, flags=re.I)
    # The frame's own rules (FRAME_CSS) are !important and must win over every rule of the email.
    css = re.sub(r"!\s*important", "", css, flags=re.I)
    # Any escape left (`\p`, `\:`) spells a name as itself: gone, so a name reads as the patterns see it.
    css = css.replace("\\", "")
    return _PRESENTATION.sub(_neutral_presentation, css)


def sanitise_html(markup: str, *, cid_resolver: Callable[[str], str | None] | None = None) -> str:
    """An inert HTML fragment (body content only) made from an email's HTML part."""
    if not markup or not markup.strip():
        return ""
    # Control characters (which no HTML needs) would make lxml refuse to move text around below; a
    # NUL or ESC is shown as its control picture (U+2400...), so the reader sees that one was there.
    markup = _NOT_XML.sub(_control_picture, markup)
    try:
        doc = lxml_html.document_fromstring(markup)
    except (etree.ParserError, ValueError, TypeError):
        return ""
    # Comments and processing instructions can hide conditional markup (<!--[if IE]>...).
    for node in doc.xpath("//comment()|//processing-instruction()"):
        _remove_keep_tail(node)
    for el in list(doc.iter()):
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower().split("}")[-1]
        if tag in DROP_WHOLE:
            if el.getparent() is not None:
                _remove_keep_tail(el)
            continue
    for el in list(doc.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None and el is not doc:
            continue
        tag = el.tag.lower().split("}")[-1]
        if el is doc or tag in UNWRAP or tag not in ALLOWED:
            if el is not doc:
                el.drop_tag()
            continue
        _clean_attributes(el, tag, cid_resolver)
    body_parts = [lxml_html.tostring(child, encoding="unicode") for child in doc]
    text = doc.text or ""
    return (_escape_text(text) + "".join(body_parts)).strip()


def _control_picture(m: re.Match[str]) -> str:
    cp = ord(m.group())
    return chr(0x2400 + cp) if cp < 0x20 else "\ufffd"


def _attr_text(value: str) -> str:
    """Text safe to put in an attribute: lxml refuses control characters an attacker may have used."""
    return _NOT_XML.sub("\ufffd", value)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _remove_keep_tail(node: etree._Element) -> None:
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    prev = node.getprevious()
    parent.remove(node)
    if tail:
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _clean_attributes(el: etree._Element, tag: str, cid_resolver: Callable[[str], str | None] | None) -> None:
    for name in list(el.attrib):
        value = el.attrib[name]
        lname = name.lower()
        if lname not in ATTRS or lname.startswith("on"):
            del el.attrib[name]
            continue
        if lname == "style":
            el.attrib[name] = _attr_text(clean_css(value))
        elif lname == "href":
            target = value.strip()
            if not target.startswith("#"):
                del el.attrib[name]
                el.attrib["title"] = _attr_text(f"Link (disabled): {target[:300]}")
        elif lname == "src":
            src = value.strip()
            resolved = None
            if src.lower().startswith("cid:") and cid_resolver is not None:
                resolved = cid_resolver(src[4:])
            if resolved and _DATA_IMAGE.match(resolved):
                el.attrib[name] = resolved
            elif _DATA_IMAGE.match(src):
                el.attrib[name] = src
            else:
                del el.attrib[name]
                el.attrib["alt"] = _attr_text(f"[remote image blocked: {src[:200]}]") if src else "[image]"
        elif lname == "cite":
            del el.attrib[name]
    if tag == "style":
        # Style text is written out raw; no "<" may survive, or a "</style>" spelled with CSS escapes
        # (removed above) could end the element and start markup.
        el.text = _attr_text(clean_css(el.text or "")).replace("<", "")
        for child in list(el):
            el.remove(child)
