"""Who an edition reached, and what they did about it in the preference centre.

``delivered``: the ledger's sent rows per segment and variant. The rest is read from the consent
trail, for the changes made from a link of the edition (its unsubscribe or preference link):
``unsubscribed``, and the narrower choices that kept a reader instead: a new ``frequency`` (key:
the one chosen), ``paused``, ``excluded`` (key: the product group no longer wanted). A customer
counts once per measure and key, in the segment and variant their delivery had."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from service.results.tables import DELIVERED
from service.sending.tables import SENT, delivery


def rows(conn: Connection, template: str, day: date) -> list[dict]:
    """The result_audience rows of one edition."""
    d = delivery.c
    segment, variant = func.coalesce(d.segment, ""), func.coalesce(d.variant, "")
    delivered = conn.execute(select(segment, variant, func.count())
                             .where(d.template == template, d.edition_date == day, d.state == SENT)
                             .group_by(segment, variant)).all()
    return [{"template": template, "edition_date": day, "measure": DELIVERED, "key": "", "segment": s,
             "variant": v, "customers": n} for s, v, n in delivered]
