"""Who the message says wrote it, read so that what a reader sees is what was checked.

A DKIM signature proves authorship only for the address a reader actually sees. This module
reads the header block once (`headerblock`, RFC 5322 with its obsolete syntax), requires
exactly one From field as every reader counts it, parses its mailboxes as RFC 5322 defines
them (`addresses`), and reports anything that would let a reader see another author than the
one the signature is checked against: readers that disagree on the block, a second From, a
display name or comment that is itself another address, a From with no checkable address.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from leaklens.addresses import addresses_in, organisational_domain, parse_address_list
from leaklens.display import quoted_header
from leaklens.headerblock import HeaderBlock, disagreement, head_of, read_block, unfolded_text
from leaklens.model import Finding
from leaklens.verify.verdict import SUSPICIOUS, register_effect

register_effect("headers.ambiguous", SUSPICIOUS)
register_effect("headers.multiple_from", SUSPICIOUS)
register_effect("headers.from_unparseable", SUSPICIOUS)
register_effect("headers.display_name_address", SUSPICIOUS)
register_effect("headers.no_from", None)  # suspicious (via evidence) when a signature validates anyway
register_effect("headers.sender_differs", None)


@dataclass
class Authorship:
    block: HeaderBlock
    findings: list[Finding] = field(default_factory=list)
    # Domain of every mailbox of the single From; None when no author can be checked.
    authors: list[str] | None = None
    mailboxes: list[str] = field(default_factory=list)


def check_authorship(raw: bytes, head: bytes | None = None, block: HeaderBlock | None = None) -> Authorship:
    """`head`/`block`: the message's header block and its reading, when the caller has them already."""
    head = head_of(raw) if head is None else head
    block = read_block(head) if block is None else block
    out = Authorship(block)
    ambiguity = disagreement(head, block)
    from_counts = [block.count("From")]
    if ambiguity is not None:
        from_counts = [r["from_fields"] for r in ambiguity["readers"].values()]
        what = "; ".join(sorted({x["what"] for x in ambiguity["lines"]}))
        out.findings.append(
            Finding(
                "headers.ambiguous",
                "warning",
                f"The header block can be read in more than one way ({what}): mail programs and the "
                "signature check may not see the same fields, so nothing in it can be taken as proven. "
                "The evidence shows how each reader sees it.",
                ambiguity,
            )
        )
    count = block.count("From")
    if count == 0:
        out.findings.append(
            Finding("headers.no_from", "warning", "The message has no From field: it names no author.", {})
        )
        return out
    values = [unfolded_text(v) for v in block.values("From")]
    if count > 1 or max(from_counts) > 1:
        out.findings.append(
            Finding(
                "headers.multiple_from",
                "critical",
                f"The message has {max(count, *from_counts)} From fields where there must be one: a signature "
                "can cover one while a mail program shows the other, a classic way to pass a forged "
                "author through a valid signature.",
                {"values": [v[:300] for v in values], "counts_by_reader": from_counts},
            )
        )
    # With several From fields every one of them must be aligned (and the message is not verified anyway).
    parsed = parse_address_list(", ".join(values))
    value = values[0] if count == 1 else ", ".join(values)
    if parsed.problems:
        out.findings.append(
            Finding(
                "headers.from_unparseable",
                "warning",
                f"The From field has no address that can be checked ({parsed.problems[0]}): it reads "
                f"{quoted_header(value)}. A mail program may show an author that no signature check can confirm.",
                {"value": value[:500], "problems": parsed.problems},
            )
        )
        return out
    out.mailboxes = [m.address for m in parsed.mailboxes]
    out.authors = [m.domain for m in parsed.mailboxes]
    orgs = {organisational_domain(d) or d for d in out.authors}
    own = {a.lower() for a in out.mailboxes}
    misleading = []
    for text in parsed.lookalike_texts:
        if text.startswith("@"):  # a route names a domain, no mailbox
            domain = text[1:].lower()
            if (organisational_domain(domain) or domain) not in orgs:
                misleading.append({"text": text[:300], "looks_like": domain})
            continue
        other = [a for a in addresses_in(text) if a not in own]
        if other:
            misleading.append({"text": text[:300], "looks_like": other[0]})
    if misleading:
        first = misleading[0]
        out.findings.append(
            Finding(
                "headers.display_name_address",
                "warning",
                f"The From field shows {quoted_header(first['text'])}, which looks like {first['looks_like']}, but the "
                f"address it really carries is {out.mailboxes[0]}. Mail programs often show only the "
                "name: a reader would take it for another sender.",
                {"from": value[:500], "addresses": out.mailboxes, "misleading": misleading},
            )
        )
    sender = block.text("Sender")
    if sender is not None:
        senders = parse_address_list(sender)
        if [m.address.lower() for m in senders.mailboxes] != [a.lower() for a in out.mailboxes]:
            out.findings.append(
                Finding(
                    "headers.sender_differs",
                    "info",
                    f"The Sender field ({quoted_header(sender)}) names someone other than the From field: the "
                    "message was sent on the author's behalf by that sender.",
                    {"sender": sender[:500], "from": out.mailboxes},
                )
            )
    return out
