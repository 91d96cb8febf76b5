"""A customer who must confirm before they get newsletters (double opt-in), and the mailing of
the confirm link to every customer some path made pending (``mail_new_pending``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable

from sqlalchemy import Connection, select

from preferences.links import LinkSigner, Purpose
from preferences.models import Status, customer_table, preference_table
from preferences.store.reads import confirm_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingCustomer:
    """A customer who asked for newsletters: mail them ``confirm_url`` (it works once)."""

    customer_id: int
    public_id: str
    email: str
    first_name: str | None
    locale: str
    confirm_url: str


# What the preference centre calls once a customer became pending (after the commit): the
# service mails the confirmation; raising says the mail could not be sent.
ConfirmationNeeded = Callable[[PendingCustomer], None]


NOT_SENT = "not sent: the mail relay failed (the customer stays pending)"


def mail_new_pending(connection: Connection, signer: LinkSigner, base_url: str, external_ids: Iterable[str],
                     on_confirmation_needed: ConfirmationNeeded) -> dict[str, str]:
    """Mail every pending customer among ``external_ids`` their confirm link, after the commit
    that made them pending (an API upsert, an import). Per external id: "sent" or ``NOT_SENT``;
    a failed mail never undoes the customer."""
    results: dict[str, str] = {}
    for external_id, customer in new_pending(connection, signer, base_url, external_ids):
        try:
            on_confirmation_needed(customer)
            results[external_id] = "sent"
        except Exception as failure:  # the relay's fault, not the customer's: they stay pending
            log.warning("confirmation mail for customer %s not sent: %s", customer.customer_id, failure)
            results[external_id] = NOT_SENT
    return results


def new_pending(connection: Connection, signer: LinkSigner, base_url: str,
                external_ids: Iterable[str]) -> list[tuple[str, PendingCustomer]]:
    """Which of these customers are pending, each with their one-time confirm link (bound to
    the preference version, as the resubscribe path signs it): whoever made them pending (the
    API, an import) mails them with the same ``ConfirmationNeeded`` as the pages."""
    ids = list(external_ids)
    found: list[tuple[str, PendingCustomer]] = []
    for start in range(0, len(ids), 500):
        rows = connection.execute(
            select(customer_table.c.id, customer_table.c.external_id, customer_table.c.public_id, customer_table.c.email,
                   customer_table.c.first_name, customer_table.c.locale, preference_table.c.version)
            .join_from(customer_table, preference_table, preference_table.c.customer_id == customer_table.c.id)
            .where(customer_table.c.external_id.in_(ids[start:start + 500]),
                   customer_table.c.status == Status.PENDING)
            .order_by(customer_table.c.id))
        for row in rows:
            url = signer.url(base_url, row.public_id, Purpose.CONFIRM, confirm_context(row.version))
            found.append((row.external_id,
                          PendingCustomer(row.id, row.public_id, row.email, row.first_name, row.locale, url)))
    return found
