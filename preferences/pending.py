"""A customer who must confirm before they get newsletters (double opt-in), as their
confirmation mail needs them: address, name, language and the confirm link.

The link is signed over the preference version (it works once) and made when the mail is made,
from the customer as they are then (``pending_customer``), so a mail queued before a change of
version still carries a link that works."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Connection, select

from preferences.links import LinkSigner, Purpose
from preferences.models import Status, customer_table, preference_table
from preferences.store.reads import confirm_context


@dataclass(frozen=True)
class PendingCustomer:
    """A customer who asked for newsletters: mail them ``confirm_url`` (it works once)."""

    customer_id: int
    public_id: str
    email: str
    first_name: str | None
    locale: str
    confirm_url: str


# What the preference centre calls after a commit that queued mail in the outbox (a
# confirmation): the service wakes its outbox worker. It must not block.
MailQueued = Callable[[], None]


def pending_customer(conn: Connection, signer: LinkSigner, base_url: str, customer_id: int) -> PendingCustomer | None:
    """The customer with their confirm link as of now; None unless they are pending."""
    row = conn.execute(
        select(customer_table.c.public_id, customer_table.c.email, customer_table.c.first_name,
               customer_table.c.locale, preference_table.c.version)
        .join_from(customer_table, preference_table, preference_table.c.customer_id == customer_table.c.id)
        .where(customer_table.c.id == customer_id, customer_table.c.status == Status.PENDING)).first()
    if row is None:
        return None
    url = signer.url(base_url, row.public_id, Purpose.CONFIRM, confirm_context(row.version))
    return PendingCustomer(customer_id, row.public_id, row.email, row.first_name, row.locale, url)
