"""A customer's subscription status: unsubscribe, resubscribe pending confirmation, confirm."""

from __future__ import annotations

from sqlalchemy.orm import Session

from preferences import consent
from preferences.models import Channel, Customer, Status
from preferences.store.row_locks import bump_version, lock_customer
from preferences.utc import utcnow


def unsubscribe(session: Session, customer: Customer, channel: Channel | str,
                client_hash: str | None = None) -> bool:
    """Unsubscribe from everything. Idempotent: False, and nothing written, if already done."""
    return _set_status(session, customer, Status.UNSUBSCRIBED, {Status.ACTIVE, Status.PENDING},
                       channel, client_hash)


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
