"""The suppression list as an operator looks through it: newest first, a page at a time, each entry
with the customer whose address it is, and one entry with the reports behind it.

An entry's customer is the one the address belonged to when it was suppressed, else the one who
has the address now (an address suppressed before it was imported): the same customer a lift
writes its consent event for (``store.lift``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, func, select

from preferences.models import customer_table as customer
from preferences.suppression.store import Suppression, address_key
from preferences.suppression.tables import bounce_report, suppression

RECENT_REPORTS = 5


@dataclass(frozen=True)
class Entry:
    """One suppression with its customer's external id and status (None: nobody's address)."""

    suppression: Suppression
    external_id: str | None
    customer_status: str | None


@dataclass(frozen=True)
class BounceReport:
    """A recorded bounce or complaint report, as far as an operator needs it."""

    kind: str
    source: str
    status: str | None
    detail: str | None
    template: str | None
    edition_date: date | None
    message_id: str | None
    reported_at: datetime


# The customer of an entry: by the suppression's own customer id, else by the address (its
# lowercased form is what the customer table's unique index compares).
_holder = customer.alias("holder")
_owner = func.coalesce(suppression.c.customer_id,
                       select(_holder.c.id).where(func.lower(_holder.c.email) == suppression.c.address)
                       .correlate(suppression).scalar_subquery())
_WITH_CUSTOMER = (select(suppression, customer.c.external_id, customer.c.status.label("customer_status"))
                  .select_from(suppression.outerjoin(customer, customer.c.id == _owner)))


def _entry(row) -> Entry:
    status = row.customer_status  # a Status (a StrEnum: its text is its value)
    return Entry(Suppression.of(row), row.external_id, None if status is None else str(status))


def newest(conn: Connection, *, reason: str | None = None, email: str | None = None, before: int | None = None,
           limit: int = 100) -> list[Entry]:
    """At most ``limit`` entries, newest first (the order they were put on the list), older than
    the entry ``before`` (the last of the page before) if given; of one ``reason``, or of one
    address (``email``, however it is written), if given."""
    statement = _WITH_CUSTOMER
    if reason is not None:
        statement = statement.where(suppression.c.reason == reason)
    if email is not None:
        statement = statement.where(suppression.c.address == address_key(email))
    if before is not None:
        statement = statement.where(suppression.c.id < before)
    return [_entry(row) for row in conn.execute(statement.order_by(suppression.c.id.desc()).limit(limit))]


def entry(conn: Connection, suppression_id: int) -> Entry | None:
    """The entry with this id, or None."""
    row = conn.execute(_WITH_CUSTOMER.where(suppression.c.id == suppression_id)).first()
    return None if row is None else _entry(row)


def reports_behind(conn: Connection, found: Entry, limit: int = RECENT_REPORTS) -> list[BounceReport]:
    """The latest reports recorded for the entry's address and customer, newest first: what a
    bounce or complaint suppression rests on. Reports are recorded only for a customer, so an
    address that is nobody's has none (and the customer's index finds them)."""
    owner = found.suppression.customer_id
    if owner is None and found.external_id is not None:
        owner = conn.execute(select(customer.c.id).where(customer.c.external_id == found.external_id)).scalar()
    if owner is None:
        return []
    rows = conn.execute(select(bounce_report.c.kind, bounce_report.c.source, bounce_report.c.status,
                               bounce_report.c.detail, bounce_report.c.template, bounce_report.c.edition_date,
                               bounce_report.c.message_id, bounce_report.c.reported_at)
                        .where(bounce_report.c.customer_id == owner,
                               bounce_report.c.address == found.suppression.address)
                        .order_by(bounce_report.c.reported_at.desc(), bounce_report.c.id.desc()).limit(limit))
    return [BounceReport(**row._mapping) for row in rows]
