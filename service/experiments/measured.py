"""What each arm of an experiment measured in one edition, read from the results rollups
(service/results/tables.py): per arm, the recipients of the variants that held it, those whose
clicks were measured, and the unique clickers and clicks of the arm's own block.

A variant's label names its arms (``vip/de [advice/heating-costs=b]``: VariantKey.label), and a
customer is in one variant per edition, so the sums over the variants of an arm are exact.
Clicks on an arm's block are counted under its block id (``advice/heating-costs-b.de``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select

from service.content.model import Experiment
from service.results.tables import BLOCK, DELIVERED, MEASURED, result_audience, result_click
from service.experiments.significance import Counts

ARMS_IN_LABEL = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class ArmFigures:
    arm: str
    recipients: int = 0
    measured: int = 0
    clickers: int = 0
    clicks: int = 0

    @property
    def rate(self) -> float:
        """Unique clickers of the arm's block over the recipients whose clicks were measured."""
        return self.counts.rate

    @property
    def counts(self) -> Counts:
        return Counts(self.measured, self.clickers)

    def as_list(self) -> list[int]:
        return [self.recipients, self.measured, self.clickers, self.clicks]


def arms_of_label(label: str) -> dict[str, str]:
    """{experiment: arm} a variant's label names (none: {})."""
    found = ARMS_IN_LABEL.search(label)
    if found is None:
        return {}
    return dict(part.split("=", 1) for part in found.group(1).split(";") if "=" in part)


def experiments_of(conn: Connection, template: str, day: date) -> list[str]:
    """The experiments the edition's deliveries held, by id (from the rollups' variant labels)."""
    a = result_audience.c
    labels = conn.execute(select(a.variant).where(a.template == template, a.edition_date == day,
                                                  a.measure == DELIVERED).distinct()).scalars()
    return sorted({experiment for label in labels for experiment in arms_of_label(label)})


def arm_figures(conn: Connection, template: str, day: date, experiment: Experiment) -> dict[str, ArmFigures]:
    """Per arm of ``experiment`` (every arm, measured or not), its figures in the edition."""
    a, r = result_audience.c, result_click.c
    totals = {arm.name: [0, 0, 0, 0] for arm in experiment.arms}
    for variant, measure, customers in conn.execute(
            select(a.variant, a.measure, func.sum(a.customers))
            .where(a.template == template, a.edition_date == day, a.measure.in_((DELIVERED, MEASURED)),
                   a.key == "").group_by(a.variant, a.measure)):
        arm = arms_of_label(variant).get(experiment.id)
        if arm in totals:
            totals[arm][0 if measure == DELIVERED else 1] += int(customers)
    blocks = {block: arm.name for arm in experiment.arms for block in arm.blocks.values()}
    for variant, key, clickers, clicks in conn.execute(
            select(r.variant, r.key, func.sum(r.clickers), func.sum(r.clicks))
            .where(r.template == template, r.edition_date == day, r.dimension == BLOCK,
                   r.key.in_(list(blocks))).group_by(r.variant, r.key)):
        arm = arms_of_label(variant).get(experiment.id)
        if arm is not None and arm == blocks[key] and arm in totals:
            totals[arm][2] += int(clickers)
            totals[arm][3] += int(clicks)
    return {name: ArmFigures(name, *values) for name, values in totals.items()}
