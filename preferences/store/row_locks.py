"""The lock every change of a customer takes first, and the version every change bumps.

The preference row's lock (SELECT ... FOR UPDATE on PostgreSQL), then the customer row: one
order everywhere, so two requests for the same customer queue up instead of deadlocking. The
version is what a form was built from: bumped on every change, so an older form is stale.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences.errors import UnknownCustomer
from preferences.models import Customer, Preference


def lock_customer(session: Session, customer_id: int) -> tuple[Customer, Preference]:
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


def bump_version(preference: Preference, now) -> None:
    """A change of the customer's choices or status: forms built before it are stale."""
    preference.version += 1
    preference.updated_at = now
