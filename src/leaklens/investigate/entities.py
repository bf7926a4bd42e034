"""Entities as the views show them: the most named, one entity's page (every item naming it, when,
by whom), and an item's own mentions. Shared by the CLI, the workbench and the report."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..entities.kinds import KINDS
from ..entities.tables import ENTITIES, TEXT_SCANS
from ..store.base import CaseStore, ItemQuery
from .correspondents import address_of

MAX_ITEMS = 500  # items listed on one entity's page


def top_entities(store: CaseStore, *, kind: str | None = None, top: int = 20) -> list[dict[str, Any]]:
    """The `top` entities by mentions (of one kind, or all): {"kind", "value", "mentions", "items"}."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"no entity kind {kind!r} (kinds: {', '.join(KINDS)})")
    equal = {"kind": kind} if kind else {}
    return [
        {"kind": k, "value": v, "mentions": n, "items": items}
        for k, v, n, items in store.table_groups(ENTITIES, ("kind", "value"), distinct="item_id", top=top, **equal)
    ]


def kinds_count(store: CaseStore) -> list[dict[str, Any]]:
    """{"kind", "mentions", "distinct" (values)} of each kind found in the case, most mentioned first."""
    by_kind = store.table_groups(ENTITIES, ("kind",), distinct="value")
    return [{"kind": k, "mentions": n, "distinct": values} for k, n, values in by_kind]


def mention(row: Any) -> dict[str, Any]:
    """One mention as every view shows it: {"kind", "value", "source", "start", "end", "snippet", "found_by"}.

    `found_by` is "patterns" (a validated match: check digits, a correspondent's own name) or "ner"
    (spaCy's statistical model: a guess), so no view presents a model's guess as a checked fact."""
    return {"kind": row["kind"], "value": row["value"], "source": row["source"], "start": row["char_start"],
            "end": row["char_end"], "snippet": row["snippet"], "found_by": row["scanner"] or "patterns"}  # fmt: skip


def item_entities(store: CaseStore, item_id: str) -> list[dict[str, Any]]:
    """The item's mentions (`mention`) in text order, source by source."""
    rows = store.table_rows(ENTITIES, item_id=item_id)
    rows.sort(key=lambda r: (r["source"], r["char_start"]))
    return [mention(r) for r in rows]


def item_languages(store: CaseStore, item_id: str) -> dict[str, str]:
    """text source -> its detected language, for the item's texts that have one."""
    return {r["source"]: r["lang"] for r in store.table_rows(TEXT_SCANS, item_id=item_id) if r["lang"]}


def entity_page(store: CaseStore, kind: str, value: str) -> dict[str, Any]:
    """Everything about one entity: each item naming it (with the words around each mention), the first
    and last dates those items carry (an attachment dated by its email), and who sent them."""
    mentions = store.table_rows(ENTITIES, kind=kind, value=value)
    by_item: dict[str, list[dict[str, Any]]] = {}
    for m in mentions:
        by_item.setdefault(m["item_id"], []).append(m)
    ids = tuple(list(by_item)[:MAX_ITEMS])
    items = {r["id"]: r for r in store.select_items(ItemQuery(ids=ids))} if ids else {}
    parents = {r["parent"] for r in items.values() if r["parent"] and r["kind"] != "email"}
    carriers = {r["id"]: r for r in store.select_items(ItemQuery(ids=tuple(parents)))} if parents else {}
    listed = []
    senders: Counter[str] = Counter()
    for item_id in ids:
        row = items.get(item_id)
        if row is None:
            continue
        email = row if row["kind"] == "email" else carriers.get(row["parent"] or "")
        if email is not None and email["kind"] != "email":
            email = None
        sender = address_of(email["email_from"]) if email is not None else None
        if sender:
            senders[sender] += 1
        listed.append({
            "id": item_id, "name": row["name"], "kind": row["kind"], "verdict": row["verdict"],
            "subject": row["subject"] or (email["subject"] if email is not None else None),
            "date": row["date"] or (email["date"] if email is not None else None), "sender": sender,
            "mentions": [mention(m) for m in by_item[item_id]],
        })  # fmt: skip
    dates = sorted(i["date"] for i in listed if i["date"])
    return {
        "kind": kind,
        "value": value,
        "meaning": KINDS[kind].meaning if kind in KINDS else "",
        "mentions": len(mentions),
        "items": listed,
        "more_items": max(0, len(by_item) - len(ids)),
        "first": dates[0] if dates else None,
        "last": dates[-1] if dates else None,
        "senders": senders.most_common(20),
    }
