"""What went out for one edition: counts by state, reason, segment and variant, from the ledger
(or, for a dry run, from the plan). The CLI prints it; ``newsletter report`` reads it again."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from service.sending import ledger
from service.sending.plan import PlanCounts


@dataclass
class Report:
    """What went out for one edition, by state, reason, segment and variant."""

    template: str
    day: date
    complete: bool = False
    states: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    segments: dict = field(default_factory=dict)  # segment -> Counter(state)
    variants: dict = field(default_factory=dict)  # variant -> Counter(state)

    @property
    def total(self) -> int:
        return sum(self.states.values())

    @property
    def due(self) -> int:
        return self.total - self.states[ledger.SKIPPED]

    @classmethod
    def from_ledger(cls, conn, template: str, day: date) -> "Report":
        edition = ledger.EditionKey(template, day)
        run = ledger.get_run(conn, edition)
        report = cls(template, day, complete=bool(run and run.completed_at))
        for state, reason, segment, variant, n in ledger.tally(conn, edition):
            report.add(state, reason, segment, variant, n)
        return report

    @classmethod
    def from_plan(cls, template: str, day: date, counts: PlanCounts) -> "Report":
        report = cls(template, day)
        for reason, n in counts.skipped.items():
            report.add(ledger.SKIPPED, reason, None, None, n)
        for variant, n in counts.variants.items():
            report.add(ledger.PENDING, None, None, variant, n)
        report.segments = counts.segments
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
