"""The store on both databases (the ``engine`` fixture is parametrized over SQLite and PostgreSQL)."""

import threading
import time
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from preferences import store
from preferences.customers import CustomerData
from preferences.database import for_writes
from preferences.errors import DuplicateCustomer, InvalidPreference, StaleForm, UnknownCustomer
from preferences.links import LinkSigner, Purpose
from preferences.models import (
    Channel,
    ConsentEvent,
    Customer,
    Frequency,
    Status,
    consent_event_table,
    customer_table,
    preference_table,
)

TODAY = date(2026, 11, 23)
GROUPS = {"outdoor", "garden", "kitchen", "kids"}
LOCALES = ("de", "en")


def data(external_id="c1", email="anna@example.com", **kwargs):
    return CustomerData(external_id=external_id, email=email, **kwargs)


def add(session, external_id="c1", email="anna@example.com", channel=Channel.IMPORT, **kwargs):
    return store.create_customer(session, data(external_id, email, **kwargs), channel, default_locale="de")


def change(session, customer, changes, expected_version=None, channel=Channel.PAGE, **kwargs):
    return store.change_preferences(session, customer, changes, channel, expected_version, today=TODAY,
                                    known_groups=GROUPS, locales=LOCALES, **kwargs)


def events(session, customer):
    return [(e.field, e.old, e.new, e.channel) for e in store.list_consent_events(session, customer.id)]


# Customers ------------------------------------------------------------------------------------

def test_create_customer_writes_customer_default_preference_and_one_event(engine):
    with Session(engine) as session:
        customer = add(session, first_name="Anna", attributes={"region": "north", "orders_12m": 3})
        session.commit()
        customer_id, public_id = customer.id, customer.public_id
    with Session(engine) as session:
        customer = store.get_customer_by_public_id(session, public_id)
        assert customer.id == customer_id and len(public_id) == 22
        assert (customer.external_id, customer.email, customer.first_name, customer.locale, customer.status) == (
            "c1", "anna@example.com", "Anna", "de", Status.ACTIVE)
        assert customer.attributes == {"region": "north", "orders_12m": 3}
        assert customer.created_at.tzinfo is not None and customer.created_at.utcoffset().total_seconds() == 0
        preference = store.get_preference(session, customer.id)
        assert (preference.frequency, preference.paused_until, preference.excluded_groups, preference.version) == (
            Frequency.WEEKLY, None, [], 1)
        assert events(session, customer) == [
            ("created", None, {"frequency": "weekly", "locale": "de", "status": "active"}, Channel.IMPORT)]


def test_public_ids_are_random_and_distinct(session):
    ids = {add(session, f"c{i}", f"p{i}@example.com").public_id for i in range(20)}
    assert len(ids) == 20


def test_duplicates_are_refused(session):
    add(session)
    with pytest.raises(DuplicateCustomer) as error:
        add(session, "c1", "other@example.com")
    assert error.value.field == "external_id"
    with pytest.raises(DuplicateCustomer) as error:
        add(session, "c2", "ANNA@example.com")  # the same address, another spelling
    assert error.value.field == "email"


def test_the_database_itself_refuses_an_email_differing_only_in_case(session):
    add(session)
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(insert(customer_table).values(
            public_id="x" * 22, external_id="c2", email="Anna@example.com", locale="de", attributes={},
            status="active", created_at=datetime.now(timezone.utc), updated_at=datetime.now(timezone.utc)))
    session.rollback()


def test_constraints_hold_on_both_databases(session):
    customer = add(session)
    session.commit()
    with pytest.raises(IntegrityError):  # foreign key (SQLite: PRAGMA foreign_keys=ON)
        session.execute(insert(preference_table).values(
            customer_id=customer.id + 1000, frequency="weekly", excluded_groups=[], version=1,
            updated_at=datetime.now(timezone.utc)))
    session.rollback()
    with pytest.raises(IntegrityError):  # CHECK on the consent event's channel
        session.execute(insert(consent_event_table).values(
            customer_id=customer.id, field="x", channel="fax", at=datetime.now(timezone.utc)))
    session.rollback()
    with pytest.raises(IntegrityError):  # CHECK on status
        session.execute(customer_table.update().values(status="deleted"))
    session.rollback()


