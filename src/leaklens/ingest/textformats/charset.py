"""Bytes to text for documents and email parts, whatever charset they claim.

Order: the declared charset (if Python knows it and the bytes fit it), a BOM,
strict UTF-8, then Windows-1252, which never fails here because its five
undefined bytes fall back to Latin-1. Labels that mean "ASCII" or "Latin-1"
are read as Windows-1252, as browsers do: mail clients that say ISO-8859-1
routinely send curly quotes from the 0x80-0x9F range.
"""

from __future__ import annotations

import codecs

from ...model import Finding


def _latin1_fallback(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return err.object[err.start:err.end].decode("latin-1"), err.end


codecs.register_error("leaklens-latin1", _latin1_fallback)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels that promise 7- or 8-bit Western text: decoded with the browser rule.
_WESTERN = frozenset({"ascii", "iso8859-1", "cp1252"})
# Labels Python misses or maps to a narrower codec than senders actually use.
_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-874": "cp874", "tis-620": "cp874", "x-mac-roman": "mac_roman", "macintosh": "mac_roman",
    "unicode-1-1-utf-7": "utf-7", "x-unicode20utf8": "utf-8", "unicode": "utf-16",
    "ansi_x3.4-1968": "ascii", "x-user-defined": "latin-1",
}
# Labels that say "we do not know": no codec to try, and nothing to report.
_NO_CHARSET = frozenset({"", "unknown-8bit", "x-unknown", "unknown", "8bit", "default", "none", "charset"})


def decode_text(data: bytes, declared_charset: str | None = None) -> tuple[str, list[Finding]]:
    """Decode ``data``, preferring ``declared_charset``; the text and what went wrong. Never raises."""
    findings: list[Finding] = []
    try:
        data = bytes(data)
        label = (declared_charset or "").strip().strip("\"'").strip().lower()
        if label not in _NO_CHARSET:
            codec = _codec(label)
            if codec is None:
                findings.append(Finding(
                    "mime.unknown_charset", "info",
                    "The text declares a character set that is not known; it was decoded by guessing.",
                    {"charset": (declared_charset or "")[:100]},
                ))
            elif codec in _WESTERN:
                return _utf8_or_western(data), findings
            else:
                try:
                    return _clean(data.decode(codec)), findings
                except (UnicodeError, LookupError):
                    text, used = _fallback(data, strict_only=True)
                    if text is None and codec == "utf-8":
                        # "UTF-8" on Windows-1252 bytes: the other common lie.
                        text, used = data.decode("cp1252", "leaklens-latin1"), "windows-1252"
                    elif text is None:
                        text, used = data.decode(codec, "replace"), codec
                    findings.append(Finding(
                        "mime.bad_charset", "info",
                        f"The text is not valid {label}, as it declares; it was decoded as {used}.",
                        {"charset": label, "decoded_as": used},
                    ))
                    return _clean(text), findings
        return _clean(_fallback(data)[0] or ""), findings
    except Exception as exc:  # last resort: this function is on every email's path
        findings.append(Finding(
            "mime.bad_charset", "info", "The text could not be decoded; it was read as Latin-1.",
            {"charset": str(declared_charset)[:100], "error": str(exc)[:200]},
        ))
        return _clean(bytes(data or b"").decode("latin-1")), findings


def _codec(label: str) -> str | None:
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    # bytes-to-bytes codecs (base64, zlib, rot13...) are not charsets.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _fallback(data: bytes, strict_only: bool = False) -> tuple[str | None, str]:
    """BOM, then UTF-8, then (unless ``strict_only``) Windows-1252; with the codec used."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(codec, "replace"), codec
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if strict_only:
        return None, ""
    return data.decode("cp1252", "leaklens-latin1"), "windows-1252"


def _utf8_or_western(data: bytes) -> str:
    if data.isascii():
        return data.decode("ascii")
    # Mislabelled UTF-8 is the commonest lie; real Latin-1 text is almost never valid UTF-8.
    try:
        return _clean(data.decode("utf-8"))
    except UnicodeDecodeError:
        return data.decode("cp1252", "leaklens-latin1")


def _clean(text: str) -> str:
    """Drop a leading BOM; replace lone surrogates (UTF-7 or UTF-16 mishaps), which cannot be encoded."""
    if text.isascii():
        return text
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
