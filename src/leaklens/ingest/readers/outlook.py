"""Outlook formats: ``.msg`` (one message, read with extract-msg) and ``.pst``/``.ost`` (libpff).

Neither format keeps a message's original bytes: Outlook stores MAPI
properties. A ``.msg`` item stays what it is (its blob is the file, untouched)
and its attachments become children. A PST is a container whose messages have
no bytes of their own, so each one is rebuilt as an RFC 822 message from its
properties and carries the finding ``ingest.reconstructed``: the walker then
reads it like any email, but its DKIM signature cannot be checked.

Every call into extract-msg or libpff is wrapped, per message and per part:
hostile or damaged files yield findings and failed children, never a traceback.
"""

from __future__ import annotations

import codecs
import email.utils
import mimetypes
import re
from datetime import UTC, datetime
from email.header import Header
from email.message import MIMEPart
from email.parser import HeaderParser
from email.policy import SMTP as SMTP_POLICY
from email.policy import compat32
from typing import Any

from ...model import Finding
from ..text import html_text, rtf_text
from .base import BudgetExceeded, ReadContext, ReaderSpec, Source
from .email_reader import decode_header_value, parse_date

MAX_HEADER_CHARS = 256 * 1024  # transport headers kept in metadata (real ones are a few KB)
MAX_LISTED = 1000  # folder / recipient / attachment lists kept in metadata
MAX_FOLDER_DEPTH = 64  # a damaged PST must not send the folder walk into a loop

MSG_MIME = "application/vnd.ms-outlook"
PST_MIME = "application/vnd.ms-outlook-pst"

# --- shared helpers --------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:  # MAPI times are UTC; both libraries may hand them back naive
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC).isoformat()
    except (ValueError, OverflowError):
        return None


def _decode_header(value: Any) -> str:
    """RFC 2047 words decoded, whitespace folded; never raises."""
    return decode_header_value(None if value is None else str(value))[0]


