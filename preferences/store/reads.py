"""Reading customers and their preferences: the page's and the API's reads, the send's bulk read,
and the statements the changes share (the page state, and the same row under the lock)."""

from __future__ import annotations

from datetime import date
from typing import Iterator, NamedTuple

from sqlalchemy import Connection, Engine, Row, bindparam, select
from sqlalchemy.orm import Session

from preferences.errors import UnknownCustomer
from preferences.models import ConsentEvent, Customer, Preference, Status, customer_table, preference_table
from preferences.prepared import Prepared


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


class PageState(NamedTuple):
    """A customer and their choices as the preference pages show them."""

    id: int
    public_id: str
    email: str
    first_name: str | None
    locale: str
    status: str
    frequency: str
    paused_until: date | None
    excluded_groups: list[str]
    version: int
    click_tracking: bool = True

    @classmethod
    def of_row(cls, row: tuple) -> "PageState":
        """From a row of ``STATE``'s columns (the JSON list may come back as any sequence)."""
        *head, excluded_groups, version, click_tracking = row
        return cls(*head, list(excluded_groups), version, bool(click_tracking))


def page_state(engine: Engine, public_id: str) -> PageState | None:
    """The customer behind a verified link and their choices, or None: the read that every view
    of a preference page makes (one prepared statement, see ``preferences.prepared``)."""
    row = _PAGE_STATE.first(engine, {"public_id": public_id})
    return None if row is None else PageState.of_row(row)


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
    frequency, paused_until, excluded_groups, click_tracking).

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
               p.frequency, p.paused_until, p.excluded_groups, p.click_tracking)
        .join_from(customer_table, preference_table, p.customer_id == c.id)
    )


def confirm_link_context(preference: Preference) -> str:
    """The ``context`` to sign and verify a confirm link with: binds the link to the current
    preference version, so it works once and an old confirm email cannot resubscribe anyone."""
    return confirm_context(preference.version)


def confirm_context(version: int) -> str:
    """``confirm_link_context`` of a preference version read without its row object."""
    return f"v{version}"


# A customer and their choices, the columns of PageState.
STATE = (
    select(customer_table.c.id, customer_table.c.public_id, customer_table.c.email, customer_table.c.first_name,
           customer_table.c.locale, customer_table.c.status, preference_table.c.frequency,
           preference_table.c.paused_until, preference_table.c.excluded_groups, preference_table.c.version,
           preference_table.c.click_tracking)
    .join_from(customer_table, preference_table, preference_table.c.customer_id == customer_table.c.id)
)
_PAGE_STATE = Prepared(STATE.where(customer_table.c.public_id == bindparam("public_id")))


def _one(session: Session, statement) -> Customer:
    customer = session.scalars(statement).one_or_none()
    if customer is None:
        raise UnknownCustomer("no such customer")
    return customer
