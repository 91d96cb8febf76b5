"""The send run of one edition: plan who is due into the ledger, then deliver in claimed batches.

- ``plan_run`` (once per run, in one process) streams the active customers in keyset batches,
  decides for each whether they are due (preferences/due.py) and which variant they get, and
  inserts their ledger rows (``pending`` or ``skipped`` with the reason). Rows already planned
  by an earlier run are left alone: a re-run adds only new customers.
- ``BatchSender`` (in every worker) claims a batch of pending rows, re-reads those customers
  (whoever unsubscribed or paused meanwhile is skipped), renders them grouped by variant,
  delivers them, and records each outcome: ``sent`` only once the destination has the message.

Nothing here holds more than one batch of customers or messages.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from preferences.database import for_writes, make_engine
from preferences.due import due_reason
from preferences.models import customer_table, preference_table
from preferences.store import iter_send_candidates

from . import ledger
from .assemble import Assembly, Edition
from .content import load_content
from .deliver import DEFERRED, FAILED, SENT, Deliverer, Envelope, open_deliverer, parse_target
from .mime import message_id
from .model import Content
from .recipient import Recipient
from .render import Renderer, date_header
from .settings import Settings

NO_SEGMENT = "no-segment"
CUSTOMER_GONE = "customer-deleted"
RELAY_DOWN_EXIT = 3  # a worker's exit code when the relay stayed unreachable


@dataclass(frozen=True)
class SendSpec:
    """Everything a worker needs, as plain values (it is pickled into worker processes)."""

    settings: Settings
    template: str
    day: date
    target: str
    batch_size: int = 500
    lease: float = 120.0  # seconds a claim is held before another worker may take it over
    max_attempts: int = 5
    workers: int = 1  # workers sharing the relay's rate

    @property
    def edition(self) -> ledger.Edition:
        return ledger.Edition(self.template, self.day)


@dataclass(frozen=True)
class Decision:
    state: str  # ledger.PENDING or ledger.SKIPPED
    reason: str | None = None
    segment: str | None = None
    variant: str | None = None
    assembly: Assembly | None = None


def decide(edition: Edition, row, last_sent: date | None, previous: date | None, *,
           variant: bool = True) -> Decision:
    """Whether one customer (a send row) gets the edition, and with which variant.

    ``variant=False`` (the plan): a due customer's variant is left to the worker, which works
    it out again anyway from the customer's data as it is at handover."""
    reason = due_reason(row.status, row.frequency, row.paused_until, edition.date, last_sent, previous)
    if reason:
        segment = edition.segment_for(row.attributes or {}, row.locale)  # for the report
        return Decision(ledger.SKIPPED, reason, segment.id if segment else None)
    if not variant:
        return Decision(ledger.PENDING)
    segment = edition.segment_for(row.attributes or {}, row.locale)
    if segment is None:
        return Decision(ledger.SKIPPED, NO_SEGMENT)
    assembly = edition.assemble(segment, row.locale, row.excluded_groups or ())
    label = assembly.key.label()
    if assembly.skip_reason:
        return Decision(ledger.SKIPPED, assembly.skip_reason, segment.id, label)
    return Decision(ledger.PENDING, None, segment.id, label, assembly)


# Planning ---------------------------------------------------------------------------------------

@dataclass
class PlanCounts:
    considered: int = 0
    already_planned: int = 0
    due: int = 0
    skipped: Counter = field(default_factory=Counter)
    segments: dict = field(default_factory=dict)  # segment -> Counter(state)
    variants: Counter = field(default_factory=Counter)  # due customers per variant
    complete: bool = False  # went through every customer (not stopped by --limit)


def plan_run(engine: Engine, content: Content, spec: SendSpec, *, limit: int | None = None,
             dry_run: bool = False, batch: int = 2000,
             on_batch: Callable[[PlanCounts], None] | None = None) -> PlanCounts:
    """Insert a ledger row for every active customer not planned yet (none with ``dry_run``,
    which counts the variants instead); stop after ``limit`` new due customers."""
    template = content.templates[spec.template]
    edition = Edition(content, template, spec.day)
    previous = template.schedule.previous_edition(spec.day)
    writes, key = for_writes(engine), spec.edition
    counts = PlanCounts()
    if not dry_run:
        with writes.begin() as conn:
            ledger.start_run(conn, key, content.version)
    after, stopped = 0, False
    while not stopped:
        with engine.connect() as conn:
            rows = list(iter_send_candidates(conn, after, batch))
            if not rows:
                counts.complete = True
                break
            planned = ledger.planned_customer_ids(conn, key, rows[0].id, rows[-1].id)
            fresh = [r for r in rows if r.id not in planned]
            last = ledger.last_sent_dates(conn, spec.template, spec.day, (r.id for r in fresh))
        after = rows[-1].id
        counts.considered += len(rows)
        counts.already_planned += len(planned)
        new_rows = []
        for row in fresh:
            if limit is not None and counts.due >= limit:
                stopped = True
                break
            decision = decide(edition, row, last.get(row.id), previous, variant=dry_run)
            new_rows.append(dict(customer_id=row.id, state=decision.state, reason=decision.reason,
                                 segment=decision.segment, variant=decision.variant))
            _count(counts, decision)
        if not dry_run and new_rows:
            with writes.begin() as conn:
                ledger.add_planned(conn, key, new_rows)
        if on_batch:
            on_batch(counts)
    if not dry_run and counts.complete:
        with writes.begin() as conn:
            ledger.finish_plan(conn, key)
    return counts


