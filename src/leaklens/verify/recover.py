"""Recover the signed original of a body whose DKIM body hash fails, when a benign change explains it.

A valid header signature proves the `bh=` it carries, so any body whose canonical hash equals
that `bh=` *is* what the signer sent (finding another would need a SHA-256 second preimage).
When the body as found fails, this module tries the changes mail systems are known to make
and stops at the first candidate original that hashes to the signed `bh=` exactly:

- a block of lines added by a mailing list: at the end of the body, at the end of a MIME
  part (just before a boundary line or `</body>`), as an extra MIME part before the closing
  delimiter, in two places at once (Google Groups adds its footer to the text and the HTML
  part), or a header block at the start. Footer markers ("-- ", "____", "To unsubscribe",
  the list's own addresses and URLs) choose the likely starts first, but every trailing
  block up to TAIL_LINES lines is tried regardless of what it says: if removing it restores
  `bh=`, the rest is proven original whatever the block contains, and the finding shows it;
- line-ending damage: CR CR LF (a CRLF file converted again), a final line break added or
  removed. Plain CRLF/LF conversion needs no repair: the body is read as CRLF lines already;
- trailing whitespace added to lines, or stripped from the signature separator "-- ";
- mbox "From " quoting (">From ") added by a mail store;
- blank lines added at the end (whitespace-only lines, which simple canonicalisation keeps).

Pure (no I/O) and bounded: bodies over MAX_BODY_BYTES are not tried, at most MAX_ATTEMPTS
candidate hashes and MAX_HASHED_BYTES of hashing per signature. Candidates share their
common prefix's hash state (the expensive part of trying many cuts near the end of a long
body), computed over a per-line canonical form; every hit is confirmed with dkimpy's own
canonicalisation before it is reported.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dkim.canonicalization import ALGORITHMS

from leaklens.display import header_text
from leaklens.model import Finding
from leaklens.verify.rawmail import RawMail, as_text
from leaklens.verify.verdict import ALTERED, effect_of, register_effect

CODE = "dkim.original_recovered"
# The item stays `altered` through dkim.body_hash_mismatch; this finding explains that change.
register_effect(CODE, None)

CRLF = b"\r\n"
MAX_BODY_BYTES = 4 << 20
MAX_ATTEMPTS = 500
MAX_HASHED_BYTES = 128 << 20
TAIL_LINES = 150  # how far from the end an appended block may start
BLOCK_LINES = 40  # the longest block tried before a MIME boundary or </body>
LEAD_LINES = 20  # the longest block tried at the start of the body
INSERT_POINTS = 6  # MIME boundary / </body> lines, from the last, before which blocks are tried
PAIR_POINTS = 4  # blocks in two places: pairs among the last PAIR_POINTS insert points
MARKED_STARTS = 9  # marker-guided block starts per insert point
PAIR_STARTS = 3  # of which the likeliest, for blocks in two places
MAX_DIFF_LINES = 80
_GRID = 64  # lines between saved hash states: a cut anywhere rehashes at most this many lines
MAX_TEXT_CHARS = 4000

# Lines that start (or sit inside) a footer added by a list or a forwarding service.
_MARKERS = re.compile(
    rb"^(?:--\s?|_{5,}\s*|-{5,}\s*|={5,}\s*|\*{5,}\s*|--\s*<br\s*/?>.*)$"
    rb"|unsubscribe|mailing list|listinfo|you received this message because|google groups"
    rb"|groups\.google\.com|sympa|mailman|list-unsubscribe|view this discussion",
    re.IGNORECASE,
)
_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]+)"|([^\s;"]+))', re.IGNORECASE)
_CLOSING = re.compile(rb"^--(\S+?)--[ \t]*\r?$", re.MULTILINE)
_FROM_QUOTED = re.compile(rb"^>+From ")

# What each transformation did, in words (the finding's message is built from these).
TRANSFORMATIONS = {
    "footer_removed": "a block of lines added to the body",
    "header_removed": "a block of lines added at the start of the body",
    "blank_lines_added": "blank lines added at the end of the body",
    "line_endings_doubled": "line ends converted twice (CR CR LF)",
    "final_line_break": "the final line break changed",
    "trailing_whitespace_added": "spaces or tabs added at the end of lines",
    "separator_space_stripped": 'the signature separator "-- " lost its space',
    "from_quoted": 'lines starting with "From " quoted as ">From " by an mbox store',
}
# Changes that cannot alter a word a reader sees: benign whoever made them.
_BENIGN = {
    "blank_lines_added",
    "line_endings_doubled",
    "final_line_break",
    "trailing_whitespace_added",
    "separator_space_stripped",
    "from_quoted",
}


# ---------------------------------------------------------------------------------------- hints
@dataclass(frozen=True)
class ListHints:
    """What the headers say about a mailing list or forwarder that handled the message."""

    name: str | None = None  # the list's name (List-Id phrase), else its id
    list_id: str | None = None
    platform: str | None = None  # Mailman, Google Groups, Sympa, ezmlm
    references: tuple[str, ...] = ()  # what a footer of this list would contain: addresses, hosts, id
    arc_sealer: str | None = None  # d= of the last ARC-Seal: a forwarder that handled the message
    boundaries: tuple[bytes, ...] = ()  # the top-level MIME boundary

    @property
    def names_list(self) -> bool:
        return bool(self.name or self.list_id or self.platform or self.references)

    def label(self) -> str:
        """How a finding names the list: “Equipe mailing list” (equipe.lists.example, Mailman)."""
        bits = [b for b in (self.list_id if self.name and self.list_id != self.name else None, self.platform) if b]
        head = f"“{header_text(self.name)}”" if self.name else "a mailing list"  # a List-Id phrase may be encoded
        return head + (f" ({', '.join(bits)})" if bits else "")


def _boundary(value: bytes | str | None) -> bytes | None:
    if not value:
        return None
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value
    m = _BOUNDARY_PARAM.search(raw)
    return (m.group(1) or m.group(2)).strip() if m else None


def list_hints(mail: RawMail) -> ListHints:
    """List-* / Mailing-List / platform headers, the ARC sealer and the MIME boundary of a message."""
    name = list_id = platform = None
    refs: list[str] = []
    lid = mail.first_text("List-Id")
    if lid:
        m = re.match(r'\s*"?([^"<]*?)"?\s*<([^>]+)>', lid)
        if m:
            name, list_id = (m.group(1).strip() or None), m.group(2).strip().lower()
        else:
            list_id = lid.strip().strip("<>").lower() or None
        if list_id:
            refs.append(list_id)
    for header in ("List-Post", "List-Unsubscribe", "List-Help", "List-Subscribe", "List-Archive", "List-Owner"):
        for value in mail.values(header):
            for url in re.findall(r"<([^>]+)>", as_text(value)):
                url = url.strip()
                if url.lower().startswith("mailto:"):
                    refs.append(url[7:].split("?", 1)[0].lower())
                else:
                    host = re.match(r"[a-z][a-z0-9+.-]*://([^/?#:]+)", url, re.IGNORECASE)
                    if host:
                        refs.append(host.group(1).lower())
                        refs.append(url.split("?", 1)[0])
    mailing = mail.first_text("Mailing-List")
    if mailing:
        m = re.search(r"list\s+([^\s;]+@[^\s;]+)", mailing)
        if m:
            refs.append(m.group(1).lower())
        platform = "ezmlm"
    headers = {n.lower() for n, _ in mail.headers}
    if b"x-mailman-version" in headers:
        platform = "Mailman"
    elif b"x-google-group-id" in headers or (list_id or "").endswith(".googlegroups.com"):
        platform = "Google Groups"
    elif any(h.startswith(b"x-sympa") for h in headers) or any("sympa" in r for r in refs):
        platform = "Sympa"
    arc_sealer = None
    best = -1
    for value in mail.values("ARC-Seal"):
        text = as_text(value)
        inst = re.search(r"\bi\s*=\s*(\d+)", text)
        dom = re.search(r"\bd\s*=\s*([^;\s]+)", text)
        if dom and (int(inst.group(1)) if inst else 0) > best:
            best, arc_sealer = (int(inst.group(1)) if inst else 0), dom.group(1).lower()
    top = _boundary(mail.first_text("Content-Type"))
    return ListHints(
        name=name or list_id,
        list_id=list_id,
        platform=platform,
        references=tuple(dict.fromkeys(r for r in refs if r)),
        arc_sealer=arc_sealer,
        boundaries=(top,) if top else (),
    )


# ------------------------------------------------------------------------------- canonical views
def _body_algorithm(policy: Any) -> bytes:
    if isinstance(policy, bytes):
        return policy
    return policy.body_algorithm.name


def _reference_canon(policy: Any, body: bytes) -> bytes:
    """dkimpy's own body canonicalisation: the judge of every candidate reported."""
    if isinstance(policy, bytes):
        return ALGORITHMS[policy].canonicalize_body(body)
    return policy.canonicalize_body(body)


