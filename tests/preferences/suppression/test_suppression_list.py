"""The suppression list on SQLite and PostgreSQL: once per address, a consent event per change; an
operator's suppression by hand; the entries newest first with their customer and reports."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from preferences.models import Channel, consent_event_table
from preferences.errors import InvalidInput
from preferences.suppression import entries, store
from preferences.suppression.tables import COMPLAINED, HARD_BOUNCE, MANUAL, bounce_report
from preferences.customers import CustomerData
from preferences import store as customers_store
from sqlmodel import Session


def _customer(engine, email="Anna.Berg@Example.com") -> int:
    with Session(engine) as session:
        customer = customers_store.create_customer(session, CustomerData(external_id="c1", email=email),
                                                   Channel.API, default_locale="de")
        session.commit()
        return customer.id


def _events(engine):
    with engine.connect() as conn:
        return [(r.field, r.old_value, r.new_value, r.channel, r.actor)
                for r in conn.execute(select(consent_event_table).where(consent_event_table.c.field == "suppressed")
                                      .order_by(consent_event_table.c.id))]


def test_an_address_is_suppressed_once_however_it_is_written(engine):
    customer_id = _customer(engine)
    with engine.begin() as conn:
        assert store.suppress(conn, "anna.berg@example.com", HARD_BOUNCE, Channel.BOUNCE, detail="5.1.1 user unknown")
        assert not store.suppress(conn, "ANNA.BERG@example.com", COMPLAINED, Channel.COMPLAINT)
    with engine.connect() as conn:
        found = store.suppression_of(conn, " Anna.Berg@Example.com ")
        assert (found.reason, found.detail, found.customer_id) == (HARD_BOUNCE, "5.1.1 user unknown", customer_id)
        assert store.suppressed_among(conn, ["Anna.Berg@Example.com", "bob@example.com"]) == {
            "Anna.Berg@Example.com": HARD_BOUNCE}
    assert _events(engine) == [("suppressed", None, '"hard-bounce"', "bounce", None)]


def test_lifting_writes_who_did_it_and_an_unknown_address_is_suppressed_without_an_event(engine):
    _customer(engine)
    with engine.begin() as conn:
        store.suppress(conn, "anna.berg@example.com", MANUAL, Channel.OPERATOR, actor="ops", detail="asked by phone")
        assert store.suppress(conn, "nobody@example.com", HARD_BOUNCE, Channel.BOUNCE)
    with engine.begin() as conn:
        lifted = store.lift(conn, "Anna.Berg@example.com", Channel.API, actor="crm-sync")
        assert lifted.reason == MANUAL and store.lift(conn, "anna.berg@example.com", Channel.API) is None
        assert store.suppression_of(conn, "anna.berg@example.com") is None
        assert store.lift(conn, "nobody@example.com", Channel.OPERATOR).customer_id is None
    assert _events(engine) == [("suppressed", None, '"manual"', "operator", "ops"),
                               ("suppressed", '"manual"', None, "api", "crm-sync")]


def test_an_operator_suppresses_by_hand_with_a_note_and_mistakes_name_their_fields(engine):
    customer_id = _customer(engine)
    with engine.begin() as conn:
        with pytest.raises(InvalidInput) as refused:
            store.suppress_by_hand(conn, "not an address", "  ", Channel.OPERATOR, actor="ops")
        assert set(refused.value.errors) == {"email", "note"}
        with pytest.raises(InvalidInput) as refused:
            store.suppress_by_hand(conn, "anna.berg@example.com", "two\nlines", Channel.OPERATOR, actor="ops")
        assert set(refused.value.errors) == {"note"}
        found, added = store.suppress_by_hand(conn, " Anna.Berg@Example.com", " asked by phone ", Channel.API,
                                              actor="crm-sync")
        assert added and (found.address, found.reason, found.detail, found.actor, found.customer_id) == (
            "anna.berg@example.com", MANUAL, "asked by phone", "crm-sync", customer_id)
        again, added = store.suppress_by_hand(conn, "ANNA.BERG@example.com", "again", Channel.API, actor="other")
    assert not added and again == found
    assert _events(engine) == [("suppressed", None, '"manual"', "api", "crm-sync")]


def test_entries_newest_first_by_reason_and_address_with_their_customer_and_reports(engine):
    with engine.begin() as conn:
        # Suppressed before the address was imported: the entry finds its customer by the address.
        store.suppress(conn, "Anna.Berg@Example.com", HARD_BOUNCE, Channel.BOUNCE, detail="5.1.1")
    customer_id = _customer(engine)
    with engine.begin() as conn:
        store.suppress(conn, "bob@example.com", MANUAL, Channel.OPERATOR, actor="ops", detail="asked")
        store.suppress(conn, "carl@example.com", HARD_BOUNCE, Channel.BOUNCE)
        at = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
        conn.execute(bounce_report.insert(), [
            dict(report_key=f"r{n}", kind="soft" if n < 6 else "hard", source="mailbox", address=address,
                 customer_id=customer_id, status="5.1.1", detail=f"report {n}", reported_at=at + timedelta(hours=n),
                 recorded_at=at) for n, address in enumerate(["anna.berg@example.com"] * 7 + ["old@example.com"])])
    with engine.connect() as conn:
        newest = entries.newest(conn)
        assert [e.suppression.address for e in newest] == ["carl@example.com", "bob@example.com",
                                                           "anna.berg@example.com"]
        anna = newest[-1]
        assert (anna.suppression.customer_id, anna.external_id, anna.customer_status) == (None, "c1", "active")
        assert newest[0].external_id is None and newest[0].customer_status is None
        assert [e.suppression.address for e in entries.newest(conn, before=newest[0].suppression.id, limit=1)] == [
            "bob@example.com"]
        assert [e.suppression.address for e in entries.newest(conn, reason=HARD_BOUNCE)] == [
            "carl@example.com", "anna.berg@example.com"]
        assert [e.suppression.id for e in entries.newest(conn, email=" ANNA.berg@example.COM")] == [anna.suppression.id]
        assert entries.entry(conn, anna.suppression.id) == anna and entries.entry(conn, 10**9) is None
        reports = entries.reports_behind(conn, anna)
        assert [r.detail for r in reports] == [f"report {n}" for n in (6, 5, 4, 3, 2)]
        assert reports[0].kind == "hard" and entries.reports_behind(conn, newest[0]) == []
