"""The double opt-in mail: the customer's language from the catalogue, built by the one MIME
builder, its link intact, at most one per customer per interval, and a relay refusal said."""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy

import pytest

from preferences.pending import PendingCustomer
from service.content.check import load_content
from service.delivery.maildir import MaildirTarget
from service.lifecycle.confirmations import MIN_INTERVAL_S, ConfirmationMailer
from repo_paths import CONTENT

URL = "https://news.example/confirm/" + "A" * 22 + "." + "b" * 22


def pending(locale: str = "de", first_name: str | None = "Jürgen", customer_id: int = 1) -> PendingCustomer:
    return PendingCustomer(customer_id, "P" * 22, f"c{customer_id}@example.com", first_name, locale, URL)


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT)


@pytest.mark.parametrize("locale, subject, greeting", [
    ("de", "Bitte bestätigen Sie Ihre Anmeldung", "Hallo Jürgen,"),
    ("en", "Please confirm your subscription", "Hello Jürgen,"),
    ("fr", "Please confirm your subscription", "Hello Jürgen,"),  # no catalogue: English
])
def test_the_mail_speaks_the_customers_language(tmp_path, content, locale, subject, greeting):
    mailer = ConfirmationMailer(MaildirTarget(tmp_path), "bounces@nordhaus.example", lambda: content)
    message_id, data = mailer.message(pending(locale))
    message = message_from_bytes(data, policy=policy.default)
    assert message["Subject"] == subject and message["Message-ID"] == message_id
    assert message["From"] == "Nordhaus <newsletter@nordhaus.example>" and message["To"] == "c1@example.com"
    assert message.get_content_type() == "text/plain" and "List-Unsubscribe" not in message
    text = message.get_content()
    assert text.startswith(greeting) and URL in text.split()
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_without_a_first_name_the_greeting_has_none(tmp_path, content):
    mailer = ConfirmationMailer(MaildirTarget(tmp_path), "bounces@nordhaus.example", lambda: content)
    text = message_from_bytes(mailer.message(pending("de", None))[1], policy=policy.default).get_content()
    assert text.startswith("Hallo,\r\n")


def test_a_name_that_looks_like_a_placeholder_stays_text(tmp_path, content):
    mailer = ConfirmationMailer(MaildirTarget(tmp_path), "bounces@nordhaus.example", lambda: content)
    name = "@@nl:links.confirm@@"
    text = message_from_bytes(mailer.message(pending("en", name))[1], policy=policy.default).get_content()
    assert text.startswith(f"Hello {name},") and text.count(URL) == 1


def test_one_mail_per_customer_per_interval_through_the_relay(tmp_path, content):
    now = [0.0]
    mailer = ConfirmationMailer(MaildirTarget(tmp_path), "bounces@nordhaus.example", lambda: content,
                                clock=lambda: now[0])
    mailer(pending())
    mailer(pending())  # asked again at once: nothing more
    mailer(pending(customer_id=2))
    now[0] += MIN_INTERVAL_S
    mailer(pending())
    assert len(list(mailbox.Maildir(tmp_path, create=False))) == 3


def test_a_refusing_relay_raises_and_can_be_retried_at_once(tmp_path, content):
    class Refusing:
        def open(self, **_):
            return self

        def deliver(self, envelope):
            from service.delivery.base import FAILED, Result
            return Result(FAILED, "550 no")

        def flush(self):
            pass

        def close(self):
            pass

    mailer = ConfirmationMailer(Refusing(), "bounces@nordhaus.example", lambda: content)
    for _ in range(2):  # the failed attempt does not count against the interval
        with pytest.raises(RuntimeError, match="550 no"):
            mailer(pending())


def test_without_content_the_envelope_sender_is_the_sender(tmp_path):
    mailer = ConfirmationMailer(MaildirTarget(tmp_path), "bounces@nordhaus.example", lambda: None)
    message = message_from_bytes(mailer.message(pending())[1], policy=policy.default)
    assert message["From"] == "bounces@nordhaus.example"
