"""Requests nobody confirms: after ``delete_after`` a customer that a request created and who
never confirmed is deleted, and one who was a customer before (a resubscribe) goes back to
unsubscribed. Either way a consent event (channel ``system``) says so; the consent trail keeps
the customer's earlier events too (it has no foreign key to the customer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select, update

from preferences import consent
from preferences.models import Channel, Status, customer_table, preference_table
from preferences.optin.tables import opt_in
from preferences.utc import utcnow

DEFAULT_DELETE_AFTER = timedelta(days=30)
DELETED_WHY = "never confirmed"


@dataclass(frozen=True)
class Expired:
    deleted: int
    unsubscribed: int


def expire_unconfirmed(conn: Connection, delete_after: timedelta = DEFAULT_DELETE_AFTER,
                       now: datetime | None = None) -> Expired:
    """Apply the rule to every pending customer whose latest request is older than
    ``delete_after`` (in the caller's transaction)."""
    now = now or utcnow()
    latest = (select(opt_in.c.customer_id, func.max(opt_in.c.id).label("id"))
              .group_by(opt_in.c.customer_id).subquery())
    rows = conn.execute(
        select(customer_table.c.id, opt_in.c.requested)
        .join(latest, latest.c.customer_id == customer_table.c.id)
        .join(opt_in, opt_in.c.id == latest.c.id)
        .where(customer_table.c.status == Status.PENDING, opt_in.c.confirmed_at.is_(None),
               opt_in.c.requested_at < now - delete_after)
        .order_by(customer_table.c.id)).all()
    deleted = unsubscribed = 0
    for customer_id, requested in rows:
        if (requested or {}).get("created"):
            consent.record_many(conn, customer_id, [(consent.DELETED, None, DELETED_WHY)], Channel.SYSTEM, at=now)
            conn.execute(delete(customer_table).where(customer_table.c.id == customer_id,
                                                      customer_table.c.status == Status.PENDING))
            deleted += 1
        else:
            consent.record_many(conn, customer_id, [(consent.STATUS, Status.PENDING, Status.UNSUBSCRIBED)],
                                Channel.SYSTEM, at=now)
            conn.execute(update(customer_table).where(customer_table.c.id == customer_id)
                         .values(status=Status.UNSUBSCRIBED, updated_at=now))
            conn.execute(update(preference_table).where(preference_table.c.customer_id == customer_id)
                         .values(version=preference_table.c.version + 1, updated_at=now))
            unsubscribed += 1
    return Expired(deleted, unsubscribed)
