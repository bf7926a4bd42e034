"""The DKIM key archive: historical public keys with their provenance.

Leaks are checked years after the mail was sent, when the signing domain has
long rotated its keys out of DNS. The archive holds the keys that were in use
then (bundled ones with documented sources, plus files the user imports), so
verification works offline and reproducibly. Live DNS is a separate, opt-in
source (`DnsKeySource`) that records every answer and when it was obtained.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from leaklens.errors import LeaklensError


def _norm_name(name: str) -> str:
    # DNS names are case-insensitive and may be written fully qualified.
    return name.strip().rstrip(".").lower()


def parse_key_tags(record: str) -> dict[str, str]:
    """Lenient tag=value parse of a key record; later duplicates are ignored."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        if "=" not in part:
            continue
        k, v = part.split("=", 1)
        k = k.strip().lower()
        if k and k not in tags:
            tags[k] = re.sub(r"\s+", "", v) if k == "p" else v.strip()
    return tags


@dataclass(frozen=True)
class KeyRecord:
    """One public key TXT record for `selector._domainkey.domain`, with where it came from.

    `first_seen`/`last_seen` (ISO dates or None) bound the period the key is known
    to have been in use; a signature made with it was made within that window.

    `private_published` (ISO date) is when the private half stopped being secret: published
    by its operator after rotation (as chiark's dkim-rotate does, precisely so that old mail
    cannot be proven) or factorable; `private_source` says how that is known. After that date
    anyone could have made a signature with it, so it proves only what provably existed before.

    `signs_for` lists the domains the key's operator signs for under its own name (an email
    provider signing its customers' mail, e.g. Google Workspace's `*.gappssmtp.com`), as the
    user declared it, with `signs_for_source`: only then is such a signature aligned with them.
    """

    domain: str
    selector: str
    record: str
    source: str = ""
    first_seen: str | None = None
    last_seen: str | None = None
    private_published: str | None = None
    private_source: str | None = None
    signs_for: tuple[str, ...] = ()
    signs_for_source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "domain", _norm_name(self.domain))
        object.__setattr__(self, "selector", _norm_name(self.selector))
        object.__setattr__(self, "signs_for", tuple(_norm_name(d) for d in self.signs_for if d and d.strip()))

    @property
    def name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @cached_property
    def tags(self) -> dict[str, str]:
        return parse_key_tags(self.record)

    @property
    def key_type(self) -> str:
        return self.tags.get("k", "rsa").lower() or "rsa"

    @property
    def revoked(self) -> bool:
        """An empty `p=` is how a domain publishes that a key is withdrawn (RFC 6376 3.6.1)."""
        return self.tags.get("p", "") == ""

    @cached_property
    def key_bits(self) -> int | None:
        """Key size in bits, or None when the key is revoked or cannot be parsed."""
        if self.revoked:
            return None
        if self.key_type == "ed25519":
            return 256
        if self.key_type != "rsa":
            return None
        from dkim.crypto import UnparsableKeyError, parse_public_key

        try:
            pk = parse_public_key(base64.b64decode(self.tags["p"]))
            return int(pk["modulus"]).bit_length()
        except (UnparsableKeyError, binascii.Error, KeyError, ValueError, TypeError, IndexError):
            return None

    def window_text(self) -> str | None:
        """Plain-language validity window, or None when nothing is known."""
        if self.first_seen and self.last_seen:
            return f"between {self.first_seen} and {self.last_seen}"
        if self.first_seen:
            return f"from {self.first_seen} on"
        if self.last_seen:
            return f"up to {self.last_seen}"
        return None

    def provenance(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "first_seen": self.first_seen, "last_seen": self.last_seen}
        if self.private_published:
            out.update(private_published=self.private_published, private_source=self.private_source)
        if self.signs_for:
            out.update(signs_for=list(self.signs_for), signs_for_source=self.signs_for_source)
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["signs_for"] = list(self.signs_for)
        for k in ("private_published", "private_source", "signs_for_source"):
            if d[k] is None:
                del d[k]
        if not d["signs_for"]:
            del d["signs_for"]
        return d


