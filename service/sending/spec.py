"""What one send run is (``SendSpec``) and who in it gets what (``decide``): shared by the plan
(service/sending/plan.py) and the workers' handover check (service/sending/batch.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from preferences.due import due_reason
from preferences.models import Frequency

from service.assembly.edition import Assembly, Edition
from service.content.experiments import arms_text
from service.sending import ledger
from service.settings import Settings

NO_SEGMENT = "no-segment"


@dataclass(frozen=True)
class SendSpec:
    """Everything a worker needs, as plain values (it is pickled into worker processes)."""

    settings: Settings
    template: str
    day: date
    target: str
    batch_size: int = 500
    lease: float = 120.0  # seconds a claim is held before another worker may take it over
    max_attempts: int = 5  # tries of one recipient before it fails with the relay's last answer
    workers: int = 1  # workers sharing the relay's rate
    # The content version the process that starts the workers checked in full (see load_content).
    checked_content: str | None = None
    # A recipient the relay deferred alone (a 4xx to its RCPT TO or DATA) waits this long before
    # its next try, doubled each time (1, 2, 4, 8 min with the defaults), at most retry_max_s.
    retry_first_s: float = 60.0
    retry_max_s: float = 600.0
    # `send --test`: the share of the edition's customers in its test sample, in basis points
    # (1000: 10%); the rest is held for the experiments' decision (service/sending/phases.py).
    test_share: int | None = None

    def retry_delay(self, attempts: int) -> float:
        """Seconds a recipient deferred at its ``attempts``-th try waits before the next one."""
        return min(self.retry_max_s, self.retry_first_s * 2 ** max(0, attempts - 1))

    @property
    def edition(self) -> ledger.EditionKey:
        return ledger.EditionKey(self.template, self.day)


@dataclass(frozen=True)
class Decision:
    state: str  # ledger.PENDING or ledger.SKIPPED
    reason: str | None = None
    segment: str | None = None
    variant: str | None = None
    assembly: Assembly | None = None

    @property
    def arms(self) -> str | None:
        """The arms of the experiments the customer is in (the ledger's ``arms``)."""
        return arms_text(self.assembly.key.arms) if self.assembly is not None else None


def decide(edition: Edition, row, last_sent: date | None, previous: date | None, *,
           variant: bool = True, arms: Mapping[str, str] | None = None) -> Decision:
    """Whether one customer (a send row) gets the edition, and with which variant.

    ``variant=False`` (the plan): a due customer's variant is left to the worker, which works
    it out again anyway from the customer's data as it is at handover. ``arms``: the arms the
    row is to get (a tested edition's winners, ``Claim.given_arms``), not the customer's own;
    an experiment they do not name, or an arm the content no longer has, gives the original."""
    # A mail sent on an event (the welcome) is not a newsletter edition: the frequency is not its.
    frequency = row.frequency if edition.template.trigger is None else Frequency.WEEKLY
    reason = due_reason(row.status, frequency, row.paused_until, edition.date, last_sent, previous)
    if reason:
        segment = edition.segment_for(row.attributes or {}, row.locale)  # for the report
        return Decision(ledger.SKIPPED, reason, segment.id if segment else None)
    if not variant:
        return Decision(ledger.PENDING)
    segment = edition.segment_for(row.attributes or {}, row.locale)
    if segment is None:
        return Decision(ledger.SKIPPED, NO_SEGMENT)
    # A slower reader due today gets the template's best-of edition for their pace, if it has one.
    digest = edition.digest_for(frequency)
    if arms is None:
        assembly = edition.assemble(segment, row.locale, row.excluded_groups or (), customer=row.public_id,
                                    digest=digest)
    else:  # a winner phase's row: the decided arms, whatever the customer's own would be
        known = edition.content.experiments
        given = {e: a for e, a in arms.items() if e in known and known[e].arm(a) is not None}
        assembly = edition.assemble(segment, row.locale, row.excluded_groups or (), arms=given, digest=digest)
    label = assembly.key.label()
    if assembly.skip_reason:
        return Decision(ledger.SKIPPED, assembly.skip_reason, segment.id, label)
    return Decision(ledger.PENDING, None, segment.id, label, assembly)
