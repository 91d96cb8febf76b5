"""Creating customers, one by one or many at once, and upserting one by the CRM's external id."""

from __future__ import annotations

from typing import Any, Collection

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from preferences import consent
from preferences.customers import CustomerData
from preferences.errors import DuplicateCustomer
from preferences.models import (
    Channel,
    Customer,
    Frequency,
    Preference,
    Status,
    consent_event_table,
    customer_table,
    new_public_id,
    preference_table,
)
from preferences.store.row_locks import bump_version, lock_customer
from preferences.utc import utcnow


def create_customer(
    session: Session, data: CustomerData, channel: Channel | str, *,
    default_locale: str, client_hash: str | None = None,
) -> Customer:
    """A new customer with the default preference (weekly) and a "created" consent event.

    Raises DuplicateCustomer when the external id or the email address is taken.
    """
    matching = _find_matching(session, data)
    if matching:
        raise DuplicateCustomer("external_id" if matching[0].external_id == data.external_id else "email")
    return _create(session, data, Channel(channel), default_locale, client_hash)


def upsert_customer_by_external_id(
    session: Session, data: CustomerData, channel: Channel | str, *, default_locale: str,
) -> tuple[Customer, bool]:
    """Create the customer with this external id, or update it; returns (customer, created).

    Fields given as None are kept. A changed locale or status writes a consent event; email,
    first name and attributes do not. Status can only be withdrawn this way (to unsubscribed),
    never granted back: a CRM re-import must not resubscribe someone who unsubscribed; that
    takes the customer's own confirmation (``resubscribe_pending`` then ``confirm_subscription``).
    Raises DuplicateCustomer when another customer has the email address.
    """
    channel = Channel(channel)
    matching = _find_matching(session, data)
    if any(found.external_id != data.external_id for found in matching):
        raise DuplicateCustomer("email")
    if not matching:
        return _create(session, data, channel, default_locale, None), True

    customer, preference = lock_customer(session, matching[0].id)
    now = utcnow()
    changed = False
    for name in ("email", "first_name", "attributes"):
        value = getattr(data, name)
        if value is not None and value != getattr(customer, name):
            setattr(customer, name, value)
            changed = True
    consent_changes: dict[str, Any] = {}
    if data.locale is not None and data.locale != customer.locale:
        consent_changes[consent.LOCALE] = data.locale
    if data.status is Status.UNSUBSCRIBED and customer.status is not Status.UNSUBSCRIBED:
        consent_changes[consent.STATUS] = Status.UNSUBSCRIBED
    for name, value in consent_changes.items():
        consent.record(session, customer.id, name, getattr(customer, name), value, channel, at=now)
        setattr(customer, name, value)
    if consent_changes:
        bump_version(preference, now)
    if changed or consent_changes:
        customer.updated_at = now
    session.flush()
    return customer, False


def create_customers(session: Session, items: Collection[CustomerData], channel: Channel | str, *,
                     default_locale: str) -> int:
    """Create many new customers at once, exactly as ``create_customer`` creates one (default
    weekly preference, one "created" consent event each), with three bulk statements.

    For imports of new customers: the caller makes sure the external ids and emails are new
    (a duplicate violates a unique constraint and fails the whole batch). Returns the count."""
    if not items:
        return 0
    channel, now = Channel(channel), utcnow()
    rows = [{"public_id": new_public_id(), "external_id": d.external_id, "email": d.email,
             "first_name": d.first_name, "locale": d.locale or default_locale,
             "attributes": d.attributes or {}, "status": d.status or Status.ACTIVE,
             "created_at": now, "updated_at": now} for d in items]
    ids = dict(session.execute(
        insert(customer_table).returning(customer_table.c.external_id, customer_table.c.id), rows).all())
    session.execute(insert(preference_table), [
        {"customer_id": ids[row["external_id"]], "frequency": Frequency.WEEKLY, "paused_until": None,
         "excluded_groups": [], "version": 1, "updated_at": now} for row in rows])
    session.execute(insert(consent_event_table), [
        {"customer_id": ids[row["external_id"]], "field": consent.CREATED, "old_value": None,
         "new_value": consent.encode_value({"status": row["status"], "locale": row["locale"],
                                            "frequency": Frequency.WEEKLY}),
         "channel": channel, "at": now, "client_hash": None, "actor": consent.current_actor()} for row in rows])
    return len(rows)


def emails_taken(session: Session, emails: Collection[str]) -> set[str]:
    """Which of these addresses (compared without case) belong to a customer already."""
    lowered = sorted({e.lower() for e in emails})
    taken: set[str] = set()
    for start in range(0, len(lowered), 500):
        chunk = lowered[start:start + 500]
        taken.update(session.scalars(select(func.lower(Customer.email)).where(func.lower(Customer.email).in_(chunk))))
    return taken


def _create(session: Session, data: CustomerData, channel: Channel, default_locale: str,
            client_hash: str | None) -> Customer:
    now = utcnow()
    customer = Customer(
        external_id=data.external_id,
        email=data.email,
        first_name=data.first_name,
        locale=data.locale or default_locale,
        attributes=data.attributes or {},
        status=data.status or Status.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    session.flush()  # assigns customer.id
    session.add(Preference(customer_id=customer.id, frequency=Frequency.WEEKLY, updated_at=now))
    initial = {"status": customer.status, "locale": customer.locale, "frequency": Frequency.WEEKLY}
    consent.record(session, customer.id, consent.CREATED, None, initial, channel, client_hash, at=now)
    session.flush()
    return customer



def _find_matching(session: Session, data: CustomerData) -> list[Customer]:
    # lower() on both sides: the same function as the unique index, whatever it does to non-ASCII.
    statement = select(Customer).where(
        or_(Customer.external_id == data.external_id, func.lower(Customer.email) == func.lower(data.email))
    ).order_by(Customer.external_id != data.external_id)  # the external id's own row first
    return list(session.scalars(statement))
