"""How a leak spread: social posts read from exports, then timelines, first movers, cascades,
amplifiers, coordination signals and links back to the dump.

Posts are records of their own (the declared `posts` table, `table.py`), never items: a tweet is
not part of the dump, it is what people did with it. Everything here reads and writes the case
through the `CaseStore` interface only, so it works on every backend.

Coordination results are signals with their evidence and parameters, never verdicts on people.
"""
