"""The rules of recording on SQLite and PostgreSQL: a hard bounce suppresses at once, soft ones
after repeats of different messages within the days, a complaint unsubscribes and suppresses;
every report once."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from preferences import store as customers_store
from preferences.customers import CustomerData
from preferences.links import EditionRef
from preferences.models import Channel, Preference, consent_event_table, customer_table
from preferences.suppression import store
from preferences.suppression.recording import (BY_ADDRESS, BY_MESSAGE_ID, BY_RETURN_PATH, Matched, Outcome,
                                               SoftBounceRule, record_reports)
from preferences.suppression.reports import Report, kind_of, report_key
from preferences.suppression.tables import COMPLAINT, HARD, SOFT, bounce_report

DAY = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)  # reports further on stay in the past
RULE = SoftBounceRule(limit=3, days=30)


def customer(engine, n: int = 1, status: str = "active") -> int:
    with Session(engine) as session:
        found = customers_store.create_customer(
            session, CustomerData(external_id=f"c{n}", email=f"Kunde.{n}@Example.com", status=status), Channel.API,
            default_locale="de")
        session.commit()
        return found.id


def matched(customer_id: int, kind: str, key: str, *, n: int = 1, by: str = BY_MESSAGE_ID, at: datetime = DAY,
            message_id: str | None = None, edition: date | None = date(2026, 11, 23)) -> Matched:
    report = Report(key=report_key("mailbox", key, f"kunde.{n}@example.com"), kind=kind,
                    address=f"kunde.{n}@example.com", message_id=message_id,
                    status={HARD: "5.1.1", SOFT: "4.2.2", COMPLAINT: None}[kind], detail="x", reported_at=at)
    return Matched(report, customer_id, f"Kunde.{n}@Example.com", by, "weekly" if edition else None, edition,
                   message_id)


def record(engine, items, rule=RULE):
    with Session(engine) as session:
        done = record_reports(session, items, rule)
        session.commit()
        return [(r.outcome, r.suppressed) for r in done]


def suppressed(engine, n: int = 1):
    with engine.connect() as conn:
        return store.suppression_of(conn, f"kunde.{n}@example.com")


def events(engine, field: str):
    with engine.connect() as conn:
        return conn.execute(select(consent_event_table.c.new_value, consent_event_table.c.channel,
                                   consent_event_table.c.template, consent_event_table.c.edition_date)
                            .where(consent_event_table.c.field == field).order_by(consent_event_table.c.id)).all()


def test_a_hard_bounce_suppresses_at_once_naming_the_edition(engine):
    cid = customer(engine)
    assert record(engine, [matched(cid, HARD, "<r1@mx>", message_id="<m1@nh>")]) == [(Outcome.HARD, True)]
    found = suppressed(engine)
    assert (found.reason, found.customer_id, found.address) == ("hard-bounce", cid, "kunde.1@example.com")
    assert found.detail.startswith("5.1.1")
    assert events(engine, "suppressed") == [('"hard-bounce"', "bounce", "weekly", date(2026, 11, 23))]
    with engine.connect() as conn:
        row = conn.execute(select(bounce_report)).one()
    assert (row.kind, row.source, row.address, row.customer_id, row.message_id, row.status) == (
        HARD, "mailbox", "kunde.1@example.com", cid, "<m1@nh>", "5.1.1")


def test_every_report_is_recorded_once(engine):
    cid = customer(engine)
    item = matched(cid, SOFT, "<r1@mx>")
    assert record(engine, [item, item]) == [(Outcome.SOFT, False), (Outcome.DUPLICATE, False)]
    assert record(engine, [item]) == [(Outcome.DUPLICATE, False)]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(bounce_report)).scalar() == 1


def test_soft_bounces_of_three_different_messages_within_the_days_suppress(engine):
    cid = customer(engine)
    first = [matched(cid, SOFT, f"<r{n}@mx>", message_id=f"<m{n}@nh>", at=DAY + timedelta(days=7 * n))
             for n in range(2)]
    assert record(engine, first) == [(Outcome.SOFT, False)] * 2
    assert suppressed(engine) is None
    third = matched(cid, SOFT, "<r2@mx>", message_id="<m2@nh>", at=DAY + timedelta(days=14))
    assert record(engine, [third]) == [(Outcome.SOFT, True)]
    assert suppressed(engine).reason == "soft-bounces"
    assert "3 messages bounced within 30 days" in suppressed(engine).detail


def test_one_message_delayed_again_and_again_counts_once(engine):
    cid = customer(engine)
    again = [matched(cid, SOFT, f"<delay{n}@mx>", message_id="<m1@nh>", at=DAY + timedelta(hours=4 * n))
             for n in range(5)]
    assert record(engine, again) == [(Outcome.SOFT, False)] * 5
    assert suppressed(engine) is None


def test_soft_bounces_further_apart_than_the_days_do_not_add_up(engine):
    cid = customer(engine)
    items = [matched(cid, SOFT, f"<r{n}@mx>", message_id=f"<m{n}@nh>", at=DAY + timedelta(days=20 * n))
             for n in range(3)]
    assert record(engine, items) == [(Outcome.SOFT, False)] * 3
    assert record(engine, [matched(cid, SOFT, "<r9@mx>", message_id="<m9@nh>", at=DAY + timedelta(days=41))],
                  SoftBounceRule(limit=2, days=30)) == [(Outcome.SOFT, True)]


def test_reports_without_message_id_count_per_edition(engine):
    cid = customer(engine)
    same_edition = [matched(cid, SOFT, f"<r{n}@mx>", by=BY_RETURN_PATH) for n in range(3)]
    assert record(engine, same_edition) == [(Outcome.SOFT, False)] * 3
    no_edition = [matched(cid, SOFT, f"<x{n}@mx>", by=BY_RETURN_PATH, edition=None, at=DAY + timedelta(hours=1 + n))
                  for n in range(2)]
    assert record(engine, no_edition) == [(Outcome.SOFT, False), (Outcome.SOFT, True)]


def test_a_hard_bounce_known_by_the_address_alone_only_counts_as_a_repeat(engine):
    cid = customer(engine)
    items = [matched(cid, HARD, f"<r{n}@mx>", by=BY_ADDRESS, message_id=f"<m{n}@nh>") for n in range(3)]
    assert record(engine, items[:2]) == [(Outcome.HARD, False)] * 2
    assert record(engine, items[2:]) == [(Outcome.HARD, True)]
    assert suppressed(engine).reason == "soft-bounces"


def test_a_complaint_unsubscribes_and_suppresses(engine):
    cid, pending = customer(engine, 1), customer(engine, 2, status="pending")
    with engine.connect() as conn:
        version = conn.execute(select(Preference.version).where(Preference.customer_id == cid)).scalar()
    got = record(engine, [matched(cid, COMPLAINT, "<arf1@fbl>"), matched(pending, COMPLAINT, "<arf2@fbl>", n=2)])
    assert got == [(Outcome.COMPLAINT, True), (Outcome.COMPLAINT, True)]
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(customer_table.c.id, customer_table.c.status)).all())
        assert conn.execute(select(Preference.version).where(Preference.customer_id == cid)).scalar() == version + 1
    assert {str(s) for s in statuses.values()} == {"unsubscribed"}
    assert events(engine, "status")[-2:] == [('"unsubscribed"', "complaint", "weekly", date(2026, 11, 23))] * 2
    assert suppressed(engine).reason == "complaint"


def test_a_complaint_about_an_address_already_suppressed_still_unsubscribes(engine):
    cid = customer(engine)
    assert record(engine, [matched(cid, HARD, "<r1@mx>")]) == [(Outcome.HARD, True)]
    assert record(engine, [matched(cid, COMPLAINT, "<arf1@fbl>")]) == [(Outcome.COMPLAINT, False)]
    assert suppressed(engine).reason == "hard-bounce"
    assert [e.new_value for e in events(engine, "status")] == ['"unsubscribed"']
    assert record(engine, [matched(cid, COMPLAINT, "<arf2@fbl>")]) == [(Outcome.COMPLAINT, False)]
    assert len(events(engine, "status")) == 1  # already unsubscribed: nothing written


def test_suppress_many_puts_each_address_on_the_list_once(engine):
    cid = customer(engine)
    with engine.begin() as conn:
        assert store.suppress(conn, "other@example.com", "manual", Channel.OPERATOR)
        added = store.suppress_many(conn, [
            store.Suppressing("Kunde.1@Example.com", "hard-bounce", Channel.BOUNCE, cid, "5.1.1",
                              EditionRef("weekly", date(2026, 11, 23))),
            store.Suppressing("kunde.1@example.com", "complaint", Channel.COMPLAINT, cid),
            store.Suppressing("other@example.com", "hard-bounce", Channel.BOUNCE, cid)])
    assert added == {"kunde.1@example.com"}
    assert suppressed(engine).reason == "hard-bounce"
    assert events(engine, "suppressed")[-1] == ('"hard-bounce"', "bounce", "weekly", date(2026, 11, 23))
    with pytest.raises(ValueError, match="unknown suppression reason"):
        with engine.begin() as conn:
            store.suppress_many(conn, [store.Suppressing("x@example.com", "bored", Channel.BOUNCE, cid)])


@pytest.mark.parametrize("action, status, kind", [
    ("failed", "5.1.1", HARD), ("Failed", "5.1.2", HARD), ("failed", "5.7.1", SOFT), ("failed", "4.4.7", SOFT),
    ("delayed", "4.4.7", SOFT), ("delayed", None, SOFT), ("failed", None, SOFT), ("delivered", "2.0.0", None),
    ("relayed", None, None), ("expanded", "2.0.0", None), ("unknown-action", "5.1.1", HARD)])
def test_what_an_action_and_status_mean(action, status, kind):
    assert kind_of(action, status) == kind


def test_a_rule_needs_positive_numbers():
    with pytest.raises(ValueError):
        SoftBounceRule(limit=0)
