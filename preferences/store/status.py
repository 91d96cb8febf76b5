"""A customer's subscription status: unsubscribe, resubscribe pending confirmation, confirm;
``unsubscribe_many`` for a batch (a bounce run's complaints)."""

from __future__ import annotations

from typing import Mapping

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from preferences import consent
from preferences.links import EditionRef
from preferences.models import Channel, Customer, Status, consent_event_table, customer_table, preference_table
from preferences.store.row_locks import bump_version, lock_customer
from preferences.utc import utcnow

_CHUNK = 500


def unsubscribe(session: Session, customer: Customer, channel: Channel | str,
                client_hash: str | None = None) -> bool:
    """Unsubscribe from everything. Idempotent: False, and nothing written, if already done."""
    return _set_status(session, customer, Status.UNSUBSCRIBED, {Status.ACTIVE, Status.PENDING},
                       channel, client_hash)


def unsubscribe_many(conn: Connection, customers: Mapping[int, EditionRef | None], channel: Channel | str) -> set[int]:
    """``unsubscribe`` for a batch: each customer (id -> the edition the change came from, for
    its consent event) who is active or pending, in a few statements per 500, under the same
    locks in the same order (preference rows first). The ids it unsubscribed."""
    channel, now, done = Channel(channel), utcnow(), set()
    ids = sorted(customers)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        conn.execute(select(preference_table.c.customer_id).where(preference_table.c.customer_id.in_(chunk))
                     .order_by(preference_table.c.customer_id).with_for_update())
        before = dict(conn.execute(select(customer_table.c.id, customer_table.c.status)
                                   .where(customer_table.c.id.in_(chunk),
                                          customer_table.c.status.in_((Status.ACTIVE, Status.PENDING)))).all())
        if not before:
            continue
        changed = list(before)
        conn.execute(update(customer_table).where(customer_table.c.id.in_(changed))
                     .values(status=Status.UNSUBSCRIBED, updated_at=now))
        # A page opened before this change must not be saved over it unnoticed.
        conn.execute(update(preference_table).where(preference_table.c.customer_id.in_(changed))
                     .values(version=preference_table.c.version + 1, updated_at=now))
        conn.execute(insert(consent_event_table), [
            {"customer_id": id_, "field": consent.STATUS, "old_value": consent.encode_value(str(before[id_])),
             "new_value": consent.encode_value(str(Status.UNSUBSCRIBED)), "channel": channel, "at": now,
             "client_hash": None, "actor": consent.current_actor(),
             "template": customers[id_].template if customers[id_] else None,
             "edition_date": customers[id_].day if customers[id_] else None} for id_ in changed])
        done.update(changed)
    return done


def resubscribe_pending(session: Session, customer: Customer, channel: Channel | str,
                        client_hash: str | None = None) -> bool:
    """Move an unsubscribed customer to pending: nothing is sent until the customer clicks the
    confirm link mailed to them (``confirm_subscription``). False if not unsubscribed.

    A leaked preferences link can thus narrow consent but never widen it back by itself.
    """
    return _set_status(session, customer, Status.PENDING, {Status.UNSUBSCRIBED}, channel, client_hash)


def confirm_subscription(session: Session, customer: Customer, channel: Channel | str,
                         client_hash: str | None = None) -> bool:
    """Activate a pending customer (the confirm link was clicked). False if not pending."""
    return _set_status(session, customer, Status.ACTIVE, {Status.PENDING}, channel, client_hash)


def _set_status(session: Session, customer: Customer, status: Status, allowed_from: set[Status],
                channel: Channel | str, client_hash: str | None) -> bool:
    channel = Channel(channel)
    customer, preference = lock_customer(session, customer.id)
    if customer.status not in allowed_from:
        return False
    now = utcnow()
    consent.record(session, customer.id, consent.STATUS, customer.status, status, channel, client_hash, at=now)
    customer.status = status
    customer.updated_at = now
    # A page opened before this change must not be saved over it unnoticed.
    bump_version(preference, now)
    session.flush()
    return True
