"""Writes clicks without ever making a redirect wait: a bounded buffer in memory, drained by one
background thread in batches at least every ``interval`` seconds.

A full buffer (the database down for long) drops new clicks and counts them; a batch that
cannot be written goes back into the buffer, as far as it fits, for the next round. What is in
the buffer when the process is killed is lost: ``pending`` says how much that can be."""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from dataclasses import dataclass
import time
from datetime import date, datetime, timezone

from sqlalchemy import Engine

from service.assembly.tracking import Target

log = logging.getLogger(__name__)

CAPACITY = 100_000  # about 40 MB at worst; a few minutes of a busy send's clicks
INTERVAL_S = 0.5
CHUNK = 50  # clicks a statement (and transaction): longer ones cost SQLite more to prepare than they save


@dataclass(frozen=True)
class Click:
    target: Target
    customer: str  # public id
    at: datetime
    client_hash: str

    def values(self, dialect_name: str) -> tuple:
        """The row's parameters for ``_insert``, in order, as the driver takes them."""
        template, _, day = self.target.edition_id.partition("/")
        edition_date: object = date.fromisoformat(day)
        at: object = self.at
        if dialect_name == "sqlite":  # as UTCDateTime and Date store them there: text, UTC
            edition_date = day
            at = self.at.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        t = self.target
        return (template, edition_date, self.customer, t.owner, t.team, t.index, t.url, at, self.client_hash,
                self.customer, template, edition_date, self.customer, template, edition_date)


_DELIVERED = ("(SELECT d.{column} FROM delivery d JOIN customer c ON c.id = d.customer_id "
              "WHERE c.public_id = ? AND d.template = ? AND d.edition_date = ?)")
_ROW = ("(?, ?, ?, ?, ?, ?, ?, ?, ?, " + _DELIVERED.format(column="segment") + ", "
        + _DELIVERED.format(column="variant") + ")")


@functools.lru_cache(maxsize=8)
def _insert(rows: int, paramstyle: str) -> str:
    """One INSERT of ``rows`` clicks, in the driver's parameter style.

    Straight to the driver, and one statement for the whole chunk: SQLAlchemy's per-row work, and
    sqlite3's release and retake of the interpreter around every row of an executemany (each retake
    waits for the request handlers' thread to yield it), held a busy server's clicks back for
    seconds and put tens of milliseconds on the redirects' p99."""
    sql = ("INSERT INTO click (template, edition_date, customer, owner, team, link_index, url, clicked_at, "
           "client_hash, segment, variant) VALUES " + ", ".join([_ROW] * rows))
    return sql if paramstyle == "qmark" else sql.replace("?", "%s")


class ClickRecorder:
    def __init__(self, engine: Engine, capacity: int = CAPACITY, interval: float = INTERVAL_S) -> None:
        self.engine, self.capacity, self.interval = engine, capacity, interval
        self._buffer: deque[Click] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
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
        """Write what is buffered now, CHUNK clicks a transaction; the number of clicks written.

        Between chunks the thread lets the redirects run: a batch never holds them up for long."""
        with self._lock:
            batch = list(self._buffer)
            self._buffer.clear()
        done = 0
        while done < len(batch):
            chunk = batch[done:done + CHUNK]
            try:
                with self.engine.begin() as conn:
                    name = conn.dialect.name
                    conn.exec_driver_sql(_insert(len(chunk), conn.dialect.paramstyle),
                                         tuple(value for event in chunk for value in event.values(name)))
            except Exception as failure:  # the database is down or slow: keep what fits, try again
                self.failed_batches += 1
                rest = batch[done:]
                log.warning("could not write %d clicks (kept for the next try): %s", len(rest), failure)
                with self._lock:
                    room = self.capacity - len(self._buffer)
                    self.dropped += max(0, len(rest) - room)
                    self._buffer.extendleft(reversed(rest[:room]))
                break
            done += len(chunk)
            self.written += len(chunk)
            time.sleep(0)  # give the interpreter to the request handlers
        return done

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
