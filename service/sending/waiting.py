"""What a send is waiting for, as the engine reports it and the progress display shows it: a
reason in words and, when known, the time the wait ends (UTC); and the ledger's queries that
tell, asked only while nothing moves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from preferences.utc import utcnow
from service.sending.ledger import CLAIMED, PENDING, EditionKey
from service.sending.tables import delivery


@dataclass(frozen=True)
class Waiting:
    reason: str
    until: datetime | None = None


def relay_wait(answer: str, deferred_at: datetime, backoff_max_s: float) -> Waiting:
    """A send whose relay deferred its last batch: the relay's words, and when the next try
    comes at the latest (the workers back off up to ``backoff_max_s`` between tries)."""
    return Waiting(f"waiting for the relay, which answered: {answer}; next try by",
                   deferred_at + timedelta(seconds=backoff_max_s))


def retry_wait(waiting: int, next_at: datetime, answer: str | None) -> Waiting:
    """A send whose only work left is recipients the relay deferred one by one, each waiting out
    its back-off: how many, the relay's latest words, and when the next one is tried."""
    said = f" (the relay answered: {answer})" if answer else ""
    return Waiting(f"waiting to retry {waiting:,} recipient{'' if waiting == 1 else 's'} the relay "
                   f"deferred{said}; next retry at", next_at)


def last_deferral(conn: Connection, edition: EditionKey) -> tuple[str, datetime] | None:
    """The relay's answer to the latest batch it deferred (rows back to pending, reason
    "deferred"), and when: what a stalled send waits for."""
    c = delivery.c
    found = conn.execute(select(c.answer, c.updated_at).where(edition.where(), c.state == PENDING,
                                                               c.reason == "deferred")
                         .order_by(c.updated_at.desc()).limit(1)).first()
    return None if found is None else (found[0] or "no answer", found[1])


def retries_waiting(conn: Connection, edition: EditionKey) -> tuple[int, datetime, str | None] | None:
    """Pending rows still in their back-off (``not_before`` ahead): how many, the earliest end,
    and the relay's answer to the latest deferred; None when none waits. From ix_delivery_work,
    but the one answer."""
    c = delivery.c
    waiting = (edition.where(), c.state == PENDING, c.not_before > utcnow())
    count, next_at = conn.execute(select(func.count(), func.min(c.not_before)).where(*waiting)).one()
    if not count:
        return None
    answer = conn.execute(select(c.answer).where(*waiting).order_by(c.not_before.desc()).limit(1)).scalar()
    return count, next_at, answer


def unrenewed_claims(conn: Connection, edition: EditionKey, older_than: float) -> tuple[int, datetime | None]:
    """Claimed rows whose lease nobody renewed for ``older_than`` seconds (a live worker renews
    every third of a lease: their worker stopped), and the latest of their claim times."""
    c = delivery.c
    found = conn.execute(select(func.count(), func.max(c.claimed_at)).where(
        edition.where(), c.state == CLAIMED, c.claimed_at < utcnow() - timedelta(seconds=older_than))).one()
    return found[0], found[1]
