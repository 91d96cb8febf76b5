"""The welcome mail and its series: sent by `newsletter send --due` to each customer once, on
the day of their first confirmation (and the series' later steps N days after), through the
ledger like an edition; the demo content's templates welcome/ (at once) and welcome-tips/ (+3d)."""

from __future__ import annotations

import mailbox
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select, update
from sqlmodel import Session
from typer.testing import CliRunner

from preferences.models import Channel, Customer, Frequency, customer_table, preference_table
from preferences.optin.confirmation import Confirmed, confirm
from preferences.optin.requests import Asked, Signup, sign_up
from preferences.optin.tables import opt_in
from preferences.suppression import store as suppressions
from preferences.suppression.tables import HARD_BOUNCE
from preferences.utc import utcnow
from service.cli.main import app
from service.content.check import load_content
from service.sending import ledger
from service.sending.due import TOO_LATE, due_triggered, plan_triggered
from send_fixtures import CONTENT, add_customers, db_url, engine, migrated_postgres_url  # noqa: F401

GROUPS = ("outdoor", "garden", "kitchen", "living", "kids", "tools", "lighting", "pets")


def signed_up(engine, email: str, *, interests=("garden",), locale="en", days_ago: float = 0,
              confirmed: bool = True) -> int:
    """A customer who signed up (and confirmed, at once) ``days_ago``; their id."""
    at = utcnow() - timedelta(days=days_ago)
    with Session(engine) as session:
        sign_up(session, Signup(email=email, locale=locale, interests=frozenset(interests), first_name="Anna"),
                Asked(Channel.SIGNUP), known_groups=GROUPS, locales=("de", "en"), now=at)
        session.commit()
    with Session(engine) as session:
        customer = session.scalars(select(Customer).where(Customer.email == email)).one()
        if confirmed:
            assert confirm(session, customer, Asked(Channel.PAGE), known_groups=GROUPS, locales=("de", "en"),
                           now=at + timedelta(minutes=5)) is Confirmed.CONFIRMED
        session.commit()
        return customer.id


