"""Asking for newsletters: a signup, a resubscribe, a customer created pending. Each one is an
``opt_in`` row (the request, kept as proof) and a confirmation mail in the outbox, written in
the caller's transaction: a crash or a relay outage can delay the mail, never lose it.

``sign_up`` is the signup form's: whatever the address's state (new, pending, subscribed,
unsubscribed, suppressed), the form answers the same, so nobody learns who is on the list. What
it does differs: a new address becomes a pending customer; a pending or unsubscribed one gets a
(new) confirmation; a subscribed one nothing; a suppressed one nothing (its mails bounced or its
owner complained: only an operator lifts that). Per address at most one confirmation every
``ADDRESS_INTERVAL`` when asked again while pending and ``ADDRESS_PER_DAY`` a day in all, so a
form cannot be made to flood a mailbox.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Collection

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from preferences import store
from preferences.customers import CustomerData
from preferences.models import Channel, Customer, Status
from preferences.optin import outbox
from preferences.optin.tables import CONFIRMATION, USER_AGENT_LIMIT, opt_in
from preferences.suppression.store import suppression_of
from preferences.utc import utcnow

ADDRESS_INTERVAL = timedelta(minutes=10)
ADDRESS_PER_DAY = 3
DEFAULT_TTL = timedelta(days=7)


class Outcome(StrEnum):
    """What a request did (for logs, tests and the API; the signup page shows none of it)."""

    CREATED = "created"  # a new pending customer, confirmation queued
    QUEUED = "queued"  # an existing customer, confirmation queued
    SUBSCRIBED = "subscribed"  # already subscribed: nothing to confirm
    THROTTLED = "throttled"  # a confirmation went out moments ago: not another one yet
    SUPPRESSED = "suppressed"  # the address is on the suppression list: nothing is sent


@dataclass(frozen=True)
class Asked:
    """Who asked, and how: the proof kept with the request."""

    channel: Channel
    source: str | None = None  # "hosted", or the host of the shop page a form is embedded in
    client_hash: str | None = None
    user_agent: str | None = None
    wording: str | None = None  # the version of the consent text shown (preferences.optin.wording)


@dataclass(frozen=True)
class Signup:
    """A checked signup form: the address, and what its owner asked for."""

    email: str
    locale: str
    interests: frozenset[str] = field(default_factory=frozenset)  # product groups wanted
    first_name: str | None = None


def sign_up(session: Session, signup: Signup, asked: Asked, *, known_groups: Collection[str],
            locales: Collection[str], ttl: timedelta = DEFAULT_TTL, now: datetime | None = None) -> Outcome:
    """Handle one signup in ``session``'s transaction (the caller commits)."""
    now = now or utcnow()
    conn = session.connection()
    if suppression_of(conn, signup.email) is not None:
        return Outcome.SUPPRESSED
    excluded = sorted(set(known_groups) - signup.interests)
    wanted = {"locale": signup.locale, "excluded_groups": excluded}
    customer = session.scalars(select(Customer).where(func.lower(Customer.email) == signup.email.lower())).first()
    if customer is None:
        customer = store.create_customer(
            session, CustomerData(external_id=f"signup:{secrets.token_urlsafe(12)}", email=signup.email,
                                  first_name=signup.first_name, locale=signup.locale, status=Status.PENDING),
            asked.channel, default_locale=signup.locale, client_hash=asked.client_hash)
        if excluded:
            store.save_choices(conn, customer.id, {"excluded_groups": excluded}, asked.channel, None,  # type: ignore[arg-type]
                               asked.client_hash, today=now.date(), known_groups=known_groups, locales=locales)
        request_confirmation(conn, customer.id, asked, ttl=ttl, requested={**wanted, "created": True}, now=now)
        return Outcome.CREATED
    if customer.status is Status.ACTIVE:
        return Outcome.SUBSCRIBED
    if throttled(conn, customer.id, repeat=customer.status is Status.PENDING, now=now):
        return Outcome.THROTTLED
    if customer.status is Status.UNSUBSCRIBED:
        store.resubscribe_pending(session, customer, asked.channel, asked.client_hash)
    request_confirmation(conn, customer.id, asked, ttl=ttl, requested=wanted, now=now)  # type: ignore[arg-type]
    return Outcome.QUEUED


def throttled(conn: Connection, customer_id: int, *, repeat: bool, now: datetime | None = None) -> bool:
    """Whether the customer got confirmations too recently to be sent another one: a ``repeat``
    (asked again while pending: the last mail's link still works) waits ``ADDRESS_INTERVAL``;
    any request waits once ``ADDRESS_PER_DAY`` were sent in a day."""
    now = now or utcnow()
    return ((repeat and outbox.owed_since(conn, customer_id, CONFIRMATION, now - ADDRESS_INTERVAL) > 0)
            or outbox.owed_since(conn, customer_id, CONFIRMATION, now - timedelta(days=1)) >= ADDRESS_PER_DAY)


def request_confirmation(conn: Connection, customer_id: int, asked: Asked, *, ttl: timedelta = DEFAULT_TTL,
                         requested: dict[str, Any] | None = None, now: datetime | None = None) -> int:
    """Record a request for ``customer_id`` (pending) and queue its confirmation; the opt_in id.

    ``requested``: the choices the request asked for, applied when it is confirmed;
    ``requested["created"]`` marks a customer the request created (deleted if never confirmed)."""
    now = now or utcnow()
    user_agent = asked.user_agent[:USER_AGENT_LIMIT] if asked.user_agent else None
    opt_in_id = conn.execute(opt_in.insert().values(
        customer_id=customer_id, channel=Channel(asked.channel).value, source=asked.source, requested_at=now,
        request_client=asked.client_hash, request_user_agent=user_agent, request_wording=asked.wording,
        requested=requested, expires_at=now + ttl).returning(opt_in.c.id)).scalar_one()
    outbox.queue(conn, CONFIRMATION, customer_id, opt_in_id, now)
    return opt_in_id


def queue_for_new_pending(conn: Connection, external_ids: Collection[str], channel: Channel,
                          ttl: timedelta = DEFAULT_TTL) -> list[str]:
    """The API's and the import's way: every customer among ``external_ids`` (just created) who
    is pending gets a request and a confirmation; their external ids. Call in the transaction
    that created them, so a crash cannot leave a pending customer without a confirmation."""
    ids, queued = list(external_ids), []
    table = Customer.__table__
    for start in range(0, len(ids), 500):
        rows = conn.execute(select(table.c.id, table.c.external_id).where(
            table.c.external_id.in_(ids[start:start + 500]), table.c.status == Status.PENDING).order_by(table.c.id))
        for customer_id, external_id in rows.all():
            request_confirmation(conn, customer_id, Asked(channel), ttl=ttl, requested={"created": True})
            queued.append(external_id)
    return queued
