"""Writes clicks without ever making a redirect wait: a bounded buffer in memory, drained by one
background thread in batches at least every ``interval`` seconds.

A full buffer (the database down for long) drops new clicks and counts them; a batch that
cannot be written goes back into the buffer, as far as it fits, for the next round. What is in
the buffer when the process is killed is lost: ``pending`` says how much that can be."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, and_, bindparam, insert, select

from preferences.models import Customer
from service.assembly.tracking import Target
from service.results.tables import click
from service.sending.tables import delivery  # the ledger's table: read only, for attribution

log = logging.getLogger(__name__)

CAPACITY = 100_000  # about 40 MB at worst; a few minutes of a busy send's clicks
INTERVAL_S = 0.5


@dataclass(frozen=True)
class Click:
    target: Target
    customer: str  # public id
    at: datetime
    client_hash: str

    def row(self) -> dict:
        template, _, day = self.target.edition_id.partition("/")
        return {"p_template": template, "p_edition_date": date.fromisoformat(day), "p_customer": self.customer,
                "p_owner": self.target.owner, "p_team": self.target.team, "p_link_index": self.target.index,
                "p_url": self.target.url, "p_clicked_at": self.at, "p_client_hash": self.client_hash}


def _insert():
    def delivered(column):
        return (select(column).select_from(delivery.join(Customer, Customer.id == delivery.c.customer_id))
                .where(and_(Customer.public_id == bindparam("p_customer"),
                            delivery.c.template == bindparam("p_template"),
                            delivery.c.edition_date == bindparam("p_edition_date")))
                .scalar_subquery())

    names = ("template", "edition_date", "customer", "owner", "team", "link_index", "url", "clicked_at",
             "client_hash")
    return insert(click).values({**{n: bindparam("p_" + n) for n in names},
                                 "segment": delivered(delivery.c.segment),
                                 "variant": delivered(delivery.c.variant)})


class ClickRecorder:
    def __init__(self, engine: Engine, capacity: int = CAPACITY, interval: float = INTERVAL_S) -> None:
        self.engine, self.capacity, self.interval = engine, capacity, interval
        self._buffer: deque[Click] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._statement = _insert()
        self.recorded = self.written = self.dropped = self.failed_batches = 0

    def record(self, event: Click) -> None:
        """Keep ``event`` for the next batch (never blocks, never raises)."""
        with self._lock:
            if len(self._buffer) >= self.capacity:
                self.dropped += 1
                return
            self._buffer.append(event)
            self.recorded += 1

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Write what is buffered now, in one transaction; the number of clicks written."""
        with self._lock:
            batch = list(self._buffer)
            self._buffer.clear()
        if not batch:
            return 0
        try:
            with self.engine.begin() as conn:
                conn.execute(self._statement, [event.row() for event in batch])
        except Exception as failure:  # the database is down or slow: keep what fits, try again
            self.failed_batches += 1
            log.warning("could not write %d clicks (kept for the next try): %s", len(batch), failure)
            with self._lock:
                room = self.capacity - len(self._buffer)
                self.dropped += max(0, len(batch) - room)
                self._buffer.extendleft(reversed(batch[:room]))
            return 0
        self.written += len(batch)
        return len(batch)

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="click-recorder", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last flush."""
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()