def test_lookups(session):
    customer = add(session)
    assert store.get_customer_by_external_id(session, "c1") is customer
    assert store.get_customer_by_public_id(session, customer.public_id) is customer
    for lookup, value in [(store.get_customer_by_external_id, "nope"), (store.get_customer_by_public_id, "x" * 22),
                          (store.get_preference, 99999)]:
        with pytest.raises(UnknownCustomer):
            lookup(session, value)


def test_upsert_creates_then_updates(session):
    customer, created = store.upsert_customer_by_external_id(
        session, data(first_name="Anna", attributes={"region": "north"}), Channel.IMPORT, default_locale="de")
    assert created and customer.locale == "de"
    updated_at = customer.updated_at
    again, created = store.upsert_customer_by_external_id(
        session, data(email="anna.neu@example.com", first_name="Anne", attributes={"region": "south"}, locale="en"),
        Channel.API, default_locale="de")
    assert again is customer and not created
    assert (customer.email, customer.first_name, customer.attributes, customer.locale) == (
        "anna.neu@example.com", "Anne", {"region": "south"}, "en")
    assert customer.updated_at >= updated_at
    # Email, name and attributes are no consent matters; the locale is.
    assert [e[:3] for e in events(session, customer)][1:] == [("locale", "de", "en")]
    assert store.get_preference(session, customer.id).version == 2


def test_upsert_is_idempotent(session):
    record = data(first_name="Anna", locale="en", status=Status.ACTIVE, attributes={"region": "north"})
    customer, _ = store.upsert_customer_by_external_id(session, record, Channel.IMPORT, default_locale="de")
    session.commit()
    before = (customer.updated_at, store.get_preference(session, customer.id).version, len(events(session, customer)))
    for _ in range(3):
        store.upsert_customer_by_external_id(session, record, Channel.IMPORT, default_locale="de")
    assert (customer.updated_at, store.get_preference(session, customer.id).version,
            len(events(session, customer))) == before


def test_upsert_keeps_what_is_not_given(session):
    customer, _ = store.upsert_customer_by_external_id(
        session, data(first_name="Anna", locale="en", attributes={"region": "north"}), Channel.IMPORT,
        default_locale="de")
    store.upsert_customer_by_external_id(session, data(), Channel.IMPORT, default_locale="de")
    assert (customer.first_name, customer.locale, customer.attributes) == ("Anna", "en", {"region": "north"})


def test_upsert_can_withdraw_consent_but_never_grant_it_back(session):
    customer, _ = store.upsert_customer_by_external_id(session, data(), Channel.IMPORT, default_locale="de")
    store.upsert_customer_by_external_id(session, data(status=Status.UNSUBSCRIBED), Channel.IMPORT,
                                         default_locale="de")
    assert customer.status is Status.UNSUBSCRIBED
    for status in (Status.ACTIVE, Status.PENDING):
        store.upsert_customer_by_external_id(session, data(status=status), Channel.IMPORT, default_locale="de")
        assert customer.status is Status.UNSUBSCRIBED
    assert [e[:3] for e in events(session, customer)][1:] == [("status", "active", "unsubscribed")]


def test_upsert_refuses_another_customers_email(session):
    add(session, "c1", "anna@example.com")
    add(session, "c2", "ben@example.com")
    with pytest.raises(DuplicateCustomer) as error:
        store.upsert_customer_by_external_id(session, data("c2", "Anna@Example.com"), Channel.API, default_locale="de")
    assert error.value.field == "email"
    with pytest.raises(DuplicateCustomer):
        store.upsert_customer_by_external_id(session, data("c3", "ben@example.com"), Channel.API, default_locale="de")


def test_a_customer_may_change_the_case_of_its_own_email(session):
    customer = add(session)
    store.upsert_customer_by_external_id(session, data(email="Anna@example.com"), Channel.API, default_locale="de")
    assert customer.email == "Anna@example.com"


# Preferences ----------------------------------------------------------------------------------

