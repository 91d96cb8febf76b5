"""Confirming a request: the customer's own click on the confirm page, kept as proof.

The latest open request of a pending customer is confirmed if its link has not expired: the
customer becomes active (a consent event), the request gets the confirmation's time, client
hash, user agent, channel and the version of the wording the page showed, and what the request
asked for (language, product groups) becomes the customer's choice. Confirmations still queued
for that customer are no longer sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Collection

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from preferences import store
from preferences.models import Channel, Customer, Status
from preferences.optin import outbox
from preferences.optin.requests import Asked
from preferences.optin.tables import CONFIRMATION, USER_AGENT_LIMIT, opt_in
from preferences.utc import utcnow


class Confirmed(StrEnum):
    CONFIRMED = "confirmed"
    EXPIRED = "expired"  # the link's time is over (a new signup sends a new one)
    NOT_PENDING = "not-pending"  # confirmed already, or unsubscribed since


@dataclass(frozen=True)
class OpenRequest:
    id: int
    channel: str
    requested_at: datetime
    expires_at: datetime
    requested: dict | None


def open_request(conn: Connection, customer_id: int) -> OpenRequest | None:
    """The customer's latest request not confirmed yet, or None."""
    row: Row | None = conn.execute(
        select(opt_in.c.id, opt_in.c.channel, opt_in.c.requested_at, opt_in.c.expires_at, opt_in.c.requested)
        .where(opt_in.c.customer_id == customer_id, opt_in.c.confirmed_at.is_(None))
        .order_by(opt_in.c.id.desc()).limit(1)).first()
    return None if row is None else OpenRequest(row.id, row.channel, row.requested_at, row.expires_at, row.requested)


def is_expired(request: OpenRequest | None, now: datetime | None = None) -> bool:
    return request is None or request.expires_at <= (now or utcnow())


def confirm(session: Session, customer: Customer, proof: Asked, *, known_groups: Collection[str],
            locales: Collection[str], now: datetime | None = None) -> Confirmed:
    """Confirm ``customer``'s open request in ``session``'s transaction (the caller commits)."""
    now = now or utcnow()
    conn = session.connection()
    request = open_request(conn, customer.id)  # type: ignore[arg-type]
    if customer.status is not Status.PENDING:
        return Confirmed.NOT_PENDING
    if is_expired(request, now):
        return Confirmed.EXPIRED
    assert request is not None
    if not store.confirm_subscription(session, customer, proof.channel, proof.client_hash):
        return Confirmed.NOT_PENDING
    user_agent = proof.user_agent[:USER_AGENT_LIMIT] if proof.user_agent else None
    conn.execute(update(opt_in).where(opt_in.c.id == request.id).values(
        confirmed_at=now, confirm_client=proof.client_hash, confirm_user_agent=user_agent,
        confirm_channel=Channel(proof.channel).value, confirm_wording=proof.wording))
    wanted = {name: value for name, value in (request.requested or {}).items()
              if name in ("locale", "excluded_groups") and not (request.requested or {}).get("created")}
    if wanted:
        store.change_preferences(session, customer, wanted, proof.channel, None, proof.client_hash,
                                 today=now.date(), known_groups=known_groups, locales=locales)
    outbox.cancel(conn, customer.id, CONFIRMATION, "not sent: the address was confirmed before")  # type: ignore[arg-type]
    return Confirmed.CONFIRMED
