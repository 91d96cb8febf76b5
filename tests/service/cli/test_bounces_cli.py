"""`newsletter bounces process`: the demo edition sent, bounced and complained about as remote
servers report it, read from a real Maildir and from a real IMAP server, and recorded once."""

from __future__ import annotations

import mailbox
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bounce_samples import Rcpt, arf, dsn, out_of_office, prose_bounce
from imap_server import PASSWORD, imap_server  # noqa: F401
from preferences.models import ConsentEvent, Customer, customer_table, new_public_id
from preferences.suppression.return_path import ReturnPath
from preferences.suppression.tables import bounce_report, suppression
from service.cli.main import app
from service.settings import Settings
from send_fixtures import EDITION, add_customers, cli_db_url, engine, free_port, send_demo_edition  # noqa: F401

runner = CliRunner()
RETURN_PATH = ReturnPath(Settings().bounce_address, Settings().link_keys)


@pytest.fixture
def db_url(cli_db_url):
    return cli_db_url


@pytest.fixture
def sent(engine, db_url, tmp_path):
    """Four customers (with public ids as the service makes them) sent the demo edition: their
    messages' bytes and return paths by address."""
    ids = add_customers(engine, 4)
    with engine.begin() as conn:
        for id_ in ids:
            conn.execute(customer_table.update().where(customer_table.c.id == id_).values(public_id=new_public_id()))
    messages, _ = send_demo_edition(engine, db_url, tmp_path / "outbox")
    with engine.connect() as conn:
        public = dict(conn.execute(select(customer_table.c.email, customer_table.c.public_id)).all())
    return {m["To"].addresses[0].addr_spec: (m.as_bytes(), RETURN_PATH.for_customer(public[m["To"].addresses[0].addr_spec]))
            for m in messages}


def bounce_mailbox(sent) -> list[bytes]:
    (one, verp1), (two, verp2), (three, verp3) = (sent[f"kunde.{n}@example.com"] for n in (1, 2, 3))
    hard = dsn(verp1, [Rcpt("kunde.1@example.com")], original=one)
    return [
        hard,
        hard,  # the same report delivered twice
        dsn(verp2, [Rcpt("kunde.2@example.com", action="delayed", status="4.4.7", diagnostic=None)], original=two,
            returned="message", report_id="<delay.2@mx>"),
        arf("fbl@nordhaus.example", original=three, mail_from=verp3),
        dsn("bounces@nordhaus.example", [Rcpt("kunde.4@example.com", last_attempt=None), Rcpt("nobody@example.org")],
            returned=None, report_id="<multi@mx>", arrival=format_datetime(datetime.now(timezone.utc) + timedelta(seconds=5))),
        out_of_office(verp1),
        prose_bounce(verp2, "kunde.2@example.com"),
    ]


def test_a_bounce_mailbox_is_recorded_once(engine, sent, tmp_path):
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    for raw in bounce_mailbox(sent):
        box.add(raw)
    source = f"maildir:{tmp_path / 'bounces'}"
    result = runner.invoke(app, ["bounces", "process", "--from", source])
    assert result.exit_code == 0, result.output
    assert "7 mails read: 2 hard bounces, 1 soft bounces, 1 complaints; 2 addresses suppressed" in result.output
    assert "1 reports already recorded; 1 unmatched" in result.output
    assert f"2 unparseable (no DSN or ARF report), kept aside in maildir:{tmp_path / 'bounces' / '.Unparseable'}" \
        in result.output
    with engine.connect() as conn:
        assert dict(conn.execute(select(suppression.c.address, suppression.c.reason)).all()) == {
            "kunde.1@example.com": "hard-bounce", "kunde.3@example.com": "complaint"}
        rows = conn.execute(select(bounce_report.c.address, bounce_report.c.kind, bounce_report.c.template,
                                   bounce_report.c.edition_date).order_by(bounce_report.c.address)).all()
        events = conn.execute(select(Customer.email, ConsentEvent.field, ConsentEvent.channel, ConsentEvent.new_value,
                                     ConsentEvent.edition_date)
                              .join(Customer, Customer.id == ConsentEvent.customer_id)
                              .where(ConsentEvent.field.in_(("status", "suppressed")))).all()
    assert rows == [("kunde.1@example.com", "hard", "weekly", EDITION), ("kunde.2@example.com", "soft", "weekly", EDITION),
                    ("kunde.3@example.com", "complaint", "weekly", EDITION),
                    ("kunde.4@example.com", "hard", "weekly", EDITION)]  # by address only: a repeat, not suppressed
    assert sorted(events) == [
        ("kunde.1@example.com", "suppressed", "bounce", '"hard-bounce"', EDITION),
        ("kunde.3@example.com", "status", "complaint", '"unsubscribed"', EDITION),
        ("kunde.3@example.com", "suppressed", "complaint", '"complaint"', EDITION)]
    flags = sorted(m.get_flags() for m in mailbox.Maildir(tmp_path / "bounces", create=False))
    assert flags == ["S"] * 5  # every report read; the multi-recipient one matched a customer too
    aside = mailbox.Maildir(tmp_path / "bounces", create=False).get_folder("Unparseable")
    assert sorted(m.get_flags() for m in aside) == ["F", "F"] and len(list(aside)) == 2
    again = runner.invoke(app, ["bounces", "process", "--from", source])
    assert "0 mails read: 0 hard bounces" in again.output


