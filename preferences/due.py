"""Due rules: does a customer get a given edition, and if not, why not.

Exactly DESIGN.md section 5:

- unsubscribed and pending customers get nothing;
- a pause skips editions dated before its end (the edition dated ON ``paused_until`` is sent);
- weekly gets every edition;
- biweekly gets an edition when the last delivery of that newsletter is 13 or more days before
  the edition date, or when there has been none (13, not 14: an edition moved by a day, e.g.
  around a holiday, must not make a biweekly reader skip a whole fortnight);
- monthly gets the first edition of each calendar month: the previous edition of the template
  is missing or dated in an earlier month.

Pure functions over plain values: the send evaluates them for every customer in a batch.
"""

from __future__ import annotations

from datetime import date

from preferences.models import Frequency, Status

# Skip reasons, as reported per reason by the send.
UNSUBSCRIBED = "unsubscribed"
PENDING = "pending"
PAUSED = "paused"
BIWEEKLY_NOT_YET = "biweekly-not-yet"
MONTHLY_ALREADY = "monthly-already"

SKIP_REASONS = (UNSUBSCRIBED, PENDING, PAUSED, BIWEEKLY_NOT_YET, MONTHLY_ALREADY)

BIWEEKLY_MIN_DAYS = 13


def due_reason(
    status: Status | str,
    frequency: Frequency | str,
    paused_until: date | None,
    edition_date: date,
    last_delivery_date: date | None,
    previous_edition_date: date | None,
) -> str | None:
    """None when the customer is due for the edition dated ``edition_date``, else a skip reason.

    ``last_delivery_date``: the customer's latest delivery of this newsletter (template) before
    this edition, or None. ``previous_edition_date``: the date of the template's edition before
    this one, or None for its first edition.
    """
    status = Status(status)
    frequency = Frequency(frequency)
    if status is Status.UNSUBSCRIBED:
        return UNSUBSCRIBED
    if status is Status.PENDING:
        return PENDING
    if paused_until is not None and edition_date < paused_until:
        return PAUSED
    if frequency is Frequency.WEEKLY:
        return None
    if frequency is Frequency.BIWEEKLY:
        if last_delivery_date is None or (edition_date - last_delivery_date).days >= BIWEEKLY_MIN_DAYS:
            return None
        return BIWEEKLY_NOT_YET
    # Monthly.
    if previous_edition_date is None or _month(previous_edition_date) < _month(edition_date):
        return None
    return MONTHLY_ALREADY


def is_due(*args, **kwargs) -> bool:
    """True when ``due_reason`` with the same arguments finds no reason to skip."""
    return due_reason(*args, **kwargs) is None


def _month(day: date) -> tuple[int, int]:
    return (day.year, day.month)
