"""A columnar snapshot of a declared table, kept in the case folder beside the database: what a whole-table
read (the spread analysis's posts) is served from instead of SQL when nothing changed since it was made.

Reading 100,000 posts through SQL took about 0.5 s, as long as the four co-action networks computed from
them; the same columns from this file take a few tens of milliseconds. The database stays the source of
truth: the snapshot is derived data, made again from it whenever it is missing, stale or damaged, and never
evidence (fsck walks blobs/, not this folder; deleting `snapshots/` loses nothing).

Fresh means all of:
  - the table's change token in the database's meta (`snapshot.<table>`) is the one the file was made at.
    Every write the store makes to a table declared `snapshot=True` (put_rows, put_encoded_rows,
    delete_rows, drop_table) sets a new random token: on PostgreSQL in the write's own transaction, on
    SQLite before and after the write (its writes may run outside a transaction), so a file made while a
    write was under way carries a token that write replaced; a snapshot is only written when the token
    read before the database's rows is still the one after them;
  - the table's row count is the one the file holds (a write that went around the store's methods);
  - the file's header names the same table version, columns and order, and its CRC-32 over the whole
    payload matches (a damaged file is rebuilt, never trusted).

File layout (one file per table, columns and order; written to a temporary name, then renamed over the old
one, so a reader sees the old file or the new one, never half of one):
  MAGIC, 8-byte little-endian header length, the header (JSON), then each array's bytes at the offsets
  the header gives. A text column is its distinct values joined by a separator none of them holds
  (UTF-8), and, when values repeat, int32 codes into them; a real or int column is a float64/int64
  array; either has the positions of its None values when there are any.
"""

from __future__ import annotations

import json
import os
import struct
import uuid
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .base import CaseStore, TableSpec

MAGIC = b"LEAKLENS-SNAPSHOT-1\n"
FORMAT = 1
FOLDER = "snapshots"
# Separators tried for a text column's values, in order: the first none of them holds is used.
SEPARATORS = ("\x00", "\x1f", "\x1e", "\ufdd0", "\U0010fffe")
ALIGN = 64
SAMPLE = 2048  # values looked at to tell a column of mostly unique values


def token_key(spec: TableSpec) -> str:
    return f"snapshot.{spec.name}"


def touch(store: CaseStore, spec: TableSpec) -> None:
    """Mark the table's snapshots stale (a new random token: a rebuilt database never repeats an old one)."""
    if spec.snapshot:
        store.set_meta(token_key(spec), uuid.uuid4().hex)


def path_of(folder: Path, spec: TableSpec, columns: Sequence[str], by: str | None) -> Path:
    tag = zlib.crc32(json.dumps([spec.version, list(columns), by]).encode()) & 0xFFFFFFFF
    return folder / f"{spec.name}-{tag:08x}.cols"


# -- encoding ------------------------------------------------------------------------------------


def _join(values: list[str]) -> tuple[str, str | None, np.ndarray | None]:
    """The values as one string, with the separator used, or their lengths when every separator is taken
    (a value that is not text raises TypeError here: no snapshot is written for it)."""
    for sep in SEPARATORS:
        joined = sep.join(values)
        if joined.count(sep) == len(values) - 1:
            return joined, sep, None
    return "".join(values), None, np.fromiter(map(len, values), dtype=np.int64, count=len(values))


def _nones(values: Sequence[Any]) -> np.ndarray | None:
    if None not in values:  # a scan in C; most columns hold no None
        return None
    at = [i for i, v in enumerate(values) if v is None]
    return np.asarray(at, dtype=np.int64) if at else None


