"""The double opt-in mail: the customer's language from the catalogue, built by the one MIME
builder, its link intact and how long it works said."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from preferences.pending import PendingCustomer
from service.content.check import load_content
from service.lifecycle.confirmations import ConfirmationMessages
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
    mailer = ConfirmationMessages("bounces@nordhaus.example", lambda: content)
    message_id, data = mailer.message(pending(locale))
    message = message_from_bytes(data, policy=policy.default)
    assert message["Subject"] == subject and message["Message-ID"] == message_id
    assert message["From"] == "Nordhaus <newsletter@nordhaus.example>" and message["To"] == "c1@example.com"
    assert message.get_content_type() == "text/plain" and "List-Unsubscribe" not in message
    text = message.get_content()
    assert text.startswith(greeting) and URL in text.split()
    assert ("7 Tage" if locale == "de" else "7 days") in text
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_without_a_first_name_the_greeting_has_none(tmp_path, content):
    mailer = ConfirmationMessages("bounces@nordhaus.example", lambda: content)
    text = message_from_bytes(mailer.message(pending("de", None))[1], policy=policy.default).get_content()
    assert text.startswith("Hallo,\r\n")


def test_a_name_that_looks_like_a_placeholder_stays_text(tmp_path, content):
    mailer = ConfirmationMessages("bounces@nordhaus.example", lambda: content)
    name = "@@nl:links.confirm@@"
    text = message_from_bytes(mailer.message(pending("en", name))[1], policy=policy.default).get_content()
    assert text.startswith(f"Hello {name},") and text.count(URL) == 1


def test_without_content_the_envelope_sender_is_the_sender(tmp_path):
    mailer = ConfirmationMessages("bounces@nordhaus.example", lambda: None)
    message = message_from_bytes(mailer.message(pending())[1], policy=policy.default)
    assert message["From"] == "bounces@nordhaus.example"