def _one_line(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def format_address(name: str | None, address: str | None) -> str:
    """``Name <addr>`` as a reader would write it (no RFC 2047 encoding: this is for display)."""
    name = " ".join((name or "").split())
    address = (address or "").strip()
    if name and address and name != address:
        return f"{name} <{address}>"
    return address or name


def html_to_text(markup: bytes | str, charset: str | None = None) -> str:
    """Visible text of an HTML body; scripts and styles dropped, nothing fetched."""
    return html_text(markup, charset)


def rtf_to_text(rtf: bytes) -> str:
    """Text of an RTF body (Outlook's compressed RTF, decompressed by the library)."""
    return rtf_text(rtf)


def _decode_bytes(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec, "replace")
    except LookupError:
        return data.decode("cp1252", "replace")


# Windows code page numbers (PR_INTERNET_CPID) that Python does not know as "cpNNN".
_CODEPAGES = {65001: "utf-8", 65000: "utf-7", 20127: "ascii", 1200: "utf-16-le", 1201: "utf-16-be",
              20866: "koi8-r", 21866: "koi8-u", 50220: "iso2022_jp", 50221: "iso2022_jp",
              50222: "iso2022_jp", 51932: "euc_jp", 51949: "euc_kr", 52936: "hz", 54936: "gb18030",
              936: "gbk", 949: "cp949", 950: "big5", 932: "cp932", 10000: "mac_roman"}
_CODEPAGES.update({28590 + n: f"iso8859-{n}" for n in range(1, 16)})


def codepage_codec(cpid: int | None) -> str | None:
    if not cpid:
        return None
    name = _CODEPAGES.get(cpid, f"cp{cpid}")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _protection_findings(message_class: str) -> list[Finding]:
    """S/MIME and rights-managed items, told apart by their message class alone."""
    upper = message_class.upper()
    smime_opaque = upper.startswith("IPM.NOTE.SMIME") and not upper.endswith(".MULTIPARTSIGNED")
    if not (smime_opaque or "RPMSG" in upper):
        return []
    # An opaque S/MIME blob is encrypted or signed-and-wrapped; either way its content is not readable here.
    return [Finding("ingest.encrypted", "warning",
                    "This message is protected (S/MIME or rights management); its content is an opaque blob "
                    "that cannot be read without the recipient's key.", {"message_class": message_class})]


def _transport_headers(text: str | None) -> str | None:
    """PR_TRANSPORT_MESSAGE_HEADERS without the prefix some Outlook versions put in front."""
    if not text or not text.strip():
        return None
    text = text.replace("\x00", "")
    prefix = "Microsoft Mail Internet Headers Version 2.0"
    if text.startswith(prefix):
        text = text[len(prefix):].lstrip("\r\n")
    return text


def _parse_headers(text: str):
    return HeaderParser(policy=compat32).parsestr(text, headersonly=True)


# --- .msg --------------------------------------------------------------------------------------


def read_msg(src: Source, ctx: ReadContext) -> None:
    """One Outlook item: its fields, body text and attachments (children)."""
    import extract_msg
    from extract_msg.enums import ErrorBehavior

    try:
        # SUPPRESS_ALL: a damaged attachment or RTF body becomes a "broken" object we report,
        # instead of an exception that would lose the rest of the message.
        msg = extract_msg.openMsg(str(src.path), strict=False, delayAttachments=True,
                                  errorBehavior=ErrorBehavior.SUPPRESS_ALL)
    except Exception as exc:
        ctx.kind = "other"
        ctx.finding("ingest.corrupt", "warning",
                    "This Outlook .msg file is damaged or is not an .msg; it was stored but not read.",
                    error=f"{type(exc).__name__}: {exc}"[:300])
        return
    try:
        _read_msg_file(msg, ctx)
    except BudgetExceeded:
        raise
    except Exception as exc:  # a damaged property tree: keep what was read, say what failed
        ctx.finding("ingest.corrupt", "warning",
                    "Part of this Outlook .msg file is damaged; what could be read was kept.",
                    error=f"{type(exc).__name__}: {exc}"[:300])
    finally:
        try:
            msg.close()
        except Exception:  # closing a half-read OLE file must not hide what was read
            pass


def _call(obj, method: str, default=None):
    """``obj.method()`` on a libpff object whose type depends on the file (message, contact, task...)."""
    return _safe(lambda: getattr(obj, method)(), default)


def _safe(fn, default=None):
    """Call a property getter of a parsed Outlook item; a damaged property reads as missing."""
    try:
        value = fn()
    except BudgetExceeded:
        raise
    except Exception:
        return default
    return default if value is None else value


def _msg_str(msg, prop: str) -> str | None:
    """A string property (``prop`` is the 4-hex-digit id) as extract-msg decodes it."""
    value = _safe(lambda: msg.getStringStream(f"__substg1.0_{prop}"))
    return value.replace("\x00", "") if isinstance(value, str) else None


def _msg_time(msg, tag: str) -> datetime | None:
    value = _safe(lambda: msg.getPropertyVal(tag))
    return value if isinstance(value, datetime) else None


def _sender_from_properties(msg) -> tuple[str, str | None, str | None]:
    """``Name <smtp>``, the sender's address type (SMTP, EX...) and the raw address."""
    name = _msg_str(msg, "0C1A") or _msg_str(msg, "0042")
    addrtype = _msg_str(msg, "0C1E") or _msg_str(msg, "0064")
    raw = _msg_str(msg, "0C1F") or _msg_str(msg, "0065")
    smtp = _msg_str(msg, "5D01") or _msg_str(msg, "5D02")
    if not smtp and raw and (addrtype or "SMTP").upper() == "SMTP":
        smtp = raw
    return format_address(name, smtp), addrtype, raw


def _msg_recipients(msg) -> list[dict[str, Any]]:
    out = []
    for r in _safe(lambda: msg.recipients, []) or []:
        rtype = _safe(lambda r=r: r.type)
        out.append({
            "type": getattr(rtype, "name", str(rtype)).lower() if rtype is not None else None,
            "name": _safe(lambda r=r: r.name),
            "address": _safe(lambda r=r: r.email),
        })
    return out


def _msg_body(msg) -> tuple[str, list[str]]:
    """Plain text of the body and the body formats present (plain, html, rtf)."""
    formats = []
    plain = _msg_str(msg, "1000")
    html = _safe(lambda: msg.htmlBody)
    rtf = _safe(lambda: msg.rtfBody)
    for fmt, present in (("plain", plain), ("html", html), ("rtf", rtf)):
        if present:
            formats.append(fmt)
    if plain and plain.strip():
        return plain, formats
    if html:
        cpid = _safe(lambda: msg.getPropertyVal("3FDE0003"))
        return html_to_text(html, codepage_codec(cpid)), formats
    if rtf:
        # extract-msg unwraps RTF that encapsulates plain text; anything else is read directly.
        text = _safe(lambda: msg.body)
        if isinstance(text, str) and text.strip():
            return text, formats
        return rtf_to_text(rtf), formats
    return "", formats


def _read_msg_file(msg, ctx: ReadContext) -> None:
    from extract_msg.msg_classes import MessageBase

    message_class = _safe(lambda: msg.classType) or ""
    if not message_class:
        ctx.kind = "other"
        ctx.finding("ingest.corrupt", "warning",
                    "This file has no Outlook message class: it is a damaged .msg or another OLE file; "
                    "what could be read was kept.")
    elif isinstance(msg, MessageBase) or message_class.upper().startswith(("IPM.NOTE", "REPORT")):
        ctx.kind = "email"
    else:  # contacts, appointments, tasks, sticky notes: Outlook items that are not messages
        ctx.kind = "document"
    headers_text = _transport_headers(_msg_str(msg, "007D"))
    header = _parse_headers(headers_text) if headers_text else None
    prop_from, addrtype, raw_sender = _sender_from_properties(msg)
    recipients = _msg_recipients(msg)

    def recips(kind: str) -> str:
        return ", ".join(format_address(r["name"], r["address"]) for r in recipients if r["type"] == kind)

    def hdr(name: str) -> str | None:
        return _one_line(header.get(name)) if header is not None and header.get(name) else None

    submit = _msg_time(msg, "00390040")
    delivery = _msg_time(msg, "0E060040")
    header_date = parse_date(hdr("Date"))
    # The transport headers are what was sent over the wire; the properties are Outlook's copy.
    # Prefer the former, fall back on the latter, and keep both for the checks that compare them.
    ctx.email = {
        "from": _decode_header(hdr("From")) if hdr("From") else prop_from,
        "to": _decode_header(hdr("To")) if hdr("To") else recips("to"),
        "cc": _decode_header(hdr("Cc")) if hdr("Cc") else recips("cc"),
        "subject": " ".join((_msg_str(msg, "0037") or _decode_header(hdr("Subject"))).split()),
        "date": _iso(header_date or submit or delivery),
        "message_id": hdr("Message-ID") or _one_line(_msg_str(msg, "1035")),
        "in_reply_to": hdr("In-Reply-To") or _one_line(_msg_str(msg, "1042")),
        "references": hdr("References") or _one_line(_msg_str(msg, "1039")),
    }
    text, formats = _msg_body(msg)
    ctx.text = text[: ctx.limits.max_text_chars]
    ctx.text_status = "extracted" if text.strip() else "empty"

    ctx.metadata.update({
        "format": "msg",
        "message_class": message_class,
        "transport_headers_present": headers_text is not None,
        "sender_address_type": addrtype,
        "sender_address": raw_sender,
        "properties_from": prop_from,
        "recipients": recipients[:MAX_LISTED],
        "client_submit_time": _iso(submit),
        "delivery_time": _iso(delivery),
        "creation_time": _iso(_msg_time(msg, "30070040")),
        "last_modification_time": _iso(_msg_time(msg, "30080040")),
        "body_formats": formats,
    })
    if headers_text is not None:
        ctx.metadata["transport_headers"] = headers_text[:MAX_HEADER_CHARS]
        ctx.metadata["header_date"] = _iso(header_date)
        ctx.finding("ingest.msg_not_original_bytes", "info",
                    "Outlook .msg files keep the original headers but not the original message bytes, "
                    "so a DKIM signature cannot be checked byte-for-byte.",
                    dkim_signature_present=header.get("DKIM-Signature") is not None,
                    header_count=len(header))
    elif ctx.kind == "email":
        ctx.finding("ingest.msg_no_transport_headers", "info",
                    "This .msg has no internet headers (usual for drafts and sent items): sender, recipients "
                    "and date come from Outlook's own fields.")
    ctx.findings.extend(_protection_findings(message_class))
    _msg_attachments(msg, ctx)


def _att_name(att, index: int) -> str:
    for getter in (lambda: att.longFilename, lambda: att.name, lambda: att.shortFilename,
                   lambda: att.displayName):
        name = _safe(getter)
        if isinstance(name, str) and name.strip("\x00 "):
            return name.strip("\x00 ")
    return f"attachment-{index}"


def _msg_attachments(msg, ctx: ReadContext) -> None:
    from extract_msg.enums import AttachmentType

    try:
        # For S/MIME items extract-msg would parse (signed) or drop (encrypted) the one real attachment;
        # keep it as it is: a signed MIME entity the email reader opens, or an encrypted blob.
        raw = getattr(type(msg), "rawAttachments", None)
        attachments = list(msg.rawAttachments if raw is not None else msg.attachments)
    except BudgetExceeded:
        raise
    except Exception as exc:
        ctx.finding("ingest.corrupt", "warning", "The attachments of this .msg could not be read.",
                    error=f"{type(exc).__name__}: {exc}"[:300])
        return
    names = []
    for index, att in enumerate(attachments, 1):
        name = _att_name(att, index)
        names.append(name)
        att_type = _safe(lambda att=att: att.type, AttachmentType.UNKNOWN)
        cid = _safe(lambda att=att: att.cid)
        hidden = bool(_safe(lambda att=att: att.hidden, False))
        hints = {
            "content_type": _safe(lambda att=att: att.mimetype),
            "filename": name,
            "content_id": _one_line(cid),
            "disposition": "inline" if hidden or cid else "attachment",
            "msg_attachment_type": getattr(att_type, "name", str(att_type)).lower(),
        }
        if att_type in (AttachmentType.MSG, AttachmentType.SIGNED_EMBEDDED):
            _embedded_msg(att, name, hints, ctx)
        elif att_type == AttachmentType.WEB:
            url = _safe(lambda att=att: att.getStringStream("__substg1.0_7FF7"))  # PR_ATTACHMENT_PROVIDER URL
            ctx.skip_child(name, "link to a file stored online: the .msg holds only its address",
                           hints={**hints, "url": url}, kind="attachment")
        else:
            data = _safe(lambda att=att: att.data)
            if isinstance(data, bytes | bytearray):
                signed = (hints["content_type"] or "").lower() == "multipart/signed"
                ctx.add_child(name, data=bytes(data), hints=hints, kind="email" if signed else "attachment")
            else:
                ctx.fail_child(name, f"attachment unreadable ({hints['msg_attachment_type']})",
                               hints=hints, kind="attachment")
    ctx.metadata["attachments"] = len(attachments)
    ctx.metadata["attachment_names"] = names[:MAX_LISTED]


def _embedded_msg(att, name: str, hints: dict[str, Any], ctx: ReadContext) -> None:
    """An Outlook item attached to another: exported as a standalone .msg child."""
    inner = _safe(lambda: att.data)
    if inner is None or isinstance(inner, bytes | bytearray):
        if isinstance(inner, bytes | bytearray):  # signed messages hand back the raw item
            ctx.add_child(name, data=bytes(inner), hints={**hints, "content_type": MSG_MIME}, kind="email")
        else:
            ctx.fail_child(name, "embedded Outlook item unreadable", hints=hints, kind="email")
        return
    if not name.lower().endswith(".msg"):
        name = f"{name}.msg"
    hints = {**hints, "content_type": MSG_MIME, "filename": name}
    try:
        data = inner.exportBytes(allowBadEmbed=True)
    except BudgetExceeded:
        raise
    except Exception as exc:
        ctx.fail_child(name, "embedded Outlook item could not be exported as an .msg", hints=hints,
                       kind="email",
                       findings=[Finding("ingest.embedded_msg_unexportable", "warning",
                                         "An Outlook item attached to this message could not be exported; "
                                         "its content is missing from the case.",
                                         {"error": f"{type(exc).__name__}: {exc}"[:300]})])
        return
    ctx.add_child(name, data=data, hints=hints, kind="email")


# --- .pst / .ost -------------------------------------------------------------------------------

RECONSTRUCTED = Finding(
    "ingest.reconstructed", "info",
    "PST stores messages as properties, not as their original bytes; this message was rebuilt, "
    "so its DKIM signature cannot be checked.",
    {"source": "pst"},
)
# Top-level folder names that only say "this is the mailbox"; dropped from child names.
_TOP_FOLDERS = {"top of personal folders", "top of outlook data file", "top of information store",
                "oberste ebene der persönlichen ordner", "début du fichier de données outlook"}
# MAPI property ids read from PST record sets.
PR_MESSAGE_CLASS, PR_SUBJECT, PR_TRANSPORT_HEADERS = 0x001A, 0x0037, 0x007D
PR_SENDER_NAME, PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL, PR_SENDER_SMTP = 0x0C1A, 0x0C1E, 0x0C1F, 0x5D01
PR_SENT_REP_NAME, PR_SENT_REP_ADDRTYPE, PR_SENT_REP_EMAIL, PR_SENT_REP_SMTP = 0x0042, 0x0064, 0x0065, 0x5D02
PR_MESSAGE_ID, PR_IN_REPLY_TO, PR_REFERENCES = 0x1035, 0x1042, 0x1039
PR_BODY, PR_HTML, PR_INTERNET_CPID = 0x1000, 0x1013, 0x3FDE
PR_CLIENT_SUBMIT_TIME, PR_DELIVERY_TIME = 0x0039, 0x0E06
PR_CREATION_TIME, PR_MODIFICATION_TIME = 0x3007, 0x3008
PR_RECIPIENT_TYPE, PR_DISPLAY_NAME, PR_EMAIL_ADDRESS, PR_ADDRTYPE, PR_SMTP_ADDRESS = 0x0C15, 0x3001, 0x3003, \
    0x3002, 0x39FE
PR_ATTACH_METHOD, PR_ATTACH_FILENAME, PR_ATTACH_LONG_FILENAME = 0x3705, 0x3704, 0x3707
PR_ATTACH_MIME_TAG, PR_ATTACH_CONTENT_ID, PR_ATTACHMENT_HIDDEN = 0x370E, 0x3712, 0x7FFE
ATTACH_BY_VALUE, ATTACH_EMBEDDED_MSG = 1, 5
RECIPIENT_HEADERS = {1: "To", 2: "Cc", 3: "Bcc"}


class _Props:
    """The MAPI properties of one libpff item (message, recipient, attachment) by id."""

    def __init__(self, record_set) -> None:
        self.entries: dict[int, Any] = {}
        if record_set is None:
            return
        try:
            count = record_set.get_number_of_entries()
        except Exception:
            return
        for i in range(count):
            try:
                entry = record_set.get_entry(i)
                self.entries.setdefault(entry.get_entry_type(), entry)
            except Exception:  # a damaged entry is a missing property
                continue

    @classmethod
    def of(cls, item, index: int = 0) -> _Props:
        try:
            return cls(item.get_record_set(index))
        except Exception:
            return cls(None)

    def text(self, pid: int) -> str | None:
        entry = self.entries.get(pid)
        if entry is None:
            return None
        try:
            value = entry.get_data_as_string()
        except Exception:
            try:  # binary-typed strings (PT_BINARY HTML bodies, odd writers)
                data = entry.get_data()
                value = data.decode("utf-8", "replace") if data else None
            except Exception:
                return None
        return value.replace("\x00", "") if value else None

    def integer(self, pid: int) -> int | None:
        entry = self.entries.get(pid)
        try:
            return entry.get_data_as_integer() if entry is not None else None
        except Exception:
            return None

    def binary(self, pid: int) -> bytes | None:
        entry = self.entries.get(pid)
        try:
            return entry.get_data() if entry is not None else None
        except Exception:
            return None

    def time(self, pid: int) -> datetime | None:
        entry = self.entries.get(pid)
        try:
            value = entry.get_data_as_datetime() if entry is not None else None
        except Exception:
            return None
        return value if isinstance(value, datetime) else None


def read_pst(src: Source, ctx: ReadContext) -> None:
    """Every message of every folder becomes a rebuilt RFC 822 child named ``Folder/Sub/#N``."""
    import pypff

    ctx.kind = "archive"
    ctx.text_status = "none"
    pff = pypff.file()
    try:
        pff.open(str(src.path))
    except Exception as exc:
        ctx.finding("ingest.corrupt", "warning",
                    "This Outlook data file (.pst/.ost) is damaged or is not one; it was stored but "
                    "could not be opened.", error=f"{type(exc).__name__}: {exc}"[:300],
                    signature_ok=_pst_signature(pypff, src))
        return
    try:
        _read_pst_file(pff, ctx)
    finally:
        try:
            pff.close()
        except Exception:
            pass


def _pst_signature(pypff, src: Source) -> bool | None:
    try:
        return bool(pypff.check_file_signature(str(src.path)))
    except Exception:
        return None


def _read_pst_file(pff, ctx: ReadContext) -> None:
    content = _safe(pff.get_content_type)
    fmt = {ord("p"): "pst", ord("o"): "ost", ord("a"): "pab"}.get(content, str(content))
    ctx.metadata.update({
        "format": fmt,
        "encryption": _safe(pff.get_encryption_type),  # 0 none, 1 compressible, 2 high: both are obfuscation
    })
    folders: list[dict[str, Any]] = []
    errors = 0
    total = 0
    try:
        root = pff.get_root_folder()
    except Exception as exc:
        ctx.finding("ingest.corrupt", "warning",
                    "The folder tree of this Outlook data file cannot be read; no message could be listed.",
                    error=f"{type(exc).__name__}: {exc}"[:300])
        root = None
    stack: list[tuple[Any, list[str], int]] = [(root, [], 0)] if root is not None else []
    while stack:
        folder, path, depth = stack.pop()
        label = "/".join(path)
        n_messages = _safe(folder.get_number_of_sub_messages, -1)
        if n_messages < 0:
            errors += 1
            ctx.fail_child(f"{label or '(root)'}/", "folder unreadable")
            continue
        folders.append({"path": label, "messages": n_messages})
        for i in range(n_messages):
            total += 1
            name = f"{label}/#{i + 1}" if label else f"#{i + 1}"
            _pst_child(lambda i=i, folder=folder: folder.get_sub_message(i), name, {"pst_folder": label}, ctx)
        n_sub = _safe(folder.get_number_of_sub_folders, -1)
        if n_sub < 0:
            errors += 1
            ctx.finding("ingest.corrupt", "warning", "A folder's sub-folders could not be listed.",
                        folder=label)
            continue
        if depth >= MAX_FOLDER_DEPTH:
            ctx.finding("ingest.corrupt", "warning", "Folders nested implausibly deep were not read.",
                        folder=label)
            continue
        subs = []
        for j in range(n_sub):
            sub = _safe(lambda j=j, folder=folder: folder.get_sub_folder(j))
            if sub is None:
                errors += 1
                ctx.fail_child(f"{label}/(folder {j + 1})/", "folder unreadable")
                continue
            name = _safe(sub.get_name) or f"(folder {j + 1})"
            # Drop the store's "Top of Personal Folders" so names read like Inbox/#12.
            sub_path = path if depth == 0 and name.strip().lower() in _TOP_FOLDERS else [*path, name]
            subs.append((sub, sub_path, depth + 1))
        stack.extend(reversed(subs))  # depth-first, in the PST's own order

    n_orphans = _safe(pff.get_number_of_orphan_items, 0)
    orphans = 0
    for k in range(n_orphans):
        item = _safe(lambda k=k: pff.get_orphan_item(k))
        if item is None or not hasattr(item, "get_transport_headers"):
            continue  # orphan attachments, folders, tables: no message to rebuild
        orphans += 1
        _pst_child(lambda item=item: item, f"(orphans)/#{orphans}", {"pst_folder": None, "pst_orphan": True},
                   ctx,
                   extra=[Finding("ingest.pst_orphan", "info",
                                  "This message is in no folder of the data file (often a deleted item "
                                  "that libpff could still read).", {})])
    ctx.metadata.update({"messages": total, "orphan_messages": orphans, "folders": folders[:MAX_LISTED],
                         "folder_count": len(folders)})
    if errors:
        ctx.finding("ingest.corrupt", "warning",
                    "Parts of this Outlook data file could not be read; the messages that could be read "
                    "were kept.",
                    unreadable_parts=errors)


def _pst_child(get_message, name: str, hints: dict[str, Any], ctx: ReadContext,
               extra: list[Finding] = ()) -> None:
    try:
        message = get_message()
        raw, info, findings = pst_message_to_rfc822(message, ctx.limits.max_item_bytes)
    except BudgetExceeded:
        raise
    except Exception as exc:
        ctx.fail_child(name, f"message unreadable: {type(exc).__name__}: {exc}"[:300],
                       hints=hints, kind="email", findings=list(extra))
        return
    ctx.add_child(name, data=raw, kind="email", hints={"content_type": "message/rfc822", **hints, **info},
                  findings=[RECONSTRUCTED, *extra, *findings])


def _recipients(message) -> list[dict[str, Any]]:
    try:
        table = message.recipients
    except Exception:
        return []
    if table is None:
        return []
    out = []
    for i in range(_safe(table.get_number_of_record_sets, 0)):
        try:
            p = _Props(table.get_record_set(i))
        except Exception:
            continue
        addrtype = p.text(PR_ADDRTYPE)
        address = p.text(PR_SMTP_ADDRESS) or p.text(PR_EMAIL_ADDRESS)
        out.append({"type": RECIPIENT_HEADERS.get(p.integer(PR_RECIPIENT_TYPE) or 1, "To").lower(),
                    "name": p.text(PR_DISPLAY_NAME), "address": address, "address_type": addrtype})
    return out


def _encode_address(name: str | None, address: str | None) -> str:
    name = " ".join((name or "").split())
    address = (address or "").strip()
    if name == address:
        name = ""
    try:
        return email.utils.formataddr((name, address), charset="utf-8")
    except (UnicodeError, ValueError):
        return address or Header(name, "utf-8").encode()


def _header_line(name: str, value: str) -> str:
    value = " ".join(value.split())
    if value.isascii() and len(value) + len(name) < 900:
        return f"{name}: {value}"
    return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _sender(props: _Props) -> tuple[str | None, str | None, str | None]:
    name = props.text(PR_SENDER_NAME) or props.text(PR_SENT_REP_NAME)
    addrtype = props.text(PR_SENDER_ADDRTYPE) or props.text(PR_SENT_REP_ADDRTYPE)
    raw = props.text(PR_SENDER_EMAIL) or props.text(PR_SENT_REP_EMAIL)
    smtp = props.text(PR_SENDER_SMTP) or props.text(PR_SENT_REP_SMTP)
    if not smtp and raw and (addrtype or "SMTP").upper() == "SMTP":
        smtp = raw
    return name, smtp, addrtype


def _kept_transport_lines(text: str) -> list[str]:
    """Original header lines, minus those describing the original MIME body (rebuilt differently)."""
    lines: list[str] = []
    keep = True
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if lines:
                break  # the header block ends at its first empty line
            continue
        if line[0] in " \t":
            if keep and lines:
                lines.append(line)
            continue
        field = line.split(":", 1)[0].strip().lower()
        keep = ":" in line and not (field.startswith("content-") or field == "mime-version")
        if keep:
            lines.append(line)
    return lines


def pst_message_to_rfc822(message, max_bytes: int = 1 << 62) -> tuple[bytes, dict[str, Any], list[Finding]]:
    """An RFC 822 message rebuilt from a libpff message: headers, body, attachments as MIME parts.

    Returns the bytes, facts for the child's hints, and findings about what could not be carried over.
    """
    props = _Props.of(message)
    findings: list[Finding] = []
    message_class = props.text(PR_MESSAGE_CLASS) or ""
    transport = props.text(PR_TRANSPORT_HEADERS) or _call(message, "get_transport_headers")
    transport = _transport_headers(transport)
    name, smtp, addrtype = _sender(props)
    recipients = _recipients(message)
    submit = props.time(PR_CLIENT_SUBMIT_TIME) or _call(message, "get_client_submit_time")
    delivery = props.time(PR_DELIVERY_TIME) or _call(message, "get_delivery_time")
    subject = props.text(PR_SUBJECT) or _call(message, "get_subject") or ""
    subject = subject.lstrip("\x01")  # normalised-subject prefix marker some writers leave in place

    lines: list[str] = []
    if transport:
        lines = _kept_transport_lines(transport)
    present = {line.split(":", 1)[0].strip().lower() for line in lines if line[:1] not in " \t"}

    def add(header: str, value: str | None) -> None:
        if value and header.lower() not in present:
            lines.append(_header_line(header, value))
            present.add(header.lower())

    if "from" not in present and (name or smtp):
        lines.append("From: " + _encode_address(name, smtp))
        present.add("from")
    for rtype in ("to", "cc"):
        header = rtype.capitalize()
        addrs = [_encode_address(r["name"], r["address"]) for r in recipients if r["type"] == rtype]
        if addrs and header.lower() not in present:
            lines.append(f"{header}: " + ",\r\n ".join(addrs))
            present.add(header.lower())
    add("Subject", subject)
    when = submit or delivery
    if when is not None and "date" not in present:
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        lines.append("Date: " + email.utils.format_datetime(when))
        present.add("date")
    add("Message-ID", props.text(PR_MESSAGE_ID))
    add("In-Reply-To", props.text(PR_IN_REPLY_TO))
    add("References", props.text(PR_REFERENCES))
    lines.append(_header_line("X-Leaklens-Reconstructed",
                              f"rebuilt from Outlook PST properties, not the original bytes; "
                              f"message class {message_class or 'unknown'}"))

    body = _pst_body(message, props, findings)
    attachments = _pst_attachments(message, findings, max_bytes)
    if attachments:
        mime = MIMEPart(policy=SMTP_POLICY)
        mime.make_mixed()
        mime.attach(body)
        for part in attachments:
            mime.attach(part)
    else:
        mime = body
    lines.append("MIME-Version: 1.0")
    raw = "\r\n".join(line.rstrip("\r") for line in lines).encode("utf-8", "surrogateescape") + b"\r\n" \
        + mime.as_bytes(policy=SMTP_POLICY)
    info = {
        "message_class": message_class,
        "transport_headers_present": transport is not None,
        "sender_address_type": addrtype,
        "pst_identifier": _call(message, "get_identifier"),
        "client_submit_time": _iso(submit),
        "delivery_time": _iso(delivery),
        "creation_time": _iso(props.time(PR_CREATION_TIME)),
        "last_modification_time": _iso(props.time(PR_MODIFICATION_TIME)),
        "recipients": recipients[:MAX_LISTED],
    }
    findings.extend(_protection_findings(message_class))
    return raw, info, findings


def _pst_body(message, props: _Props, findings: list[Finding]) -> MIMEPart:
    plain = props.text(PR_BODY)
    if plain is None:
        data = _call(message, "get_plain_text_body")
        plain = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    html_bytes = props.binary(PR_HTML)
    if html_bytes is None:
        html_bytes = _call(message, "get_html_body")
    html = None
    if html_bytes:
        codec = codepage_codec(props.integer(PR_INTERNET_CPID)) or "utf-8"
        html = html_bytes.decode(codec, "replace") if isinstance(html_bytes, bytes) else str(html_bytes)
    if not plain and not html:
        rtf = _call(message, "get_rtf_body")
        if rtf:
            plain = rtf_to_text(rtf)
            findings.append(Finding("ingest.rtf_body", "info",
                                    "This message has only a rich-text (RTF) body; its text was extracted "
                                    "without formatting.", {}))
    part = MIMEPart(policy=SMTP_POLICY)
    plain = (plain or "").replace("\x00", "")
    if html:
        part.set_content(plain, subtype="plain", charset="utf-8")
        part.add_alternative(html.replace("\x00", ""), subtype="html", charset="utf-8")
    else:
        part.set_content(plain, subtype="plain", charset="utf-8")
    return part


_MIME_TOKEN = re.compile(r"[a-z0-9!#$&^_.+-]+")


def _pst_attachments(message, findings: list[Finding], max_bytes: int) -> list[MIMEPart]:
    parts = []
    for i in range(_call(message, "get_number_of_attachments", 0)):
        label = f"attachment {i + 1}"
        try:
            part = _pst_attachment(message.get_attachment(i), i, findings, max_bytes)
        except Exception as exc:
            findings.append(Finding("ingest.attachment_unreadable", "warning",
                                    "An attachment stored in the PST could not be read; "
                                    "it is missing from the rebuilt message.",
                                    {"attachment": label, "error": f"{type(exc).__name__}: {exc}"[:300]}))
            continue
        if part is not None:
            parts.append(part)
    return parts


def _pst_attachment(att, index: int, findings: list[Finding], max_bytes: int) -> MIMEPart | None:
    p = _Props.of(att)
    filename = p.text(PR_ATTACH_LONG_FILENAME) or p.text(PR_ATTACH_FILENAME) or p.text(PR_DISPLAY_NAME)
    part = MIMEPart(policy=SMTP_POLICY)
    if p.integer(PR_ATTACH_METHOD) == ATTACH_EMBEDDED_MSG:
        inner = _embedded_item(att)
        if inner is None:
            findings.append(Finding(
                "ingest.embedded_item_unsupported", "warning",
                "An Outlook item (forwarded email, contact or meeting) is attached to this message, but "
                "the PST library cannot extract attached items; it is missing from the case.",
                {"attachment": filename or f"attachment {index + 1}"}))
            return None
        raw, _, inner_findings = pst_message_to_rfc822(inner, max_bytes)
        findings.extend(inner_findings)
        part.set_content(email.message_from_bytes(raw, policy=SMTP_POLICY))
        filename = filename or f"part-{index + 1}"
        filename = filename if filename.lower().endswith(".eml") else f"{filename}.eml"
    else:
        size = _call(att, "get_size", 0)
        if size > max_bytes:
            raise ValueError(f"{size} bytes, larger than --max-item-bytes")
        data = att.read_buffer(size) if size else b""
        mime = (p.text(PR_ATTACH_MIME_TAG) or "application/octet-stream").strip().lower()
        maintype, _, subtype = mime.partition("/")
        if not (_MIME_TOKEN.fullmatch(maintype) and _MIME_TOKEN.fullmatch(subtype)):
            maintype, subtype = "application", "octet-stream"
        part.set_content(data, maintype=maintype, subtype=subtype)
        filename = filename or f"part-{index + 1}{mimetypes.guess_extension(f'{maintype}/{subtype}') or ''}"
    cid = p.text(PR_ATTACH_CONTENT_ID)
    inline = bool(p.integer(PR_ATTACHMENT_HIDDEN)) or bool(cid)
    part.add_header("Content-Disposition", "inline" if inline else "attachment", filename=filename)
    if cid:
        part["Content-ID"] = f"<{cid.strip('<> ')}>"
    return part


def _embedded_item(att):
    """The message inside an ATTACH_EMBEDDED_MSG attachment (libpff exposes it as a sub-item)."""
    for getter in ("get_embedded_item", "get_item"):
        fn = getattr(att, getter, None)
        if fn is not None:
            item = _safe(fn)
            if item is not None:
                return item
    if _call(att, "get_number_of_sub_items", 0):
        return _safe(lambda: att.get_sub_item(0))
    return None


READERS = [
    ReaderSpec("msg", (MSG_MIME,), read_msg),
    ReaderSpec("pst", (PST_MIME,), read_pst),
]
