"""Matching reports to the deliveries they are about, on SQLite and PostgreSQL: the demo edition
sent into a Maildir, then bounced by its real Message-IDs, by VERP return paths, by address."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from bounce_samples import Rcpt, arf, dsn, headers_of
from preferences.mail.bounce_mail import read_bounce_mail
from preferences.models import customer_table, new_public_id
from preferences.suppression.recording import BY_ADDRESS, BY_MESSAGE_ID, BY_RETURN_PATH, Outcome, SoftBounceRule
from preferences.suppression.reports import Report
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.tables import bounce_report
from service.lifecycle.bounces import match_reports, record_batch
from service.settings import Settings
from send_fixtures import EDITION, add_customers, age_deliveries, db_url, engine, migrated_postgres_url, send_demo_edition  # noqa: F401

RETURN_PATH = ReturnPath(Settings().bounce_address, Settings().link_keys)


def soon() -> str:
    """A report's date just after the send (the report's own clamp makes it now)."""
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=5))


def canonical_public_ids(engine, ids) -> None:
    """Public ids as the service makes them (the fixtures' "pub000..." do not survive a round
    trip through their 16 bytes, which a return path carries)."""
    with engine.begin() as conn:
        for id_ in ids:
            conn.execute(customer_table.update().where(customer_table.c.id == id_).values(public_id=new_public_id()))


@pytest.fixture
def sent(engine, db_url, tmp_path):
    """Four customers sent the demo edition: their messages by address, and their public ids."""
    canonical_public_ids(engine, add_customers(engine, 4))
    messages, _ = send_demo_edition(engine, db_url, tmp_path / "outbox")
    with engine.connect() as conn:
        public = dict(conn.execute(select(customer_table.c.email, customer_table.c.public_id)).all())
    return {m["To"].addresses[0].addr_spec: m for m in messages}, public


def reports_of(raw: bytes) -> list[Report]:
    found = read_bounce_mail(raw)
    assert found, found
    return found


def test_a_report_is_matched_by_the_real_message_id_with_its_edition(engine, sent):
    messages, _ = sent
    original = messages["kunde.2@example.com"].as_bytes()
    with engine.connect() as conn:
        [found] = match_reports(conn, reports_of(dsn("bounces@nordhaus.example", [Rcpt("kunde.2@example.com")],
                                                     original=original)), RETURN_PATH)
    assert (found.by, found.email, found.template, found.edition_date) == (BY_MESSAGE_ID, "kunde.2@example.com",
                                                                          "weekly", EDITION)
    assert found.message_id == str(messages["kunde.2@example.com"]["Message-ID"]).strip()


def test_a_report_that_quotes_nothing_is_matched_by_the_return_path_and_the_latest_edition(engine, sent):
    _, public = sent
    verp = RETURN_PATH.for_customer(public["kunde.3@example.com"])
    with engine.connect() as conn:
        [found] = match_reports(conn, reports_of(dsn(verp, [Rcpt("someone@forward.example", last_attempt=None)],
                                                     returned=None, arrival=soon())),
                                RETURN_PATH)
    assert (found.by, found.email, found.template, found.edition_date) == (BY_RETURN_PATH, "kunde.3@example.com",
                                                                          "weekly", EDITION)


def test_a_forged_return_path_matches_nobody(engine, sent):
    _, public = sent
    verp = RETURN_PATH.for_customer(public["kunde.3@example.com"])
    forged = verp[:-len("@nordhaus.example") - 1] + ("a" if verp[-len("@nordhaus.example") - 1] != "a" else "b") \
        + "@nordhaus.example"
    with engine.connect() as conn:
        assert match_reports(conn, reports_of(dsn(forged, [Rcpt("x@forward.example")], returned=None)),
                             RETURN_PATH) == [None]


def test_the_address_is_the_last_resort_and_only_a_customer_s(engine, sent):
    raw = dsn("bounces@nordhaus.example", [Rcpt("Kunde.4@Example.com", last_attempt=None), Rcpt("nobody@example.org")],
              returned=None, arrival=soon())
    with engine.connect() as conn:
        by_address, nobody = match_reports(conn, reports_of(raw), RETURN_PATH)
    assert (by_address.by, by_address.email, by_address.edition_date) == (BY_ADDRESS, "kunde.4@example.com", EDITION)
    assert nobody is None


def test_a_message_id_does_not_hold_for_another_customer_named_beside(engine, sent):
    messages, _ = sent
    original = messages["kunde.1@example.com"].as_bytes()
    raw = dsn("bounces@nordhaus.example", [Rcpt("kunde.1@example.com"), Rcpt("kunde.2@example.com", status="5.2.1"),
                                           Rcpt("forwarded@elsewhere.example", status="5.1.1")], original=original)
    with engine.connect() as conn:
        first, second, third = match_reports(conn, reports_of(raw), RETURN_PATH)
    assert (first.by, first.email) == (BY_MESSAGE_ID, "kunde.1@example.com")
    assert (second.by, second.email) == (BY_ADDRESS, "kunde.2@example.com")
    assert (third.by, third.email) == (BY_MESSAGE_ID, "kunde.1@example.com")  # nobody's address: the message's


def test_a_batch_is_recorded_once_with_its_outcomes(engine, sent):
    messages, public = sent
    rule = SoftBounceRule()
    reports = (reports_of(dsn("bounces@nordhaus.example", [Rcpt("kunde.1@example.com")],
                              original=messages["kunde.1@example.com"].as_bytes()))
               + reports_of(arf("fbl@nordhaus.example", original=headers_of(messages["kunde.2@example.com"].as_bytes()),
                                returned="headers", mail_from=RETURN_PATH.for_customer(public["kunde.2@example.com"])))
               + reports_of(dsn("bounces@nordhaus.example", [Rcpt("nobody@example.org")], returned=None,
                                report_id="<other@mx>")))
    got = record_batch(engine, reports, RETURN_PATH, rule)
    assert [(r.outcome, r.suppressed) for r in got] == [(Outcome.HARD, True), (Outcome.COMPLAINT, True),
                                                        (Outcome.UNMATCHED, False)]
    again = record_batch(engine, reports, RETURN_PATH, rule)
    assert [r.outcome for r in again] == [Outcome.DUPLICATE, Outcome.DUPLICATE, Outcome.UNMATCHED]
    with engine.connect() as conn:
        rows = conn.execute(select(bounce_report.c.kind, bounce_report.c.address, bounce_report.c.template,
                                   bounce_report.c.edition_date).order_by(bounce_report.c.id)).all()
        status = conn.execute(select(customer_table.c.status).where(customer_table.c.email == "kunde.2@example.com"))
        assert str(status.scalar()) == "unsubscribed"
    assert rows == [("hard", "kunde.1@example.com", "weekly", EDITION),
                    ("complaint", "kunde.2@example.com", "weekly", EDITION)]


def test_a_report_long_after_the_edition_names_no_edition(engine, sent):
    _, public = sent
    verp = RETURN_PATH.for_customer(public["kunde.1@example.com"])
    soon = Report(key="mailbox:soon kunde.1", kind="soft", return_paths=(verp,),
                  reported_at=datetime.now(timezone.utc))
    with engine.connect() as conn:
        [found] = match_reports(conn, [soon], RETURN_PATH)
    assert found.edition_date == EDITION
    age_deliveries(engine, by=timedelta(days=31))  # the edition went out a month before the report
    with engine.connect() as conn:
        [found] = match_reports(conn, [soon], RETURN_PATH)
    assert (found.by, found.template, found.edition_date) == (BY_RETURN_PATH, None, None)
