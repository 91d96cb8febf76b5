"""The experiments table of ``newsletter experiments`` and the results page: per edition,
experiment and arm, its recipients, clicks, unique click rate, the confidence that it beats arm a,
and the decision with who or what made it.

Figures of a decided experiment are the ones its decision saw (the test sample's); of one not
decided yet, the rollups' now. An edition sent without --test lists its experiments too: every
customer got their own arm, there is nothing to decide ("not tested")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select

from service.content.model import ORIGINAL, Content
from service.experiments.decisions import decisions_of, figures_of
from service.experiments.measured import arms_of_label
from service.experiments.significance import compare
from service.results.tables import DELIVERED, result_audience
from service.sending import phases
from service.sending.ledger import EditionKey, get_run
from service.sending.tables import send_run

TESTING, NOT_TESTED = "testing", "not tested"


@dataclass(frozen=True)
class ArmRow:
    template: str
    day: date
    experiment: str
    arm: str
    recipients: int
    measured: int
    clickers: int
    clicks: int
    confidence: float | None  # 1 - the corrected one-sided p-value against arm a (None: arm a)
    decision: str  # "b" (the arm decided), TESTING or NOT_TESTED
    decided_by: str | None = None  # "auto" or the operator
    decided_at: datetime | None = None
    method: str | None = None

    @property
    def rate(self) -> float:
        return self.clickers / self.measured if self.measured else 0.0

    @property
    def winner(self) -> bool:
        return self.decision == self.arm


def editions_with_experiments(conn: Connection, template: str | None = None, day: date | None = None) -> list[EditionKey]:
    """Tested editions and editions whose deliveries held arms (from the rollups), newest first."""
    r, a = send_run.c, result_audience.c
    tested = select(r.template, r.edition_date).where(r.test_share.is_not(None))
    armed = select(a.template, a.edition_date, a.variant).where(a.measure == DELIVERED, a.key == "",
                                                              a.variant.like("%[%=%]%")).distinct()
    if template:
        tested, armed = tested.where(r.template == template), armed.where(a.template == template)
    if day:
        tested, armed = tested.where(r.edition_date == day), armed.where(a.edition_date == day)
    found = {(t, d) for t, d in conn.execute(tested)}
    found |= {(t, d) for t, d, label in conn.execute(armed) if arms_of_label(label)}
    return [EditionKey(t, d) for t, d in sorted(found, key=lambda k: (k[1], k[0]), reverse=True)]


def experiment_rows(conn: Connection, content: Content, template: str | None = None,
                    day: date | None = None) -> list[ArmRow]:
    rows: list[ArmRow] = []
    for edition in editions_with_experiments(conn, template, day):
        run = get_run(conn, edition)
        tested = run is not None and run.test_share is not None
        decided = decisions_of(conn, edition)
        a = result_audience.c
        labels = conn.execute(select(a.variant).where(a.template == edition.template, a.edition_date == edition.day,
                                                      a.measure == DELIVERED).distinct()).scalars()
        experiments = sorted({e for label in labels for e in arms_of_label(label)} | set(decided))
        for experiment in experiments:
            decision = decided.get(experiment)
            figures = decision.figures if decision else figures_of(conn, content, edition, experiment)
            verdict = compare({arm: f.counts for arm, f in figures.items()})
            state = decision.arm if decision else (TESTING if tested and phases.testing(run) else NOT_TESTED)
            for arm in sorted(figures, key=lambda name: (name != ORIGINAL, name)):
                f = figures[arm]
                p = verdict.p_values.get(arm)
                rows.append(ArmRow(edition.template, edition.day, experiment, arm, f.recipients, f.measured,
                                   f.clickers, f.clicks, None if p is None else 1 - p, state,
                                   decision.decided_by if decision else None,
                                   decision.decided_at if decision else None, decision.method if decision else None))
    return rows
