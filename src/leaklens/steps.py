"""The steps of a verification run, declared as data: a name, what they need, what they run.

`leaklens verify` is a sequence of steps (the per-message checks; the case-wide proof steps;
the documents) that used to be called one after the other from one function. Each is now
declared once, by the module that holds it, with the steps it needs; `run_steps` runs them in
dependency order. A later capability (lookalike domains in intel/, spread/, entities) declares
its steps the same way and adds its module to `STEP_MODULES`: nothing calls it by name.

    @step("proof.inherit", needs=("verify.verdicts",), group="case", stage="inherit")
    def _inherit(run: Run) -> set[str]:
        return inherit_verification(run.case)

What the runner does for every step:

- **order**: a step runs after every step it `needs` that this run includes; among the steps
  ready at once, in the order of `STEP_MODULES`, then of their declarations (not of imports,
  which any module can change). A need that no module registers, or a cycle, is a `StepError`
  before anything runs.
- **transactions**: consecutive steps run in one transaction (unless a step commits as it goes,
  `own_transactions`, or the caller holds one already).
- **verdicts**: a step returns the items whose findings it changed (those of its `stage` it
  deleted and those it wrote); their verdicts are derived again before the next step runs, so
  every step reads verdicts that count every finding written before it.
"""

from __future__ import annotations

import heapq
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import LeaklensError
from .model import Finding
from .store.base import CaseStore, ItemQuery
from .verdicts import verdict_for

_TIMES = bool(os.environ.get("LEAKLENS_STEP_TIMES"))

if TYPE_CHECKING:
    from .case import Case
    from .cluster import Cluster

# The modules that declare steps, in the order their steps run when nothing else decides.
STEP_MODULES = (
    "leaklens.verify.case_verify",
    "leaklens.verify.case_proof",
    "leaklens.verify.case_docs",
    "leaklens.ocr.step",
    "leaklens.entities.step",
    "leaklens.spread.links",
    "leaklens.intel.steps",
)


class StepError(LeaklensError):
    """The declared steps cannot run: a need nobody registers, a cycle, a name declared twice."""


@dataclass
class Run:
    """One run of the steps: the case, what the command was asked, and what the steps hand on."""

    case: Case
    workers: int | None = None  # worker processes (None: one per core)
    cluster: Cluster | None = None  # a Dask cluster to run the steps' jobs on (leaklens/cluster.py), not this machine
    options: dict[str, Any] = field(default_factory=dict)  # key files, dns, force, progress callbacks...
    results: dict[str, Any] = field(default_factory=dict)  # what a step reports, under its name
    steps: list[Step] = field(default_factory=list)  # the steps of this run, in the order they run


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Run], Iterable[str] | None]  # returns the items whose findings it changed
    needs: tuple[str, ...] = ()
    group: str = "case"  # which part of the run: "messages", "case" (case-wide proof), "documents"...
    stage: str | None = None  # the findings stage it owns (deletes and writes again), if any
    meaning: str = ""
    own_transactions: bool = False  # commits as it goes (long per-item work), instead of one transaction
    module: str = ""  # where it is declared (orders the steps that are ready at once)


class Registry:
    """Steps by name. `REGISTRY` holds leaklens's; a test may make its own."""

    def __init__(self, modules: Sequence[str] = ()) -> None:
        self.modules = tuple(modules)
        self._steps: dict[str, Step] = {}
        self._seq: dict[str, int] = {}
        self._loaded = False

    def register(self, step: Step) -> Step:
        if step.name in self._steps and self._steps[step.name] != step:
            raise StepError(f"step {step.name!r} is declared twice ({self._steps[step.name].module}, {step.module})")
        self._steps[step.name] = step
        self._seq.setdefault(step.name, len(self._seq))
        return step

    def unregister(self, name: str) -> None:
        self._steps.pop(name, None)
        self._seq.pop(name, None)

    def load(self) -> None:
        """Import the modules that declare steps (once)."""
        if not self._loaded:
            for name in self.modules:
                importlib.import_module(name)
            self._loaded = True

    def get(self, name: str) -> Step:
        self.load()
        return self._steps[name]

    def ordered(self, groups: Iterable[str] | None = None, *, exclude: Iterable[str] = ()) -> list[Step]:
        """The registered steps of these groups (None: every group but `exclude`), in the order they run."""
        self.load()
        for s in self._steps.values():
            for need in s.needs:
                if need not in self._steps:
                    raise StepError(
                        f"step {s.name!r} ({s.module}) needs {need!r}, which no module registers "
                        f"(registered: {', '.join(sorted(self._steps))})"
                    )
        wanted, skipped = (None if groups is None else set(groups)), set(exclude)
        chosen = {
            n: s for n, s in self._steps.items() if (wanted is None or s.group in wanted) and s.group not in skipped
        }
        rank = {m: i for i, m in enumerate(self.modules)}
        waiting = {n: {d for d in s.needs if d in chosen} for n, s in chosen.items()}
        ready = [(rank.get(s.module, len(rank)), self._seq[n], n) for n, s in chosen.items() if not waiting[n]]
        heapq.heapify(ready)
        out: list[Step] = []
        while ready:
            *_, name = heapq.heappop(ready)
            out.append(chosen[name])
            for other, needs in waiting.items():
                if name in needs:
                    needs.discard(name)
                    if not needs:
                        s = chosen[other]
                        heapq.heappush(ready, (rank.get(s.module, len(rank)), self._seq[other], other))
        if len(out) < len(chosen):
            stuck = sorted(n for n in chosen if n not in {s.name for s in out})
            raise StepError(f"the steps {', '.join(stuck)} need each other (a cycle): none can run first")
        return out


