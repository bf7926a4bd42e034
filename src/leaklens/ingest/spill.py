"""A container's children beyond the first few thousand, kept in a file rather than in memory.

An mbox of a million messages (or a zip of a million members) announces a million children.
Held as records they cost ~1 KB each in the worker that reads the container, again as the
pickled result, and again in the coordinator: gigabytes. So a reader's children are written
to a spill file in the blob store's ``tmp/`` folder a chunk at a time as they are announced
(the case folder is on storage the coordinator shares with every worker, a cluster's too),
and the coordinator reads them back a chunk at a time while it writes their rows. Memory
stays bounded by the chunk, whatever the container holds.

The file is the worker's to write and the coordinator's to read and delete; a run killed in
between leaves a file in ``tmp/`` that nothing reads (the container is still pending and is
read again, with a new file).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..model import Child

CHUNK = 2_000  # children held in memory by a reader before they go to the file


class SpillWriter:
    """Chunks of children appended to one file, each a pickled list."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        fd, self.path = tempfile.mkstemp(dir=folder, prefix="children-")
        self._fh = os.fdopen(fd, "wb")
        self.count = 0

    def write(self, children: list[Child]) -> None:
        pickle.dump(children, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += len(children)

    def close(self) -> None:
        self._fh.close()

    def discard(self) -> None:
        self._fh.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def read_chunks(path: str) -> Iterator[list[Child]]:
    """The chunks of a spill file in the order they were written; the file is removed at the end."""
    try:
        with open(path, "rb") as fh:
            while True:
                try:
                    yield pickle.load(fh)
                except EOFError:
                    return
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
