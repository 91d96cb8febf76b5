"""store.page_state, the page's one-statement read on the DBAPI connection, on both databases:
the same values, with the same types, as the ORM read of the same rows."""

from datetime import date

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from preferences import store
from preferences.customers import CustomerData
from preferences.database import make_engine
from preferences.models import Channel

TODAY = date(2026, 11, 23)


def add(session, external_id, email, **kwargs):
    return store.create_customer(session, CustomerData(external_id=external_id, email=email, **kwargs),
                                 Channel.IMPORT, default_locale="de")


def orm_state(engine, public_id):
    with Session(engine) as session:
        customer, preference = store.get_customer_with_preference(session, public_id=public_id)
        return (customer.id, customer.public_id, customer.email, customer.first_name, customer.locale,
                customer.status, preference.frequency, preference.paused_until,
                list(preference.excluded_groups), preference.version, preference.click_tracking)


@pytest.mark.parametrize("changes", [
    {},
    {"frequency": "monthly", "paused_until": date(2027, 1, 4), "excluded_groups": ["garden", "outdoor"],
     "click_tracking": False},
])
def test_page_state_equals_the_orm_read(engine, changes):
    with Session(engine) as session:
        add(session, "other", "other@example.com")
        customer = add(session, "c1", "anna@example.com", first_name="Anna", locale="en")
        if changes:
            store.change_preferences(session, customer, changes, Channel.API, None, today=TODAY,
                                     known_groups={"garden", "outdoor", "kids"}, locales=("de", "en"))
        session.commit()
        public_id = customer.public_id
    state = store.page_state(engine, public_id)
    assert tuple(state) == orm_state(engine, public_id)
    assert state.status == "active" and isinstance(state.paused_until, (date, type(None)))
    assert isinstance(state.excluded_groups, list)
    if changes:
        assert (state.frequency, state.paused_until, state.excluded_groups, state.version,
                state.click_tracking) == ("monthly", date(2027, 1, 4), ["garden", "outdoor"], 2, False)


def test_page_state_of_an_unknown_customer_is_none(engine):
    assert store.page_state(engine, "A" * 22) is None


def test_a_driver_error_is_raised_as_sqlalchemys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: "no such table"
    with pytest.raises(OperationalError, match="no such table"):
        store.page_state(engine, "A" * 22)
    # The connection went back to the pool in a usable state.
    with pytest.raises(OperationalError):
        store.page_state(engine, "A" * 22)
    engine.dispose()
