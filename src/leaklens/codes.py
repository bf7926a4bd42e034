"""Every finding code leaklens emits, declared once: its usual severity, its effect on the verdict,
whether it is a heuristic (a note on a proven item), and what it means in one line.

The verdict table (`verify/verdict.py`), the report and the workbench read this catalogue; a
check that emits a code not declared here fails the tests (see `tests/test_codes.py`, and
`LEAKLENS_STRICT_CODES`, which makes `Finding` refuse undeclared codes while the suite runs).
A check may still refine a code's effect for one finding through `evidence["effect"]`.
"""

from __future__ import annotations

from dataclasses import dataclass

VERIFIED, ALTERED, SUSPICIOUS, ERROR = "verified", "altered", "suspicious", "error"


@dataclass(frozen=True)
class Code:
    code: str
    severity: str  # the usual one: info, warning or critical
    effect: str | None  # on the verdict: verified, altered, suspicious, error, or None
    meaning: str
    heuristic: bool = False  # an anomaly, not proof: never overrides a verification


# (code, severity, effect, heuristic, meaning)
_TABLE: list[tuple[str, str, str | None, bool, str]] = [
    # --- authorship: what the reader sees is what was checked
    ("headers.ambiguous", "warning", SUSPICIOUS, False, "Readers disagree on the header block's fields."),
    ("headers.multiple_from", "critical", SUSPICIOUS, False, "More than one From field."),
    ("headers.no_from", "warning", None, False, "No From field (suspicious when a signature validates)."),
    ("headers.from_unparseable", "warning", SUSPICIOUS, False, "The From field has no checkable address."),
    ("headers.display_name_address", "warning", SUSPICIOUS, False, "A display name shows another address."),
    ("headers.sender_differs", "info", None, False, "Sender names someone other than From."),
    # --- DKIM
    ("dkim.pass", "info", VERIFIED, False, "A signature validates (proof only when aligned with From)."),
    ("dkim.body_hash_mismatch", "critical", ALTERED, False, "The body changed after signing."),
    ("dkim.header_mismatch", "critical", ALTERED, False, "A signed header changed after signing."),
    ("dkim.original_recovered", "warning", None, False, "Undoing one known change restores the signed body."),
    ("dkim.unsigned_header", "warning", SUSPICIOUS, False, "A header a reader relies on is not signed."),
    ("dkim.length_limited", "warning", SUSPICIOUS, False, "l= leaves the body's tail unsigned."),
    ("dkim.signer_not_author", "info", None, False, "Signed by a domain not aligned with From."),
    ("dkim.key_unavailable", "warning", None, False, "No key known for the signature."),
    ("dkim.key_revoked", "warning", None, False, "The only key known is revoked."),
    ("dkim.key_invalid", "warning", None, False, "The key record cannot be read."),
    ("dkim.key_rejected", "warning", None, False, "The key record excludes this signature."),
    ("dkim.key_compromised", "warning", None, False, "The key's private half is public; proof of time needed."),
    ("dkim.testing_key", "warning", None, False, "The key is in testing mode (t=y)."),
    ("dkim.future_timestamp", "warning", None, False, "The signature is dated in the future."),
    ("dkim.weak_key", "warning", None, False, "Validates with a factorable (<1024-bit) key."),
    ("dkim.sha1", "info", None, False, "rsa-sha1 signature (RFC 8301), still proof."),
    ("dkim.expired", "info", None, False, "x= has passed; judged as of t=."),
    ("dkim.malformed", "warning", None, False, "The signature cannot be read."),
    ("dkim.none", "info", None, False, "No DKIM signature."),
    ("dkim.covered_by_parent", "info", VERIFIED, False, "Bytes inside a verified email's signed body."),
    ("dkim.inside_verified", "info", None, False, "A message forwarded inside a verified email."),
    ("dkim.identical_to_verified", "info", VERIFIED, False, "Byte-identical to a verified item."),
    ("dkim.expected_signature_missing", "warning", SUSPICIOUS, False, "Unsigned, from a domain that signs."),
    # --- ARC: evidence about the path, never proof of authorship
    ("arc.pass", "info", None, False, "The ARC chain validates."),
    ("arc.fail", "warning", None, False, "The ARC chain fails."),
    ("arc.key_unavailable", "warning", None, False, "No key for an ARC seal or signature."),
    ("arc.dkim_pass_recorded", "info", None, False, "An ARC hop recorded a DKIM pass before a change."),
    # --- header dates: unsigned and clock-dependent
    ("headers.time_travel", "warning", SUSPICIOUS, True, "Received hops go back in time."),
    ("headers.date_skew", "warning", SUSPICIOUS, True, "Date far from the first Received hop."),
    ("headers.date_after_publication", "warning", SUSPICIOUS, True, "Dated after the dump's publication."),
    ("headers.received_unparsed", "info", None, False, "A Received header cannot be read."),
    ("headers.date_unreadable", "info", None, False, "The Date header cannot be read."),
    # --- reading the message
    ("email.unreadable", "critical", ERROR, False, "Not readable as an email."),
    ("email.malformed_header", "warning", None, False, "Header lines skipped (older cases)."),
    ("verify.internal_error", "critical", ERROR, False, "leaklens failed on this message."),
    ("verify.timeout", "critical", ERROR, False, "Checking the message overran the time limit and was stopped."),
    ("verify.crash", "critical", ERROR, False, "The process checking the message died."),
    ("thread.quote_mismatch", "warning", SUSPICIOUS, True, "A reply misquotes its verified parent."),
    # --- documents (effects come per finding, through evidence)
    ("doc.modified_after_sent", "warning", None, True, "Last modified after the email carrying it was sent."),
    ("doc.after_publication", "warning", None, True, "Dated after the dump's publication."),
    ("doc.created_after_modified", "warning", None, True, "Created after it was last modified."),
    ("doc.future_dates", "warning", None, True, "Dated in the future."),
    ("doc.producer_inconsistent", "warning", None, True, "Producer and creator tools disagree."),
    ("doc.incremental_update", "warning", None, True, "A PDF revised after it was made."),
    ("doc.layers", "warning", None, True, "A PDF with (hidden) layers."),
    ("doc.edit_burst", "warning", None, True, "One of many documents edited in a burst."),
    ("doc.foreign_editor", "warning", None, True, "An editor or codepage that stands apart."),
    ("doc.metadata_unreadable", "warning", None, False, "The document's metadata cannot be read."),
    ("doc.metadata_timeout", "warning", None, False, "Reading the metadata overran the time limit."),
    ("doc.metadata_crash", "warning", None, False, "The process reading the metadata died."),
    ("dup.altered_copy", "warning", None, True, "A near-copy of a verified item, with differences."),
    ("dup.carries_altered", "warning", SUSPICIOUS, False, "An unverified email carrying an altered item."),
    ("dup.compared_in_part", "info", None, False, "Too many look-alike texts: compared with only some of them."),
    # --- spread: what social posts did with an item (information, never a verdict)
    ("spread.shared", "info", None, False, "Shared in social posts: first where, when and by whom."),
    # --- intel: phishing (heuristic: a lookalike's own valid signature proves only who sent it)
    ("intel.lookalike_sender", "warning", SUSPICIOUS, True, "A sender address on a lookalike of a protected domain."),
    ("intel.lookalike_link", "warning", SUSPICIOUS, True, "A link to a lookalike of a protected domain."),
    ("intel.link_text_mismatch", "warning", SUSPICIOUS, True, "A link's visible URL names another domain."),
    ("intel.credential_form", "warning", SUSPICIOUS, True, "A password form that posts to another site."),
    # --- ingest
    ("ingest.failed", "critical", ERROR, False, "Could not be stored."),
    ("ingest.read_error", "warning", ERROR, False, "The reader failed on it."),
    ("ingest.crash", "warning", None, False, "A reader crashed on it."),
    ("ingest.timeout", "warning", None, False, "Reading took longer than the limit."),
    ("ingest.too_large", "warning", None, False, "Larger than the limit: stored, not read."),
    ("ingest.member_too_large", "warning", None, False, "An archive member over the size limit."),
    ("ingest.bomb", "warning", None, False, "Expands too much: not extracted."),
    ("ingest.expansion_limit", "warning", None, False, "The source's expansion budget is spent."),
    ("ingest.depth_limit", "warning", None, False, "Nested deeper than the limit."),
    ("ingest.encrypted", "warning", None, False, "Encrypted: content not readable."),
    ("ingest.corrupt", "warning", None, False, "Damaged container."),
    ("ingest.truncated", "warning", None, False, "Truncated container, recovered in part."),
    ("ingest.unsafe_name", "warning", None, False, "A member name with .., an absolute path or a link."),
    ("ingest.symlink", "info", None, False, "A symbolic link, recorded, not followed."),
    ("ingest.xml_dtd", "warning", None, False, "An XML document type declaration, not expanded."),
    ("ingest.text_failed", "warning", None, False, "Text extraction failed."),
    ("ingest.text_truncated", "info", None, False, "Text cut at the limit."),
    ("ingest.mbox_unquoted", "info", None, False, "mbox >From quoting undone."),
    ("ingest.attachment_unreadable", "warning", None, False, "An attachment could not be read."),
    ("ingest.embedded_item_unsupported", "warning", None, False, "An embedded item not reachable."),
    ("ingest.embedded_msg_unexportable", "warning", None, False, "An embedded message not exportable."),
    ("ingest.msg_no_transport_headers", "info", None, False, "A .msg without its transport headers."),
    ("ingest.msg_not_original_bytes", "info", None, False, "A .msg: not the original bytes."),
    ("ingest.reconstructed", "info", None, False, "Rebuilt from properties: not original bytes."),
    ("ingest.pst_orphan", "info", None, False, "A PST item outside any folder."),
    ("ingest.rtf_body", "info", None, False, "Body from compressed RTF."),
    ("mbox.leading_garbage", "warning", None, False, "Bytes before the first mbox separator."),
    ("mime.8bit_header", "info", None, False, "Raw 8-bit bytes in a header."),
    ("mime.bad_base64", "warning", None, False, "Damaged base64."),
    ("mime.bad_charset", "info", None, False, "Text not valid in its declared charset."),
    ("mime.unknown_charset", "info", None, False, "An unknown charset."),
    ("mime.unknown_encoding", "info", None, False, "An unknown transfer encoding."),
    ("mime.bad_date", "info", None, False, "The Date header cannot be read."),
    ("mime.bad_header_encoding", "info", None, False, "Encoded words that cannot be decoded."),
    ("mime.boundary_not_found", "warning", None, False, "A multipart boundary never occurs."),
    ("mime.missing_boundary", "warning", None, False, "A multipart without a boundary."),
    ("mime.unterminated", "info", None, False, "A multipart without its closing delimiter."),
    ("mime.too_deep", "warning", None, False, "MIME nested too deep."),
    ("mime.too_many_parts", "warning", None, False, "Too many MIME parts."),
    ("mime.defect", "info", None, False, "Malformed headers."),
    ("mime.nul_bytes", "warning", None, False, "NUL bytes in the message."),
]

CATALOGUE: dict[str, Code] = {row[0]: Code(row[0], row[1], row[2], row[4], row[3]) for row in _TABLE}


def declare(code: str, severity: str, effect: str | None, meaning: str, *, heuristic: bool = False) -> Code:
    """Add a code from the module that emits it (a later capability's own checks)."""
    entry = Code(code, severity, effect, meaning, heuristic)
    CATALOGUE[code] = entry
    return entry
