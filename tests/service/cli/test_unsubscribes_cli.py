"""`newsletter unsubscribes process`: unsubscribe mails, composed as a mail program composes them
from a sent message's List-Unsubscribe mailto, read from a real Maildir and applied once."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from preferences.models import ConsentEvent, Customer
from service.cli.main import app
from send_fixtures import EDITION, add_customers, cli_db_url, engine, send_demo_edition  # noqa: F401

runner = CliRunner()


@pytest.fixture
def db_url(cli_db_url):
    return cli_db_url


def mail_from(message) -> EmailMessage:
    """The mail a mail program sends for the message's mailto unsubscribe."""
    mailto = str(message["List-Unsubscribe"]).split("<mailto:", 1)[1].split(">", 1)[0]
    address, query = mailto.split("?", 1)
    mail = EmailMessage()
    mail["From"], mail["To"] = message["To"], address
    mail["Subject"] = parse_qs(query)["subject"][0]
    mail.set_content("sent by the mail program")
    return mail


def test_unsubscribe_mails_unsubscribe_once_with_the_edition(engine, db_url, tmp_path):
    add_customers(engine, 4)
    messages, _ = send_demo_edition(engine, db_url, tmp_path / "outbox")
    inbox = mailbox.Maildir(tmp_path / "unsubscribes", create=True)
    by_address = {m["To"].addresses[0].addr_spec: m for m in messages}
    first, second = by_address["kunde.1@example.com"], by_address["kunde.2@example.com"]
    inbox.add(mail_from(first))
    inbox.add(mail_from(first))  # sent twice
    older = mail_from(second)
    older.replace_header("Subject", "Re: " + older["Subject"].rsplit(" ", 1)[0])  # no edition
    inbox.add(older)
    junk = EmailMessage()
    junk["Subject"] = "Out of office"
    inbox.add(junk)
    forged = mail_from(first)
    forged.replace_header("Subject", "unsubscribe " + "A" * 22 + "." + "B" * 22)
    inbox.add(forged)

    result = runner.invoke(app, ["unsubscribes", "process", "--from", f"maildir:{tmp_path / 'unsubscribes'}"])
    assert result.exit_code == 0, result.output
    assert "5 unsubscribe mails: 2 unsubscribed, 1 already unsubscribed, 2 not understood" in result.output
    with engine.connect() as conn:
        events = conn.execute(select(Customer.email, ConsentEvent.channel, ConsentEvent.template,
                                     ConsentEvent.edition_date, ConsentEvent.new_value)
                              .join(Customer, Customer.id == ConsentEvent.customer_id)
                              .where(ConsentEvent.field == "status")).all()
    assert sorted(events) == [("kunde.1@example.com", "mailto", "weekly", EDITION, '"unsubscribed"'),
                              ("kunde.2@example.com", "mailto", None, None, '"unsubscribed"')]
    flags = sorted(m.get_flags() for m in mailbox.Maildir(tmp_path / "unsubscribes", create=False))
    assert flags == ["FS", "FS", "S", "S", "S"]  # read; the two not understood flagged for a person
    again = runner.invoke(app, ["unsubscribes", "process", "--from", f"maildir:{tmp_path / 'unsubscribes'}"])
    assert "0 unsubscribe mails" in again.output


def test_a_folder_that_is_not_a_maildir_is_exit_2(db_url, tmp_path):
    result = runner.invoke(app, ["unsubscribes", "process", "--from", f"maildir:{tmp_path / 'nothing'}"])
    assert result.exit_code == 2 and "is not a Maildir" in result.output
    assert runner.invoke(app, ["unsubscribes", "process", "--from", "imap://x"]).exit_code == 2


def test_a_mail_that_does_not_parse_is_not_understood_and_the_rest_goes_on(engine, db_url, tmp_path):
    add_customers(engine, 1)
    messages, _ = send_demo_edition(engine, db_url, tmp_path / "outbox")
    inbox = mailbox.Maildir(tmp_path / "unsubscribes", create=True)
    inbox.add(b"Subject: =?utf-8?q?\xff\xfe broken\r\nFrom: <>\r\n\r\n\xff")
    inbox.add(mail_from(messages[0]))
    result = runner.invoke(app, ["unsubscribes", "process", "--from", f"maildir:{tmp_path / 'unsubscribes'}"])
    assert result.exit_code == 0 and "2 unsubscribe mails: 1 unsubscribed" in result.output
