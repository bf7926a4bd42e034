"""A small, tolerant RTF reader: keeps the text, drops the control words.

It handles the parts that carry text in real-world files: ``\\'hh`` bytes in
the declared ``\\ansicpg`` (or the current font's ``\\fcharset``), ``\\uN``
with its ``\\ucN`` fallback skipping, surrogate pairs, ``\\binN`` blobs, and
destinations that are not text (font tables, pictures, field instructions,
anything marked ``\\*``). Unbalanced braces and junk are tolerated.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...model import Finding
from .support import Limits, Sink, read_capped, too_large_file

# One token per match, no nested quantifiers: linear time on any input.
_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?[0-9]{1,10})? ?"  # 1, 2: control word and parameter
    rb"|\\'([0-9a-fA-F]{2})"  # 3: hex byte
    rb"|\\(.)"  # 4: control symbol (incl. \{ \} \\ and escaped newlines)
    rb"|([{}])"  # 5: group
    rb"|[\r\n]+"  # raw line breaks mean nothing in RTF
    rb"|([^\\{}\r\n]+)",  # 6: text
    re.S,
)

_SKIP_DESTINATIONS = frozenset({
    "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "objdata", "fldinst", "themedata",
    "colorschememapping", "datastore", "latentstyles", "listtable", "listoverridetable", "rsidtbl",
    "generator", "xmlnstbl", "mmathPr", "pgdsctbl", "filetbl", "revtbl", "bkmkstart", "bkmkend",
    "pntext", "pntxta", "pntxtb", "falt", "panose", "leveltext", "levelnumbers", "listtext", "xe", "tc",
    "txe",
    "blipuid", "nonshppict", "wgrffmtfilter", "passwordhash", "protusertbl", "userprops", "docvar",
})
_NEWLINES = frozenset({"par", "line", "sect", "page", "row", "outlinelevel_never"})
_SYMBOLS = {
    "tab": "\t", "cell": "\t", "emdash": "\u2014", "endash": "\u2013", "lquote": "\u2018", "rquote": "\u2019",
    "ldblquote": "\u201c", "rdblquote": "\u201d", "bullet": "\u2022", "emspace": " ", "enspace": " ",
    "qmspace": " ", "zwj": "", "zwnj": "", "ltrmark": "", "rtlmark": "",
}
_CONTROL_SYMBOLS = {b"~": "\u00a0", b"_": "\u2011", b"-": "", b"{": "{", b"}": "}", b"\\": "\\",
                    b"\n": "\n", b"\r": "\n", b"\t": "\t"}
_FCHARSET = {0: "cp1252", 77: "mac_roman", 128: "cp932", 129: "cp949", 130: "johab", 134: "gb18030",
             136: "cp950", 161: "cp1253", 162: "cp1254", 163: "cp1258", 177: "cp1255", 178: "cp1256",
             186: "cp1257", 204: "cp1251", 222: "cp874", 238: "cp1250"}
_MAX_DEPTH = 1000


class _Group:
    __slots__ = ("skip", "uc", "codec", "fonttbl")

    def __init__(self, skip: bool, uc: int, codec: str, fonttbl: bool) -> None:
        self.skip = skip
        self.uc = uc
        self.codec = codec
        self.fonttbl = fonttbl

    def copy(self) -> _Group:
        return _Group(self.skip, self.uc, self.codec, self.fonttbl)


def extract(path: Path, sink: Sink, limits: Limits) -> list[Finding]:
    with open(path, "rb") as f:
        data, more = read_capped(f, limits.max_bytes)
    rtf_to_text(data, sink)
    if more:
        raise too_large_file(limits.max_bytes)
    return []


def rtf_to_text(data: bytes, sink: Sink) -> None:
    """Write the text of an RTF document into ``sink``."""
    state = _Group(False, 1, "cp1252", False)
    stack: list[_Group] = []
    overflow = 0  # groups opened beyond _MAX_DEPTH share their parent's state
    fonts: dict[int, str] = {}
    font_num: int | None = None
    pending = bytearray()  # \'hh bytes decode together (double-byte charsets)
    to_skip = 0  # fallback characters after \uN
    high_surrogate = 0
    first_token = True  # a control word right after "{" names the group's destination

    def flush() -> None:
        if not state.skip:
            sink.add(pending.decode(state.codec, "replace"))
        pending.clear()

    def emit(text: str) -> None:
        nonlocal high_surrogate
        if high_surrogate:
            sink.add("\ufffd")
            high_surrogate = 0
        sink.add(text)

    pos, end = 0, len(data)
    while pos < end:
        m = _TOKEN.match(data, pos)
        if m is None:  # cannot happen with this grammar, but never loop forever
            pos += 1
            continue
        pos = m.end()
        word, param, hexbyte, symbol, brace, text = m.groups()
        starts_group = first_token
        first_token = False
        if hexbyte is not None:
            if to_skip:
                to_skip -= 1
            elif not state.skip:
                pending.append(int(hexbyte, 16))
            continue
        if pending:
            flush()
        if brace is not None:
            to_skip = 0
            if brace == b"{":
                if len(stack) < _MAX_DEPTH:
                    stack.append(state)
                    state = state.copy()
                else:
                    overflow += 1
                first_token = True
            elif overflow:
                overflow -= 1
            elif stack:
                state = stack.pop()
            continue
        if text is not None:
            if to_skip:
                cut = min(to_skip, len(text))
                to_skip -= cut
                text = text[cut:]
            if text and not state.skip and not state.fonttbl:
                if high_surrogate:
                    emit("")
                sink.add(text.decode(state.codec, "replace"))
            continue
        if symbol is not None:
            if symbol == b"*":
                state.skip = True
            elif to_skip:
                to_skip -= 1
            elif not state.skip and symbol in _CONTROL_SYMBOLS:
                emit(_CONTROL_SYMBOLS[symbol])
            continue
        if word is None:
            continue  # raw line breaks
        name = word.decode("ascii")
        num = int(param) if param is not None else None
        if name == "bin":
            pos += max(num or 0, 0)  # raw bytes: never text
            continue
        if starts_group and name in _SKIP_DESTINATIONS:
            if name == "fonttbl":
                state.fonttbl = True
            else:
                state.skip = True
            continue
        if state.fonttbl:
            if name == "f" and num is not None:
                font_num = num
            elif name == "fcharset" and num is not None and font_num is not None:
                fonts[font_num] = _FCHARSET.get(num, state.codec)
            continue
        if name == "ansicpg" and num is not None:
            state.codec = _codepage(num, state.codec)
        elif name == "f" and num is not None and num in fonts:
            state.codec = fonts[num]
        elif name == "uc" and num is not None:
            state.uc = max(0, min(num, 10))
        elif name == "u" and num is not None:
            to_skip = state.uc
            if state.skip:
                continue
            code = num + 65536 if num < 0 else num
            if 0xD800 <= code <= 0xDBFF:
                if high_surrogate:
                    sink.add("\ufffd")
                high_surrogate = code
            elif 0xDC00 <= code <= 0xDFFF:
                if high_surrogate:
                    pair = 0x10000 + ((high_surrogate - 0xD800) << 10) + (code - 0xDC00)
                    high_surrogate = 0
                    sink.add(chr(pair))
                else:
                    sink.add("\ufffd")
            elif 0 <= code <= 0x10FFFF:
                emit(chr(code))
        elif to_skip:
            to_skip -= 1
        elif state.skip:
            continue
        elif name in _NEWLINES:
            emit("\n")
        elif name in _SYMBOLS:
            emit(_SYMBOLS[name])
    if pending:
        flush()


def _codepage(number: int, current: str) -> str:
    codec = "cp932" if number == 932 else f"cp{number}"
    if number == 10000:
        codec = "mac_roman"
    try:
        b"a".decode(codec)
    except LookupError:
        return current
    return codec
