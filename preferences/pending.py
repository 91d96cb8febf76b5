"""A customer who must confirm before they get newsletters (double opt-in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


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