REGISTRY = Registry(STEP_MODULES)


def register(step: Step, registry: Registry = REGISTRY) -> Step:
    return registry.register(step)


def step(
    name: str,
    *,
    needs: Sequence[str] = (),
    group: str = "case",
    stage: str | None = None,
    meaning: str = "",
    own_transactions: bool = False,
    registry: Registry = REGISTRY,
) -> Callable[[Callable[[Run], Iterable[str] | None]], Callable[[Run], Iterable[str] | None]]:
    """Declare the decorated function a step (the one line that makes a step part of every run)."""

    def declare(fn: Callable[[Run], Iterable[str] | None]) -> Callable[[Run], Iterable[str] | None]:
        registry.register(
            Step(name, fn, tuple(needs), group, stage, meaning or (fn.__doc__ or "").strip(), own_transactions,
                 fn.__module__)
        )  # fmt: skip
        return fn

    return declare


def run_steps(
    run: Run,
    groups: Iterable[str] | None = None,
    *,
    exclude: Iterable[str] = (),
    registry: Registry = REGISTRY,
) -> None:
    """Run the steps of these groups (None: all but `exclude`) in dependency order; see the module's docstring."""
    run.steps = registry.ordered(groups, exclude=exclude)
    db = run.case.db
    held = False  # a transaction begun here, held across consecutive steps (one commit for the case-wide ones)
    try:
        for s in run.steps:
            if s.own_transactions and held:
                db.commit()
                held = False
            elif not s.own_transactions and not db.in_transaction:
                db.begin()
                held = True
            started = time.perf_counter()
            changed = s.run(run)
            if changed:
                derive_verdicts(db, ItemQuery(ids=tuple(changed)))
            if _TIMES:  # where a run's time goes, step by step (bench/verify.py reads it)
                print(f"leaklens: step {s.name}: {time.perf_counter() - started:.2f} s", file=sys.stderr)
    finally:
        if held:
            db.commit()  # what the steps did before one failed is kept: their next run replaces it


def stages_of(run: Run, group: str) -> tuple[str, ...]:
    """The findings stages owned by this run's steps of `group`."""
    return tuple(dict.fromkeys(s.stage for s in run.steps if s.group == group and s.stage))


def unpack_rule_findings(packed: str | None) -> list[Finding]:
    """The findings `CaseStore.verdict_inputs` packed, as the verdict rules read them (code and effect)."""
    out = []
    for part in packed.split("\x1e") if packed else ():
        code, _, effect = part.partition("\x1f")
        out.append(Finding(code, "info", "", {"effect": effect} if effect else {}))
    return out


def derive_verdicts(store: CaseStore, where: ItemQuery) -> None:
    """Every selected stored item's verdict, derived again from all its findings (`verdict_for`).

    The store packs each item's findings as the rules read them (code and effect), so the items
    with the same findings, most of a case, share one computation.
    """
    known: dict[str | None, str] = {}
    changed = []
    for item_id, old, packed in store.verdict_inputs(where):
        new = known.get(packed)
        if new is None:
            new = known[packed] = verdict_for(unpack_rule_findings(packed))
        if new != old:
            changed.append((item_id, new))
    store.set_verdicts(changed)
