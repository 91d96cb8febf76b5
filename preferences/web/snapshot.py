"""A customer's state as the preference pages show it, and how a page finds it behind a link.

A page that only shows the state reads it with one Core statement (``read_snapshot``); a page
that changes something loads the ORM objects the store changes (``find_for_write``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from preferences import store
from preferences.errors import BadLink, UnknownCustomer
from preferences.links import Purpose, unverified_public_id
from preferences.models import Customer, Preference, Status
from preferences.web.centre import Centre


@dataclass(frozen=True)
class Snapshot:
    """The customer and their choices, read in one query (or one transaction)."""

    customer_id: int
    public_id: str
    email: str
    first_name: str | None
    locale: str
    status: Status
    frequency: str
    paused_until: date | None
    excluded_groups: tuple[str, ...]
    version: int
    click_tracking: bool = True

    @classmethod
    def of(cls, customer: Customer, preference: Preference) -> "Snapshot":
        """From the ORM objects of a write (the rows the store just locked and changed)."""
        return cls(customer.id, customer.public_id, customer.email, customer.first_name,  # type: ignore[arg-type]
                   customer.locale, Status(customer.status), preference.frequency,
                   preference.paused_until, tuple(preference.excluded_groups), preference.version,
                   bool(preference.click_tracking))

    @classmethod
    def of_row(cls, row: store.PageState) -> "Snapshot":
        """From a row of ``store.page_state`` (the read path: no ORM objects)."""
        return cls(row.id, row.public_id, row.email, row.first_name, row.locale, Status(row.status),
                   row.frequency, row.paused_until, tuple(row.excluded_groups), row.version, row.click_tracking)


def read_snapshot(centre: Centre, token: str, purpose: Purpose) -> Snapshot | None:
    """The state behind a link, for a page that only shows it; None for any bad link."""
    try:
        public_id = centre.signer.verify(token, purpose)
    except BadLink:
        return None
    row = store.page_state(centre.engine, public_id)
    return Snapshot.of_row(row) if row is not None else None


def find_for_write(centre: Centre, session: Session, token: str,
                   purpose: Purpose) -> tuple[Customer, Snapshot] | None:
    """The customer behind a link as an ORM object to change in ``session``, with its state;
    None for any bad link. No lock here: the store locks the rows it changes and re-checks the
    version."""
    try:
        public_id = centre.signer.verify(token, purpose)
        customer, preference = store.get_customer_with_preference(session, public_id=public_id)
    except (BadLink, UnknownCustomer):
        return None
    return customer, Snapshot.of(customer, preference)


def find_confirmable(centre: Centre, session: Session, token: str,
                     lock: bool) -> tuple[Customer, Snapshot] | None:
    """The pending customer behind a confirm link, or None. The link is signed over the
    preference version: look up, then verify. Before confirming (``lock``), the preference row is
    locked, so the version cannot change in between."""
    try:
        public_id = unverified_public_id(token)
        customer = store.get_customer_by_public_id(session, public_id)
        preference = session.get(Preference, customer.id, with_for_update=lock, populate_existing=lock)
    except (BadLink, UnknownCustomer):
        return None
    if preference is None:
        return None
    try:
        centre.signer.verify(token, Purpose.CONFIRM, store.confirm_link_context(preference))
    except BadLink:
        return None
    if customer.status is not Status.PENDING:
        return None
    return customer, Snapshot.of(customer, preference)


def current(session: Session, customer: Customer) -> Snapshot:
    """The customer's state after a store change (the store refreshed both rows in the session)."""
    return Snapshot.of(customer, session.get(Preference, customer.id))  # type: ignore[arg-type]
