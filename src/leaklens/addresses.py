"""RFC 5322 address lists, parsed the way the RFC defines them, and organisational domains.

The author check needs the domain of every mailbox in From exactly as a standards-following
reader finds it: quoted strings and comments can hold "@", a route (`<@a.example:x@b.example>`)
names a domain that is not the address's, and an RFC 2047 encoded-word is never an address
(§5). `email.utils.getaddresses` gets several of these wrong (CVE-2023-27043), so this is a
small tokenizer and parser of its own. It also keeps every piece of text a reader might take
for an address (display names, decoded encoded-words, comments, quoted local parts, routes)
so a check can say when one of them names another domain.

Organisational domains follow RFC 7489 §3.2 with the Public Suffix List bundled in
tldextract (offline), private suffixes included: `alice.github.io` and `bob.github.io` are
different organisations, and a public suffix (`co.uk`) is an organisation of its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from functools import lru_cache

_SPECIALS = set('()<>[]:;@\\,."')
# "@" and the characters a reader takes for it (fullwidth and small commercial at).
_ADDRESSLIKE = re.compile(
    r"([^\s<>()\"',;:@\uff20\ufe6b]+)[@\uff20\ufe6b]((?:[A-Za-z0-9\u00a0-\uffff-]+\.)+[A-Za-z\u00a0-\uffff]{2,})"
)
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


@dataclass
class Mailbox:
    local: str
    domain: str
    display: str = ""  # the display name as a reader shows it (encoded-words decoded)
    route: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"


@dataclass
class AddressList:
    mailboxes: list[Mailbox] = field(default_factory=list)
    # Text a reader could mistake for an address: display names, comments, quoted local parts, routes.
    lookalike_texts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def domains(self) -> list[str]:
        return [m.domain for m in self.mailboxes]


class _Syntax(ValueError):
    pass


def _tokens(text: str, comments: list[str]) -> list[tuple[str, str]]:
    """(kind, value) tokens: atom, quoted, literal, or a special character. Comments go to `comments`."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c == "(":
            depth, j, buf = 1, i + 1, []
            while j < n and depth:
                ch = text[j]
                if ch == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                depth += ch == "("
                depth -= ch == ")"
                if depth:
                    buf.append(ch)
                j += 1
            if depth:
                raise _Syntax("a comment is never closed")
            comments.append("".join(buf))
            i = j
        elif c == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise _Syntax("a quoted string is never closed")
            out.append(("quoted", "".join(buf)))
            i = j + 1
        elif c == "[":
            j = text.find("]", i)
            if j < 0:
                raise _Syntax("a domain literal is never closed")
            out.append(("literal", text[i : j + 1]))
            i = j + 1
        elif c in _SPECIALS:
            out.append((c, c))
            i += 1
        else:
            j = i
            while j < n and text[j] not in _SPECIALS and text[j] not in " \t\r\n":
                j += 1
            out.append(("atom", text[i:j]))
            i = j
    return out


def _split(tokens: list[tuple[str, str]], sep: str) -> list[list[tuple[str, str]]]:
    """Split at `sep` outside angle brackets."""
    parts: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for t in tokens:
        if t[0] == "<":
            depth += 1
        elif t[0] == ">":
            depth = max(0, depth - 1)
        if t[0] == sep and depth == 0:
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _addr_spec(tokens: list[tuple[str, str]], out: AddressList) -> tuple[str, str]:
    at = [i for i, t in enumerate(tokens) if t[0] == "@"]
    if len(at) != 1:
        raise _Syntax("an address needs exactly one @ outside quotes" if at else "no @ in the address")
    local_t, domain_t = tokens[: at[0]], tokens[at[0] + 1 :]
    if not local_t or not domain_t:
        raise _Syntax("an address lacks its local part or its domain")
    local = []
    for i, (kind, value) in enumerate(local_t):
        # Words are joined by dots (RFC 5322 3.4.1; runs of dots, as some mobile carriers issue, are
        # tolerated): `"a@b.example" x@evil.example` is a quoted display name before a bare address,
        # never one address whose local part holds "a@b.example".
        if i and kind != "." and local_t[i - 1][0] != ".":
            raise _Syntax("two words side by side in the local part (a display name without its <>?)")
        if kind == "quoted":
            out.lookalike_texts.append(value)
            local.append(value)
        elif kind in ("atom", "."):
            local.append(value)
        else:
            raise _Syntax(f"unexpected {value!r} in the local part")
    if len(domain_t) == 1 and domain_t[0][0] == "literal":
        return "".join(local), domain_t[0][1]
    if any(kind not in ("atom", ".") for kind, _ in domain_t):
        raise _Syntax("unexpected characters in the domain")
    domain = "".join(v for _, v in domain_t)
    if domain.endswith(".") and not domain.endswith(".."):
        domain = domain[:-1]  # a fully qualified name
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        raise _Syntax("the domain has an empty label")
    return "".join(local), domain


def _phrase(tokens: list[tuple[str, str]]) -> str:
    """The display name as a reader shows it: words spaced, specials ("@", ".") kept tight."""
    text = ""
    prev_word = False
    for kind, value in tokens:
        word = kind in ("atom", "quoted")
        text += (" " if word and prev_word else "") + value
        prev_word = word
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (LookupError, ValueError, UnicodeError, AssertionError):
            pass
    return text


def _mailbox(tokens: list[tuple[str, str]], out: AddressList) -> None:
    kinds = [k for k, _ in tokens]
    if "<" in kinds:
        lt = kinds.index("<")
        if ">" not in kinds[lt:]:
            raise _Syntax("an angle bracket is never closed")
        gt = lt + kinds[lt:].index(">")
        if any(k not in (">",) for k in kinds[gt + 1 :]):
            raise _Syntax("text after the closing angle bracket")
        display = _phrase(tokens[:lt])
        inner = tokens[lt + 1 : gt]
        route: list[str] = []
        if inner and inner[0][0] == "@":
            colon = next((i for i, t in enumerate(inner) if t[0] == ":"), None)
            if colon is None:
                raise _Syntax("a route without its colon")
            route = ["".join(v for k, v in part if k != "@") for part in _split(inner[:colon], ",") if part]
            inner = inner[colon + 1 :]
            out.lookalike_texts.extend("@" + r for r in route)
        local, domain = _addr_spec(inner, out)
        if display:
            out.lookalike_texts.append(display)
        out.mailboxes.append(Mailbox(local, domain, display, route))
    else:
        local, domain = _addr_spec(tokens, out)
        out.mailboxes.append(Mailbox(local, domain))


def parse_address_list(value: str) -> AddressList:
    """Every mailbox of an address-list field (groups opened), plus what could mislead a reader."""
    out = AddressList()
    comments: list[str] = []
    try:
        tokens = _tokens(value, comments)
        # Groups: "name: a@x, b@y;" — their members are mailboxes like any other.
        flat: list[tuple[str, str]] = []
        depth = 0
        for t in tokens:
            if t[0] == "<":
                depth += 1
            elif t[0] == ">":
                depth -= 1
            if t[0] == ":" and depth == 0:
                # Drop the group's display name: everything since the previous top-level comma.
                while flat and flat[-1][0] != ",":
                    out.lookalike_texts.append(flat.pop()[1])
                continue
            if t[0] == ";" and depth == 0:
                flat.append((",", ","))
                continue
            flat.append(t)
        for part in _split(flat, ","):
            if part:  # RFC 5322 §4.4 obsolete syntax allows empty list elements
                _mailbox(part, out)
    except _Syntax as e:
        out.mailboxes = []
        out.problems.append(str(e))
    out.lookalike_texts.extend(comments)
    for m in out.mailboxes:
        for part in (m.local, m.domain):
            if _ENCODED_WORD.search(part):
                out.problems.append(f"an RFC 2047 encoded-word stands inside the address {m.address!r}")
        m.domain = m.domain.rstrip(".").lower()
    if not out.mailboxes and not out.problems:
        out.problems.append("no address")
    if out.problems:
        out.mailboxes = []
    return out


def addresses_in(text: str) -> list[str]:
    """The address-like strings inside a piece of text, lower-cased (decoded first if it is encoded)."""
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (LookupError, ValueError, UnicodeError, AssertionError):
            pass
    # What a reader takes for "@" and "." is what counts: fold compatibility forms (fullwidth, small
    # and one-dot-leader characters) and the ideographic full stops that NFKC leaves alone.
    text = unicodedata.normalize("NFKC", text).translate(_DOTS)
    return [f"{m.group(1)}@{m.group(2).rstrip('.')}".lower() for m in _ADDRESSLIKE.finditer(text)]


# The address of a mailbox as written after its display name: `<local@domain>` closing the mailbox.
_ANGLE_ADDR = re.compile(r"<\s*(?:@[^<>:]*:)?([^<>\s@]+@[^<>\s@]+?)\s*>\s*(?=,|$)")
_QUOTED_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"?|\((?:[^()\\]|\\.)*\)?')


@lru_cache(maxsize=65536)
def mailbox_addresses(value: str | None) -> tuple[str, ...]:
    """The real address of every mailbox of an address-list field (From, To, Cc), lower case, in order:
    never a display name, a comment or a quoted string, whatever address they show.

    A field the RFC 5322 parser cannot read (a decoded display name holding "<" or ",", a bracket
    never closed) is read leniently, still never from its display names: each `<address>` that ends a
    mailbox, else the address-like words left once quoted strings and comments are removed.
    """
    if not value or "@" not in value:
        return ()
    found = parse_address_list(value)
    if found.mailboxes:
        return tuple(dict.fromkeys(m.address.lower() for m in found.mailboxes))
    angled = [m.group(1).lower().rstrip(".") for m in _ANGLE_ADDR.finditer(value)]
    if angled:
        return tuple(dict.fromkeys(angled))
    bare = _QUOTED_OR_COMMENT.sub(" ", value)
    return tuple(dict.fromkeys(addresses_in(bare)))


def mailbox_domains(value: str | None) -> tuple[str, ...]:
    """The domain of every mailbox of an address-list field (`mailbox_addresses`), lower case."""
    return tuple(dict.fromkeys(a.rpartition("@")[2] for a in mailbox_addresses(value)))


_DOTS = {0x3002: ".", 0xFF61: ".", 0xFF0E: ".", 0x2024: ".", 0xFE52: ".", 0x0701: ".", 0x0702: "."}


# --- organisational domains --------------------------------------------------------------------


@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # suffix_list_urls=() : the list bundled with the package, never a download.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def ascii_domain(domain: str) -> str | None:
    """The domain in lower-case A-labels, or None if it is not a domain name at all."""
    d = domain.strip().rstrip(".").lower()
    if not d or d.startswith("["):
        return None
    if not d.isascii():
        try:
            d = d.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if d.replace(".", "").isdigit():
        return None  # an IPv4 address is not a domain (and has no organisational domain)
    return d if DOMAIN_NAME.fullmatch(d) else None


DOMAIN_NAME = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@lru_cache(maxsize=65536)
def organisational_domain(domain: str) -> str | None:
    """RFC 7489 §3.2: the registrable domain (one label under its public suffix), else the domain itself."""
    d = ascii_domain(domain)
    if d is None:
        return None
    parts = _extractor()(d)
    if parts.suffix:
        return f"{parts.domain}.{parts.suffix}" if parts.domain else d  # a public suffix is its own organisation
    # No rule matches (reserved names such as .example or .test): the PSL's default rule "*" makes
    # the last label the public suffix.
    labels = d.split(".")
    return ".".join(labels[-2:])


def aligned(signer: str, author: str) -> bool:
    """DMARC relaxed alignment: the same organisational domain."""
    a, b = organisational_domain(signer), organisational_domain(author)
    return a is not None and a == b