@pytest.fixture
def send_due(db_url, tmp_path, monkeypatch):  # noqa: F811
    """``run()``: `newsletter send --due` into a Maildir; (result, the mails so far by recipient address)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSLETTER_CONTENT_DIR", str(CONTENT))
    monkeypatch.setenv("NEWSLETTER_RELAY", f"maildir:{tmp_path / 'relay'}")
    outbox = tmp_path / "outbox"

    def run(*extra: str):
        result = CliRunner().invoke(app, ["send", "--due", "--to", f"maildir:{outbox}", "--workers", "0",
                                          "--max-late", "0", *extra])
        mails = [message_from_bytes(m.as_bytes(), policy=policy.default)
                 for m in mailbox.Maildir(outbox, create=True)]
        return result, mails
    return run


def by_template(mails) -> dict[str, list[str]]:
    """The recipients of the mails by template (the Message-ID starts with it)."""
    found: dict[str, list[str]] = {}
    for mail in mails:
        template = mail["Message-ID"].strip(" <").split(".")[0]
        found.setdefault(template, []).append(mail["To"].addresses[0].addr_spec)
    return {k: sorted(v) for k, v in found.items()}


def test_a_new_subscriber_is_welcomed_once_with_the_blocks_of_their_groups(engine, send_due):  # noqa: F811
    signed_up(engine, "anna@example.com", interests=("garden",))
    signed_up(engine, "bert@example.com", interests=("kitchen", "outdoor"), locale="de")
    signed_up(engine, "carla@example.com", confirmed=False)  # pending: nothing but the confirmation
    add_customers(engine, 3)  # imported as active: no signup, no welcome
    result, mails = send_due()
    assert result.exit_code == 0, result.output
    assert by_template(mails) == {"welcome": ["anna@example.com", "bert@example.com"]}
    anna = next(m for m in mails if m["To"].addresses[0].addr_spec == "anna@example.com")
    assert anna["Subject"] == "Welcome to Nordhaus, Anna!"
    text = anna.get_body(("plain",)).get_content()
    assert "Your garden, our range" in text and "10% off your first order" in text
    assert "Cook with joy" not in text and "Get outside" not in text  # what she left out
    bert = next(m for m in mails if m["To"].addresses[0].addr_spec == "bert@example.com")
    assert bert["Subject"] == "Willkommen bei Nordhaus, Anna!"
    assert "Kochen mit Freude" in bert.get_body(("plain",)).get_content()
    assert "welcome " in result.output and "sent 2" in result.output
    again, mails = send_due()  # cron, a few minutes later
    assert again.exit_code == 0, again.output
    assert len(mails) == 2 and "welcome " not in again.output
    day = mails[0]["Message-ID"].strip(" <").split(".")[1]
    report = CliRunner().invoke(app, ["report", "welcome", "--date", day])
    assert report.exit_code == 0, report.output
    assert "customers 2  due 2  sent 2" in report.output  # its own customers, not the 3 imported ones


def test_the_series_next_step_comes_days_later_and_a_missed_welcome_is_not_sent_late(engine, send_due):  # noqa: F811
    # Confirmed four days ago: the welcome is past its max_late (3d), the tips (+3d) were due yesterday.
    late = signed_up(engine, "dora@example.com", interests=("kitchen",), days_ago=4)
    result, mails = send_due()
    assert result.exit_code == 0, result.output
    assert by_template(mails) == {"welcome-tips": ["dora@example.com"]}
    assert "welcome: 1 customer not sent, confirmed longer ago than its max_late" in result.output
    with engine.connect() as conn:
        rows = conn.execute(select(ledger.delivery.c.template, ledger.delivery.c.state, ledger.delivery.c.reason)
                            .where(ledger.delivery.c.customer_id == late)
                            .order_by(ledger.delivery.c.template)).all()
    assert [tuple(r) for r in rows] == [("welcome", "skipped", TOO_LATE), ("welcome-tips", "sent", None)]
    tips = mails[0].get_body(("plain",)).get_content()
    assert "Your first kitchen tip" in tips and "Your first garden tip" not in tips


def test_only_the_first_confirmation_welcomes_and_the_frequency_does_not_matter(engine, send_due):  # noqa: F811
    again = signed_up(engine, "erik@example.com")
    with engine.begin() as conn:  # erik first confirmed two months ago (then unsubscribed and came back)
        conn.execute(opt_in.insert().values(customer_id=again, channel="signup", requested_at=utcnow() - timedelta(60),
                                            expires_at=utcnow() - timedelta(53),
                                            confirmed_at=utcnow() - timedelta(60)))
    monthly = signed_up(engine, "fay@example.com")
    gone = signed_up(engine, "gus@example.com")
    bounced = signed_up(engine, "hal@example.com")
    with engine.begin() as conn:
        conn.execute(update(preference_table).where(preference_table.c.customer_id == monthly)
                     .values(frequency=Frequency.MONTHLY))
        conn.execute(update(customer_table).where(customer_table.c.id == gone).values(status="unsubscribed"))
        suppressions.suppress(conn, "hal@example.com", HARD_BOUNCE, Channel.BOUNCE, customer_id=bounced)
    result, mails = send_due()
    assert result.exit_code == 0, result.output
    assert by_template(mails) == {"welcome": ["fay@example.com"]}
    with engine.connect() as conn:
        skipped = conn.execute(select(ledger.delivery.c.customer_id, ledger.delivery.c.reason)
                               .where(ledger.delivery.c.state == "skipped")).all()
    assert [tuple(r) for r in skipped] == [(bounced, "suppressed")]


def test_planning_twice_or_after_a_crash_adds_nobody_twice(engine, send_due):  # noqa: F811
    signed_up(engine, "ida@example.com")
    content = load_content(CONTENT)
    [edition] = [e for e in due_triggered(content, utcnow()) if e.template == "welcome" and not e.too_late
                 and e.day == max(d.day for d in due_triggered(content, utcnow()))]
    assert plan_triggered(engine, content.templates["welcome"], edition) == 1
    assert plan_triggered(engine, content.templates["welcome"], edition) == 0  # a second cron, at once
    # The process that planned died before delivering: the next send --due delivers the row.
    result, mails = send_due()
    assert result.exit_code == 0, result.output
    assert by_template(mails) == {"welcome": ["ida@example.com"]}
    signed_up(engine, "jan@example.com")  # confirms later that day: the completed run opens again
    result, mails = send_due()
    assert by_template(mails) == {"welcome": ["ida@example.com", "jan@example.com"]}
    with engine.connect() as conn:
        run = ledger.get_run(conn, ledger.EditionKey("welcome", edition.day))
    assert run.completed_at is not None


def test_sending_a_welcome_by_hand_is_refused(send_due, db_url, monkeypatch):  # noqa: F811
    result = CliRunner().invoke(app, ["send", "welcome", "--date", "2026-12-04", "--to", "maildir:/nonexistent",
                                      "--workers", "0"])
    assert result.exit_code == 2
    assert "welcome is sent on an event (trigger: confirmed)" in result.output
