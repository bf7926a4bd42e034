"""Real Outlook .msg files for tests, written with extract-msg's own OLE writer.

An .msg file is an OLE compound file: one stream per variable-length MAPI
property (``__substg1.0_<ID><TYPE>``), a ``__properties_version1.0`` stream
for the fixed-size ones, one storage per recipient and per attachment, and a
``__nameid_version1.0`` storage (the named-property map). [MS-OXMSG] fixes
the layout; this module writes exactly that, and the tests check that
extract-msg reads the result back before trusting it.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

from extract_msg import OleWriter

PT_LONG, PT_BOOLEAN, PT_SYSTIME = 0x0003, 0x000B, 0x0040
PT_UNICODE, PT_BINARY, PT_OBJECT = 0x001F, 0x0102, 0x000D
READ_WRITE = 0x00000006
FILETIME_EPOCH_OFFSET = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01


@dataclass
class Attachment:
    filename: str
    data: bytes = b""
    mime: str | None = None
    content_id: str | None = None
    hidden: bool = False
    embedded: Message | None = None  # set for an attached Outlook item (ATTACH_EMBEDDED_MSG)


@dataclass
class Message:
    subject: str = ""
    sender_name: str | None = None
    sender_email: str | None = None
    sender_addrtype: str = "SMTP"
    sender_smtp: str | None = None  # PR_SENDER_SMTP_ADDRESS, set by Exchange when addrtype is EX
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    html: bytes | None = None
    rtf_compressed: bytes | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    transport_headers: str | None = None
    submit_time: datetime | None = None
    delivery_time: datetime | None = None
    message_class: str = "IPM.Note"
    attachments: list[Attachment] = field(default_factory=list)


def filetime(dt: datetime) -> bytes:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return struct.pack("<Q", int((dt.timestamp() + FILETIME_EPOCH_OFFSET) * 10_000_000))


class _Props:
    """Collects one storage's properties: fixed ones in the stream, the rest as streams."""

    def __init__(self) -> None:
        self.fixed: list[tuple[int, int, bytes]] = []
        self.streams: dict[str, bytes] = {}

    def string(self, prop_id: int, value: str | None) -> None:
        if value is not None:
            self._var(prop_id, PT_UNICODE, value.encode("utf-16-le"), extra=2)

    def binary(self, prop_id: int, value: bytes | None) -> None:
        if value is not None:
            self._var(prop_id, PT_BINARY, value)

    def _var(self, prop_id: int, ptype: int, data: bytes, extra: int = 0) -> None:
        self.streams[f"__substg1.0_{prop_id:04X}{ptype:04X}"] = data
        self.fixed.append((prop_id, ptype, struct.pack("<II", len(data) + extra, 0)))

    def long(self, prop_id: int, value: int) -> None:
        self.fixed.append((prop_id, PT_LONG, struct.pack("<iI", value, 0)))

    def boolean(self, prop_id: int, value: bool) -> None:
        self.fixed.append((prop_id, PT_BOOLEAN, struct.pack("<HHI", int(value), 0, 0)))

    def time(self, prop_id: int, value: datetime | None) -> None:
        if value is not None:
            self.fixed.append((prop_id, PT_SYSTIME, filetime(value)))

    def obj(self, prop_id: int) -> None:
        self.fixed.append((prop_id, PT_OBJECT, struct.pack("<II", 0xFFFFFFFF, 0)))

    def stream(self, header: bytes) -> bytes:
        body = b"".join(struct.pack("<HHI", ptype, pid, READ_WRITE) + value
                        for pid, ptype, value in self.fixed)
        return header + body