def _split(body: bytes) -> tuple[list[bytes], bool]:
    """The body's lines (without CRLF) and whether the last one ended with CRLF."""
    if not body:
        return [], True
    if body.endswith(CRLF):
        return body[:-2].split(CRLF), True
    return body.split(CRLF), False


def _join(lines: list[bytes]) -> bytes:
    return CRLF.join(lines) + CRLF if lines else b""


def _relaxed_lines(lines: list[bytes]) -> list[bytes]:
    """Relaxed canonical form of CRLF-terminated lines, by whole-buffer operations."""
    if not lines:
        return []
    text = _join(lines)
    if b"\t" in text or b"  " in text:
        text = re.sub(rb"[\t ]+", b" ", text)
    text = text.replace(b" \r\n", b"\r\n")
    return text[:-2].split(CRLF)


class _View:
    """One hypothesis about the original's lines (line for line), ready to hash with blocks removed.

    Canonicalisation is line-local once every line ends with CRLF, except that empty lines at
    the end are dropped; so a candidate's canonical body is a run of this buffer's slices, cut
    after its last non-empty line, and candidates share hash states of common prefixes.
    """

    def __init__(self, lines: list[bytes], relaxed: bool, hasher: Callable[..., Any], budget: _Budget):
        self.lines = lines
        self.relaxed = relaxed
        canon = _relaxed_lines(lines) if relaxed else lines
        self.data = b"".join(c + CRLF for c in canon)  # also this hypothesis's identity among views
        self.buf = memoryview(self.data)
        off = [0]
        last_before = [-1]
        for i, c in enumerate(canon):
            off.append(off[-1] + len(c) + 2)
            last_before.append(i if c else last_before[-1])
        self.off = off
        self.last_before = last_before  # last_before[i]: the last non-empty line before line i, or -1
        self.hasher = hasher
        self.budget = budget
        self._grid = {0: hasher()}  # hash states after lines [0, k*_GRID), made as needed
        self.seen: set[tuple[tuple[int, int], ...]] = set()

    def pieces(self, removed: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
        """The kept line ranges, cut after the last non-empty kept line."""
        kept = []
        at = 0
        for a, b in removed:
            if a > at:
                kept.append((at, a))
            at = max(at, b)
        if at < len(self.lines):
            kept.append((at, len(self.lines)))
        while kept:
            a, b = kept[-1]
            j = self.last_before[b]
            if j >= a:
                kept[-1] = (a, j + 1)
                break
            kept.pop()
        return tuple(kept)

    def _state_at(self, line: int) -> Any:
        """A fresh hash state over canonical lines [0, line), from the nearest saved state on a grid."""
        grid = line - line % _GRID
        at = grid
        while at not in self._grid:
            at -= _GRID
        state = self._grid[at]
        while at < grid:  # saved states are never updated again: each step works on a copy
            state = state.copy()
            state.update(self.buf[self.off[at] : self.off[at + _GRID]])
            self.budget.hashed += self.off[at + _GRID] - self.off[at]
            at += _GRID
            self._grid[at] = state
        state = state.copy()
        if line > grid:
            state.update(self.buf[self.off[grid] : self.off[line]])
            self.budget.hashed += self.off[line] - self.off[grid]
        return state

    def digest(self, pieces: tuple[tuple[int, int], ...], length: int | None) -> bytes | None:
        if not pieces:
            empty = b"" if self.relaxed else CRLF
            return self.hasher(empty[:length] if length is not None else empty).digest()
        if length is not None:
            data = b"".join(bytes(self.buf[self.off[a] : self.off[b]]) for a, b in pieces)
            self.budget.hashed += len(data)
            return self.hasher(data[:length]).digest() if len(data) >= length else None
        first = pieces[0]
        if first[0] == 0:
            h = self._state_at(first[1])
            rest = pieces[1:]
        else:
            h = self.hasher()
            rest = pieces
        for a, b in rest:
            self.budget.hashed += self.off[b] - self.off[a]
            h.update(self.buf[self.off[a] : self.off[b]])
        return h.digest()


@dataclass
class _Budget:
    attempts: int = 0
    hashed: int = 0

    def spent(self) -> bool:
        return self.attempts >= MAX_ATTEMPTS or self.hashed >= MAX_HASHED_BYTES


# Per-line changes, each undone line by line (so line numbers stay those of the body as found).
def _undo_doubled_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def _undo_trailing_ws(line: bytes) -> bytes:
    stripped = line.rstrip(b" \t")
    # The signature separator "-- " keeps the space that belongs to it.
    return b"-- " if stripped == b"--" and line.startswith(b"-- ") else stripped


def _undo_separator_strip(line: bytes) -> bytes:
    return b"-- " if line == b"--" else line


def _undo_from_quoting(line: bytes) -> bytes:
    return line[1:] if _FROM_QUOTED.match(line) else line


_LINE_UNDO: dict[str, Callable[[bytes], bytes]] = {
    "line_endings_doubled": _undo_doubled_cr,
    "trailing_whitespace_added": _undo_trailing_ws,
    "separator_space_stripped": _undo_separator_strip,
    "from_quoted": _undo_from_quoting,
}


def _may_apply(name: str, body: bytes) -> bool:
    """A cheap whole-body test: can this per-line change have happened at all? (Saves a pass per line.)"""
    if name == "line_endings_doubled":
        return b"\r\r\n" in body or body.endswith(b"\r")
    if name == "trailing_whitespace_added":
        return b" \r\n" in body or b"\t\r\n" in body or body.endswith((b" ", b"\t"))
    if name == "separator_space_stripped":
        return b"--\r\n" in body or body.endswith(b"--")
    if name == "from_quoted":
        return b">From " in body
    return True


_VIEWS: tuple[tuple[str, ...], ...] = (
    (),
    ("line_endings_doubled",),
    ("trailing_whitespace_added",),
    ("line_endings_doubled", "trailing_whitespace_added"),
    ("from_quoted",),
    ("separator_space_stripped",),
)


# ------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Block:
    """Lines of the body as found (1-based, inclusive) that were not in the signed original."""

    first: int
    last: int
    text: str
    where: str  # "end", "part_end" (before a MIME boundary or </body>), "mime_part", "start"

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass
class Recovery:
    """The change that explains a failed body hash, and the signed original it restores."""

    transformations: tuple[str, ...]
    removed: tuple[Block, ...]
    changed_lines: tuple[int, ...]  # body lines (1-based) changed in place by per-line transformations
    original: bytes  # the recovered signed body (CRLF lines), whose canonical hash is bh=
    diff: str  # unified diff, signed original -> as found, bounded
    attempts: int
    diff_truncated: bool = False
    hints: ListHints = field(default_factory=ListHints)

    def removed_text(self) -> str:
        return "\n".join(b.text for b in self.removed)


# -------------------------------------------------------------------------------------- search
def _insert_points(lines: list[bytes], hints: ListHints, body: bytes) -> list[int]:
    """Lines before which a list inserts a footer: MIME delimiters of known boundaries, </body>, </html>."""
    tokens = set(hints.boundaries)
    for m in _BOUNDARY_PARAM.finditer(body):
        tokens.add((m.group(1) or m.group(2)).strip())
    tokens.update(m.group(1) for m in _CLOSING.finditer(body))
    points = []
    for i, line in enumerate(lines):
        if line.startswith(b"--"):
            core = line.rstrip(b" \t")[2:]
            if core in tokens or (core.endswith(b"--") and core[:-2] in tokens):
                points.append(i)
        elif line[:8].lstrip().lower().startswith((b"</body", b"</html")):
            points.append(i)
    return points[-INSERT_POINTS:]


def _marked(line: bytes, refs: tuple[bytes, ...]) -> bool:
    if _MARKERS.search(line):
        return True
    low = line.lower()
    return any(r in low for r in refs)


def _marked_starts(lines: list[bytes], p: int, refs: tuple[bytes, ...], delimiters: set[int]) -> list[int]:
    """Likely first lines of a block inserted before line p, likeliest first.

    Footer lines come in a run (marker lines at most two apart); the run nearest p is the
    likeliest footer. Each run offers its first line and the two lines before it (a footer
    usually opens with a blank line, Google Groups' HTML one with "<p></p>"); a MIME
    delimiter line offers itself (a footer added as its own part).
    """
    lo = max(0, p - BLOCK_LINES)
    runs: list[int] = []  # first line of each run of marker lines, nearest p first
    last = None
    for s in range(p - 1, lo - 1, -1):
        if s in delimiters:
            runs.append(s)
            last = None
        elif _marked(lines[s], refs):
            if last is not None and last - s <= 2:
                runs[-1] = s
            else:
                runs.append(s)
            last = s
    starts = [j for r in runs for j in (r, r - 1, r - 2) if j >= lo]
    return list(dict.fromkeys(starts))[:MARKED_STARTS]


def _candidates(
    lines: list[bytes], points: list[int], refs: tuple[bytes, ...], full: bool
) -> Iterator[list[tuple[int, int]]]:
    """Removal sets, likeliest first. `full`: the exhaustive passes too (only for the body as found).

    A block added to the end of a MIME part ends just before the boundary line, or just
    before the blank line in front of it (the part's own last line break), so both ends
    are tried at each boundary.
    """
    n = len(lines)
    delimiters = {i for i in points if lines[i].startswith(b"--")}
    inner = [p for p in points if p < n]
    starts = {p: _marked_starts(lines, p, refs, delimiters) for p in [*inner, n]}

    def ends(p: int) -> list[int]:
        return [p - 1, p] if 0 < p < n and not lines[p - 1].strip() else [p]

    def blocks(p: int, limit: int | None = None) -> list[tuple[int, int]]:
        return [(s, e) for s in starts[p][:limit] for e in ends(p) if s < e]

    # 1. One block where a footer marker starts it: at the end, at the end of a part.
    for p in [n, *reversed(inner)]:
        for block in blocks(p):
            yield [block]
    # 2. Blocks in two places (the text and the HTML part of one message), neighbours first.
    pair_points = inner[-PAIR_POINTS:] + [n]
    pairs = [(i, j) for j in range(len(pair_points) - 1, 0, -1) for i in range(j - 1, -1, -1)]
    pairs.sort(key=lambda ij: ij[1] - ij[0])
    for i, j in pairs:
        for second in blocks(pair_points[j], PAIR_STARTS):
            for first in blocks(pair_points[i], PAIR_STARTS):
                if first[1] <= second[0]:
                    yield [first, second]
    # 3. Appended at the end, whatever it says: every cut in the last TAIL_LINES lines.
    for k in range(1, min(n, TAIL_LINES if full else BLOCK_LINES) + 1):
        yield [(n - k, n)]
    if not full:
        return
    # 4. One block at the end of a part, whatever it says.
    for p in reversed(inner):
        for e in ends(p):
            for k in range(1, min(e, BLOCK_LINES) + 1):
                yield [(e - k, e)]
    # 5. A block at the start (a list's header; Mailman adds it to text/plain only). Each of these
    #    rehashes the whole body, so only for bodies without MIME parts.
    if delimiters:
        return
    for k in range(1, min(n, LEAD_LINES) + 1):
        yield [(0, k)]


def recover_body(
    body: bytes,
    policy: Any,
    hasher: Callable[..., Any],
    claimed_bh: bytes,
    *,
    length: int | None = None,
    hints: ListHints | None = None,
    stats: dict[str, int] | None = None,
) -> Recovery | None:
    """The benign change that restores `claimed_bh` exactly, or None.

    `body`: the message body as rawmail gives it (CRLF-joined lines); `policy`: the
    signature's dkimpy CanonicalizationPolicy (or b"simple" / b"relaxed" for the body);
    `hasher`: its hash constructor (hashlib.sha256 / sha1); `length`: its l= if any.
    `stats`, if given, receives the work done: {"attempts": n, "hashed_bytes": n}.
    """
    budget = _Budget()
    try:
        return _search(body, policy, hasher, claimed_bh, length, hints or ListHints(), budget)
    finally:
        if stats is not None:
            stats.update(attempts=budget.attempts, hashed_bytes=budget.hashed)


def _search(
    body: bytes,
    policy: Any,
    hasher: Callable[..., Any],
    claimed_bh: bytes,
    length: int | None,
    hints: ListHints,
    budget: _Budget,
) -> Recovery | None:
    if len(body) > MAX_BODY_BYTES:
        return None
    relaxed = _body_algorithm(policy) == b"relaxed"
    found_lines, terminated = _split(body)

    def confirmed(candidate: bytes) -> bool:
        canon = _reference_canon(policy, candidate)
        if length is not None:
            if len(canon) < length:
                return False
            canon = canon[:length]
        return hasher(canon).digest() == claimed_bh

    # The final line break: the only change of the body as found that is not line for line.
    for variant in ([body[:-2]] if terminated and body else []) + ([body + CRLF] if not terminated else []):
        budget.attempts += 1
        budget.hashed += len(variant)
        if confirmed(variant):
            return _result(found_lines, variant, ("final_line_break",), [], [], [], budget, hints)

    refs = tuple(r.lower().encode("utf-8", "replace") for r in hints.references if len(r) >= 4)
    points = _insert_points(found_lines, hints, body)
    views: list[tuple[tuple[str, ...], _View, list[int]]] = []
    keys: set[bytes] = set()
    for names in _VIEWS:
        if not all(_may_apply(name, body) for name in names):
            continue
        lines = found_lines
        changed: list[int] = []
        if names:
            lines = list(found_lines)
            for i, line in enumerate(found_lines):
                new = line
                for name in names:
                    new = _LINE_UNDO[name](new)
                if new != line:
                    lines[i] = new
                    changed.append(i)
            if not changed:
                continue
        view = _View(lines, relaxed, hasher, budget)
        if view.data in keys:
            continue  # canonically the same hypothesis as one already listed
        keys.add(view.data)
        if not names:
            view.seen.add(view.pieces([]))  # the body as found: its hash is the one that failed
        views.append((names, view, changed))

    def attempt(names: tuple[str, ...], view: _View, changed: list[int], removed: list[tuple[int, int]]):
        pieces = view.pieces(removed)
        if pieces in view.seen:
            return None
        view.seen.add(pieces)
        budget.attempts += 1
        if view.digest(pieces, length) != claimed_bh:
            return None
        kept = [line for a, b in pieces for line in view.lines[a:b]]
        candidate = _join(kept)
        if not confirmed(candidate):
            return None
        return _result(found_lines, candidate, names, changed, removed, view.lines, budget, hints)

    # Per-line changes alone, then blocks removed from the body as found, then both together.
    order: list[tuple[tuple[str, ...], _View, list[int], Iterable[list[tuple[int, int]]]]] = []
    blank_from = len(found_lines)
    while blank_from and not found_lines[blank_from - 1].strip(b" \t"):
        blank_from -= 1
    if views and not views[0][0] and blank_from < len(found_lines):
        # Whitespace-only lines at the end (kept by simple canonicalisation): the plainest story.
        order.append(((), views[0][1], [], [[(blank_from, len(found_lines))]]))
    for names, view, changed in views:
        if names:
            order.append((names, view, changed, [[]]))
    for names, view, changed in views:
        order.append((names, view, changed, _candidates(view.lines, points, refs, full=not names)))
    for names, view, changed, removals in order:
        for removed in removals:
            if budget.spent():
                return None
            hit = attempt(names, view, changed, removed)
            if hit is not None:
                return hit
    return None


# --------------------------------------------------------------------------------- describing it
_INVISIBLE = str.maketrans({"\r": "␍", "\t": "→"})


def _visible(line: bytes) -> str:
    """A diff line with trailing spaces, tabs and stray CRs made visible (they are the change)."""
    text = as_text(line)
    core = text.rstrip(" \t\r")
    tail = text[len(core) :].replace(" ", "·")
    return (core + tail).translate(_INVISIBLE)


def _where(lines: list[bytes], a: int, b: int) -> str:
    if b >= len(lines) or not any(line.strip() for line in lines[b:]):
        return "end"
    if a == 0:
        return "start"
    first, then = lines[a].rstrip(b" \t"), lines[b].rstrip(b" \t")
    if len(first) > 2 and first.startswith(b"--") and then in (first, first + b"--"):
        return "mime_part"  # the block opens with the boundary it stands before: a part of its own
    return "part_end"


def _diff(found: list[bytes], original_of: list[bytes | None], context: int = 2) -> tuple[str, bool]:
    """Unified diff from the signed original to the body as found.

    `original_of[i]`: the original line that line i of the body as found came from (None: added).
    """
    n = len(found)
    interesting = [i for i in range(n) if original_of[i] != found[i]]
    if not interesting:
        return "", False
    out = ["--- signed original", "+++ as found"]
    orig_no = []  # the original's line number (1-based) of each found line, or of the next one kept
    o = 0
    for i in range(n):
        orig_no.append(o + 1)
        if original_of[i] is not None:
            o += 1
    truncated = False
    groups: list[list[int]] = []
    for i in interesting:
        if groups and i - groups[-1][-1] <= 2 * context + 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    emitted = 0
    for g in groups:
        lo, hi = max(0, g[0] - context), min(n, g[-1] + context + 1)
        body: list[str] = []
        o_len = r_len = 0
        minus: list[str] = []
        plus: list[str] = []
        for i in range(lo, hi + 1):
            orig = original_of[i] if i < hi else None
            same = i < hi and orig == found[i]
            if i == hi or same:
                body += minus + plus  # a run of changes: the original's lines, then what replaced them
                minus, plus = [], []
                if same:
                    body.append(" " + as_text(found[i]))
                    o_len += 1
                    r_len += 1
                continue
            if orig is not None:
                minus.append("-" + _visible(orig))
                o_len += 1
            plus.append("+" + _visible(found[i]))
            r_len += 1
        o_start = orig_no[lo] - (1 if o_len == 0 else 0)
        out.append(f"@@ -{o_start},{o_len} +{lo + 1},{r_len} @@")
        for line in body:
            if emitted >= MAX_DIFF_LINES:
                truncated = True
                break
            out.append(line)
            emitted += 1
        if truncated:
            break
    text = "\n".join(out)
    if len(text) > MAX_TEXT_CHARS * 2:
        text, truncated = text[: MAX_TEXT_CHARS * 2], True
    if truncated:
        text += "\n… (diff shortened; the evidence lists every changed line)"
    return text, truncated


def _result(
    found: list[bytes],
    original: bytes,
    names: tuple[str, ...],
    changed: list[int],
    removed: list[tuple[int, int]],
    view_lines: list[bytes],
    budget: _Budget,
    hints: ListHints,
) -> Recovery:
    view_lines = view_lines or found
    dropped = {i for a, b in removed for i in range(a, b)}
    original_of: list[bytes | None] = [None if i in dropped else view_lines[i] for i in range(len(found))]
    transformations = list(names)
    blocks = []
    for a, b in removed:
        block_lines = found[a:b]
        text = "\n".join(as_text(x) for x in block_lines)
        if len(text) > MAX_TEXT_CHARS:
            text = text[:MAX_TEXT_CHARS] + " …"
        blocks.append(Block(a + 1, b, text, _where(found, a, b)))
    if blocks:
        if all(not found[i].strip() for a, b in removed for i in range(a, b)):
            transformations.append("blank_lines_added")
        elif all(bl.where == "start" for bl in blocks):
            transformations.append("header_removed")
        else:
            transformations.append("footer_removed")
    if "final_line_break" in names:
        diff, cut = "", False
    else:
        diff, cut = _diff(found, original_of)
    return Recovery(
        transformations=tuple(transformations),
        removed=tuple(blocks),
        changed_lines=tuple(i + 1 for i in changed if i not in dropped),
        original=original,
        diff=diff,
        attempts=budget.attempts,
        diff_truncated=cut,
        hints=hints,
    )


def _looks_like_footer(recovery: Recovery) -> bool:
    """The added text carries a footer marker or names the list (its address, host, id or name)."""
    hints = recovery.hints
    refs = [r.lower() for r in (*hints.references, hints.name or "", hints.list_id or "") if len(r) >= 4]
    for block in recovery.removed:
        low = block.text.lower()
        if any(r in low for r in refs):
            return True
        if any(_MARKERS.search(line.encode("utf-8", "replace")) for line in block.text.split("\n")):
            return True
    return False


def _lines_text(block: Block) -> str:
    return f"line {block.first}" if block.count == 1 else f"lines {block.first}-{block.last}"


_WHERE = {
    "end": "at the end of the body",
    "part_end": "at the end of a MIME part",
    "mime_part": "as an extra MIME part",
    "start": "at the start of the body",
}


def describe(recovery: Recovery, signer: str, signature: int) -> tuple[str, bool]:
    """The finding's message (a journalist's words) and whether transit explains the change."""
    hints = recovery.hints
    per_line = [t for t in recovery.transformations if t in _LINE_UNDO or t == "final_line_break"]
    phrases = []
    explained = True
    unexplained_note = ""
    blocks = recovery.removed
    if blocks:
        total = sum(b.count for b in blocks)
        if len(blocks) == 1:
            places = f"{_WHERE[blocks[0].where]} (body {_lines_text(blocks[0])})"
            size = f"a {total}-line footer"
        else:
            spans = " and ".join(_lines_text(b).removeprefix("lines ").removeprefix("line ") for b in blocks)
            places = f"in {len(blocks)} places (body lines {spans}; {total} lines in all)"
            size = "a footer"
        plural = total != 1
        if "blank_lines_added" in recovery.transformations:
            phrases.append(f"{total} blank line{'s were' if plural else ' was'} added {places}")
        elif hints.names_list and _looks_like_footer(recovery):
            phrases.append(f"the mailing list {hints.label()} added {size} {places}")
        elif hints.arc_sealer and _looks_like_footer(recovery):
            phrases.append(
                f"{size} was added {places} by a forwarding service (the message carries an ARC "
                f"seal by {hints.arc_sealer}, which handled it in transit)"
            )
        else:
            explained = False
            phrases.append(f"{total} line{'s' if plural else ''} of text {'were' if plural else 'was'} added {places}")
            if hints.names_list:
                unexplained_note = (
                    f" The message went through the mailing list {hints.label()}, but the added text does not "
                    "look like anything that list adds (it names neither the list nor an unsubscribe address): "
                    f"read it in the evidence; it is not part of what {signer} signed."
                )
            else:
                unexplained_note = (
                    " No mailing list or forwarder is named in the headers, so nothing here says who added "
                    f"the text: read it in the evidence; it is not part of what {signer} signed."
                )
    n_changed = len(recovery.changed_lines)
    for t in per_line:
        if t == "line_endings_doubled":
            phrases.append(
                f"the line ends of {n_changed} line{'s' if n_changed != 1 else ''} were converted twice (CR CR LF, "
                "as a tool leaves a file that already had CRLF line ends)"
            )
        elif t == "trailing_whitespace_added":
            phrases.append(f"spaces or tabs were added at the end of {n_changed} line{'s' if n_changed != 1 else ''}")
        elif t == "separator_space_stripped":
            phrases.append('the signature separator "-- " lost its trailing space')
        elif t == "from_quoted":
            phrases.append('lines starting with "From " were quoted as ">From ", as an mbox mail store does')
        elif t == "final_line_break":
            phrases.append("the final line break of the body was changed")
    if blocks and per_line:
        how = "undoing these changes"
    elif blocks:
        footer = explained and "blank_lines_added" not in recovery.transformations
        how = "removing it" if footer or sum(b.count for b in blocks) == 1 else "removing them"
    else:
        how = "undoing it" if len(phrases) == 1 else "undoing these changes"
    first = phrases[0][0].upper() + phrases[0][1:]
    rest = "; ".join([first, *phrases[1:]]) if len(phrases) > 1 else first
    message = (
        f"{rest}; {how} restores exactly what {signer} signed (the body hash of signature #{signature + 1} matches "
        f"again). The signed original is recovered: the rest of the body is exactly what {signer} sent."
        + unexplained_note
    )
    if not blocks:
        message += " No word of the text was changed."
    return message, explained


def recovery_finding(
    mail: RawMail, info: dict[str, Any], policy: Any, hasher: Callable[..., Any], claimed_bh: bytes
) -> Finding | None:
    """`dkim.original_recovered` for a signature whose header signature is valid but whose body hash fails.

    `info`: dkim_check's summary of the signature (index, d, s, l).
    """
    hints = list_hints(mail)
    recovery = recover_body(mail.body, policy, hasher, claimed_bh, length=info.get("l"), hints=hints)
    if recovery is None:
        return None
    signer = info.get("d") or "the signer"
    message, in_transit = describe(recovery, signer, info.get("index") or 0)
    evidence: dict[str, Any] = {
        "signature": info.get("index"),
        "d": info.get("d"),
        "s": info.get("s"),
        "in_transit": in_transit,
        "transformations": list(recovery.transformations),
        "removed": [{"body_lines": [b.first, b.last], "where": b.where, "text": b.text} for b in recovery.removed],
        "changed_lines": {"count": len(recovery.changed_lines), "first": list(recovery.changed_lines[:20])},
        # A removed block holding MIME part headers: a whole part (and any attachment in it) was added.
        "adds_mime_part": any(
            re.search(r"(?im)^content-(?:type|disposition)\s*:", b.text) is not None for b in recovery.removed
        ),
        "diff": recovery.diff,
        "body_hash_signed": base64.b64encode(claimed_bh).decode(),
        "recovered_body_bytes": len(recovery.original),
        "attempts": recovery.attempts,
    }
    if hints.names_list:
        evidence["list"] = {"name": hints.name, "id": hints.list_id, "platform": hints.platform}
    if hints.arc_sealer:
        evidence["arc_sealer"] = hints.arc_sealer
    return Finding(CODE, "warning", message, evidence)


# ------------------------------------------------------------------------- reading the verdicts
IN_TRANSIT_LABEL = "Altered in transit; original recovered"
ADDED_LABEL = "Text added after signing; original recovered"


def _words(text: str) -> str:
    return " ".join(text.split())


def _same_insertion(finding: Finding, added: str) -> bool:
    """A `dup.altered_copy` whose every difference from the verified copy is text the recovery removed.

    The list's copy of a message also found as sent (same Message-ID) differs from it by the
    footer, and only by it: one change, already explained. A diff at its hunk limit may hide more.
    """
    hunks = (finding.evidence or {}).get("diff")
    if not isinstance(hunks, list) or not hunks or len(hunks) >= 40:
        return False
    for h in hunks:
        if not isinstance(h, dict) or h.get("removed") or not h.get("added"):
            return False
        if _words(str(h["added"])) not in added:
            return False
    return True


def explanation(findings: Iterable[Finding]) -> dict[str, Any] | None:
    """How an altered item's change is explained, when every proven change has its signed original recovered.

    None when the item is not altered, or when any change is unexplained: a body change whose
    original was not recovered, a changed signed header, a copy differing from a verified one by
    more than the text the recovery removed... Returns
    {"in_transit": bool, "label": str, "message": str, "signatures": [...]}.
    """
    findings = list(findings)
    recovered = [f for f in findings if f.code == CODE]
    if not recovered:
        return None
    explained = {(f.evidence or {}).get("signature") for f in recovered}
    added = _words(" ".join(str(b.get("text", "")) for f in recovered for b in (f.evidence or {}).get("removed") or []))
    altering = [f for f in findings if effect_of(f) == ALTERED]
    if not altering:
        return None
    for f in altering:
        if f.code == "dkim.body_hash_mismatch" and (f.evidence or {}).get("signature") in explained:
            continue
        if f.code == "dup.altered_copy" and added and _same_insertion(f, added):
            continue
        return None
    in_transit = all(bool((f.evidence or {}).get("in_transit")) for f in recovered)
    return {
        "in_transit": in_transit,
        "label": IN_TRANSIT_LABEL if in_transit else ADDED_LABEL,
        "message": recovered[0].message,
        "signatures": sorted(s for s in explained if s is not None),
    }
