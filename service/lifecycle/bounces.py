"""Bounce and complaint reports matched to the customers and deliveries they are about, and
recorded (the rules: ``preferences.suppression.recording``).

A report is matched, per recipient, by the first of:

1. the original message's Message-ID, found in the delivery ledger: the customer and the
   edition (template, date) it was;
2. our VERP return path (``preferences.suppression.return_path``), signed, which names the
   customer even when the report quotes nothing of the message; the edition is then the
   customer's latest delivery sent in the 30 days before the report, if any;
3. the recipient's address, if it is exactly one customer's (the customer table holds each
   address once); the edition as for 2. Anyone can write an address into a mail to the bounce
   address, so such a match never suppresses at once (see the recording rules).

A Message-ID or return path does not hold for a recipient whose address is another customer's
(a report about several recipients, of whom ours is one): that recipient is matched by its
address. A report that matches no customer is counted as unmatched and not recorded.

``record_batch`` does a batch in one transaction; the caller marks the mails it came from only
after it returns, so a run that dies in between reads them again and records nothing twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Sequence

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from preferences.database import for_writes
from preferences.models import customer_table
from preferences.suppression.recording import (BY_ADDRESS, BY_MESSAGE_ID, BY_RETURN_PATH, Matched, Outcome,
                                               Recorded, SoftBounceRule, record_reports)
from preferences.suppression.reports import Report
from preferences.suppression.return_path import ReturnPath
from service.sending.tables import SENT, delivery

_CHUNK = 500
# How far before a report the delivery it is about is looked for when it quotes no Message-ID:
# servers give up retrying after about five days; a report older than this is about no edition.
LOOK_BACK = timedelta(days=30)


@dataclass
class Tally:
    """What a run (or a webhook request) did: reports by outcome, addresses newly suppressed."""

    outcomes: Counter = field(default_factory=Counter)
    suppressed: int = 0

    def add(self, recorded: Sequence[Recorded]) -> None:
        for item in recorded:
            self.outcomes[item.outcome] += 1
            self.suppressed += item.suppressed

    def __getitem__(self, outcome: Outcome) -> int:
        return self.outcomes[outcome]


def record_batch(engine: Engine, reports: Sequence[Report], return_path: ReturnPath,
                 rule: SoftBounceRule) -> list[Recorded]:
    """Match and record ``reports`` in one transaction (committed when this returns); what
    each one did, in order (``Outcome.UNMATCHED`` for those of no customer)."""
    if not reports:
        return []
    with Session(for_writes(engine)) as session:
        matches = match_reports(session.connection(), reports, return_path)
        recorded = iter(record_reports(session, [m for m in matches if m is not None], rule))
        session.commit()
    return [Recorded(Outcome.UNMATCHED) if m is None else next(recorded) for m in matches]


def match_reports(conn: Connection, reports: Sequence[Report], return_path: ReturnPath) -> list[Matched | None]:
    """The customer (and edition) of each report, or None; in the reports' order."""
    by_message = _deliveries_by_message_id(conn, [r.message_id for r in reports if r.message_id])
    public_ids = {r.key: _public_id(r, return_path) for r in reports}
    by_public_id = _customers_by(conn, customer_table.c.public_id, [p for p in public_ids.values() if p])
    by_address = _customers_by(conn, func.lower(customer_table.c.email), [r.address for r in reports if r.address])
    found: list[tuple[Report, dict | None, str | None, dict | None]] = []
    for report in reports:
        named = by_address.get(report.address) if report.address else None
        delivered = by_message.get(report.message_id) if report.message_id else None
        if delivered is not None and _holds(named, delivered["customer_id"]):
            found.append((report, None, BY_MESSAGE_ID, delivered))
            continue
        customer = by_public_id.get(public_ids[report.key]) if public_ids[report.key] else None
        if customer is not None and _holds(named, customer["id"]):
            found.append((report, customer, BY_RETURN_PATH, None))
        else:
            found.append((report, named, BY_ADDRESS if named is not None else None, None))
    latest = _LatestDeliveries(conn, [(customer["id"], report.reported_at) for report, customer, _, _ in found
                                      if customer is not None])
    matched: list[Matched | None] = []
    for report, customer, by, delivered in found:
        if delivered is not None:
            matched.append(Matched(report, delivered["customer_id"], delivered["email"], by, delivered["template"],
                                   delivered["edition_date"], report.message_id))
        elif customer is None:
            matched.append(None)
        else:
            edition = latest.before(customer["id"], report.reported_at)
            matched.append(Matched(report, customer["id"], customer["email"], by, *(edition or (None, None, None))))
    return matched


def _holds(named: dict | None, customer_id: int) -> bool:
    """A Message-ID or return path match holds unless the recipient is another customer's address."""
    return named is None or named["id"] == customer_id


def _public_id(report: Report, return_path: ReturnPath) -> str | None:
    for address in report.return_paths:
        found = return_path.public_id_of(address)
        if found is not None:
            return found
    return None


def _deliveries_by_message_id(conn: Connection, message_ids: list[str]) -> dict[str, dict]:
    wanted = list(dict.fromkeys(message_ids))
    found: dict[str, dict] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            select(delivery.c.message_id, delivery.c.customer_id, delivery.c.template, delivery.c.edition_date,
                   customer_table.c.email)
            .join(customer_table, customer_table.c.id == delivery.c.customer_id)
            .where(delivery.c.message_id.in_(wanted[start:start + _CHUNK])))
        for row in rows:
            found[row.message_id] = dict(row._mapping)
    return found


def _customers_by(conn: Connection, column, values: list[str]) -> dict[str, dict]:
    wanted = list(dict.fromkeys(values))
    found: dict[str, dict] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = conn.execute(select(customer_table.c.id, customer_table.c.email, column.label("key"))
                            .where(column.in_(wanted[start:start + _CHUNK])))
        for row in rows:
            found[row.key] = {"id": row.id, "email": row.email}
    return found


class _LatestDeliveries:
    """The deliveries sent to these customers in the LOOK_BACK before their reports (one query
    per 500 customers), to name the edition of a report that quotes no Message-ID."""

    def __init__(self, conn: Connection, wanted: list[tuple[int, datetime]]) -> None:
        self.sent: dict[int, list] = {}
        ids = sorted({customer_id for customer_id, _ in wanted})
        if not ids:
            return
        since, until = min(at for _, at in wanted) - LOOK_BACK, max(at for _, at in wanted)
        for start in range(0, len(ids), _CHUNK):
            for row in conn.execute(
                    select(delivery.c.customer_id, delivery.c.template, delivery.c.edition_date, delivery.c.message_id,
                           delivery.c.updated_at)
                    .where(delivery.c.customer_id.in_(ids[start:start + _CHUNK]), delivery.c.state == SENT,
                           delivery.c.updated_at >= since, delivery.c.updated_at <= until)):
                self.sent.setdefault(row.customer_id, []).append(row)

    def before(self, customer_id: int, at: datetime) -> tuple[str, date, str | None] | None:
        """(template, edition date, Message-ID) of the customer's latest delivery sent before ``at``."""
        earlier = [row for row in self.sent.get(customer_id, ()) if at - LOOK_BACK <= row.updated_at <= at]
        if not earlier:
            return None
        row = max(earlier, key=lambda r: r.updated_at)
        return row.template, row.edition_date, row.message_id


__all__ = ["Outcome", "Recorded", "SoftBounceRule", "Tally", "match_reports", "record_batch"]