def test_a_mail_about_nobody_is_flagged_for_a_person(engine, db_url, tmp_path):
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(dsn("bounces@nordhaus.example", [Rcpt("nobody@example.org")], returned=None))
    result = runner.invoke(app, ["bounces", "process", "--from", f"maildir:{tmp_path / 'bounces'}"])
    assert result.exit_code == 0 and "1 unmatched" in result.output
    assert [m.get_flags() for m in mailbox.Maildir(tmp_path / "bounces", create=False)] == ["FS"]


@pytest.mark.parametrize("source, message", [
    ("pop3://x", "expected maildir:PATH"),
    ("maildir:/nonexistent/box", "is not a Maildir"),
    ("imap://bounces@127.0.0.1/INBOX", "NEWSLETTER_BOUNCE_IMAP_PASSWORD"),
    ("imap://127.0.0.1/INBOX", "no IMAP mailbox"),
])
def test_a_bad_source_is_exit_2(db_url, source, message):
    result = runner.invoke(app, ["bounces", "process", "--from", source])
    assert result.exit_code == 2 and message in result.output


def test_an_unreachable_imap_server_is_exit_1(db_url, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_BOUNCE_IMAP_PASSWORD", PASSWORD)
    result = runner.invoke(app, ["bounces", "process", "--from", f"imap://bounces@127.0.0.1:{free_port()}/INBOX"])
    assert result.exit_code == 1 and "Connection refused" in result.output


def test_an_imap_bounce_mailbox_is_recorded_once(engine, sent, imap_server, monkeypatch):
    imap_server.deliver(*bounce_mailbox(sent))
    monkeypatch.setenv("NEWSLETTER_BOUNCE_IMAP_PASSWORD", PASSWORD)
    result = runner.invoke(app, ["bounces", "process", "--from", imap_server.url()])
    assert result.exit_code == 0, result.output
    assert "7 mails read: 2 hard bounces, 1 soft bounces, 1 complaints; 2 addresses suppressed" in result.output
    assert f"kept aside in imap://bounces@127.0.0.1:{imap_server.port}/Unparseable" in result.output
    assert imap_server.flags() == [{"\\Seen"}] * 5
    assert imap_server.flags("Unparseable") == [{"\\Flagged"}] * 2
    again = runner.invoke(app, ["bounces", "process", "--from", imap_server.url()])
    assert "0 mails read" in again.output
    with engine.connect() as conn:
        assert len(conn.execute(select(bounce_report)).all()) == 4


def test_a_database_that_fails_is_exit_1_and_the_mail_stays_unread(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'not-migrated.db'}")
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(dsn("bounces@nordhaus.example", [Rcpt("kunde.1@example.com")], returned=None))
    result = runner.invoke(app, ["bounces", "process", "--from", f"maildir:{tmp_path / 'bounces'}"])
    assert result.exit_code == 1 and "0 mails were done, the rest stays for the next run" in result.output
    assert [m.get_subdir() for m in mailbox.Maildir(tmp_path / "bounces", create=False)] == ["new"]