def _count(counts: PlanCounts, decision: Decision) -> None:
    per_segment = counts.segments.setdefault(decision.segment or "(none)", Counter())
    per_segment[decision.state] += 1
    if decision.state == ledger.PENDING:
        counts.due += 1
        if decision.variant:
            counts.variants[decision.variant] += 1
    else:
        counts.skipped[decision.reason] += 1


# Delivering -------------------------------------------------------------------------------------

def current_send_rows(conn, customer_ids: Iterable[int]) -> list:
    """The customers' rows as they are now, whatever their status (the check before handover)."""
    c, p = customer_table.c, preference_table.c
    statement = (select(c.id, c.public_id, c.email, c.first_name, c.locale, c.attributes, c.status,
                        p.frequency, p.paused_until, p.excluded_groups)
                 .join_from(customer_table, preference_table, p.customer_id == c.id)
                 .where(c.id.in_(list(customer_ids))))
    return conn.execute(statement).all()


@dataclass
class BatchResult:
    claimed: int = 0
    outcomes: Counter = field(default_factory=Counter)  # state -> n
    deferred: bool = False  # the relay could not take messages: the rest went back


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{index}"


class BatchSender:
    """One worker's side of a run: claim, re-check, render, deliver, record; until none is left."""

    def __init__(self, spec: SendSpec, name: str | None = None, *, engine: Engine | None = None,
                 content: Content | None = None, deliverer: Deliverer | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.spec, self.name, self.sleep = spec, name or worker_name(), sleep
        self._own_engine = engine is None
        self.engine = engine or make_engine(spec.settings.database_url)
        self.writes = for_writes(self.engine)
        content = content or load_content(spec.settings.content_dir)
        self.template = content.templates[spec.template]
        self.edition = Edition(content, self.template, spec.day)
        self.previous = self.template.schedule.previous_edition(spec.day)
        self.renderer = Renderer.from_settings(spec.settings)
        self.deliverer = deliverer or open_deliverer(parse_target(spec.target), share=max(1, spec.workers))
        self.date_header = date_header()
        self.edition_id = f"{spec.template}/{spec.day.isoformat()}"  # as Variant.edition_id

    def run_until_done(self, planning_done: Callable[[], bool] = lambda: True,
                       should_stop: Callable[[], bool] = lambda: False) -> int:
        """Deliver batches until no row is left unfinished; 0, or RELAY_DOWN_EXIT."""
        relay_trouble = 0
        while not should_stop():
            result = self.send_batch()
            if result is None:
                if not planning_done():
                    self.sleep(0.05)
                    continue
                with self.engine.connect() as conn:
                    wait = ledger.next_claimable_in(conn, self.spec.edition, self.spec.lease)
                if wait is None:
                    return 0
                self.sleep(min(max(wait, 0.05), 1.0))
            elif result.deferred:
                relay_trouble += 1
                if relay_trouble >= 5:
                    return RELAY_DOWN_EXIT
                self.sleep(min(30.0, 2.0 ** relay_trouble))
            else:
                relay_trouble = 0
        return 0

    def send_batch(self) -> BatchResult | None:
        """Claim one batch and see it through; None when nothing was claimable."""
        spec = self.spec
        claims = ledger.claim_batch(self.writes, spec.edition, self.name, spec.batch_size, spec.lease)
        if not claims:
            return None
        with self.engine.connect() as conn:
            current = {row.id: row for row in current_send_rows(conn, (c.customer_id for c in claims))}
            last = ledger.last_sent_dates(conn, spec.template, spec.day, current)
        result = BatchResult(claimed=len(claims))
        outcomes: list[ledger.Outcome] = []
        groups: dict = {}
        for claim in claims:
            row = current.get(claim.customer_id)
            if row is None:
                outcomes.append(ledger.Outcome(claim.id, ledger.SKIPPED, CUSTOMER_GONE))
                continue
            decision = decide(self.edition, row, last.get(row.id), self.previous)
            if claim.attempts > 1:
                # Claimed again: its worker may have died after delivering, before recording.
                mid = message_id(self.edition_id, row.public_id, self.template.list_id)
                if self.deliverer.has(mid):
                    outcomes.append(ledger.Outcome(claim.id, SENT, None, decision.segment, decision.variant,
                                                   mid, "found at the destination after a crash"))
                    continue
            if decision.state == ledger.SKIPPED:
                outcomes.append(ledger.Outcome(claim.id, ledger.SKIPPED, decision.reason,
                                               decision.segment, decision.variant))
            else:
                groups.setdefault(decision.assembly.key, []).append((claim, row, decision))
        delivered, renewed_at = 0, time.monotonic()
        for items in groups.values():
            variant, variant_error = None, None
            for claim, row, decision in items:
                if result.deferred:
                    outcomes.append(ledger.Outcome(claim.id, ledger.PENDING, "deferred", tried=False))
                    continue
                outcome = None
                try:
                    if variant is None and variant_error is None:
                        variant = self.renderer.variant(self.edition, decision.assembly)
                except Exception as exc:  # noqa: BLE001 (a variant that does not render fails its rows)
                    variant_error = _describe(exc)
                if variant_error:
                    outcome = ledger.Outcome(claim.id, FAILED, "variant does not render", decision.segment,
                                             decision.variant, answer=variant_error)
                else:
                    outcome = self._deliver_one(claim, row, decision, variant, result)
                outcomes.append(outcome)
                delivered += 1
                if delivered % self.deliverer.record_every == 0:
                    self._record(outcomes, result)
                    outcomes = []
                if time.monotonic() - renewed_at > spec.lease / 3:
                    with self.writes.begin() as conn:
                        ledger.renew_claims(conn, self.name, [c.id for c in claims])
                    renewed_at = time.monotonic()
        self._record(outcomes, result)
        return result

    def _deliver_one(self, claim, row, decision: Decision, variant, result: BatchResult) -> ledger.Outcome:
        segment, label = decision.segment, decision.variant
        try:
            recipient = Recipient.from_row(row)
            data = self.renderer.message(self.edition, variant, recipient, self.date_header)
        except Exception as exc:  # noqa: BLE001 (one customer's bad data fails that customer alone)
            # The reason groups the report; the details (which may name the customer) go apart.
            return ledger.Outcome(claim.id, FAILED, f"render: {exc.__class__.__name__}", segment, label,
                                  answer=_describe(exc))
        mid = message_id(variant.edition_id, recipient.public_id, self.template.list_id)
        answer = self.deliverer.deliver(Envelope(self.template.sender_email, recipient.email, mid, data))
        if answer.state == SENT:
            return ledger.Outcome(claim.id, SENT, None, segment, label, mid, answer.answer)
        if answer.state == FAILED:
            return ledger.Outcome(claim.id, FAILED, "refused by the relay", segment, label, mid, answer.answer)
        assert answer.state == DEFERRED
        if claim.attempts >= self.spec.max_attempts:
            return ledger.Outcome(claim.id, FAILED, f"gave up after {claim.attempts} attempts",
                                  segment, label, mid, answer.answer)
        result.deferred = True
        return ledger.Outcome(claim.id, ledger.PENDING, "deferred", segment, label, None, answer.answer)

    def _record(self, outcomes: list[ledger.Outcome], result: BatchResult) -> None:
        if not outcomes:
            return
        self.deliverer.flush()  # durable at the destination before the ledger says "sent"
        ledger.record(self.writes, self.name, outcomes)
        result.outcomes.update(o.state for o in outcomes)

    def close(self) -> None:
        self.deliverer.close()
        if self._own_engine:
            self.engine.dispose()


def _describe(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {exc}".strip()


# Which editions are due --------------------------------------------------------------------------

@dataclass(frozen=True)
class DueEdition:
    template: str
    day: date
    starts_at: datetime
    started: bool  # a run exists (an earlier call started it; it is continued)
    too_late: bool  # not started and more than the allowed lateness past its time


def due_editions(conn, content: Content, now: datetime, max_late: timedelta) -> list[DueEdition]:
    """Per template, its latest edition whose time has come, unless that edition's run is
    complete. An edition not started within ``max_late`` of its time is marked ``too_late``."""
    found = []
    for template in sorted(content.templates.values(), key=lambda t: t.id):
        schedule = template.schedule
        today = now.astimezone(ZoneInfo(schedule.timezone)).date()
        day = today if schedule.is_edition(today) and schedule.starts_at(today) <= now \
            else schedule.previous_edition(today)
        run = ledger.get_run(conn, ledger.Edition(template.id, day))
        if run is not None and run.completed_at is not None:
            continue
        starts_at = schedule.starts_at(day)
        found.append(DueEdition(template.id, day, starts_at, run is not None,
                                run is None and now - starts_at > max_late))
    return found
