"""A customer's subscription status (unsubscribe, resubscribe pending confirmation, confirm), and
the lock and version bump that every ORM change of a customer takes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences import consent
from preferences.errors import UnknownCustomer
from preferences.models import Channel, Customer, Preference, Status
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
    customer, preference = _lock(session, customer.id)
    if customer.status not in allowed_from:
        return False
    now = utcnow()
    consent.record(session, customer.id, consent.STATUS, customer.status, status, channel, client_hash, at=now)
    customer.status = status
    customer.updated_at = now
    # A page opened before this change must not be saved over it unnoticed.
    _bump(preference, now)
    session.flush()
    return True



def _lock(session: Session, customer_id: int) -> tuple[Customer, Preference]:
    """The customer and its preference, re-read under the preference row's lock."""
    statement = (
        select(Customer, Preference)
        .join(Preference, Preference.customer_id == Customer.id)
        .where(Customer.id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = session.execute(statement).one_or_none()
    if row is None:
        raise UnknownCustomer(f"no customer {customer_id}")
    return row[0], row[1]


def _bump(preference: Preference, now) -> None:
    preference.version += 1
    preference.updated_at = now
