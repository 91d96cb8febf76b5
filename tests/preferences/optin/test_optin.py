"""Double opt-in on SQLite and PostgreSQL: requests, the rate per address, confirmation with
proof, expiry, and the outbox's claims."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from preferences import store
from preferences.customers import CustomerData
from preferences.models import Channel, Customer, Status, consent_event_table, customer_table
from preferences.optin import outbox, wording
from preferences.optin.confirmation import Confirmed, confirm
from preferences.optin.expiry import Expired, expire_unconfirmed
from preferences.optin.requests import Asked, Outcome, Signup, sign_up
from preferences.optin.tables import CLAIMED, FAILED, QUEUED, SENT, opt_in, outbox as outbox_table
from preferences.suppression import store as suppressions
from preferences.suppression.tables import HARD_BOUNCE
from preferences.utc import utcnow

GROUPS = ("outdoor", "garden", "kitchen")
LOCALES = ("de", "en")
ASKED = Asked(Channel.SIGNUP, source="hosted", client_hash="c" * 64, user_agent="Firefox/140", wording=None)


def signup(engine, email="anna@example.com", now=None, **kwargs) -> Outcome:
    data = Signup(email=email, locale=kwargs.pop("locale", "en"), interests=frozenset(kwargs.pop("interests", GROUPS)),
                  first_name=kwargs.pop("first_name", None))
    with Session(engine) as session:
        outcome = sign_up(session, data, kwargs.pop("asked", ASKED), known_groups=GROUPS, locales=LOCALES, now=now)
        session.commit()
    return outcome


def customer(engine, email="anna@example.com") -> Customer:
    with Session(engine) as session:
        return session.scalars(select(Customer).where(Customer.email == email)).one()


def queued(engine):
    with engine.connect() as conn:
        return conn.execute(select(outbox_table.c.customer_id, outbox_table.c.state)
                            .order_by(outbox_table.c.id)).all()


def test_a_new_address_becomes_pending_with_its_choices_and_one_queued_confirmation(engine):
    assert signup(engine, interests={"garden"}, first_name="Anna", locale="de") is Outcome.CREATED
    anna = customer(engine)
    assert (anna.status, anna.locale, anna.first_name) == (Status.PENDING, "de", "Anna")
    assert anna.external_id.startswith("signup:")
    with Session(engine) as session:
        assert store.get_preference(session, anna.id).excluded_groups == ["kitchen", "outdoor"]
    assert queued(engine) == [(anna.id, QUEUED)]
    with engine.connect() as conn:
        request = conn.execute(select(opt_in)).one()
    assert (request.channel, request.source, request.request_client, request.request_user_agent) == (
        "signup", "hosted", "c" * 64, "Firefox/140")
    assert request.expires_at - request.requested_at == timedelta(days=7)


def test_every_state_answers_alike_but_only_some_get_mail(engine):
    now = utcnow()
    assert signup(engine, now=now) is Outcome.CREATED
    # Again at once: throttled (one per ten minutes), later: another confirmation.
    assert signup(engine, "ANNA@example.com", now=now + timedelta(minutes=1)) is Outcome.THROTTLED
    assert signup(engine, now=now + timedelta(minutes=11)) is Outcome.QUEUED
    assert signup(engine, now=now + timedelta(minutes=22)) is Outcome.QUEUED
    assert signup(engine, now=now + timedelta(minutes=33)) is Outcome.THROTTLED  # three a day at most
    assert len(queued(engine)) == 3
    with engine.begin() as conn:
        suppressions.suppress(conn, "bob@example.com", HARD_BOUNCE, Channel.BOUNCE)
    assert signup(engine, "bob@example.com") is Outcome.SUPPRESSED
    with Session(engine) as session:
        assert session.scalars(select(Customer).where(Customer.email == "bob@example.com")).first() is None


def test_confirming_records_the_proof_and_a_subscribed_address_gets_nothing_more(engine):
    signup(engine, interests={"garden", "kitchen"})
    with engine.begin() as conn:
        shown = wording.keep(conn, "en", wording.text(wording.CONFIRM, "en", "Weekly newsletter"))
    with Session(engine) as session:
        anna = session.scalars(select(Customer)).one()
        proof = Asked(Channel.PAGE, client_hash="d" * 64, user_agent="Safari/18", wording=shown)
        assert confirm(session, anna, proof, known_groups=GROUPS, locales=LOCALES) is Confirmed.CONFIRMED
        session.commit()
    with engine.connect() as conn:
        request = conn.execute(select(opt_in)).one()
        assert request.confirmed_at is not None
        assert (request.confirm_client, request.confirm_user_agent, request.confirm_channel, request.confirm_wording) \
            == ("d" * 64, "Safari/18", "page", shown)
        assert wording.is_known(conn, shown) and not wording.is_known(conn, "en-0000000000000000")
    assert customer(engine).status is Status.ACTIVE
    assert signup(engine) is Outcome.SUBSCRIBED
    assert len(queued(engine)) == 1


def test_an_expired_link_confirms_nothing_and_a_resubscribe_applies_what_was_asked_on_confirmation(engine):
    past = utcnow() - timedelta(days=8)
    signup(engine, now=past)
    with Session(engine) as session:
        anna = session.scalars(select(Customer)).one()
        assert confirm(session, anna, ASKED, known_groups=GROUPS, locales=LOCALES) is Confirmed.EXPIRED
        store.unsubscribe(session, anna, Channel.PAGE)
        session.commit()
    # Unsubscribed, signs up again in German for the kitchen only: applied when confirmed.
    assert signup(engine, locale="de", interests={"kitchen"}) is Outcome.QUEUED
    with Session(engine) as session:
        anna = session.scalars(select(Customer)).one()
        assert anna.status is Status.PENDING and anna.locale == "en"
        assert confirm(session, anna, ASKED, known_groups=GROUPS, locales=LOCALES) is Confirmed.CONFIRMED
        session.commit()
        assert (anna.locale, store.get_preference(session, anna.id).excluded_groups) == ("de", ["garden", "outdoor"])


def test_unconfirmed_signups_are_deleted_in_time_and_former_customers_go_back_to_unsubscribed(engine):
    now = utcnow()
    signup(engine, "new@example.com", now=now - timedelta(days=31))
    signup(engine, "recent@example.com", now=now - timedelta(days=2))
    with Session(engine) as session:
        former = store.create_customer(session, CustomerData(external_id="former", email="former@example.com"), Channel.IMPORT, default_locale="de")
        store.unsubscribe(session, former, Channel.PAGE)
        session.commit()
    signup(engine, "former@example.com", now=now - timedelta(days=40))
    with engine.begin() as conn:
        assert expire_unconfirmed(conn, timedelta(days=30), now=now) == Expired(deleted=1, unsubscribed=1)
        assert expire_unconfirmed(conn, timedelta(days=30), now=now) == Expired(deleted=0, unsubscribed=0)
    with engine.connect() as conn:
        emails = dict(conn.execute(select(customer_table.c.email, customer_table.c.status)).all())
        assert emails == {"recent@example.com": "pending", "former@example.com": "unsubscribed"}
        system = conn.execute(select(consent_event_table.c.field, consent_event_table.c.new_value)
                              .where(consent_event_table.c.channel == "system")
                              .order_by(consent_event_table.c.id)).all()
    assert sorted(system) == [("deleted", '"never confirmed"'), ("status", '"unsubscribed"')]


def test_the_outbox_hands_each_mail_to_one_worker_and_backs_off_after_a_failure(engine):
    signup(engine, "a@example.com")
    signup(engine, "b@example.com")
    now = utcnow()
    with engine.begin() as conn:
        first = outbox.claim(conn, "w1", now=now)
        assert [c.attempts for c in first] == [1, 1]
        assert outbox.claim(conn, "w2", now=now) == []
        assert outbox.named(conn, first[0].id, "w1", "<m1@x>")
        assert outbox.sent(conn, first[0].id, "w1", "250 ok", now=now)
        assert outbox.deferred(conn, first[1].id, "w1", first[1].attempts, "451 later", now=now)
        assert not outbox.sent(conn, first[1].id, "w1", "late answer")  # no longer its claim
        assert outbox.claim(conn, "w2", now=now + timedelta(seconds=30)) == []
        [again] = outbox.claim(conn, "w2", now=now + timedelta(minutes=2))
        assert again.attempts == 2
        # w2 dies holding it: after the lease another worker takes it, with its Message-ID kept.
        outbox.named(conn, again.id, "w2", "<m2@x>")
        [taken] = outbox.claim(conn, "w3", now=now + timedelta(minutes=8))
        assert (taken.id, taken.message_id, taken.attempts) == (again.id, "<m2@x>", 3)
        assert outbox.failed(conn, taken.id, "w3", "550 no such user")
    assert [state for _, state in queued(engine)] == [SENT, FAILED]
    assert CLAIMED not in {state for _, state in queued(engine)}


@pytest.mark.parametrize("locale", LOCALES)
def test_a_wording_version_is_its_exact_text(engine, locale):
    text = wording.text(wording.SIGNUP, locale, "Nordhaus")
    assert "Nordhaus" in text
    with engine.begin() as conn:
        version = wording.keep(conn, locale, text)
        assert wording.keep(conn, locale, text) == version
        assert wording.keep(conn, locale, text + " ") != version
