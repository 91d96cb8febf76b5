"""create_customers: many new customers in three statements, the same rows as one by one."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from preferences import store
from preferences.customers import CustomerData


def snapshot(session, external_id):
    customer = store.get_customer_by_external_id(session, external_id)
    preference = store.get_preference(session, customer.id)
    events = [(e.field, e.old_value, e.new_value, e.channel) for e in store.list_consent_events(session, customer.id)]
    return ((customer.email, customer.first_name, customer.locale, customer.status, customer.attributes),
            (preference.frequency, preference.paused_until, preference.excluded_groups, preference.version),
            events, len(customer.public_id))


def test_bulk_creation_equals_one_by_one(engine):
    items = [CustomerData(external_id=f"b{i}", email=f"b{i}@example.com", first_name="Bö",
                          locale="en" if i % 2 else None, attributes={"region": "north"}) for i in range(3)]
    with Session(engine) as session:
        assert store.create_customers(session, items, "import", default_locale="de") == 3
        store.create_customer(session, CustomerData(external_id="one", email="one@example.com", first_name="Bö",
                                                    attributes={"region": "north"}), "import", default_locale="de")
        session.commit()
        bulk, single = snapshot(session, "b0"), snapshot(session, "one")
        assert bulk[1:] == single[1:]
        assert bulk[0][1:] == single[0][1:]
        assert snapshot(session, "b1")[0][2] == "en"
        ids = {store.get_customer_by_external_id(session, f"b{i}").public_id for i in range(3)}
        assert len(ids) == 3


def test_a_duplicate_fails_the_whole_batch(engine):
    with Session(engine) as session:
        store.create_customers(session, [CustomerData(external_id="x", email="x@example.com")], "import",
                               default_locale="de")
        session.commit()
        with pytest.raises(IntegrityError):
            store.create_customers(session, [CustomerData(external_id="y", email="y@example.com"),
                                             CustomerData(external_id="x", email="z@example.com")],
                                   "import", default_locale="de")
        session.rollback()
        assert store.emails_taken(session, ["X@example.com", "y@example.com"]) == {"x@example.com"}
