"""Machine clicks: link scanners and prefetchers are kept out of the rates.

Mail security gateways (Microsoft Defender's Safe Links, Mimecast, Proofpoint, Barracuda) and
some mail apps follow the links of a message as it arrives, from their own servers, and the
redirect cannot tell them from a reader by what they send (HEAD is never recorded; a GET looks
like any other). What gives them away is the timing. A click is a machine's when either

- ``early``: it came less than ``EARLY_S`` seconds after the relay took the message (the
  ledger's time of sending). Mail takes that long to reach a mailbox and be opened and read;
  a scanner is there first.
- ``sweep``: the same client (the same hash of address and user agent) opened at least
  ``SWEEP_LINKS`` different links of the same message within ``SWEEP_S`` seconds. A reader
  opens one link and reads; a scanner opens all of them at once.

Everything else is ``human``. Machine clicks stay in the table (counted apart in the results as
"machine clicks"), so the rule can be changed and the clicks judged again.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, select, update

from preferences.models import Customer
from service.results.tables import EARLY, HUMAN, SWEEP, click
from service.sending.tables import SENT, delivery

EARLY_S = 5
SWEEP_LINKS = 3
SWEEP_S = 10


@dataclass(frozen=True)
class Seen:
    """One click as the judge sees it."""

    id: int
    client: tuple[str, str]  # (customer, client hash): one reader's browser, or one scanner
    link: tuple[str, int]    # (owner, link index)
    at: datetime
    sent_at: datetime | None


def verdicts(clicks: list[Seen]) -> dict[int, str]:
    """The verdict of each click (by id); ``clicks`` sorted by client, then time."""
    found: dict[int, str] = {}
    window: deque[Seen] = deque()
    links: Counter = Counter()
    for seen in clicks:
        if window and window[0].client != seen.client:
            window.clear()
            links.clear()
        window.append(seen)
        links[seen.link] += 1
        while seen.at - window[0].at > timedelta(seconds=SWEEP_S):
            gone = window.popleft()
            links[gone.link] -= 1
            if not links[gone.link]:
                del links[gone.link]
        if len(links) >= SWEEP_LINKS:
            found.update((other.id, SWEEP) for other in window)
        if seen.id not in found:
            early = seen.sent_at is not None and seen.at - seen.sent_at < timedelta(seconds=EARLY_S)
            found[seen.id] = EARLY if early else HUMAN
    return found


def judge_edition(conn: Connection, template: str, day: date) -> int:
    """Judge the clicks of one edition not judged yet; returns how many were judged.

    A client's earlier clicks are read again with its new ones: a sweep may span two refreshes."""
    c = click.c
    edition = and_(c.template == template, c.edition_date == day)
    unjudged = select(c.customer).where(edition, c.verdict.is_(None)).distinct()
    d = delivery.c
    # Joined by the customer's id, so the ledger's (customer, edition) index finds each delivery.
    source = (click.outerjoin(Customer, Customer.public_id == c.customer)
              .outerjoin(delivery, and_(d.customer_id == Customer.id, d.template == c.template,
                                        d.edition_date == c.edition_date, d.state == SENT)))
    rows = conn.execute(select(c.id, c.customer, c.client_hash, c.owner, c.link_index, c.clicked_at, c.verdict,
                               d.updated_at.label("sent_at"))
                        .select_from(source)
                        .where(edition, c.customer.in_(unjudged))
                        .order_by(c.customer, c.client_hash, c.clicked_at, c.id)).all()
    if not rows:
        return 0
    seen = [Seen(r.id, (r.customer, r.client_hash), (r.owner, r.link_index), r.clicked_at, r.sent_at)
            for r in rows]
    before = {r.id: r.verdict for r in rows}
    # Most clicks are people's and new: one UPDATE for those, one row each only for the others.
    changed = [{"p_id": id_, "p_verdict": verdict} for id_, verdict in verdicts(seen).items()
               if before[id_] != verdict and not (verdict == HUMAN and before[id_] is None)]
    if changed:
        conn.execute(update(click).where(c.id == bindparam("p_id")).values(verdict=bindparam("p_verdict"))
                     .execution_options(synchronize_session=False), changed)
    # Bounded by what was read: a click the redirect writes meanwhile waits for the next refresh.
    conn.execute(update(click).where(edition, c.verdict.is_(None), c.id <= max(before)).values(verdict=HUMAN))
    return sum(1 for v in before.values() if v is None)
