"""Queries and changes of customers and their preferences, named by intent.

Every function takes a Session (request paths) or a Connection (the send's bulk read), adds and
flushes but never commits: the caller owns the transaction, and after any error it rolls back.

Every change of a customer's choices takes the preference row's lock first (SELECT ... FOR
UPDATE on PostgreSQL), then changes the customer row: one order everywhere, so two requests for
the same customer queue up instead of deadlocking or losing an update. On SQLite, writers are
serialised by the database; run these in a session on ``database.for_writes(engine)`` (BEGIN
IMMEDIATE), so that a concurrent writer waits for the busy timeout instead of failing with
"database is locked" (a deferred transaction whose snapshot is older than another writer's
commit cannot be upgraded to a writer).

Consent events are append-only: they are inserted here and never updated or deleted.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Collection, Iterator, Mapping

from sqlalchemy import Connection, Row, func, insert, or_, select
from sqlalchemy.orm import Session

from preferences import consent
from preferences.changes import validate_changes
from preferences.customers import CustomerData
from preferences.errors import DuplicateCustomer, StaleForm, UnknownCustomer
from preferences.models import (
    Channel,
    ConsentEvent,
    Customer,
    Frequency,
    Preference,
    Status,
    consent_event_table,
    customer_table,
    new_public_id,
    preference_table,
)
from preferences.utc import utcnow


# Reading ---------------------------------------------------------------------------------------

def get_customer_by_public_id(session: Session, public_id: str) -> Customer:
    """The customer with this public id (from a verified link). Raises UnknownCustomer."""
    return _one(session, select(Customer).where(Customer.public_id == public_id))


def get_customer_with_preference(session: Session, *, public_id: str | None = None,
                                 external_id: str | None = None) -> tuple[Customer, Preference]:
    """The customer (by public id from a link, or by the CRM's external id) and their preference
    row, in one query: the read path of the page and of the API. Raises UnknownCustomer."""
    where = Customer.public_id == public_id if public_id is not None else Customer.external_id == external_id
    found = session.execute(select(Customer, Preference).join(Preference, Preference.customer_id == Customer.id)
                            .where(where)).first()
    if found is None:
        raise UnknownCustomer("no such customer")
    return found[0], found[1]


def get_customer_by_external_id(session: Session, external_id: str) -> Customer:
    """The customer with this CRM id. Raises UnknownCustomer."""
    return _one(session, select(Customer).where(Customer.external_id == external_id))


def get_preference(session: Session, customer_id: int) -> Preference:
    """The preference row of a customer. Raises UnknownCustomer."""
    preference = session.get(Preference, customer_id)
    if preference is None:
        raise UnknownCustomer(f"no preferences for customer {customer_id}")
    return preference


def list_consent_events(session: Session, customer_id: int) -> list[ConsentEvent]:
    """A customer's consent events, oldest first (in the order they were written)."""
    return list(session.scalars(select(ConsentEvent).where(ConsentEvent.customer_id == customer_id)
                                .order_by(ConsentEvent.id)))


def iter_send_candidates(conn: Connection | Session, after_id: int, limit: int) -> Iterator[Row]:
    """Up to ``limit`` active customers with id greater than ``after_id``, by id, with their
    preferences: rows of (id, public_id, email, first_name, locale, attributes, status,
    frequency, paused_until, excluded_groups).

    Keyset pagination for the send: pass the last row's id as the next ``after_id``. Core, not
    ORM objects: this is the bulk path (hundreds of thousands of rows per edition).
    """
    c = customer_table.c
    statement = (
        _send_rows()
        .where(c.id > after_id, c.status == Status.ACTIVE)
        .order_by(c.id)
        .limit(limit)
    )
    # Fetched at once (a bounded batch), so no cursor stays open while the caller renders.
    yield from conn.execute(statement).all()


def send_candidate_ids(after_id: int, upto_id: int | None = None):
    """The ids ``iter_send_candidates`` would return in (after_id, upto_id], as a statement to
    embed (the send plans them with one INSERT ... SELECT, no row passing through Python)."""
    c, p = customer_table.c, preference_table.c
    statement = (select(c.id).join_from(customer_table, preference_table, p.customer_id == c.id)
                 .where(c.id > after_id, c.status == Status.ACTIVE))
    return statement if upto_id is None else statement.where(c.id <= upto_id)


def customer_send_row(conn: Connection | Session, *, external_id: str | None = None,
                      public_id: str | None = None) -> Row | None:
    """One customer (by either id) in the same row shape as ``iter_send_candidates``, whatever
    their status: a preview or web version of one customer's email must see what the send sees."""
    c = customer_table.c
    where = c.external_id == external_id if external_id is not None else c.public_id == public_id
    return conn.execute(_send_rows().where(where)).first()


def _send_rows():
    c, p = customer_table.c, preference_table.c
    return (
        select(c.id, c.public_id, c.email, c.first_name, c.locale, c.attributes, c.status,
               p.frequency, p.paused_until, p.excluded_groups)
        .join_from(customer_table, preference_table, p.customer_id == c.id)
    )


def confirm_link_context(preference: Preference) -> str:
    """The ``context`` to sign and verify a confirm link with: binds the link to the current
    preference version, so it works once and an old confirm email cannot resubscribe anyone."""
    return f"v{preference.version}"


# Customers -------------------------------------------------------------------------------------

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

    customer, preference = _lock(session, matching[0].id)
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
        _bump(preference, now)
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
         "channel": channel, "at": now, "client_hash": None} for row in rows])
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


