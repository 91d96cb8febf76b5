"""Who an edition reached, and what they did about it in the preference centre.

``delivered``: the ledger's sent rows per segment and variant; ``measured``: those of them whose
clicks were measured (not sent untracked to a customer who opted out). The rest is read from the consent
trail, for the changes made from a link of the edition (its unsubscribe or preference link):
``unsubscribed``, and the narrower choices that kept a reader instead: a new ``frequency`` (key:
the one chosen), ``paused``, ``excluded`` (key: the product group no longer wanted), and ``narrowed``: the
customers who made any of them (a slower frequency only: weekly to monthly narrows, monthly to
weekly does not). A customer counts once per measure and key, in the segment and variant their
delivery had."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

from sqlalchemy import Connection, and_, func, select

from preferences.consent import EXCLUDED_GROUPS, FREQUENCY, PAUSED_UNTIL, STATUS
from preferences.models import Frequency, Status, consent_event_table
from service.results.tables import (DELIVERED, EXCLUDED, FREQUENCY as NEW_FREQUENCY, MEASURED, NARROWED, PAUSED,
                                    UNSUBSCRIBED)
from service.sending.contents import is_untracked
from service.sending.tables import SENT, delivery


def rows(conn: Connection, template: str, day: date) -> list[dict]:
    """The result_audience rows of one edition."""
    d = delivery.c
    segment, variant = func.coalesce(d.segment, ""), func.coalesce(d.variant, "")
    delivered = conn.execute(select(segment, variant, func.count())
                             .where(d.template == template, d.edition_date == day, d.state == SENT)
                             .group_by(segment, variant)).all()
    found = [{"template": template, "edition_date": day, "measure": measure, "key": "", "segment": s,
              "variant": v, "customers": n} for s, v, n in delivered
             for measure in ((DELIVERED,) if is_untracked(v) else (DELIVERED, MEASURED))]
    return found + [{"template": template, "edition_date": day, "measure": measure, "key": key, "segment": s,
                     "variant": v, "customers": len(customers)}
                    for (measure, key, s, v), customers in sorted(choices(conn, template, day).items())]


def choices(conn: Connection, template: str, day: date) -> dict[tuple, set[int]]:
    """(measure, key, segment, variant) -> the customers who made that change from the edition.

    Only an event whose customer the ledger sent the edition to counts: the edition a link names
    is not signed, so a name the customer was never sent is no attribution."""
    e, d = consent_event_table.c, delivery.c
    events = conn.execute(
        select(e.customer_id, e.field, e.old_value, e.new_value, func.coalesce(d.segment, ""),
               func.coalesce(d.variant, ""))
        .join_from(consent_event_table, delivery, and_(d.customer_id == e.customer_id, d.template == e.template,
                                                       d.edition_date == e.edition_date, d.state == SENT))
        .where(e.template == template, e.edition_date == day,
               e.field.in_((STATUS, FREQUENCY, PAUSED_UNTIL, EXCLUDED_GROUPS))))
    found: dict[tuple, set[int]] = defaultdict(set)
    for customer, field, old_text, new_text, segment, variant in events:
        old, new = (json.loads(t) if t is not None else None for t in (old_text, new_text))
        narrower = False
        if field == STATUS and new == Status.UNSUBSCRIBED:
            found[(UNSUBSCRIBED, "", segment, variant)].add(customer)
        elif field == FREQUENCY and new and new != old:
            found[(NEW_FREQUENCY, str(new), segment, variant)].add(customer)
            narrower = _pace(new) > _pace(old)
        elif field == PAUSED_UNTIL and new:
            found[(PAUSED, "", segment, variant)].add(customer)
            narrower = True
        elif field == EXCLUDED_GROUPS:
            for group in set(new or ()) - set(old or ()):
                found[(EXCLUDED, str(group)[:64], segment, variant)].add(customer)
                narrower = True
        if narrower:
            found[(NARROWED, "", segment, variant)].add(customer)
    return found


_PACES = {Frequency.WEEKLY: 1, Frequency.BIWEEKLY: 2, Frequency.MONTHLY: 4}


def _pace(frequency) -> int:
    """Weeks between editions: more is slower."""
    return _PACES.get(frequency, 0)