class KeyArchive:
    """Keys indexed by (domain, selector); several records per name are kept (selectors get reused)."""

    def __init__(self, records: Iterable[KeyRecord] = ()) -> None:
        self._index = {}
        self._exposed: dict[str, tuple[str, str, str]] = {}  # p= -> (private_published, source, name)
        self.add(records)

    @classmethod
    def bundled(cls) -> KeyArchive:
        """The historical keys shipped with leaklens (see data/keys/README.md for sources)."""
        archive = cls()
        folder = resources.files("leaklens") / "data" / "keys"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                archive.add(_records_from_json(entry.read_text("utf-8"), f"bundled {entry.name}"))
        return archive

    @classmethod
    def load(cls, paths: Iterable[Path | str]) -> KeyArchive:
        archive = cls()
        for p in paths:
            archive.add(import_key_file(Path(p)))
        return archive

    def add(self, records: Iterable[KeyRecord]) -> int:
        """Add records, skipping exact duplicates of a key already held; returns how many were new."""
        added = 0
        for r in records:
            p = r.tags.get("p", "")
            if r.private_published and p and (p not in self._exposed or r.private_published < self._exposed[p][0]):
                self._exposed[p] = (r.private_published, r.private_source or "", r.name)
            bucket = self._index.setdefault((r.domain, r.selector), [])
            same = next((i for i, old in enumerate(bucket) if _same_key(r, old)), None)
            if same is None:
                bucket.append(r)
                added += 1
            else:
                # What one source knows about a key it holds already (its private half was
                # published, whom it signs for) must not be lost because another source has it too.
                bucket[same] = _merged(bucket[same], r)
        return added

    def merge(self, other: KeyArchive) -> KeyArchive:
        merged = KeyArchive(self.records)
        merged.add(other.records)
        return merged

    def lookup(self, domain: str, selector: str) -> list[KeyRecord]:
        found = list(self._index.get((_norm_name(domain), _norm_name(selector)), ()))
        # A private key made public is public under every name it is served under: the exposure
        # belongs to the key material, not to the record that happened to say so.
        return [self._exposure(r) for r in found] if self._exposed else found

    def _exposure(self, rec: KeyRecord) -> KeyRecord:
        known = self._exposed.get(rec.tags.get("p", ""))
        if known is None or (rec.private_published and rec.private_published <= known[0]):
            return rec
        return replace(rec, private_published=known[0], private_source=f"{known[1]} (the same key as {known[2]})")

    @property
    def records(self) -> list[KeyRecord]:
        return [r for bucket in self._index.values() for r in bucket]

    def __len__(self) -> int:
        return sum(len(b) for b in self._index.values())

    def to_json(self) -> dict[str, Any]:
        return {"keys": [r.to_dict() for r in self.records]}


def _same_key(a: KeyRecord, b: KeyRecord) -> bool:
    return a.tags.get("p") == b.tags.get("p") and a.key_type == b.key_type


def _merged(old: KeyRecord, new: KeyRecord) -> KeyRecord:
    """The first record, plus what the second adds: the earliest compromise, every declared customer."""
    changes: dict[str, Any] = {}
    if new.private_published and (not old.private_published or new.private_published < old.private_published):
        changes.update(private_published=new.private_published, private_source=new.private_source)
    extra = [d for d in new.signs_for if d not in old.signs_for]
    if extra:
        changes.update(
            signs_for=old.signs_for + tuple(extra),
            signs_for_source="; ".join(x for x in (old.signs_for_source, new.signs_for_source) if x),
        )
    return replace(old, **changes) if changes else old


# --- importing -----------------------------------------------------------------------------------

_DATE_FIELDS = ("first_seen", "last_seen", "private_published")
_TEXT_FIELDS = ("private_source", "signs_for_source")


