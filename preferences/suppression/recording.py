"""The rules of recording: what a matched bounce or complaint report does to its customer.

Every report is written once into ``bounce_report`` (by its ``report_key``: reading a mailbox
again, or receiving a webhook event again, records nothing twice and changes nothing). Then:

- a hard bounce suppresses the customer's address at once (reason ``hard-bounce``, channel
  ``bounce``), if the report was matched by the message's Message-ID or our signed return path;
  one matched by the recipient's address alone (which anyone can write into a mail to the
  bounce address) counts as a repeat, like a soft one;
- a soft bounce (4.x.x, a delay, a permanent code about the message rather than the address)
  suppresses once ``SoftBounceRule.limit`` different messages to the customer bounced within
  ``SoftBounceRule.days`` before it (reason ``soft-bounces``): a message delayed three times
  and then returned is one message, three editions returned are three;
- a complaint unsubscribes the customer (channel ``complaint``) and suppresses the address
  (reason ``complaint``), so a later re-import does not mail them either.

Consent events name the edition the report was about, where it is known. Runs in the caller's
session and transaction; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from preferences.links import EditionRef
from preferences.models import Channel
from preferences.store.status import unsubscribe_many
from preferences.suppression.reports import Report
from preferences.suppression.store import Suppressing, address_key, suppress_many, suppressed_among
from preferences.suppression.tables import (COMPLAINED, COMPLAINT, HARD, HARD_BOUNCE, SOFT, SOFT_BOUNCES,
                                            bounce_report)
from preferences.utc import utcnow

BY_MESSAGE_ID, BY_RETURN_PATH, BY_ADDRESS = "message-id", "return-path", "address"
_CHUNK = 500


@dataclass(frozen=True)
class SoftBounceRule:
    """Soft bounces suppress an address once ``limit`` different messages bounced within ``days``."""

    limit: int = 3
    days: int = 30

    def __post_init__(self) -> None:
        if self.limit < 1 or self.days < 1:
            raise ValueError("the soft-bounce rule needs a limit and a number of days of at least 1")


@dataclass(frozen=True)
class Matched:
    """A report and the customer it is about, found ``by`` the Message-ID, the return path or
    the address; the edition (template, edition_date, message_id) where the ledger knew it."""

    report: Report
    customer_id: int
    email: str
    by: str
    template: str | None = None
    edition_date: date | None = None
    message_id: str | None = None


class Outcome(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"
    DUPLICATE = "already recorded"
    UNMATCHED = "unmatched"  # set by the matching: no customer, so nothing is recorded


@dataclass(frozen=True)
class Recorded:
    """What recording one matched report did: its outcome, and whether it suppressed the address."""

    outcome: Outcome
    suppressed: bool = False


def record_reports(session: Session, matched: Sequence[Matched], rule: SoftBounceRule) -> list[Recorded]:
    """Record each report once and apply the rules; one Recorded per item, in order."""
    conn = session.connection()
    new = _insert_new(conn, matched)
    suppressed = set(suppressed_among(conn, {m.email for m in matched}))
    counts = _SoftCounts(conn, [m for m in matched if m.report.key in new and m.report.kind != COMPLAINT], rule)
    decided: list[tuple[Matched, Suppressing | None] | None] = []
    complained: dict[int, EditionRef | None] = {}
    for item in matched:
        if item.report.key not in new:
            decided.append(None)
            continue
        new.discard(item.report.key)  # the same key twice in one batch: the second is a duplicate
        edition = EditionRef(item.template, item.edition_date) if item.template and item.edition_date else None
        if item.report.kind == COMPLAINT:
            complained.setdefault(item.customer_id, edition)
        wanted = None if address_key(item.email) in suppressed else _suppression(item, rule, edition, counts)
        if wanted is not None:
            suppressed.add(address_key(item.email))
        decided.append((item, wanted))
    unsubscribe_many(conn, complained, Channel.COMPLAINT)
    added = suppress_many(conn, [d[1] for d in decided if d is not None and d[1] is not None])
    return [Recorded(Outcome.DUPLICATE) if d is None else
            Recorded(Outcome(d[0].report.kind), d[1] is not None and address_key(d[1].email) in added)
            for d in decided]


def _insert_new(conn, matched: Sequence[Matched]) -> set[str]:
    """Insert the reports not recorded yet; their keys."""
    keys = list(dict.fromkeys(m.report.key for m in matched))
    known: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        known.update(conn.execute(select(bounce_report.c.report_key)
                                  .where(bounce_report.c.report_key.in_(keys[start:start + _CHUNK]))).scalars())
    now, rows, seen = utcnow(), [], set(known)
    for m in matched:
        r = m.report
        if r.key in seen:
            continue
        seen.add(r.key)
        rows.append({"report_key": r.key, "kind": r.kind, "source": r.source, "address": address_key(m.email),
                     "customer_id": m.customer_id, "template": m.template, "edition_date": m.edition_date,
                     "message_id": m.message_id or r.message_id, "status": r.status, "detail": r.detail,
                     "reported_at": r.reported_at, "recorded_at": now})
    if rows:
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(bounce_report)
        # A concurrent run that recorded the same report first wins; ours is then a duplicate in effect.
        conn.execute(insert.on_conflict_do_nothing(index_elements=["report_key"]), rows)
    return {row["report_key"] for row in rows}


def _suppression(item: Matched, rule: SoftBounceRule, edition: EditionRef | None,
                 counts: "_SoftCounts") -> Suppressing | None:
    """The suppression one new report calls for (its address not suppressed yet), or None."""
    report = item.report
    if report.kind == COMPLAINT:
        return Suppressing(item.email, COMPLAINED, Channel.COMPLAINT, item.customer_id, report.detail, edition)
    if report.kind == HARD and item.by != BY_ADDRESS:
        return Suppressing(item.email, HARD_BOUNCE, Channel.BOUNCE, item.customer_id, _detail(report), edition)
    bounced = counts.messages_bounced(item.customer_id, report)
    if bounced < rule.limit:
        return None
    return Suppressing(item.email, SOFT_BOUNCES, Channel.BOUNCE, item.customer_id,
                       f"{bounced} messages bounced within {rule.days} days; the last: {_detail(report)}", edition)


class _SoftCounts:
    """The recorded bounces of the customers whose new reports may count as repeats (one
    query per 500 customers, after the batch's own reports were inserted)."""

    def __init__(self, conn, repeats: Sequence[Matched], rule: SoftBounceRule) -> None:
        self.days = timedelta(days=rule.days)
        self.rows: dict[int, list] = {}
        counted = [m for m in repeats if m.report.kind == SOFT or m.by == BY_ADDRESS]
        ids = sorted({m.customer_id for m in counted})
        if not ids:
            return
        since = min(m.report.reported_at for m in counted) - self.days
        for start in range(0, len(ids), _CHUNK):
            for row in conn.execute(
                    select(bounce_report.c.customer_id, bounce_report.c.message_id, bounce_report.c.template,
                           bounce_report.c.edition_date, bounce_report.c.report_key, bounce_report.c.reported_at)
                    .where(bounce_report.c.customer_id.in_(ids[start:start + _CHUNK]),
                           bounce_report.c.kind.in_((SOFT, HARD)), bounce_report.c.reported_at >= since)):
                self.rows.setdefault(row.customer_id, []).append(row)

    def messages_bounced(self, customer_id: int, report: Report) -> int:
        """How many different messages to the customer bounced within the rule's days before
        the report (itself included): one per Message-ID, else per edition, else per report."""
        since, until = report.reported_at - self.days, report.reported_at
        return len({row.message_id or (f"{row.template}/{row.edition_date}" if row.template else row.report_key)
                    for row in self.rows.get(customer_id, ()) if since <= row.reported_at <= until})


def _detail(report: Report) -> str:
    return " ".join(filter(None, [report.status, report.detail]))[:500]
