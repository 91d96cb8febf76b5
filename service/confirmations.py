"""The confirmation email a customer gets after asking to subscribe again (double opt-in).

Rare and small, so built with the standard library's EmailMessage; delivered through the same
relay as the newsletter (NEWSLETTER_RELAY)."""

from __future__ import annotations

import threading
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone

from preferences.snapshot import PendingCustomer

from .centre import MAIN_TEMPLATE
from .deliver import SENT, Envelope, open_deliverer, parse_target
from .live_content import LiveContent
from .mime import mailbox
from .settings import Settings

TEXTS = {
    "de": ("Bitte bestätigen Sie Ihre Anmeldung",
           "Hallo{name},\n\nSie möchten unseren Newsletter wieder bekommen. Bitte bestätigen Sie das "
           "mit einem Klick:\n\n{url}\n\nWenn Sie das nicht waren, ignorieren Sie diese E-Mail einfach; "
           "es ändert sich nichts.\n"),
    "en": ("Please confirm your subscription",
           "Hello{name},\n\nYou asked to get our newsletter again. Please confirm with one click:\n\n"
           "{url}\n\nIf this wasn't you, just ignore this email; nothing will change.\n"),
}
# One confirmation per customer per this many seconds: a leaked preference link must not
# turn the service into a mail cannon.
MIN_INTERVAL_S = 600


class ConfirmationMailer:
    """`on_confirmation_needed` for the preference pages: mails the one-time confirm link."""

    def __init__(self, settings: Settings, live: LiveContent, clock=time.monotonic):
        self.settings, self.live, self.clock = settings, live, clock
        self.target = parse_target(settings.relay)
        self._sent_at: dict[int, float] = {}
        self._lock = threading.Lock()

    def __call__(self, pending: PendingCustomer) -> None:
        with self._lock:
            last = self._sent_at.get(pending.customer_id)
            if last is not None and self.clock() - last < MIN_INTERVAL_S:
                return
            self._sent_at[pending.customer_id] = self.clock()
        message = self.message(pending)
        deliverer = open_deliverer(self.target)
        try:
            result = deliverer.deliver(Envelope(self.settings.sender_email, pending.email,
                                                message["Message-ID"], bytes(message)))
            deliverer.flush()
        finally:
            deliverer.close()
        if result.state != SENT:
            with self._lock:
                self._sent_at.pop(pending.customer_id, None)
            raise RuntimeError(f"the relay did not take the confirmation email: {result.answer}")

    def message(self, pending: PendingCustomer) -> EmailMessage:
        subject, body = TEXTS.get(pending.locale, TEXTS["en"])
        content = self.live.current().content
        template = content.templates.get(MAIN_TEMPLATE) if content else None
        sender = mailbox(template.sender_name, template.sender_email) if template else self.settings.sender_email
        message = EmailMessage()
        message["From"] = sender
        message["To"] = pending.email
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(timezone.utc))
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
        name = f" {pending.first_name}" if pending.first_name else ""
        message.set_content(body.format(name=name, url=pending.confirm_url))
        return message