def test_change_preferences_writes_one_event_per_changed_field(session):
    customer = add(session)
    written = change(session, customer, {
        "frequency": "biweekly", "paused_until": date(2026, 12, 21), "excluded_groups": ["outdoor", "kids"],
        "locale": "en"}, expected_version=1, client_hash="ab" * 32)
    assert [(e.field, e.old, e.new) for e in written] == [
        ("frequency", "weekly", "biweekly"),
        ("paused_until", None, "2026-12-21"),
        ("excluded_groups", [], ["kids", "outdoor"]),
        ("locale", "de", "en"),
    ]
    assert all(e.channel is Channel.PAGE and e.client_hash == "ab" * 32 for e in written)
    session.commit()
    preference = store.get_preference(session, customer.id)
    assert (preference.frequency, preference.paused_until, preference.excluded_groups, preference.version) == (
        Frequency.BIWEEKLY, date(2026, 12, 21), ["kids", "outdoor"], 2)
    assert customer.locale == "en"
    assert events(session, customer)[1:] == [(e.field, e.old, e.new, e.channel) for e in written]


def test_saving_without_changes_writes_nothing(session):
    customer = add(session)
    assert change(session, customer, {"frequency": "weekly", "excluded_groups": [], "paused_until": None}, 1) == []
    assert store.get_preference(session, customer.id).version == 1
    assert len(events(session, customer)) == 1


def test_each_change_bumps_the_version_once(session):
    customer = add(session)
    change(session, customer, {"frequency": "monthly"}, 1)
    change(session, customer, {"frequency": "weekly", "locale": "en"}, 2)
    assert store.get_preference(session, customer.id).version == 3


def test_a_stale_form_changes_nothing(engine):
    with Session(engine) as session:
        customer_id = add(session).id
        session.commit()
    # Two tabs load the page at version 1 (each GET its own transaction); the first one saves.
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        a = first.get(Customer, customer_id)
        b = second.get(Customer, customer_id)
        assert store.get_preference(second, customer_id).version == 1
        first.commit()
        second.commit()
        change(first, a, {"frequency": "monthly"}, expected_version=1)
        first.commit()
        with pytest.raises(StaleForm) as error:
            change(second, b, {"frequency": "biweekly"}, expected_version=1)
        assert (error.value.expected_version, error.value.current_version) == (1, 2)
        second.rollback()
    with Session(engine) as session:
        assert store.get_preference(session, customer_id).frequency is Frequency.MONTHLY


def test_invalid_changes_are_refused(session):
    customer = add(session)
    with pytest.raises(InvalidPreference) as error:
        change(session, customer, {"frequency": "daily", "excluded_groups": ["spaceships"],
                                   "paused_until": date(2028, 1, 1)}, 1)
    assert set(error.value.errors) == {"frequency", "excluded_groups", "paused_until"}
    assert store.get_preference(session, customer.id).version == 1


def test_the_api_may_change_without_a_version(session):
    customer = add(session)
    written = change(session, customer, {"frequency": "monthly"}, None, channel=Channel.API)
    assert [e.channel for e in written] == [Channel.API]


# Status ---------------------------------------------------------------------------------------

def test_unsubscribe_is_idempotent(session):
    customer = add(session)
    assert store.unsubscribe(session, customer, Channel.ONE_CLICK) is True
    assert store.unsubscribe(session, customer, Channel.ONE_CLICK) is False
    assert store.unsubscribe(session, customer, Channel.PAGE) is False
    assert customer.status is Status.UNSUBSCRIBED
    assert events(session, customer)[1:] == [("status", "active", "unsubscribed", Channel.ONE_CLICK)]
    assert store.get_preference(session, customer.id).version == 2  # an open page is now stale


def test_resubscribe_needs_a_confirmation(session):
    signer = LinkSigner([b"key-0123456789abcdef"])
    customer = add(session)
    assert store.resubscribe_pending(session, customer, Channel.PAGE) is False  # active already
    store.unsubscribe(session, customer, Channel.ONE_CLICK)
    assert store.confirm_subscription(session, customer, Channel.PAGE) is False  # not pending
    assert store.resubscribe_pending(session, customer, Channel.PAGE, client_hash="c" * 64) is True
    assert customer.status is Status.PENDING
    context = store.confirm_link_context(store.get_preference(session, customer.id))
    token = signer.sign(customer.public_id, Purpose.CONFIRM, context)

    assert store.confirm_subscription(session, customer, Channel.PAGE) is True
    assert customer.status is Status.ACTIVE
    # The confirm link was bound to the version before confirming: it cannot be used again.
    later = store.confirm_link_context(store.get_preference(session, customer.id))
    assert later != context
    assert signer.verify(token, Purpose.CONFIRM, context) == customer.public_id
    with pytest.raises(Exception):
        signer.verify(token, Purpose.CONFIRM, later)
    assert [e[:3] for e in events(session, customer)][1:] == [
        ("status", "active", "unsubscribed"), ("status", "unsubscribed", "pending"), ("status", "pending", "active")]