def _records_from_json(text: str, where: str) -> list[KeyRecord]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise LeaklensError(f"{where}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise LeaklensError(f'{where}: expected a JSON object {{"keys": [...]}}')
    out = []
    for n, entry in enumerate(data["keys"], 1):
        if not isinstance(entry, dict):
            raise LeaklensError(f"{where}: key #{n} is not an object")
        for k in ("domain", "selector", "record"):
            if not isinstance(entry.get(k), str) or not entry[k].strip():
                raise LeaklensError(f"{where}: key #{n} lacks a text '{k}'")
        dates = {}
        for k in _DATE_FIELDS:
            v = entry.get(k)
            if v is not None:
                try:
                    date.fromisoformat(str(v))
                except ValueError:
                    raise LeaklensError(f"{where}: key #{n} has {k}={v!r}, expected YYYY-MM-DD") from None
            dates[k] = v
        texts = {}
        for k in _TEXT_FIELDS:
            v = entry.get(k)
            if v is not None and not isinstance(v, str):
                raise LeaklensError(f"{where}: key #{n} has a {k} that is not text")
            texts[k] = v or None
        if entry.get("private_published") and not texts["private_source"]:
            raise LeaklensError(f"{where}: key #{n} has private_published but no private_source (say how it is known)")
        signs_for = entry.get("signs_for") or []
        if not isinstance(signs_for, list) or not all(isinstance(d, str) and d.strip() for d in signs_for):
            raise LeaklensError(f"{where}: key #{n} has signs_for that is not a list of domains")
        if signs_for and not texts["signs_for_source"]:
            raise LeaklensError(f"{where}: key #{n} has signs_for but no signs_for_source (who declared it)")
        source = entry.get("source")
        out.append(
            KeyRecord(
                entry["domain"],
                entry["selector"],
                entry["record"],
                source if isinstance(source, str) and source else where,
                **dates,
                **texts,
                signs_for=tuple(signs_for),
            )
        )
    return out


def _strip_comment(line: str) -> str:
    """Drop a zone-file `;` comment, but not a `;` inside a quoted string (DKIM records are full of them)."""
    in_q = False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            in_q = not in_q
        elif ch == ";" and not in_q:
            return line[:i]
    return line


_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_TXT_LINE = re.compile(
    r"^(?P<owner>\S+)(?:\s+(?:\d+[smhdw]?|IN|CH|HS)){0,3}\s+TXT\s+(?P<data>.*)$", re.I | re.S
)


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Join parenthesised multi-line records into one line, tracking quotes so `(` inside data is data."""
    buf: list[str] = []
    depth = 0
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not buf:
            start = lineno
        in_q = False
        cleaned = []
        for i, ch in enumerate(line):
            if ch == '"' and (i == 0 or line[i - 1] != "\\"):
                in_q = not in_q
            if not in_q and ch in "()":
                depth += 1 if ch == "(" else -1
                if depth < 0:
                    raise LeaklensError(f"zone file line {lineno}: ')' without '('")
                cleaned.append(" ")
                continue
            cleaned.append(ch)
        if in_q:
            raise LeaklensError(f"zone file line {lineno}: unterminated quoted string")
        buf.append("".join(cleaned))
        if depth == 0:
            yield start, " ".join(buf)
            buf = []
    if buf:
        raise LeaklensError(f"zone file line {start}: '(' is never closed")


def parse_zone_file(text: str, source: str = "zone file") -> list[KeyRecord]:
    """DKIM key TXT records from zone-file text.

    Accepts `selector._domainkey.example.com. [TTL] [IN] TXT "v=DKIM1; ..." "..."` with the
    strings joined, parenthesised multi-line records, `;` comments and `$ORIGIN` for relative
    names. TXT records that are not DKIM keys (SPF, DMARC...) are skipped. Raises
    `LeaklensError` on broken syntax (unbalanced quotes or parentheses).
    """
    out: list[KeyRecord] = []
    origin = ""
    last_owner = ""
    for lineno, line in _logical_lines(text):
        if not line.strip():
            continue
        stripped = line.strip()
        if stripped.upper().startswith("$ORIGIN"):
            parts = stripped.split()
            origin = _norm_name(parts[1]) if len(parts) > 1 else ""
            continue
        if stripped.startswith("$"):
            continue
        # A line starting with blank space continues the previous owner name (zone-file rule).
        if line[:1].isspace():
            line = (last_owner or "@") + " " + stripped
        m = _TXT_LINE.match(line.strip())
        if not m:
            owner = line.split()[0]
            if not owner.startswith("$"):
                last_owner = owner
            continue
        owner, data = m.group("owner"), m.group("data").strip()
        last_owner = owner
        if owner == "@":
            name = origin
        elif owner.endswith("."):
            name = _norm_name(owner)
        else:
            name = _norm_name(owner + ("." + origin if origin else ""))
        if "._domainkey." not in name:
            continue
        strings = _QUOTED.findall(data)
        value = "".join(s.replace('\\"', '"').replace("\\\\", "\\") for s in strings) if strings else data
        selector, domain = name.split("._domainkey.", 1)
        if not selector or not domain:
            raise LeaklensError(f"zone file line {lineno}: cannot tell selector and domain in {owner!r}")
        if "p=" not in value.replace(" ", ""):
            continue
        out.append(KeyRecord(domain, selector, value.strip(), source))
    return out


def import_key_file(path: Path) -> list[KeyRecord]:
    """Keys from a JSON archive file or a zone file; one clear `LeaklensError` line on bad input."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise LeaklensError(f"cannot read key file {path}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LeaklensError(f"{path}: not a text file (expected a zone file or JSON key archive)") from None
    if "\x00" in text:
        raise LeaklensError(f"{path}: not a text file (expected a zone file or JSON key archive)")
    if text.lstrip().startswith(("{", "[")):
        records = _records_from_json(text, str(path))
    else:
        try:
            records = parse_zone_file(text, source=f"imported from {path.name}")
        except LeaklensError as e:
            raise LeaklensError(f"{path}: {e}") from None
    if not records:
        raise LeaklensError(
            f"{path}: no DKIM key found (expected lines like "
            'selector._domainkey.example.com. IN TXT "v=DKIM1; k=rsa; p=..." '
            'or a JSON file {"keys": [...]})'
        )
    return records


# --- live DNS (only when the user asks for it) ---------------------------------------------------


@dataclass(frozen=True)
class DnsLookup:
    """What one live DNS query returned, and when: kept so a case can show it later."""

    name: str
    answer: str | None
    error: str | None
    at: str  # ISO 8601, UTC

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DnsKeySource:
    """Live DKIM key lookups through dnspython; every query is appended to `self.log`.

    Keys found this way carry no validity window: being in DNS today says nothing about
    when a key was first used, and nothing about keys that signed old mail.
    """

    def __init__(self, resolver: Any = None, timeout: float = 5.0) -> None:
        self._resolver = resolver
        self.timeout = timeout
        self.log: list[DnsLookup] = []

    def _get_resolver(self) -> Any:
        if self._resolver is None:
            import dns.resolver

            self._resolver = dns.resolver.Resolver()
        return self._resolver

    def lookup(self, domain: str, selector: str) -> list[KeyRecord]:
        name = f"{_norm_name(selector)}._domainkey.{_norm_name(domain)}"
        at = datetime.now(UTC).isoformat(timespec="seconds")
        import dns.exception
        import dns.resolver

        try:
            answer = self._get_resolver().resolve(name, "TXT", lifetime=self.timeout)
            texts = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
        except dns.resolver.NXDOMAIN:
            self.log.append(DnsLookup(name, None, "NXDOMAIN (no such name)", at))
            return []
        except dns.resolver.NoAnswer:
            self.log.append(DnsLookup(name, None, "no TXT record", at))
            return []
        except dns.exception.DNSException as e:
            self.log.append(DnsLookup(name, None, f"{type(e).__name__}: {e}", at))
            return []
        keys = [t for t in texts if "p=" in t.replace(" ", "")]
        self.log.append(DnsLookup(name, " | ".join(texts), None if keys else "no DKIM key in TXT answer", at))
        return [KeyRecord(domain, selector, t, f"live DNS lookup of {name} at {at}") for t in keys]
