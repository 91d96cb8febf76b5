"""Which arm of each experiment goes into a variant (service/content/experiments.py has the rules).

An experiment's original competes for its slot like any block; once the variant is assembled, the
customer's arm of each experiment in it is a keyed hash of their public id (``for_customer``, once
per recipient of a send: what depends on the variant alone is worked out once per variant), or the
arm a preview names (``arms_of``). ``fills_with`` puts the arms' bodies in their originals' places.
An arm whose files are drafts is not given to customers (they get the original) but in a preview
with drafts.

(The assemblies and variant keys are ``service.assembly.edition``'s, which uses this module.)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from service.content.experiments import bucket_with, hasher
from service.content.model import ORIGINAL, Block, Content, Experiment


class ArmChooser:
    """The arms of one edition's variants; ``key``: Settings.experiment_key (None: only previews)."""

    def __init__(self, content: Content, drafts: bool, key: bytes | None):
        self.content, self.drafts, self.key = content, drafts, key
        self._plans: dict = {}  # variant key -> ([(experiment, its hasher, its arms' ends)], {arms: assembly})
        self._hashers: dict = {}

    def experiments_in(self, assembly) -> list[Experiment]:
        """The experiments whose original (or one of its arms) the assembly holds, in mail order."""
        experiments = self.content.experiments
        return [e for b in assembly.blocks if (e := experiments.get(b.arm_of or b.story)) is not None]

    def bucket_of(self, experiment: Experiment, customer: str) -> int:
        """The customer's place in the experiment (the arm it gives: ``experiment.arm_at``)."""
        return bucket_with(self._hasher(experiment.id), customer)

    def arms_of(self, assembly, customer: str | None, named: Mapping[str, str]) -> tuple:
        """(experiment, arm), sorted, for each experiment in the assembly: the arm ``named`` for
        it, else the customer's (arm a without a customer)."""
        found = []
        for experiment in self.experiments_in(assembly):
            name = named.get(experiment.id)
            if name is None:
                name = ORIGINAL if customer is None else experiment.arm_at(self.bucket_of(experiment, customer)).name
            if experiment.arm(name) is None:
                raise ValueError(f"experiment {experiment.id} has no arm {name!r} "
                                 f"(arms: {', '.join(a.name for a in experiment.arms)})")
            found.append((experiment.id, name if name in self._ready(experiment) else ORIGINAL))
        return tuple(sorted(found))

    def for_customer(self, key, assembly, customer: str, build):
        """The variant ``key`` (without arms) with the customer's arms: once per recipient of a
        send, so what depends on the variant alone is worked out once per variant (its experiments
        by id, their hashers and the buckets each arm ends at), and each arm combination's
        assembly is made once, by ``build(arms)``."""
        state = self._plans.get(key)
        if state is None:
            plan = [(e.id, self._hasher(e.id), self._ends(e))
                    for e in sorted(self.experiments_in(assembly), key=lambda e: e.id)]
            state = self._plans[key] = (plan, {})
        plan, made = state
        if not plan:
            return assembly
        chosen = tuple((experiment, _arm_at(ends, bucket_with(experiment_hasher, customer)))
                       for experiment, experiment_hasher, ends in plan)
        found = made.get(chosen)
        if found is None:
            found = made[chosen] = build(chosen)
        return found

    def fills_with(self, fills: tuple, arms: tuple) -> tuple:
        """The slot fills of a variant with each experiment's original replaced by its arm."""
        chosen = dict(arms)
        blocks, experiments = self.content.blocks, self.content.experiments

        def body_of(block: Block) -> Block:
            experiment = experiments.get(block.story)
            if experiment is None or chosen.get(experiment.id, ORIGINAL) == ORIGINAL:
                return block
            return blocks[experiment.arm(chosen[experiment.id]).blocks[block.locale]]
        return tuple(replace(fill, chosen=tuple(body_of(b) for b in fill.chosen)) for fill in fills)

    def _hasher(self, experiment: str):
        if self.key is None:
            raise ValueError("assigning a customer an arm needs the experiment key (Settings.experiment_key)")
        found = self._hashers.get(experiment)
        if found is None:
            found = self._hashers[experiment] = hasher(self.key, experiment)
        return found

    def _ends(self, experiment: Experiment) -> tuple:
        """(first bucket after the arm, the arm customers there get), in bucket order."""
        ready = self._ready(experiment)
        return tuple((a.start + a.share, a.name if a.name in ready else ORIGINAL) for a in experiment.arms)

    def _ready(self, experiment: Experiment) -> frozenset[str]:
        """The arms customers may get: no draft arm, but in a preview with drafts."""
        blocks = self.content.blocks
        return frozenset(a.name for a in experiment.arms
                         if self.drafts or not any(blocks[b].is_draft for b in a.blocks.values()))


def _arm_at(ends: tuple, bucket: int) -> str:
    for end, name in ends:
        if bucket < end:
            return name
    return ends[-1][1]
