"""The confirmation mail a customer gets after asking for newsletters again (double opt-in).

Its texts come from the gettext catalogues (``preferences.translations``), in the customer's
language; it is built by the one MIME builder (``service.assembly.mime``), with the customer's
name and link substituted like any personal field, and handed to the transactional relay
(``NEWSLETTER_RELAY``), a delivery target like the send's."""

from __future__ import annotations

import threading
import time
from email.utils import make_msgid
from functools import lru_cache
from typing import Callable

from preferences import translations
from preferences.pending import PendingCustomer
from service.assembly.mime import MessageTemplate, mailbox
from service.assembly.personal import Substitution
from service.assembly.render import date_header
from service.content.markup.fields import placeholder
from service.content.model import Content
from service.delivery.base import SENT, Envelope, Target

# One confirmation per customer per this many seconds: a leaked preference link must not
# turn the service into a mail cannon.
MIN_INTERVAL_S = 600
NAME, URL = "recipient.first_name", "links.confirm"


class ConfirmationMailer:
    """``on_confirmation_needed`` for the preference pages: mails the one-time confirm link.

    ``relay`` delivers it, ``envelope_sender`` is the bounce address; the From header is the
    main newsletter's sender in ``content()`` (``envelope_sender`` while there is no content)."""

    def __init__(self, relay: Target, envelope_sender: str, content: Callable[[], Content | None],
                 clock: Callable[[], float] = time.monotonic):
        self.relay, self.envelope_sender, self.content, self.clock = relay, envelope_sender, content, clock
        self._sent_at: dict[int, float] = {}
        self._lock = threading.Lock()

    def __call__(self, pending: PendingCustomer) -> None:
        with self._lock:
            last = self._sent_at.get(pending.customer_id)
            if last is not None and self.clock() - last < MIN_INTERVAL_S:
                return
            self._sent_at[pending.customer_id] = self.clock()
        message_id, data = self.message(pending)
        deliverer = self.relay.open()
        try:
            result = deliverer.deliver(Envelope(self.envelope_sender, pending.email, message_id, data))
            deliverer.flush()
        finally:
            deliverer.close()
        if result.state != SENT:
            with self._lock:
                self._sent_at.pop(pending.customer_id, None)
            raise RuntimeError(f"the relay did not take the confirmation email: {result.answer}")

    def message(self, pending: PendingCustomer) -> tuple[str, bytes]:
        """The Message-ID and the whole message for ``pending``."""
        sender = self._sender()
        template = _template(sender, translations.best_of([pending.locale]), pending.first_name is not None)
        message_id = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
        values = {NAME: pending.first_name or "", URL: pending.confirm_url}
        return message_id, template.build(to=pending.email, date=date_header(),
                                          message_id=message_id, text_values=values)

    def _sender(self) -> str:
        content = self.content()
        if content is None or not content.templates:
            return self.envelope_sender
        template = content.main_template()
        return mailbox(template.sender_name, template.sender_email)


@lru_cache(maxsize=32)
def _template(sender: str, locale: str, named: bool) -> MessageTemplate:
    """The message of one language, its personal values as placeholders (built once)."""
    _ = translations.for_locale(locale).gettext
    greeting = _("Hello %(name)s,") % {"name": placeholder(NAME)} if named else _("Hello,")
    text = "\n\n".join([
        greeting,
        _("You asked to get our newsletter again. Please confirm with one click:"),
        placeholder(URL),
        _("If this wasn't you, just ignore this email; nothing will change."),
    ]) + "\n"
    return MessageTemplate(sender=sender, reply_to=None, list_name=None, list_id=None,
                           subject=Substitution.split(_("Please confirm your subscription")),
                           text=Substitution.split(text), html=None,
                           boundary_seed=f"confirmation/{locale}")
