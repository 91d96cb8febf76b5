"""Bounce and complaint rates per edition, and the warnings they call for.

Mailbox providers judge a sender by how many of its messages draw spam complaints and how many
go to addresses that do not exist; a sender over their limits gets its mail filtered or refused.
Per edition: the messages handed over (the ledger's sent deliveries), the recipients reported
as a hard bounce, a soft bounce and a complaint (``bounce_report``: distinct addresses per kind,
so an address reported twice counts once), their rates over the messages handed over, and a
warning for each rate over its limit. Soft bounces (a full mailbox, a delay, a policy refusal)
are shown and never warned about: they are the receiving side's, and the recording rules
suppress an address that keeps soft-bouncing.

The messages handed over are the ledger's sent rows. Counting them is a scan of the edition's
rows in ``ix_delivery_work`` (32 ms per 500,000 on SQLite, 48 on PostgreSQL), so an edition
whose send completed before the last ``refresh`` is read from its rollup (``delivered``, the
same count, already summed); only an edition still sending, or changed since (a re-run), is
counted in the ledger itself, all of them in one query. The reports are read through
``ix_bounce_report_edition``: the time grows with the reports, not the deliveries (8 editions
of 500,000 with 4.6% of them reported, far past the limits: 146 ms on SQLite, 117 on PostgreSQL;
one DISTINCT before counting was slower on SQLite and no faster on PostgreSQL). An index that
also holds ``kind`` and ``address`` would spare the table reads; it needs a migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from sqlalchemy import Connection, and_, case, func, select

from preferences.suppression.tables import COMPLAINT, HARD, SOFT, bounce_report
from service.results.figures import Period
from service.results.refresh import refreshed_at
from service.results.tables import DELIVERED, result_audience
from service.sending.tables import SENT, delivery, send_run

# Google's email sender guidelines (for bulk senders, enforced since February 2024): keep the
# spam rate users report below 0.10% and never reach 0.30%; Yahoo's sender requirements name
# 0.3%. The stricter one, so a warning comes before either provider acts.
COMPLAINT_LIMIT = Fraction(1, 1000)
# Not a Gmail or Yahoo figure (they publish none for bounces): the limit relays hold senders to,
# e.g. Amazon SES asks for a bounce rate below 2% and reviews an account from 5%. Mailbox
# providers read a sender that keeps mailing dead addresses as one with a bought or stale list.
HARD_BOUNCE_LIMIT = Fraction(2, 100)

COMPLAINT_RATE, HARD_BOUNCE_RATE = "complaint-rate", "hard-bounce-rate"


@dataclass(frozen=True)
class RateWarning:
    """A rate of an edition over its limit, and what to do about it."""

    code: str  # COMPLAINT_RATE or HARD_BOUNCE_RATE
    rate: float
    limit: Fraction

    @property
    def text(self) -> str:
        if self.code == COMPLAINT_RATE:
            return (f"complaint rate {self.rate:.2%} is over the limit of {float(self.limit):.1%} (Gmail's "
                    "bulk sender guidelines): check where these addresses came from (an import, an old "
                    "list, a sign-up without confirmation) and that unsubscribing is easy to find")
        return (f"hard-bounce rate {self.rate:.2%} is over the limit of {float(self.limit):.0%}: the list "
                "holds addresses that do not exist; check its source (an import, an old list) and that "
                "the bounce mailbox is read (cron: newsletter bounces process), so hard bounces are suppressed")


@dataclass(frozen=True)
class Deliverability:
    """One edition's messages handed over and the recipients reported, by kind."""

    edition_date: date
    sent: int = 0
    hard: int = 0
    soft: int = 0
    complaints: int = 0

    @property
    def hard_rate(self) -> float:
        return float(self._rate(self.hard))

    @property
    def soft_rate(self) -> float:
        return float(self._rate(self.soft))

    @property
    def complaint_rate(self) -> float:
        return float(self._rate(self.complaints))

    @property
    def warnings(self) -> tuple[RateWarning, ...]:
        """The limits passed (strictly over: exactly 0.1% of complaints is not a warning)."""
        found = []
        if self._rate(self.complaints) > COMPLAINT_LIMIT:
            found.append(RateWarning(COMPLAINT_RATE, self.complaint_rate, COMPLAINT_LIMIT))
        if self._rate(self.hard) > HARD_BOUNCE_LIMIT:
            found.append(RateWarning(HARD_BOUNCE_RATE, self.hard_rate, HARD_BOUNCE_LIMIT))
        return tuple(found)

    def _rate(self, reported: int) -> Fraction:
        # Exact: 1 in 1,000 is the limit itself, not a float a hair above or below it.
        return Fraction(reported, self.sent) if self.sent else Fraction(0)


def deliverability_by_edition(conn: Connection, period: Period) -> dict[date, Deliverability]:
    """The editions of ``period`` that have a send, by date: sent, hard, soft, complaints."""
    b, a, r = bounce_report.c, result_audience.c, send_run.c

    def recipients(kind: str):
        return func.count(func.distinct(case((b.kind == kind, b.address))))

    reported = (select(b.edition_date, recipients(HARD).label("hard"), recipients(SOFT).label("soft"),
                       recipients(COMPLAINT).label("complaints"))
                .where(period.of(bounce_report)).group_by(b.edition_date).subquery())
    rolled_up = (select(a.edition_date, func.sum(a.customers).label("delivered"))
                 .where(period.of(result_audience), a.measure == DELIVERED).group_by(a.edition_date).subquery())
    rows = conn.execute(
        select(r.edition_date, r.completed_at, r.updated_at, rolled_up.c.delivered, reported.c.hard,
               reported.c.soft, reported.c.complaints)
        .select_from(send_run.outerjoin(rolled_up, rolled_up.c.edition_date == r.edition_date)
                     .outerjoin(reported, reported.c.edition_date == r.edition_date))
        .where(period.of(send_run)).order_by(r.edition_date)).all()
    refreshed = refreshed_at(conn)
    unsettled = [row.edition_date for row in rows
                 if row.delivered is None or row.completed_at is None or refreshed is None
                 or row.updated_at > refreshed]
    counted = sent_in_ledger(conn, period.template, unsettled)
    return {row.edition_date: Deliverability(
        row.edition_date, counted.get(row.edition_date, 0) if row.edition_date in unsettled else int(row.delivered),
        int(row.hard or 0), int(row.soft or 0), int(row.complaints or 0)) for row in rows}


def sent_in_ledger(conn: Connection, template: str, days: list[date]) -> dict[date, int]:
    """The ledger's sent deliveries of these editions, counted (``ix_delivery_work``)."""
    if not days:
        return {}
    d = delivery.c
    return {day: int(n) for day, n in conn.execute(
        select(d.edition_date, func.count())
        .where(and_(d.template == template, d.edition_date.in_(days), d.state == SENT)).group_by(d.edition_date))}