def _encode(kind: str, values: Sequence[Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One column -> (its header entry, its arrays by role)."""
    arrays: dict[str, np.ndarray] = {}
    if kind in ("real", "int"):
        none = _nones(values)
        filled = values if none is None else [0 if v is None else v for v in values]
        arrays["values"] = np.asarray(filled, dtype=np.float64 if kind == "real" else np.int64)
        if kind == "int" and arrays["values"].tolist() != list(filled):  # bools or ints beyond int64
            raise ValueError("int column not representable as int64")
        if none is not None:
            arrays["none"] = none
        return {"kind": kind}, arrays
    if kind == "json":
        values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
    # Values repeated (accounts, reposted ids): their distinct values once and a code per row; mostly unique
    # (ids, texts): as they are. A sample says which first, so a column of unique values is not hashed whole.
    sample = values[:SAMPLE]
    distinct = None if len(set(sample)) * 2 > len(sample) >= SAMPLE else list(dict.fromkeys(values))
    coded = distinct is not None and len(distinct) * 2 <= len(values)
    vocab = distinct if coded else list(values)
    none = _nones(vocab)
    strings = vocab if none is None else ["" if v is None else v for v in vocab]
    joined, sep, lengths = _join(strings)
    arrays["text"] = np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    if lengths is not None:
        arrays["lengths"] = lengths
    if none is not None:
        arrays["none"] = none
    if coded:
        at = dict(zip(distinct, range(len(distinct)), strict=True))
        arrays["codes"] = np.fromiter(map(at.__getitem__, values), dtype=np.int32, count=len(values))
    return {"kind": kind, "sep": sep, "n": len(vocab)}, arrays


def _decode(entry: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[Any]:
    kind = entry["kind"]
    if kind in ("real", "int"):
        out = arrays["values"].tolist()
        for i in arrays["none"].tolist() if "none" in arrays else ():
            out[i] = None
        return out
    joined = str(arrays["text"].data, "utf-8", "surrogatepass")  # decoded in place, not copied first
    if entry["sep"] is not None:
        vocab = joined.split(entry["sep"]) if entry["n"] else []
    else:
        ends = np.cumsum(arrays["lengths"]).tolist()
        vocab = [joined[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    if len(vocab) != entry["n"]:
        raise ValueError("text column's values do not match their count")
    for i in arrays["none"].tolist() if "none" in arrays else ():
        vocab[i] = None
    if kind == "json":
        vocab = [None if v is None else json.loads(v) for v in vocab]
    if "codes" in arrays:
        # an object array's fancy indexing: the values put in place in C (ten times a map over the codes)
        objects = np.empty(len(vocab), dtype=object)
        objects[:] = vocab
        return objects[arrays["codes"]].tolist()
    return vocab


def write(path: Path, header: dict[str, Any], kinds: Sequence[str], cols: Sequence[Sequence[Any]]) -> None:
    """Write the columns as a snapshot file (atomically: a temporary file renamed over the old one)."""
    entries: list[dict[str, Any]] = []
    blobs: list[Any] = []
    offset = 0
    for kind, values in zip(kinds, cols, strict=True):
        entry, arrays = _encode(kind, values)
        entry["arrays"] = {}
        for role, arr in arrays.items():
            arr = np.ascontiguousarray(arr)
            entry["arrays"][role] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "offset": offset}
            blobs.append(arr.data.cast("B"))  # the array's own bytes, not a copy
            offset += arr.nbytes
            pad = -offset % ALIGN
            if pad:
                blobs.append(b"\0" * pad)
                offset += pad
        entries.append(entry)
    crc = 0
    for b in blobs:
        crc = zlib.crc32(b, crc)
    head = json.dumps({**header, "format": FORMAT, "columns_data": entries, "size": offset, "crc32": crc}).encode()
    head += b" " * (-(len(MAGIC) + 8 + len(head)) % ALIGN)  # the payload starts aligned
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + struct.pack("<Q", len(head)) + head)
            for b in blobs:
                f.write(b)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read(path: Path, want: dict[str, Any]) -> list[list[Any]] | None:
    """The columns of the snapshot file, or None when it is missing, made for other columns or another state
    of the table (`want`: the header values it must have), or damaged in any way."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        if not data.startswith(MAGIC):
            return None
        (n,) = struct.unpack_from("<Q", data, len(MAGIC))
        start = len(MAGIC) + 8 + n
        header = json.loads(data[len(MAGIC) + 8 : start])
        if header.get("format") != FORMAT or any(header.get(k) != v for k, v in want.items()):
            return None
        payload = memoryview(data)[start:]
        if len(payload) != header["size"] or zlib.crc32(payload) != header["crc32"]:
            return None
        cols = []
        for entry in header["columns_data"]:
            arrays = {}
            for role, a in entry["arrays"].items():
                dtype = np.dtype(a["dtype"])
                count = int(np.prod(a["shape"], dtype=np.int64))
                arrays[role] = np.frombuffer(payload, dtype=dtype, count=count, offset=a["offset"])
            cols.append(_decode(entry, arrays))
        if any(len(c) != header["count"] for c in cols):
            return None
        return cols
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError, MemoryError, struct.error):
        return None  # damaged in a way the checks above missed: made again (UnicodeDecodeError is a ValueError)


# -- the store's method, for every backend ---------------------------------------------------------


class SnapshotMixin:
    """`table_snapshot` (see CaseStore) for a backend that has `snapshot_dir` (None: no case folder, every
    read goes to the database) and the rest of CaseStore."""

    snapshot_dir: Path | None

    def table_snapshot(self, spec: TableSpec, columns: Sequence[str], *, by: str | None = None) -> list[Sequence[Any]]:
        store: CaseStore = self  # type: ignore[assignment]
        if not spec.snapshot:
            raise ValueError(f"{spec.name} is not declared with a snapshot")
        spec.check_columns(columns)
        if by is not None:
            spec.check_columns([by])
        if self.snapshot_dir is None or store.in_transaction:  # a transaction's rows may yet be rolled back
            return _from_database(store, spec, columns, by)
        # None for a table no write has touched since snapshots exist: valid until the first write sets one (a
        # read writes nothing, so a read-only database is served too).
        token = store.get_meta(token_key(spec))
        count = store.count_rows(spec)
        path = path_of(self.snapshot_dir, spec, columns, by)
        want = {"table": spec.name, "version": spec.version, "columns": list(columns), "by": by}
        got = read(path, {**want, "token": token, "count": count})
        if got is not None:
            return got
        cols = _from_database(store, spec, columns, by)
        # Written only if no write came between the two reads of the token (else it is stale already).
        if store.get_meta(token_key(spec)) == token and all(len(c) == count for c in cols):
            kinds = [{c.name: c.type for c in spec.columns}[name] for name in columns]
            try:
                write(path, {**want, "token": token, "count": count}, kinds, cols)
            except (OSError, ValueError, OverflowError, TypeError, MemoryError):
                pass  # no snapshot this time (a full disk, a value it cannot hold): the read is served anyway
        return [c if isinstance(c, list) else list(c) for c in cols]  # lists, as the file gives them


def _from_database(store: CaseStore, spec: TableSpec, columns: Sequence[str], by: str | None) -> list[Sequence[Any]]:
    """Every row's values of these columns, ordered by `by` then as stored, through the store's SQL."""
    if by is None:
        return store.table_values(spec, columns)
    out: list[list[Any]] = [[] for _ in columns]
    groups = store.table_groups(spec, [by])
    if any(g[0] is None for g in groups):
        raise ValueError(f"{spec.name}: a snapshot ordered by {by} needs it set on every row")
    for value in sorted(g[0] for g in groups):
        for acc, col in zip(out, store.table_values(spec, columns, **{by: value}), strict=True):
            acc.extend(col)
    return out
