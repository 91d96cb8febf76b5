"""Delivering a send run: every worker claims batches of planned rows until none is left.

``BatchSender`` (in every worker) claims a batch of pending rows, re-reads those customers
(whoever unsubscribed or paused meanwhile is skipped, and whose address is on the suppression
list: reason ``suppressed``, one query per batch; a welcome mail handed over past its lateness:
``too-late``), renders them grouped by variant, delivers
them from the customer's VERP return path, and records each outcome: ``sent`` only once the
destination has the message, with the archived body it was sent (``_archive``: each variant's
body stored once before its first handover, service/sending/archive.py). The plan
that makes the rows is service/sending/plan.py; who gets what is service/sending/spec.py.

A recipient the relay deferred alone (``Result.recipient_only``: a 4xx to its RCPT TO or DATA)
goes back to pending with its own back-off (``SendSpec.retry_delay``) while the batch goes on;
after ``max_attempts`` tries it fails with the relay's last answer. A deferral of the relay itself
(421, a lost connection, a 4xx to MAIL FROM, or RECIPIENT_DEFERRALS_IN_A_ROW recipients at their
first try deferred one after the other: a relay that defers everyone) puts the rest of the batch
back and the worker backs off (``run_until_done``). Retries do not count there: the recipients
whose back-off ends together are claimed together, and a mailbox that was full is full again.

Nothing here holds more than one batch of customers or messages.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections import Counter
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Callable, Iterable

from sqlalchemy import Engine, select

from preferences.database import for_writes, make_engine
from preferences.links import LinkSigner
from preferences.models import customer_table, preference_table
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.store import suppressed_among
from preferences.utc import utcnow

from service.assembly.edition import Edition
from service.assembly.mime import message_id
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer, date_header
from service.content.check import load_content
from service.content.model import Content
from service.delivery.base import DEFERRED, FAILED, SENT, Deliverer, Envelope
from service.delivery.registry import parse_target
from service.sending import archive, digests, ledger
from service.sending.contents import record_variant, untracked
from service.sending.spec import Decision, SendSpec, decide
from service.sending.due import TOO_LATE

RELAY_BACKOFF_MAX_S = 30.0  # the longest wait between tries of a relay that defers (2, 4, 8, 16 s, ...)
CUSTOMER_GONE = "customer-deleted"
SUPPRESSED = "suppressed"  # the address bounced, complained or was suppressed by an operator
VARIANT_FAILED = "variant does not render"  # a content reason, for the send's exit code
RELAY_DOWN_EXIT = 3  # a worker's exit code when the relay stayed unreachable
RECIPIENT_DEFERRED = "deferred for this recipient"  # pending again, with its back-off (not_before)
RECIPIENT_DEFERRALS_IN_A_ROW = 10  # first tries in a row deferred, none sent between: the relay defers all


def current_send_rows(conn, customer_ids: Iterable[int]) -> list:
    """The customers' rows as they are now, whatever their status (the check before handover)."""
    c, p = customer_table.c, preference_table.c
    statement = (select(c.id, c.public_id, c.email, c.first_name, c.locale, c.attributes, c.status,
                        p.frequency, p.paused_until, p.excluded_groups, p.click_tracking)
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
        content = content or load_content(spec.settings.content_dir, spec.checked_content)
        self.template = content.templates[spec.template]
        settings = spec.settings
        self.edition = Edition(content, self.template, spec.day, experiment_key=settings.experiment_key,
                               rankings=digests.decided(self.engine, spec.template, spec.day))
        self.previous = self.template.schedule.previous_edition(spec.day)
        self.renderer = Renderer(LinkSigner(settings.link_keys), settings.base_url, settings.unsubscribe_mailto)
        self.return_path = ReturnPath(settings.bounce_address, settings.link_keys)
        self.deliverer = deliverer or parse_target(spec.target).open(share=max(1, spec.workers))
        self.date_header = date_header()
        self.edition_id = f"{spec.template}/{spec.day.isoformat()}"  # as CompiledVariant.edition_id
        self.recorded_variants: set[str] = set()  # whose contents this worker wrote (once each)
        self.archived: dict[str, str] = {}  # variant label -> digest of the body this worker archived
        self.deferred_in_a_row = 0  # first tries the relay deferred alone since it last took one

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
                self.sleep(min(RELAY_BACKOFF_MAX_S, 2.0 ** relay_trouble))
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
            suppressed = suppressed_among(conn, (row.email for row in current.values()))
        result = BatchResult(claimed=len(claims))
        # A mail sent on an event (the welcome) that is handed over past its lateness is not sent.
        trigger = self.template.trigger
        late = trigger is not None and trigger.too_late(spec.day, utcnow())
        outcomes: list[ledger.Outcome] = []
        groups: dict = {}
        # Rows claimed again: their worker may have died after delivering, before recording.
        again = {c.id: message_id(self.edition_id, current[c.customer_id].public_id, self.template.list_id)
                 for c in claims if c.attempts > 1 and c.customer_id in current}
        held = self.deliverer.held(list(again.values())) if again else set()
        for claim in claims:
            row = current.get(claim.customer_id)
            if row is None:
                outcomes.append(ledger.Outcome(claim.id, ledger.SKIPPED, CUSTOMER_GONE))
                continue
            if row.email in suppressed:
                outcomes.append(ledger.Outcome(claim.id, ledger.SKIPPED, SUPPRESSED))
                continue
            if late:
                outcomes.append(ledger.Outcome(claim.id, ledger.SKIPPED, TOO_LATE))
                continue
            decision = decide(self.edition, row, last.get(row.id), self.previous, arms=claim.given_arms)
            if decision.state != ledger.SKIPPED and not row.click_tracking:
                # Its own label: the results leave the unmeasured out of the click rates.
                decision = dataclasses.replace(decision, variant=untracked(decision.variant))
            if again.get(claim.id) in held:
                outcomes.append(ledger.Outcome(claim.id, SENT, None, decision.segment, decision.variant,
                                               again[claim.id], "found at the destination after a crash",
                                               body_digest=self._held_body(decision, row), arms=decision.arms))
                continue
            if decision.state == ledger.SKIPPED:
                outcomes.append(ledger.Outcome(claim.id, ledger.SKIPPED, decision.reason,
                                               decision.segment, decision.variant))
            else:
                # Grouped by tracking mode too: who opted out of click measuring gets the untracked body.
                groups.setdefault((decision.assembly.key, bool(row.click_tracking)), []).append((claim, row, decision))
        delivered, renewed_at = 0, time.monotonic()
        for items in groups.values():
            variant, variant_error, digest = None, None, None
            for claim, row, decision in items:
                if result.deferred:
                    outcomes.append(ledger.Outcome(claim.id, ledger.PENDING, "deferred", tried=False))
                    continue
                outcome = None
                try:
                    if variant is None and variant_error is None:
                        variant = self.renderer.variant(self.edition, decision.assembly,
                                                        tracked=bool(row.click_tracking))
                        self._record_contents(decision)
                        digest = self._archive(decision, variant)
                except Exception as exc:  # noqa: BLE001 (a variant that does not render fails its rows)
                    variant_error = _describe(exc)
                if variant_error:
                    outcome = ledger.Outcome(claim.id, FAILED, VARIANT_FAILED, decision.segment,
                                             decision.variant, answer=variant_error)
                else:
                    outcome = dataclasses.replace(self._deliver_one(claim, row, decision, variant, result, digest),
                                                  arms=decision.arms)
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

    def _deliver_one(self, claim, row, decision: Decision, variant, result: BatchResult,
                     digest: str | None = None) -> ledger.Outcome:
        segment, label = decision.segment, decision.variant
        try:
            recipient = Recipient.from_row(row)
            data = self.renderer.message(self.edition, variant, recipient, self.date_header)
        except Exception as exc:  # noqa: BLE001 (one customer's bad data fails that customer alone)
            # The reason groups the report; the details (which may name the customer) go apart.
            return ledger.Outcome(claim.id, FAILED, f"render: {exc.__class__.__name__}", segment, label,
                                  answer=_describe(exc))
        mid = message_id(variant.edition_id, recipient.public_id, self.template.list_id)
        answer = self.deliverer.deliver(Envelope(
            self.return_path.for_customer(recipient.public_id), recipient.email, mid, data,
            from_lines=self.renderer.may_hold_from_line(self.edition, variant, recipient)))
        if not answer.recipient_only:
            self.deferred_in_a_row = 0
        elif claim.attempts == 1:  # not a retry: those come together, and are deferred again alike
            self.deferred_in_a_row += 1
        if answer.state == SENT:
            return ledger.Outcome(claim.id, SENT, None, segment, label, mid, answer.answer, body_digest=digest)
        if answer.state == FAILED:
            return ledger.Outcome(claim.id, FAILED, "refused by the relay", segment, label, mid, answer.answer)
        assert answer.state == DEFERRED
        if claim.attempts >= self.spec.max_attempts:
            return ledger.Outcome(claim.id, FAILED, f"gave up after {claim.attempts} attempts",
                                  segment, label, mid, answer.answer)
        if answer.recipient_only:  # the others go on; this one waits out its own back-off
            if self.deferred_in_a_row >= RECIPIENT_DEFERRALS_IN_A_ROW:
                result.deferred = True  # not one recipient's trouble: the rest goes back, the worker waits
            retry_at = utcnow() + timedelta(seconds=self.spec.retry_delay(claim.attempts))
            return ledger.Outcome(claim.id, ledger.PENDING, RECIPIENT_DEFERRED, segment, label, None,
                                  answer.answer, not_before=retry_at)
        result.deferred = True
        return ledger.Outcome(claim.id, ledger.PENDING, "deferred", segment, label, None, answer.answer)

    def _record_contents(self, decision: Decision) -> None:
        # Before any of its rows is recorded sent: results never see a delivery without its blocks.
        if decision.variant not in self.recorded_variants:
            with self.writes.begin() as conn:
                record_variant(conn, self.spec.template, self.spec.day, decision.variant, decision.assembly)
            self.recorded_variants.add(decision.variant)

    def _archive(self, decision: Decision, variant) -> str:
        # Committed before the variant's first handover: a row recorded sent with this digest
        # (ledger.record) always finds its body. Once per variant and worker, never per recipient.
        digest = self.archived.get(decision.variant)
        if digest is None:
            with self.writes.begin() as conn:
                digest = archive.store(conn, self.spec.edition, decision.variant,
                                       self.renderer.sent_body(self.edition, variant))
            self.archived[decision.variant] = digest
        return digest

    def _held_body(self, decision: Decision, row) -> str | None:
        """The body of a message a dead worker handed over before it could record it: the variant
        as this worker compiles it (the same, unless the content changed in between); None when
        the customer would not get it now (their assembly is gone), and so no body is known."""
        if decision.assembly is None:
            return None
        try:
            variant = self.renderer.variant(self.edition, decision.assembly, tracked=bool(row.click_tracking))
        except Exception:  # noqa: BLE001 (a variant that does not render has nothing to archive)
            return None
        return self._archive(decision, variant)

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
