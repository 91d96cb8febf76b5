"""What ``newsletter preview`` says of experiments: which arm a customer gets and why (their
bucket and the split), and ``--arm`` to preview one arm of a segment's variant."""

from __future__ import annotations

import typer

from service.assembly.edition import Assembly, Edition
from service.content.model import BUCKETS


def parse_arms(values: list[str] | None) -> dict[str, str]:
    """``--arm advice/heating-costs=b`` (repeatable) as {experiment: arm}."""
    found: dict[str, str] = {}
    for value in values or ():
        experiment, equals, arm = value.partition("=")
        if not equals or not experiment.strip() or not arm.strip():
            raise typer.BadParameter(f"--arm {value!r}: write EXPERIMENT=ARM, e.g. advice/heating-costs=b")
        found[experiment.strip()] = arm.strip()
    return found


def unknown_experiments(edition: Edition, named: dict[str, str]) -> list[str]:
    return [name for name in named if name not in edition.content.experiments]


def why_lines(edition: Edition, assembly: Assembly, customer: str | None) -> list[str]:
    """Per experiment of the variant: its arms and split, and for a customer which arm and why."""
    lines = []
    got = dict(assembly.key.arms)
    for experiment in edition.arms.experiments_in(assembly):
        arms = " | ".join(f"{a.name} {a.share / 100:g}% (buckets {a.start}-{a.start + a.share - 1})"
                          for a in experiment.arms)
        lines.append(f"experiment {experiment.id}: arms {arms}")
        arm = got.get(experiment.id, "a")
        if customer is None:
            lines.append(f"  shown: arm {arm} (--arm {experiment.id}=<arm> shows another)")
            continue
        bucket = edition.arms.bucket_of(experiment, customer)
        by_split = experiment.arm_at(bucket).name
        why = f"bucket {bucket} of {BUCKETS} (HMAC-SHA256 of the experiment key, {experiment.id} and the customer's " \
              f"public id) falls in arm {by_split}'s buckets"
        if by_split != arm:
            why += f"; arm {by_split} is a draft, so the customer gets the original"
        lines.append(f"  this customer gets arm {arm}: {why}")
    return lines