def test_concurrent_unsubscribes_write_one_event(engine):
    with Session(engine) as session:
        customer_id = add(session).id
        session.commit()
    writer = for_writes(engine)
    first_in, results = threading.Event(), {}

    def first():
        with Session(writer) as session:
            results["first"] = store.unsubscribe(session, session.get(Customer, customer_id), Channel.ONE_CLICK)
            first_in.set()
            time.sleep(0.2)  # hold the lock while the second request arrives
            session.commit()

    def second():
        first_in.wait()
        with Session(writer) as session:
            results["second"] = store.unsubscribe(session, session.get(Customer, customer_id), Channel.ONE_CLICK)
            session.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {"first": True, "second": False}
    with Session(engine) as session:
        assert len(store.list_consent_events(session, customer_id)) == 2


def test_consent_events_are_listed_in_order(session):
    customer = add(session)
    for frequency in ("monthly", "weekly", "biweekly", "monthly"):
        change(session, customer, {"frequency": frequency})
    assert [e[2] for e in events(session, customer)][1:] == ["monthly", "weekly", "biweekly", "monthly"]


def test_the_store_offers_no_way_to_edit_or_delete_consent_events():
    public = [name for name in dir(store) if not name.startswith("_") and callable(getattr(store, name))]
    assert not [name for name in public if any(word in name for word in ("delete", "remove", "edit", "update_consent"))]


# The send -------------------------------------------------------------------------------------

def test_send_candidates_are_streamed_by_keyset(engine):
    with Session(engine) as session:
        customers = [add(session, f"c{i}", f"c{i}@example.com", first_name=f"N{i}", attributes={"i": i})
                     for i in range(7)]
        store.unsubscribe(session, customers[1], Channel.ONE_CLICK)
        store.unsubscribe(session, customers[4], Channel.ONE_CLICK)
        store.resubscribe_pending(session, customers[4], Channel.PAGE)
        change(session, customers[2], {"frequency": "monthly", "paused_until": date(2026, 12, 7),
                                       "excluded_groups": ["kids", "garden"], "locale": "en"})
        session.commit()
        expected_ids = [c.id for i, c in enumerate(customers) if i not in (1, 4)]
        third = customers[2]

    seen, after = [], 0
    with engine.connect() as conn:
        while True:
            batch = list(store.iter_send_candidates(conn, after, 2))
            if not batch:
                break
            assert len(batch) <= 2
            seen.extend(batch)
            after = batch[-1].id
    assert [row.id for row in seen] == expected_ids
    row = next(r for r in seen if r.id == third.id)
    assert row._fields == ("id", "public_id", "email", "first_name", "locale", "attributes", "status",
                           "frequency", "paused_until", "excluded_groups", "click_tracking")
    assert row.click_tracking is True
    assert (row.public_id, row.email, row.first_name, row.locale, row.attributes, row.status, row.frequency,
            row.paused_until, row.excluded_groups) == (
        third.public_id, "c2@example.com", "N2", "en", {"i": 2}, Status.ACTIVE, Frequency.MONTHLY,
        date(2026, 12, 7), ["garden", "kids"])


def test_no_candidates_in_an_empty_database(engine):
    with engine.connect() as conn:
        assert list(store.iter_send_candidates(conn, 0, 100)) == []


def test_consent_event_values_round_trip_as_json(session):
    customer = add(session)
    change(session, customer, {"paused_until": "2026-12-01"})
    session.commit()
    event = session.get(ConsentEvent, store.list_consent_events(session, customer.id)[-1].id)
    assert (event.old_value, event.new_value, event.new) == (None, '"2026-12-01"', "2026-12-01")
    assert event.at.tzinfo is not None
