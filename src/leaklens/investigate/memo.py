"""Case-wide figures kept until the case changes: a second at 100,000 items the first time, then
the time of one fingerprint query (the store's `content_fingerprint` or `items_fingerprint`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from ..store.base import CaseStore

T = TypeVar("T")
SIZE = 32

_memo: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


def remember(store: CaseStore, key: tuple[Any, ...], compute: Callable[[], T], *, items_only: bool = False) -> T:
    """`compute()`, or what it gave for this `key` since the case last changed (with `items_only`,
    since its items last changed: for what findings do not change). Shared by every thread of the
    process: callers must not change what they get."""
    full = (*key, store.items_fingerprint() if items_only else store.content_fingerprint())
    with _lock:
        if full in _memo:
            _memo.move_to_end(full)
            return _memo[full]
    value = compute()  # outside the lock: two threads may both compute, neither waits for the other
    with _lock:
        _memo[full] = value
        while len(_memo) > SIZE:
            _memo.popitem(last=False)
    return value
