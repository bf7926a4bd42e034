"""The file name a download of an item carries: a real extension, nothing hidden.

A mailbox member is named `#42` in the dump (its place in the mbox), an attached message often has
no name at all: saved as is, neither opens in a mail client. A message (the bytes of an RFC 822
message) gets `.eml`; anything else keeps the member's own name, or, without one, its id and the
extension of its type. `export.safe_name` then removes what could climb out of a folder or hide an
extension (bidi controls: `Rapport_\u202efdp.exe.docx`).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from typing import Any

from .export import safe_name

EMAIL_MIME = "message/rfc822"
_MEMBER_NUMBER = re.compile(r"#(\d+)$")


def download_name(row: Mapping[str, Any]) -> str:
    """The name to save the item's original bytes as."""
    name = (row["name"] or "").strip()
    if row["kind"] == "email" and (row["mime"] in (None, "", EMAIL_MIME)):
        stem = name[:-4] if name.lower().endswith(".eml") else name
        # `Inbox/#3` -> `Inbox-message-3`: the number kept, the '#' (a URL fragment) gone.
        stem = _MEMBER_NUMBER.sub(lambda m: f"message-{m.group(1)}", stem.replace("/#", "-#")) or row["id"]
        return safe_name(stem[:110] + ".eml")
    if name:
        return safe_name(name)
    ext = mimetypes.guess_extension(row["mime"] or "") or ""
    return safe_name(row["id"] + ext)
