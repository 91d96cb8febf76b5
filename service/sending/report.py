"""What went out for one edition: counts by state, reason, segment and variant, from the ledger
(or, for a dry run, from the plan). The CLI prints it; ``newsletter report`` reads it again.

The report adds up to the audience, every customer in the database: the ledger has a row for
every active customer a run planned, and the customers it has no row for are counted too, by
status: unsubscribed and pending ones as skipped with that reason, active ones as not planned
(added after the run, or past a ``--limit``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import exists, func, select

from preferences.models import Status, customer_table

from service.sending import ledger
from service.sending.plan import PlanCounts


@dataclass
class Report:
    """What went out for one edition, by state, reason, segment and variant."""

    template: str
    day: date
    complete: bool = False
    states: Counter = field(default_factory=Counter)  # ledger rows (and unplanned non-active customers)
    skipped: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    segments: dict = field(default_factory=dict)  # segment -> Counter(state), planned customers only
    variants: dict = field(default_factory=dict)  # variant -> Counter(state)
    planned: int = 0  # rows in the ledger (a dry run: customers it decided)
    not_planned: int = 0  # active customers without a row
    already_planned: int = 0  # a dry run: customers an earlier run planned (not decided again)

    @property
    def total(self) -> int:
        """The audience: every customer in the database."""
        return sum(self.states.values()) + self.not_planned + self.already_planned

    @property
    def due(self) -> int:
        return sum(self.states.values()) - self.states[ledger.SKIPPED]

    @classmethod
    def from_ledger(cls, conn, template: str, day: date, *, whole_audience: bool = True) -> "Report":
        """``whole_audience`` False: the ledger's rows alone (a mail sent on an event, e.g. the
        welcome, is for the customers who confirmed that day, not for everyone else)."""
        edition = ledger.EditionKey(template, day)
        run = ledger.get_run(conn, edition)
        report = cls(template, day, complete=bool(run and run.completed_at))
        for state, reason, segment, variant, n in ledger.tally(conn, edition):
            report.add(state, reason, segment, variant, n)
        report.planned = sum(report.states.values())
        if whole_audience:
            report.add_unplanned(_unplanned_by_status(conn, edition))
        return report

    @classmethod
    def from_plan(cls, template: str, day: date, counts: PlanCounts, conn=None) -> "Report":
        """A dry run's report; with ``conn``, the customers the plan does not consider (not active)
        are counted too."""
        report = cls(template, day)
        for reason, n in counts.skipped.items():
            report.add(ledger.SKIPPED, reason, None, None, n)
        for variant, n in counts.variants.items():
            report.add(ledger.PENDING, None, None, variant, n)
        report.segments = counts.segments
        report.planned = sum(report.states.values())
        report.already_planned = counts.already_planned
        if conn is not None:
            c = customer_table.c
            statement = select(c.status, func.count()).where(c.status != Status.ACTIVE).group_by(c.status)
            report.add_unplanned(dict(conn.execute(statement).all()))
        return report

    def add(self, state: str, reason: str | None, segment: str | None, variant: str | None, n: int) -> None:
        self.states[state] += n
        if state == ledger.SKIPPED:
            self.skipped[reason or "?"] += n
        elif state == ledger.FAILED:
            self.failed[reason or "?"] += n
        self.segments.setdefault(segment or "(none)", Counter())[state] += n
        if variant and state != ledger.SKIPPED:
            self.variants.setdefault(variant, Counter())[state] += n

    def add_unplanned(self, by_status: dict) -> None:
        """Customers without a row, by status: not active ones are skipped with their status as
        the reason (as the handover would skip them), active ones are not planned."""
        for status, n in by_status.items():
            if status == Status.ACTIVE:
                self.not_planned += n
            else:
                self.states[ledger.SKIPPED] += n
                self.skipped[str(status)] += n


def _unplanned_by_status(conn, edition: ledger.EditionKey) -> dict:
    """Customers without a ledger row for the edition, counted by status."""
    c, d = customer_table.c, ledger.delivery.c
    has_row = exists().where(d.customer_id == c.id, d.template == edition.template, d.edition_date == edition.day)
    return dict(conn.execute(select(c.status, func.count()).where(~has_row).group_by(c.status)).all())
