"""Tables that steps declare as data (store.base.TableSpec), built and read here on SQLite.

A step names its table, key and columns; this module writes the DDL and the statements, with
every name checked against the declaration, so no caller's text ever becomes SQL.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..base import Column, TableSpec

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TYPES = {"text": "TEXT", "int": "INTEGER", "real": "REAL", "json": "TEXT"}


def _check(spec: TableSpec) -> None:
    names = [spec.name, *spec.column_names]
    if not all(_NAME.fullmatch(n) for n in names) or not set(spec.key) <= set(spec.column_names):
        raise ValueError(f"bad table declaration {spec.name!r}")


def ensure(conn: sqlite3.Connection, spec: TableSpec, made: set[tuple[str, int]] | None = None) -> None:
    """Create the table (and its indexes) if it does not exist; columns added by a newer declaration
    are added to an existing table. `made`: the declarations this connection has ensured already."""
    marker = (spec.name, spec.version)
    if made is not None and marker in made:
        return
    _check(spec)
    cols = ", ".join(_column(c) for c in spec.columns)
    key = f", PRIMARY KEY ({', '.join(spec.key)})" if spec.key else ""  # no key: a log
    conn.execute(f"CREATE TABLE IF NOT EXISTS {spec.name} ({cols}{key})")
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({spec.name})")}
    for c in spec.columns:
        if c.name not in have:
            # Rows already there get the default; a required column without one cannot be added as such.
            added = c if c.default is not None else Column(c.name, c.type)
            conn.execute(f"ALTER TABLE {spec.name} ADD COLUMN {_column(added)}")
    for c in spec.columns:
        if c.index:
            conn.execute(f"CREATE INDEX IF NOT EXISTS {spec.name}_{c.name} ON {spec.name}({c.name})")
    if made is not None:
        made.add(marker)


def _column(c: Column) -> str:
    """A column's definition: its type, NOT NULL when required, its default as a literal."""
    out = f"{c.name} {_TYPES[c.type]}"
    if c.required:
        out += " NOT NULL"
    if isinstance(c.default, str):
        out += " DEFAULT '" + c.default.replace("'", "''") + "'"
    elif isinstance(c.default, int | float) and not isinstance(c.default, bool):
        out += f" DEFAULT {c.default!r}"
    elif c.default is not None:
        raise ValueError(f"bad default for column {c.name!r}")
    return out


def _encode(spec: TableSpec, row: Mapping[str, Any]) -> tuple:
    return tuple(
        json.dumps(row.get(c.name), default=str, ensure_ascii=False) if c.type == "json" else row.get(c.name)
        for c in spec.columns
    )


def _encoder(spec: TableSpec) -> Callable[[Mapping[str, Any]], tuple]:
    """`_encode` for one table, its columns looked at once: steps write rows by the ten thousand."""
    if any(c.type == "json" for c in spec.columns):
        return lambda row: _encode(spec, row)
    names = spec.column_names
    return lambda row: tuple(map(row.get, names))


def _decode(spec: TableSpec, values: tuple) -> dict[str, Any]:
    return {
        c.name: (json.loads(v) if c.type == "json" and v is not None else v)
        for c, v in zip(spec.columns, values, strict=True)
    }


def put(conn: sqlite3.Connection, spec: TableSpec, rows: Iterable[Mapping[str, Any]]) -> None:
    marks = ",".join("?" * len(spec.columns))
    conn.executemany(
        f"INSERT OR REPLACE INTO {spec.name}({', '.join(spec.column_names)}) VALUES({marks})",
        map(_encoder(spec), rows),
    )


def _where(spec: TableSpec, equal: Mapping[str, Any]) -> tuple[str, list[Any]]:
    unknown = set(equal) - set(spec.column_names)
    if unknown:
        raise ValueError(f"{spec.name} has no column {sorted(unknown)[0]!r}")
    if not equal:
        return "", []
    return " WHERE " + " AND ".join(f"{k}=?" for k in equal), list(equal.values())


def get(conn: sqlite3.Connection, spec: TableSpec, key: tuple[Any, ...]) -> dict[str, Any] | None:
    found = rows(conn, spec, dict(zip(spec.key, key, strict=True)))
    return found[0] if found else None


def rows(conn: sqlite3.Connection, spec: TableSpec, equal: Mapping[str, Any]) -> list[dict[str, Any]]:
    where, args = _where(spec, equal)
    sql = f"SELECT {', '.join(spec.column_names)} FROM {spec.name}{where} ORDER BY rowid"
    return [_decode(spec, tuple(r)) for r in conn.execute(sql, args)]


def column_values(
    conn: sqlite3.Connection, spec: TableSpec, columns: Sequence[str], equal: Mapping[str, Any]
) -> list[Sequence[Any]]:
    spec.check_columns(columns)
    where, args = _where(spec, equal)
    sql = f"SELECT {', '.join(columns)} FROM {spec.name}{where} ORDER BY rowid"
    return spec.columnar(columns, conn.execute(sql, args).fetchall())


def rows_in(conn: sqlite3.Connection, spec: TableSpec, column: str, values: Iterable[Any]) -> list[dict[str, Any]]:
    if column not in spec.column_names:
        raise ValueError(f"{spec.name} has no column {column!r}")
    sql = f"SELECT {', '.join(spec.column_names)} FROM {spec.name} WHERE {column} IN (SELECT value FROM json_each(?))"
    return [_decode(spec, tuple(r)) for r in conn.execute(sql + " ORDER BY rowid", (json.dumps(list(values)),))]


def groups(
    conn: sqlite3.Connection,
    spec: TableSpec,
    by: Sequence[str],
    distinct: str | None,
    top: int | None,
    equal: Mapping[str, Any],
) -> list[tuple[Any, ...]]:
    if not by or not set(by) | ({distinct} if distinct else set()) <= set(spec.column_names):
        raise ValueError(f"{spec.name}: cannot group by {list(by)!r}")
    where, args = _where(spec, equal)
    cols = ", ".join(by)
    counted = f"COUNT(DISTINCT {distinct})" if distinct else "COUNT(*)"
    sql = f"SELECT {cols}, COUNT(*), {counted} FROM {spec.name}{where} GROUP BY {cols} ORDER BY COUNT(*) DESC, {cols}"
    if top is not None:
        sql += " LIMIT ?"
        args.append(int(top))
    return [tuple(r) for r in conn.execute(sql, args)]


def delete(conn: sqlite3.Connection, spec: TableSpec, equal: Mapping[str, Any]) -> int:
    where, args = _where(spec, equal)
    return conn.execute(f"DELETE FROM {spec.name}{where}", args).rowcount
