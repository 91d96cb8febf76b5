"""The confirmation mail a customer gets to confirm their address (double opt-in): after a
signup, a resubscribe, or being created pending by the API or an import.

Its texts come from the gettext catalogues (``preferences.translations``), in the customer's
language; it is built by the one MIME builder (``service.assembly.mime``), with the customer's
name and link substituted like any personal field. It is sent by the outbox worker
(``service.lifecycle.outbox_worker``), never while a request waits."""

from __future__ import annotations

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

NAME, URL = "recipient.first_name", "links.confirm"


class ConfirmationMessages:
    """Makes the confirmation mail of a pending customer; the From header is the main
    newsletter's sender in ``content()`` (``fallback_sender`` while there is no content)."""

    def __init__(self, fallback_sender: str, content: Callable[[], Content | None], ttl_days: int = 7):
        self.fallback_sender, self.content, self.ttl_days = fallback_sender, content, ttl_days

    def message_id(self) -> str:
        """A new Message-ID in the sender's domain."""
        return make_msgid(domain=self._sender().rpartition("@")[2].rstrip(">") or None)

    def message(self, pending: PendingCustomer, message_id: str | None = None) -> tuple[str, bytes]:
        """The Message-ID and the whole message for ``pending``."""
        sender = self._sender()
        template = _template(sender, translations.best_of([pending.locale]), pending.first_name is not None,
                             self.ttl_days)
        message_id = message_id or self.message_id()
        values = {NAME: pending.first_name or "", URL: pending.confirm_url}
        return message_id, template.build(to=pending.email, date=date_header(),
                                          message_id=message_id, text_values=values)

    def _sender(self) -> str:
        content = self.content()
        if content is None or not content.templates:
            return self.fallback_sender
        template = content.main_template()
        return mailbox(template.sender_name, template.sender_email)


@lru_cache(maxsize=32)
def _template(sender: str, locale: str, named: bool, ttl_days: int) -> MessageTemplate:
    """The message of one language, its personal values as placeholders (built once)."""
    _ = translations.for_locale(locale).gettext
    greeting = _("Hello %(name)s,") % {"name": placeholder(NAME)} if named else _("Hello,")
    text = "\n\n".join([
        greeting,
        _("You asked to get our newsletter. Please confirm your address with one click:"),
        placeholder(URL),
        _("The link works for %(days)d days.") % {"days": ttl_days},
        _("If this wasn't you, just ignore this email; nothing will change."),
    ]) + "\n"
    return MessageTemplate(sender=sender, reply_to=None, list_name=None, list_id=None,
                           subject=Substitution.split(_("Please confirm your subscription")),
                           text=Substitution.split(text), html=None,
                           boundary_seed=f"confirmation/{locale}")
