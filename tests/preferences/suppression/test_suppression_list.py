"""The suppression list on SQLite and PostgreSQL: once per address, a consent event per change."""

from sqlalchemy import select

from preferences.models import Channel, consent_event_table
from preferences.suppression import store
from preferences.suppression.tables import COMPLAINED, HARD_BOUNCE, MANUAL
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