# Preferences -----------------------------------------------------------------------------------

def change_preferences(
    session: Session,
    customer: Customer,
    changes: Mapping[str, Any],
    channel: Channel | str,
    expected_version: int | None,
    client_hash: str | None = None,
    *,
    today: date,
    known_groups: Collection[str],
    locales: Collection[str],
) -> list[ConsentEvent]:
    """Apply ``changes`` (any of frequency, paused_until, excluded_groups, locale); returns the
    consent events written, one per field that really changed (none: nothing changed).

    ``expected_version``: the preference version the form was built from; if it is no longer
    current, StaleForm is raised and nothing changes (None: no check, e.g. the API).
    Raises InvalidPreference naming every bad field.
    """
    channel = Channel(channel)
    customer, preference = _lock(session, customer.id)
    if expected_version is not None and expected_version != preference.version:
        raise StaleForm(expected_version, preference.version)
    current = {
        consent.FREQUENCY: preference.frequency,
        consent.PAUSED_UNTIL: preference.paused_until,
        consent.EXCLUDED_GROUPS: list(preference.excluded_groups),
        consent.LOCALE: customer.locale,
    }
    new = validate_changes(changes, current=current, today=today, known_groups=known_groups, locales=locales)
    if not new:
        return []
    now = utcnow()
    events = []
    for name, value in new.items():
        events.append(consent.record(session, customer.id, name, current[name], value, channel, client_hash, at=now))
        setattr(customer if name == consent.LOCALE else preference, name, value)
    if consent.LOCALE in new:
        customer.updated_at = now
    _bump(preference, now)
    session.flush()
    return events


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


# Helpers ---------------------------------------------------------------------------------------

def _one(session: Session, statement) -> Customer:
    customer = session.scalars(statement).one_or_none()
    if customer is None:
        raise UnknownCustomer("no such customer")
    return customer


def _find_matching(session: Session, data: CustomerData) -> list[Customer]:
    # lower() on both sides: the same function as the unique index, whatever it does to non-ASCII.
    statement = select(Customer).where(
        or_(Customer.external_id == data.external_id, func.lower(Customer.email) == func.lower(data.email))
    ).order_by(Customer.external_id != data.external_id)  # the external id's own row first
    return list(session.scalars(statement))


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
