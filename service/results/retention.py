"""Retention: the clicks of editions older than the retention are deleted; what stays of them is
the rollups (sums without a customer in them). Consent events are never deleted here: they are
the proof of what a customer chose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, delete

from service.results.tables import click


@dataclass(frozen=True)
class Pruned:
    before: date  # editions before this date lost their clicks
    clicks: int


def oldest_kept(today: date, retention_days: int) -> date:
    """The first edition date whose clicks are kept."""
    return today - timedelta(days=retention_days)


def prune(engine: Engine, before: date) -> Pruned:
    """Delete the clicks of every edition dated before ``before``."""
    with engine.begin() as conn:
        result = conn.execute(delete(click).where(click.c.edition_date < before))
    return Pruned(before, result.rowcount or 0)
