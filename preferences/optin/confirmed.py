"""Who confirmed their first signup when: what a mail sent on confirmation (the welcome mail and
its series, service/sending/due.py) is sent to.

A customer's first confirmation is the earliest ``confirmed_at`` of their opt-in requests: a
customer who unsubscribes and signs up again confirms again, but is welcomed once. Customers
who became active without a double opt-in (an import of active customers) have none and get
no welcome mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, exists, select

from preferences.models import Status, customer_table
from preferences.optin.tables import opt_in


def first_confirmed_between(start: datetime, end: datetime) -> Select:
    """The ids (column ``id``) of the active customers whose first confirmation was at or after
    ``start`` and before ``end``, as a statement to embed (the send plans them with one
    ``INSERT ... SELECT``). Walks ``ix_opt_in_confirmed`` for the window, and
    ``ix_opt_in_open`` for each one's earlier confirmations."""
    confirmed, earlier, c = opt_in.alias("confirmed"), opt_in.alias("earlier"), customer_table.c
    before = (exists().where(earlier.c.customer_id == confirmed.c.customer_id, earlier.c.confirmed_at < start)
              .correlate(confirmed))
    return (select(confirmed.c.customer_id.label("id")).distinct()
            .join_from(confirmed, customer_table, c.id == confirmed.c.customer_id)
            .where(confirmed.c.confirmed_at >= start, confirmed.c.confirmed_at < end,
                   c.status == Status.ACTIVE, ~before))
