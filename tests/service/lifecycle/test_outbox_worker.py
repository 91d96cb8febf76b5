"""The outbox worker against real relays: a confirmation queued by a signup reaches the
customer once, through a relay that is down and comes back, through a crash after the handover,
and not at all when it is no longer owed. SQLite and PostgreSQL."""

from __future__ import annotations

import mailbox
from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import select, update
from sqlmodel import Session

from preferences.links import LinkSigner
from preferences.models import Channel
from preferences.optin import outbox as queue
from preferences.optin.requests import Asked, Signup, sign_up
from preferences.optin.tables import FAILED, QUEUED, SENT, opt_in, outbox
from preferences.pending import pending_customer
from preferences.suppression import store as suppressions
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.tables import HARD_BOUNCE
from preferences.utc import utcnow
from service.content.check import load_content
from service.delivery.base import Envelope
from service.delivery.maildir import MaildirTarget
from service.delivery.registry import parse_target
from service.lifecycle.confirmations import ConfirmationMessages
from service.lifecycle.outbox_worker import OutboxThread, OutboxWorker
from service.settings import Settings
from repo_paths import CONTENT
from send_fixtures import db_url, engine, free_port, migrated_postgres_url, smtp_relay, wait_until  # noqa: F401

KEYS = Settings().link_keys
BASE = "https://news.example"
GROUPS = ("outdoor", "garden", "kitchen", "kids")


def signup(engine, email="anna@example.com", locale="de"):
    with Session(engine) as session:
        sign_up(session, Signup(email=email, locale=locale, interests=frozenset(GROUPS), first_name="Anna"),
                Asked(Channel.SIGNUP, source="hosted"), known_groups=GROUPS, locales=("de", "en"))
        session.commit()


def worker(engine, target, name="w1") -> OutboxWorker:
    content = load_content(CONTENT)
    return OutboxWorker(engine, target, ConfirmationMessages("newsletter@nordhaus.example", lambda: content),
                        LinkSigner(KEYS), BASE, ReturnPath("bounces@nordhaus.example", KEYS), name=name)


def states(engine):
    with engine.connect() as conn:
        return conn.execute(select(outbox.c.state, outbox.c.attempts, outbox.c.answer).order_by(outbox.c.id)).all()


def test_a_queued_confirmation_reaches_the_maildir_with_the_link_the_return_path_and_the_language(engine, tmp_path):
    signup(engine, locale="de")
    assert worker(engine, MaildirTarget(tmp_path)).drain().sent == 1
    [message] = [message_from_bytes(m.as_bytes(), policy=policy.default) for m in mailbox.Maildir(tmp_path)]
    assert message["To"] == "anna@example.com" and message["Subject"] == "Bitte bestätigen Sie Ihre Anmeldung"
    assert f"{BASE}/confirm/" in message.get_content()
    assert [(s, a) for s, a, _ in states(engine)] == [(SENT, 1)]
    assert worker(engine, MaildirTarget(tmp_path)).drain().sent == 0  # sent is sent


def test_relay_down_while_queued_then_up_exactly_one_confirmation_arrives(engine, smtp_relay):
    relay, port = smtp_relay
    signup(engine)
    down = parse_target(f"smtp://127.0.0.1:{free_port()}?retries=0&timeout=2")
    drained = worker(engine, down).drain()
    assert (drained.sent, drained.deferred) == (0, 1)
    [(state, attempts, answer)] = states(engine)
    assert state == QUEUED and attempts == 1 and answer
    up = parse_target(f"smtp://127.0.0.1:{port}")
    assert worker(engine, up).drain().sent == 0  # backing off: not due yet
    later = utcnow() + timedelta(minutes=2)
    assert worker(engine, up).drain(now=later).sent == 1
    assert worker(engine, up).drain(now=later + timedelta(hours=1)).sent == 0
    [(mail_from, rcpts, data)] = relay.messages
    assert rcpts == ["anna@example.com"]
    assert ReturnPath("bounces@nordhaus.example", KEYS).public_id_of(mail_from) is not None
    assert b"/confirm/" in data


def test_a_worker_that_died_after_the_handover_is_not_repeated_where_the_destination_can_tell(engine, tmp_path):
    signup(engine)
    target = MaildirTarget(tmp_path)
    first = worker(engine, target, "dies")
    with engine.begin() as conn:  # claimed and named, handed over, then the worker died
        [claimed] = queue.claim(conn, "dies")
        queue.named(conn, claimed.id, "dies", "<died.1@nordhaus.example>")
    with engine.connect() as conn:
        customer = pending_customer(conn, LinkSigner(KEYS), BASE, claimed.customer_id)
    _, data = first.messages.message(customer, "<died.1@nordhaus.example>")
    deliverer = target.open()
    deliverer.deliver(Envelope("bounces@nordhaus.example", customer.email, "<died.1@nordhaus.example>", data))
    deliverer.flush()
    deliverer.close()
    after_lease = utcnow() + timedelta(minutes=6)
    assert worker(engine, target, "next").drain(now=after_lease).sent == 1
    assert len(list(mailbox.Maildir(tmp_path))) == 1
    assert states(engine)[0][2] == "found at the destination after a restart"


def test_mail_no_longer_owed_is_given_up_with_why(engine, tmp_path):
    signup(engine, "expired@example.com")
    signup(engine, "bounced@example.com")
    with engine.begin() as conn:
        conn.execute(update(opt_in).where(opt_in.c.id == 1).values(expires_at=utcnow() - timedelta(seconds=1)))
        suppressions.suppress(conn, "bounced@example.com", HARD_BOUNCE, Channel.BOUNCE)
    drained = worker(engine, MaildirTarget(tmp_path)).drain()
    assert (drained.sent, drained.failed) == (0, 2)
    assert [(s, a) for s, _, a in states(engine)] == [
        (FAILED, "not sent: its link expired before any relay took it"), (FAILED, "not sent: the address is suppressed")]
    assert list(mailbox.Maildir(tmp_path)) == []


def test_the_thread_sends_as_soon_as_it_is_woken(engine, tmp_path):
    thread = OutboxThread(worker(engine, MaildirTarget(tmp_path)), interval=60)
    thread.start()
    try:
        signup(engine)
        thread.wake()
        wait_until(lambda: (tmp_path / "new").is_dir() and len(list(mailbox.Maildir(tmp_path))) == 1)
    finally:
        thread.stop()
