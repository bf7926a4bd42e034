"""Text from the leak as a reader must see it: what is invisible made visible, and isolated.

A name, subject, address, file name or snippet from a dump is attacker-made. A right-to-left
override (U+202E) turns `Rapport_\u202efdp.exe.docx` into what reads "Rapport_xcod.exe.pdf", and an
unclosed one reverses the app's own words after it; zero-width characters, NUL and other control
bytes hide what a string really holds. Every such character is shown as a small visible marker
(its short name, the code point in its title) instead of acting, and the whole value is wrapped in
`<bdi>` so that even legitimate right-to-left text (an Arabic name) cannot reorder the page around
it. The stored value is never changed: only how it is drawn (`leak`, the one Jinja filter every
template uses for leak text), how it reads in a title or attribute (`leak_plain`), and what a
download or export is named (`safe_filename`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from markupsafe import Markup, escape

# Short names a reader recognises; any other hidden character is shown as its code point.
SHORT_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BS",
    0x0B: "VT",
    0x0C: "FF",
    0x1B: "ESC",
    0x7F: "DEL",
    0xAD: "SHY",
    0x061C: "ALM",
    0x180E: "MVS",
    0x200B: "ZWSP",
    0x200C: "ZWNJ",
    0x200D: "ZWJ",
    0x200E: "LRM",
    0x200F: "RLM",
    0x2028: "LSEP",
    0x2029: "PSEP",
    0x202A: "LRE",
    0x202B: "RLE",
    0x202C: "PDF",
    0x202D: "LRO",
    0x202E: "RLO",
    0x2060: "WJ",
    0x2066: "LRI",
    0x2067: "RLI",
    0x2068: "FSI",
    0x2069: "PDI",
    0xFEFF: "BOM",
    0xFFFC: "OBJ",
}
# The ones that reorder text: said apart in a marker's title, the trick a reader should know of.
BIDI_CONTROLS = frozenset((0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Blank-looking letters and fillers that are not format characters (Hangul fillers, Braille blank).
_BLANK_LETTERS = frozenset((0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E))
# Whitespace a multi-line text keeps as itself (a body's lines and tabs).
_KEPT_IN_TEXT = frozenset("\t\n\r")

# A fast first look: most values hold none of these, and are only escaped.
_SUSPECT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufdd0-\ufdef\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffc\ufffe\uffff\u2800"
    "\U000e0000-\U000e0fff\U0001d173-\U0001d17a\U000f0000-\U0010ffff\ud800-\udfff]"
)
# Strong right-to-left letters: a value holding one is isolated even with nothing hidden in it (not
# the noncharacters U+FDD0-U+FDEF inside the Arabic presentation forms: they are no letters at all).
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdcf\ufdf0-\ufdff\ufe70-\ufefc\U00010800-\U00010fff\U0001e800-\U0001efff]")


def is_hidden(ch: str, *, multiline: bool = False) -> bool:
    """Whether `ch` draws nothing (or reorders what it touches) and must be shown as a marker."""
    if multiline and ch in _KEPT_IN_TEXT:
        return False
    cp = ord(ch)
    if cp in _BLANK_LETTERS:
        return True
    cat = unicodedata.category(ch)
    # Cc control, Cf format (bidi, zero-width, tags), Cs lone surrogate, Co private use (a private
    # font's glyph), Zl/Zp separators; variation selectors draw nothing of their own.
    # Noncharacters (U+FDD0-U+FDEF, U+FFFE/U+FFFF) are never assigned and draw nothing, or a box.
    return (
        cat in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
        or 0xFE00 <= cp <= 0xFE0F
        or 0xE0100 <= cp <= 0xE01EF
        or 0xFDD0 <= cp <= 0xFDEF
        or cp in (0xFFFE, 0xFFFF)
    )


def marker_name(ch: str) -> str:
    """The marker's text: a short name (RLO, NUL, ZWSP) or the code point."""
    cp = ord(ch)
    return SHORT_NAMES.get(cp) or f"U+{cp:04X}"


def describe(ch: str) -> str:
    """The marker's title: code point, Unicode name, and what it does when it is a bidi control."""
    cp = ord(ch)
    try:
        name = unicodedata.name(ch)
    except ValueError:
        name = "control character" if cp < 0x20 or 0x7F <= cp <= 0x9F else "unnamed character"
    what = (
        "reorders the text around it; shown here instead of acting"
        if cp in BIDI_CONTROLS
        else "invisible in the original; shown here as a marker"
    )
    return f"U+{cp:04X} {name}: {what}"


def _hidden_runs(text: str, multiline: bool) -> list[tuple[bool, str]]:
    """The text cut into (hidden?, run) pieces."""
    out: list[tuple[bool, str]] = []
    plain_start = 0
    for m in _SUSPECT.finditer(text):
        ch = m.group()
        if not is_hidden(ch, multiline=multiline):
            continue
        if m.start() > plain_start:
            out.append((False, text[plain_start : m.start()]))
        out.append((True, ch))
        plain_start = m.end()
    if plain_start < len(text):
        out.append((False, text[plain_start:]))
    return out


def needs_care(text: str) -> bool:
    """Whether the value holds a hidden character or right-to-left letters (else plain escaping will do)."""
    return bool(_SUSPECT.search(text) or _RTL.search(text))


def leak(value: Any, multiline: bool = False) -> Markup:
    """Leak text as HTML: escaped, each hidden character a visible marker, the whole isolated in `<bdi>`.

    The Jinja filter for every piece of leak text a page shows (`{{ row.subject|leak }}`); a body
    shown in a `<pre>` keeps its line breaks and tabs (`|leak(true)`). Markup passed in (already
    rendered by the app) is returned as it is.
    """
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    text = value if isinstance(value, str) else str(value)
    if not needs_care(text):
        return escape(text)
    parts = []
    for hidden, run in _hidden_runs(text, multiline):
        if hidden:
            parts.append(
                f'<span class="hidden-char" title="{escape(describe(run))}">{escape(marker_name(run))}</span>'
            )
        else:
            parts.append(str(escape(run)))
    return Markup('<bdi class="leak">' + "".join(parts) + "</bdi>")


def leak_plain(value: Any) -> str:
    """Leak text for a place that holds no markup (a page title, an attribute, a file name shown as
    text): each hidden character as `[RLO]`, and the whole ended with a first-strong isolate pair so
    a right-to-left value cannot turn what follows it around."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not needs_care(text):
        return text
    shown = "".join(f"[{marker_name(run)}]" if hidden else run for hidden, run in _hidden_runs(text, False))
    return "\u2068" + shown + "\u2069" if _RTL.search(shown) else shown


def strip_hidden(text: str) -> str:
    """The text without its hidden characters (for file names a system will show and sort)."""
    return "".join(run for hidden, run in _hidden_runs(text, False) if not hidden)
