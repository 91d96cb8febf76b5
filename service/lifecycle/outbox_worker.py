"""The outbox worker: sends the mails the outbox owes (``preferences.optin.outbox``).

``OutboxWorker.drain`` claims due mails, makes each one (the confirmation: the customer and
their link as they are now), hands it to the relay and records the answer: sent; a relay that
is down or answers 4xx puts it back with a back-off; a 5xx, a customer no longer pending or a
link expired before any relay took it ends it. The Message-ID is recorded before the handover,
so a worker that dies between handover and record is followed by one that asks the destination
whether it has the message before sending it again (Maildir and spool can tell; SMTP cannot).

``OutboxThread`` runs a worker in the web app: woken as soon as a request queued mail, and
every ``interval`` seconds for the retries; ``newsletter send --due`` drains the same outbox
from cron, so either alone is enough and both together never send a mail twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import Connection, Engine

from preferences.database import for_writes
from preferences.links import LinkSigner
from preferences.optin import outbox
from preferences.optin.confirmation import is_expired, open_request
from preferences.pending import PendingCustomer, pending_customer
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.store import suppression_of
from preferences.utc import utcnow
from service.delivery.base import DEFERRED, FAILED, SENT, Envelope, Target
from service.content.model import Content
from service.delivery.registry import parse_target
from service.lifecycle.confirmations import ConfirmationMessages
from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Drained:
    sent: int = 0
    deferred: int = 0
    failed: int = 0

    def __iadd__(self, other: "Drained") -> "Drained":
        self.sent, self.deferred, self.failed = (self.sent + other.sent, self.deferred + other.deferred,
                                                 self.failed + other.failed)
        return self


class OutboxWorker:
    def __init__(self, engine: Engine, relay: Target, messages: ConfirmationMessages, signer: LinkSigner,
                 base_url: str, return_path: ReturnPath, name: str | None = None) -> None:
        self.engine, self.relay, self.messages = engine, relay, messages
        self.signer, self.base_url, self.return_path = signer, base_url, return_path
        self.name = name or f"outbox@{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"

    def drain(self, batch: int = 50, now: datetime | None = None) -> Drained:
        """Send every mail due now (in batches of ``batch``) until none is left to claim."""
        total = Drained()
        while True:
            with self.engine.begin() as conn:
                claimed = outbox.claim(conn, self.name, batch, now)
            if not claimed:
                return total
            total += self._send(claimed, now)

    def _send(self, claimed: list[outbox.Claimed], now: datetime | None) -> Drained:
        done = Drained()
        deliverer = self.relay.open()
        try:
            held = deliverer.held([c.message_id for c in claimed if c.message_id])
            for item in claimed:
                state = self._one(deliverer, item, held, now)
                setattr(done, state, getattr(done, state) + 1)
            deliverer.flush()
        finally:
            deliverer.close()
        return done

    def _one(self, deliverer, item: outbox.Claimed, held: set[str], now: datetime | None) -> str:
        with self.engine.begin() as conn:
            pending = pending_customer(conn, self.signer, self.base_url, item.customer_id)
            why_not = _why_not(conn, item, pending, now)
            if why_not or pending is None:
                outbox.failed(conn, item.id, self.name, why_not or "")
                return "failed"
            if item.message_id and item.message_id in held:  # handed over before a crash: do not repeat
                outbox.sent(conn, item.id, self.name, "found at the destination after a restart", now)
                return "sent"
            message_id = item.message_id or self.messages.message_id()
            outbox.named(conn, item.id, self.name, message_id)
        _, data = self.messages.message(pending, message_id)
        try:
            result = deliverer.deliver(Envelope(self.return_path.for_customer(pending.public_id), pending.email,
                                                message_id, data))
            state, answer = result.state, result.answer
        except OSError as error:  # the relay is down: like a 4xx, try again later
            state, answer = DEFERRED, f"relay unreachable: {error}"
        with self.engine.begin() as conn:
            if state == SENT:
                outbox.sent(conn, item.id, self.name, answer, now)
                return "sent"
            if state == FAILED:
                outbox.failed(conn, item.id, self.name, answer or "refused")
                return "failed"
            outbox.deferred(conn, item.id, self.name, item.attempts, answer, now)
        log.warning("confirmation %s deferred (attempt %d): %s", item.id, item.attempts, answer)
        return "deferred"


def _why_not(conn: Connection, item: outbox.Claimed, pending: PendingCustomer | None,
             now: datetime | None) -> str | None:
    """Why the mail is no longer owed, if it is not."""
    if pending is None:
        return "not sent: the customer is no longer pending"
    if is_expired(open_request(conn, item.customer_id), now or utcnow()):
        return "not sent: its link expired before any relay took it"
    if suppression_of(conn, pending.email) is not None:
        return "not sent: the address is suppressed"
    return None


class OutboxThread:
    """A worker draining the outbox in a thread: at once when ``wake`` is called, and every
    ``interval`` seconds (the retries)."""

    def __init__(self, worker: OutboxWorker, interval: float = 30.0) -> None:
        self.worker, self.interval = worker, interval
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.worker.drain()
            except Exception:  # a database or relay fault: logged, tried again at the next wake
                log.exception("the outbox could not be drained")
            self._wake.wait(self.interval)


def outbox_worker(settings: Settings, engine: Engine, content: Callable[[], Content | None]) -> OutboxWorker:
    """The outbox worker of ``settings``: confirmations to the transactional relay
    (``NEWSLETTER_RELAY``), from the main newsletter's sender, bounces to the VERP return path."""
    # IMMEDIATE on SQLite: every transaction of the worker reads, then writes, beside the pages'.
    return OutboxWorker(for_writes(engine), parse_target(settings.relay),
                        ConfirmationMessages(settings.sender_email, content, settings.confirm_days),
                        LinkSigner(settings.link_keys), settings.base_url,
                        ReturnPath(settings.bounce_address, settings.link_keys))
