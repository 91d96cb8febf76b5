"""The outbox: mails the service owes a customer outside the newsletter (the confirmation),
queued in the transaction that made them owed and sent by whichever worker claims them first.

A row's life: ``queued`` (due at ``due_at``) -> ``claimed`` (a worker holds it, with a lease) ->
``sent``, or back to ``queued`` later (the relay answered 4xx or was down: back-off), or
``failed`` (refused for good, or still undelivered when its link has expired). A worker that
dies holding a row loses its claim when the lease ends; the next worker asks the destination
whether it holds the row's Message-ID before sending it again. Claims are one conditional
UPDATE per row, so two workers (the web app's, a cron ``send --due``) never both take a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select, update

from preferences.optin.tables import CLAIMED, FAILED, QUEUED, SENT, outbox
from preferences.utc import utcnow

LEASE = timedelta(minutes=5)
# After the n-th failed attempt, wait BACK_OFF[n-1] (the last one from then on).
BACK_OFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
            timedelta(hours=2))
ANSWER_LIMIT = 500


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    customer_id: int
    opt_in_id: int | None
    attempts: int  # including this one
    message_id: str | None  # set if an earlier attempt got as far as making the message


def queue(conn: Connection, kind: str, customer_id: int, opt_in_id: int | None,
          at: datetime | None = None) -> int:
    """Owe ``customer_id`` a mail of ``kind``, due now; its id."""
    at = at or utcnow()
    return conn.execute(outbox.insert().values(kind=kind, customer_id=customer_id, opt_in_id=opt_in_id,
                                               state=QUEUED, due_at=at, attempts=0, created_at=at)
                        .returning(outbox.c.id)).scalar_one()


def owed_since(conn: Connection, customer_id: int, kind: str, since: datetime) -> int:
    """How many mails of ``kind`` were queued for the customer since ``since`` (a rate limit)."""
    return conn.execute(select(func.count()).select_from(outbox).where(
        outbox.c.customer_id == customer_id, outbox.c.kind == kind, outbox.c.created_at >= since)).scalar_one()


def next_due(conn: Connection) -> datetime | None:
    """When the earliest queued mail is due (None: nothing is queued)."""
    return conn.execute(select(func.min(outbox.c.due_at)).where(outbox.c.state == QUEUED)).scalar()


def claim(conn: Connection, worker: str, limit: int = 50, now: datetime | None = None) -> list[Claimed]:
    """Claim up to ``limit`` due mails for ``worker``, oldest first (commit before sending)."""
    now = now or utcnow()
    claimable = or_(and_(outbox.c.state == QUEUED, outbox.c.due_at <= now),
                    and_(outbox.c.state == CLAIMED, outbox.c.claimed_at < now - LEASE))
    ids = conn.execute(select(outbox.c.id).where(claimable).order_by(outbox.c.id).limit(limit)).scalars().all()
    claimed = []
    for row_id in ids:
        row = conn.execute(update(outbox).where(outbox.c.id == row_id, claimable)
                           .values(state=CLAIMED, claimed_by=worker[:100], claimed_at=now,
                                   attempts=outbox.c.attempts + 1)
                           .returning(outbox.c.kind, outbox.c.customer_id, outbox.c.opt_in_id, outbox.c.attempts,
                                      outbox.c.message_id)).first()
        if row is not None:  # another worker was quicker: not ours
            claimed.append(Claimed(row_id, row.kind, row.customer_id, row.opt_in_id, row.attempts, row.message_id))
    return claimed


def _finish(conn: Connection, row_id: int, worker: str, **values) -> bool:
    # Only the claim's holder records its outcome: a worker that lost its lease changes nothing.
    return conn.execute(update(outbox).where(outbox.c.id == row_id, outbox.c.state == CLAIMED,
                                             outbox.c.claimed_by == worker[:100]).values(**values)).rowcount == 1


def named(conn: Connection, row_id: int, worker: str, message_id: str) -> bool:
    """The row's message is made: keep its Message-ID before handing it over (a crash after the
    handover then finds it at the destination instead of sending it twice)."""
    return _finish(conn, row_id, worker, message_id=message_id, state=CLAIMED)


def sent(conn: Connection, row_id: int, worker: str, answer: str | None, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return _finish(conn, row_id, worker, state=SENT, sent_at=now, answer=(answer or "")[:ANSWER_LIMIT] or None,
                   claimed_by=None, claimed_at=None)


def deferred(conn: Connection, row_id: int, worker: str, attempts: int, answer: str | None,
             now: datetime | None = None) -> bool:
    """Not delivered for now: due again after the back-off of its ``attempts``."""
    now = now or utcnow()
    wait = BACK_OFF[min(attempts, len(BACK_OFF)) - 1]
    return _finish(conn, row_id, worker, state=QUEUED, due_at=now + wait, answer=(answer or "")[:ANSWER_LIMIT],
                   claimed_by=None, claimed_at=None)


def failed(conn: Connection, row_id: int, worker: str, answer: str) -> bool:
    """Given up: refused for good, or its link expired before any relay took it."""
    return _finish(conn, row_id, worker, state=FAILED, answer=answer[:ANSWER_LIMIT], claimed_by=None,
                   claimed_at=None)


def cancel(conn: Connection, customer_id: int, kind: str, why: str) -> int:
    """Give up the customer's queued mails of ``kind`` (e.g. confirmations of an address just
    confirmed): how many."""
    return conn.execute(update(outbox).where(outbox.c.customer_id == customer_id, outbox.c.kind == kind,
                                             outbox.c.state == QUEUED)
                        .values(state=FAILED, answer=why[:ANSWER_LIMIT])).rowcount