def _message_entries(msg: Message, prefix: list[str], top: bool) -> list[tuple[list[str], bytes | None]]:
    """The (path, data) entries of one message; data None marks a storage."""
    p = _Props()
    p.string(0x001A, msg.message_class)
    p.string(0x0037, msg.subject)
    p.string(0x0070, msg.subject)  # conversation topic
    p.string(0x0C1A, msg.sender_name)
    p.string(0x0C1F, msg.sender_email)
    p.string(0x0C1E, msg.sender_addrtype if msg.sender_email else None)
    p.string(0x5D01, msg.sender_smtp)
    p.string(0x0042, msg.sender_name)  # sent-representing: the mailbox the item was sent on behalf of
    p.string(0x0065, msg.sender_email)
    p.string(0x0064, msg.sender_addrtype if msg.sender_email else None)
    p.string(0x0E04, "; ".join(n for n, _ in msg.to))
    p.string(0x0E03, "; ".join(n for n, _ in msg.cc))
    p.string(0x1000, msg.body)
    p.binary(0x1013, msg.html)
    p.binary(0x1009, msg.rtf_compressed)
    p.string(0x1035, msg.message_id)
    p.string(0x1042, msg.in_reply_to)
    p.string(0x1039, msg.references)
    p.string(0x007D, msg.transport_headers)
    p.time(0x0039, msg.submit_time)
    p.time(0x0E06, msg.delivery_time)
    p.long(0x0E07, 1)  # MSGFLAG_READ; not MSGFLAG_UNSENT, so it counts as a sent message
    p.long(0x3FDE, 65001)  # internet code page: UTF-8 (for the HTML body)
    p.long(0x340D, 0x00040000)  # store supports Unicode strings

    entries: list[tuple[list[str], bytes | None]] = []
    recipients = [(1, n, a) for n, a in msg.to] + [(2, n, a) for n, a in msg.cc]
    for i, (rtype, name, addr) in enumerate(recipients):
        storage = [*prefix, f"__recip_version1.0_#{i:08X}"]
        r = _Props()
        r.long(0x0C15, rtype)
        r.long(0x3000, i)
        r.string(0x3001, name)
        r.string(0x3002, "SMTP")
        r.string(0x3003, addr)
        r.string(0x39FE, addr)
        entries.append((storage, None))
        entries.append(([*storage, "__properties_version1.0"], r.stream(b"\0" * 8)))
        entries += [([*storage, k], v) for k, v in r.streams.items()]

    for i, att in enumerate(msg.attachments):
        storage = [*prefix, f"__attach_version1.0_#{i:08X}"]
        a = _Props()
        a.long(0x0E21, i)
        a.string(0x3707, att.filename)
        a.string(0x3704, att.filename[:12])
        a.string(0x3001, att.filename)
        a.string(0x370E, att.mime)
        a.string(0x3712, att.content_id)
        if att.hidden:
            a.boolean(0x7FFE, True)
        entries.append((storage, None))
        if att.embedded is not None:
            a.long(0x3705, 5)  # ATTACH_EMBEDDED_MSG
            a.obj(0x3701)
            inner = [*storage, "__substg1.0_3701000D"]
            entries.append((inner, None))
            entries += _message_entries(att.embedded, inner, top=False)
        else:
            a.long(0x3705, 1)  # ATTACH_BY_VALUE
            a.binary(0x3701, att.data)
        entries.append(([*storage, "__properties_version1.0"], a.stream(b"\0" * 8)))
        entries += [([*storage, k], v) for k, v in a.streams.items()]

    n_recip, n_att = len(recipients), len(msg.attachments)
    counts = struct.pack("<IIII", n_recip, n_att, n_recip, n_att)  # next ids, then counts
    # Top-level messages have 8 more reserved bytes in the header than embedded ones.
    header = b"\0" * 8 + counts + (b"\0" * 8 if top else b"")
    entries.append(([*prefix, "__properties_version1.0"], p.stream(header)))
    entries += [([*prefix, k], v) for k, v in p.streams.items()]
    return entries


def build_msg(msg: Message) -> bytes:
    """The bytes of an .msg file holding ``msg``."""
    writer = OleWriter()
    writer.addEntry("__nameid_version1.0", storage=True)
    for stream in ("__substg1.0_00020102", "__substg1.0_00030102", "__substg1.0_00040102"):
        writer.addEntry(["__nameid_version1.0", stream], b"")
    # Storages must exist before their streams: shortest paths first.
    for path, data in sorted(_message_entries(msg, [], top=True), key=lambda e: len(e[0])):
        if data is None:
            writer.addEntry(path, storage=True)
        else:
            writer.addEntry(path, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_sample_pst(path: str, eml: bytes) -> None:
    """A real Unicode PST written by Aspose.Email (a commercial library, used here in evaluation mode).

    No free library writes PST files, so this is the only way to test the PST reader on a real
    one; the evaluation mode stamps a notice into subjects and bodies, which the tests tolerate.
    Raises ImportError when Aspose.Email is not installed.
    """
    # .NET needs ICU for culture data unless told to run culture-invariant (read when it loads).
    os.environ.setdefault("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
    import aspose.email as ae
    from aspose.email.mapi import MapiContact, MapiMessage
    from aspose.email.storage.pst import FileFormatVersion, PersonalStorage, StandardIpmFolder

    pst = PersonalStorage.create(path, FileFormatVersion.UNICODE)
    inbox = pst.create_predefined_folder("Inbox", StandardIpmFolder.INBOX)
    inbox.add_message(MapiMessage.from_mail_message(ae.MailMessage.load(io.BytesIO(eml))))

    mail = ae.MailMessage()
    mail.from_address = ae.MailAddress("elodie@en-marche.fr", "Élodie Dupré")
    mail.to.append(ae.MailAddress("bob@example.org", "Bob"))
    mail.cc.append(ae.MailAddress("dan@example.org", "Dan"))
    mail.subject = "Réunion budget — jeudi"
    mail.html_body = '<p>Voir <b>le plan</b> ci-joint.<script>evil()</script> <img src="cid:logo1"></p>'
    logo = ae.LinkedResource(io.BytesIO(b"\x89PNG\r\n\x1a\nnot-really-a-png"), "image/png")
    logo.content_id = "logo1"
    mail.linked_resources.append(logo)
    mail.attachments.append(ae.Attachment(io.BytesIO(b"%PDF-1.4 tiny"), "plan.pdf", "application/pdf"))
    item = MapiMessage.from_mail_message(mail)
    inner = ae.MailMessage()
    inner.from_address = ae.MailAddress("carol@example.org")
    inner.to.append(ae.MailAddress("elodie@en-marche.fr"))
    inner.subject = "Original note"
    inner.body = "the inner body"
    item.attachments.add("fwd.msg", MapiMessage.from_mail_message(inner))
    inbox.add_sub_folder("Campagne").add_message(item)

    sent = pst.create_predefined_folder("Sent Items", StandardIpmFolder.SENT_ITEMS)
    sent.add_message(MapiMessage("alice@example.org", "x@example.org", "third", "plain third"))

    # Items that are not messages live in the same file and must not trip the reader.
    contacts = pst.create_predefined_folder("Contacts", StandardIpmFolder.CONTACTS)
    contacts.add_mapi_message_item(MapiContact("Jean Dupont", "jean@example.org", "ACME"))
    pst.__exit__(None, None, None)  # flushes and closes the file
