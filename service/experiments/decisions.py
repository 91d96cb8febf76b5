"""The decisions of a tested edition's experiments: made from the measured figures
(``decide_untested``, by ``send --due`` once ``decide_after`` is over) or by an operator
(``decide_by_hand``), each one row of ``experiment_decision``, written once and never changed.

What the held customers get is every decision's arm (``winner_arms``); an experiment of the
edition without a decision cannot be released (service/experiments/phases.py waits for it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from preferences.utc import utcnow
from service.content.model import ORIGINAL, Content, Experiment
from service.experiments.measured import ArmFigures, arm_figures, experiments_of
from service.experiments.significance import METHOD, compare
from service.experiments.tables import AUTO, experiment_decision
from service.sending import phases
from service.sending.ledger import EditionKey, get_run

HAND = "by hand"


class DecisionRefused(ValueError):
    """A hand decision that is a clear mistake; the message says which and what to do."""


@dataclass(frozen=True)
class Decision:
    experiment: str
    arm: str
    method: str
    p_value: float | None
    figures: dict[str, ArmFigures]
    decided_at: datetime
    decided_by: str


def decisions_of(conn: Connection, edition: EditionKey) -> dict[str, Decision]:
    """The edition's decisions by experiment."""
    d = experiment_decision.c
    rows = conn.execute(select(experiment_decision).where(d.template == edition.template,
                                                          d.edition_date == edition.day)).all()
    return {row.experiment: Decision(row.experiment, row.arm, row.method, row.p_value,
                                     {arm: ArmFigures(arm, *values) for arm, values in json.loads(row.figures).items()},
                                     row.decided_at, row.decided_by) for row in rows}


def figures_of(conn: Connection, content: Content, edition: EditionKey, experiment: str) -> dict[str, ArmFigures]:
    """The arms' figures as the rollups have them now (an experiment gone from the content: none)."""
    found = content.experiments.get(experiment)
    return arm_figures(conn, edition.template, edition.day, found) if found is not None else {}


def decide_untested(conn: Connection, content: Content, edition: EditionKey) -> list[Decision]:
    """Decide every experiment of the edition that has no decision yet, from its figures: the
    significance test's winner, else arm a. Written in the caller's transaction; the new ones."""
    made = []
    decided = decisions_of(conn, edition)
    for experiment in experiments_of(conn, edition.template, edition.day):
        if experiment in decided:
            continue
        figures = figures_of(conn, content, edition, experiment)
        verdict = compare({arm: f.counts for arm, f in figures.items()})
        made.append(_write(conn, edition, experiment, verdict.winner, METHOD, verdict.p_value, figures, AUTO))
    return made


def decide_by_hand(conn: Connection, content: Content, edition: EditionKey, experiment: str, arm: str,
                   who: str) -> Decision:
    """An operator's decision; refused (DecisionRefused) for an unknown experiment or arm, an
    edition that did not test it or is no longer testing, or an experiment decided already."""
    known: Experiment | None = content.experiments.get(experiment)
    if known is None:
        raise DecisionRefused(f"there is no experiment {experiment!r} (experiments: "
                              f"{', '.join(sorted(content.experiments)) or 'none'})")
    if known.arm(arm) is None:
        raise DecisionRefused(f"experiment {experiment} has no arm {arm!r} (arms: "
                              f"{', '.join(a.name for a in known.arms)})")
    run = get_run(conn, edition)
    if run is None or run.test_share is None:
        raise DecisionRefused(f"{edition.template} {edition.day} was not sent with --test: there is nothing to decide")
    decided = decisions_of(conn, edition).get(experiment)
    if decided is not None:
        raise DecisionRefused(f"experiment {experiment} of {edition.template} {edition.day} is decided already: "
                              f"arm {decided.arm}, {decided.decided_by}, {decided.decided_at:%Y-%m-%d %H:%M} UTC")
    if not phases.testing(run):
        raise DecisionRefused(f"{edition.template} {edition.day} has sent its winners already")
    if experiment not in experiments_of(conn, edition.template, edition.day):
        raise DecisionRefused(f"the test of {edition.template} {edition.day} did not hold experiment {experiment} "
                              "(or its results are not refreshed yet: `newsletter results refresh`)")
    figures = figures_of(conn, content, edition, experiment)
    verdict = compare({name: f.counts for name, f in figures.items()})
    p = verdict.p_values.get(arm) if arm != ORIGINAL else None
    made = _write(conn, edition, experiment, arm, f"{HAND} ({METHOD} for reference)", p, figures, who)
    if (made.arm, made.decided_by) != (arm, who[:100]):  # decided meanwhile (`send --due`, another operator)
        raise DecisionRefused(f"experiment {experiment} of {edition.template} {edition.day} was decided meanwhile: "
                              f"arm {made.arm}, {made.decided_by}")
    return made


def winner_arms(decisions: dict[str, Decision]) -> str:
    """The arms the held customers get: ``exp=b;other=a`` ("" with no experiment)."""
    return ";".join(f"{experiment}={d.arm}" for experiment, d in sorted(decisions.items()))


def _write(conn: Connection, edition: EditionKey, experiment: str, arm: str, method: str, p_value: float | None,
           figures: dict[str, ArmFigures], who: str) -> Decision:
    now = utcnow()
    values = dict(template=edition.template, edition_date=edition.day, experiment=experiment, arm=arm,
                  method=method[:200], p_value=p_value, decided_at=now, decided_by=who[:100],
                  figures=json.dumps({name: f.as_list() for name, f in sorted(figures.items())}))
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(experiment_decision)
    conn.execute(insert.values(**values).on_conflict_do_nothing())  # a concurrent decision is kept
    return decisions_of(conn, edition)[experiment]
