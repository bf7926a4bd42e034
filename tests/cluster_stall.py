"""Imported by every job process of the test cluster (Cluster(preload=...)): a reader that, for an
item holding TARPIT while the flag file named in LEAKLENS_TEST_CLUSTER_STALL exists, never returns.

The cluster's workers are started afresh (spawned, then forked from their forkserver), so they
inherit no monkeypatch: the reader registers itself when imported, as a plugin reader would.
"""

from __future__ import annotations

import os
import time

from leaklens.ingest import readers
from leaklens.ingest.readers.base import ReaderSpec

_text = readers.reader_for("text/plain")


def _read(src, ctx) -> None:
    flag = os.environ.get("LEAKLENS_TEST_CLUSTER_STALL")
    if flag and os.path.exists(flag) and b"TARPIT" in src.read_bytes():
        time.sleep(600)
    _text.read(src, ctx)


readers.REGISTRY.append(ReaderSpec("stalling-text", ("text/plain",), _read, 99))
