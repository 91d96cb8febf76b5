"""The delivery ledger: one row per (template, edition date, customer), the single source of truth
for who was sent what. Queries named by intent, all SQLAlchemy Core (the bulk path).

A row's life: ``pending`` (planned, due) -> ``claimed`` (a worker holds it, with a lease) ->
``sent`` | ``failed`` | ``skipped``. Rows planned as not due are inserted ``skipped`` at once.
A claim whose lease ran out (its worker died) is claimable again; a worker that cannot reach
the relay releases its rows back to ``pending``, claimable at once; a row the relay deferred for
its recipient alone goes back to ``pending`` with a ``not_before`` time (its back-off), and is
not claimed before it. A run is complete when every row is terminal.

Claiming never hands one row to two workers: PostgreSQL picks the rows with ``FOR UPDATE SKIP
LOCKED``; SQLite runs the same ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING`` in a
``BEGIN IMMEDIATE`` transaction, which serialises writers (pass ``for_writes(engine)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Mapping, Sequence

from sqlalchemy import (Connection, Date, Engine, Integer, String, Table, and_, bindparam, func, literal, select, text,
                        true, update)
from sqlalchemy.dialects import postgresql, sqlite

from preferences.utc import UTCDateTime, utcnow
from service.sending.tables import (CLAIMED, FAILED, HELD, PENDING, SENT, SKIPPED, STATES, TERMINAL,  # noqa: F401
                                    TEXT_LIMIT, Claim, Outcome, delivery, send_run)


@dataclass(frozen=True)
class EditionKey:
    """Which edition a ledger query is about: a template and a date."""

    template: str
    day: date

    def where(self):
        return and_(delivery.c.template == self.template, delivery.c.edition_date == self.day)


# Runs ------------------------------------------------------------------------------------------

def start_run(conn: Connection, edition: EditionKey, content_version: str | None, *, test_run: bool = False) -> None:
    """Create the edition's run row unless it exists (a re-run continues the same run).

    ``test_run`` (``--limit``): the run stays marked as started by test runs only until a full
    run continues it, so a test run does not make an edition that was too late due again."""
    now = utcnow()
    values = dict(template=edition.template, edition_date=edition.day, content_version=content_version,
                  plan_complete=False, test_runs_only=test_run, started_at=now, updated_at=now)
    conn.execute(_insert(conn, send_run).values(**values).on_conflict_do_nothing())
    changes = dict(updated_at=now, content_version=content_version) | ({} if test_run else {"test_runs_only": False})
    conn.execute(update(send_run).where(_run(edition)).values(**changes))


def finish_plan(conn: Connection, edition: EditionKey) -> None:
    conn.execute(update(send_run).where(_run(edition)).values(plan_complete=True, updated_at=utcnow()))


def complete_if_done(conn: Connection, edition: EditionKey) -> bool:
    """Mark the run complete if its plan went through and every row is terminal; True if so."""
    run = get_run(conn, edition)
    if run is None or not run.plan_complete:
        return False
    if run.completed_at is not None:
        return True
    if count_unfinished(conn, edition):
        return False
    now = utcnow()
    conn.execute(update(send_run).where(_run(edition)).values(completed_at=now, updated_at=now))
    return True


def get_run(conn: Connection, edition: EditionKey):
    return conn.execute(select(send_run).where(_run(edition))).first()


def _run(edition: EditionKey):
    return and_(send_run.c.template == edition.template, send_run.c.edition_date == edition.day)


# Planning --------------------------------------------------------------------------------------

def planned_customer_ids(conn: Connection, edition: EditionKey, low: int, high: int) -> set[int]:
    """Customers in [low, high] that already have a row for this edition."""
    c = delivery.c
    return set(conn.execute(select(c.customer_id).where(edition.where(), c.customer_id.between(low, high)))
               .scalars())


def last_sent_dates(conn: Connection, template: str, before: date, customer_ids: Iterable[int]) -> dict[int, date]:
    """Per customer, the date of the latest edition of ``template`` sent to them before ``before``."""
    ids = list(customer_ids)
    if not ids:
        return {}
    c = delivery.c
    statement = (select(c.customer_id, func.max(c.edition_date))
                 .where(c.template == template, c.state == SENT, c.edition_date < before,
                        c.customer_id.between(min(ids), max(ids)))
                 .group_by(c.customer_id))
    wanted = set(ids)
    return {cid: day for cid, day in conn.execute(statement) if cid in wanted}


def add_planned(conn: Connection, edition: EditionKey, rows: Sequence[Mapping]) -> None:
    """Insert rows (customer_id, state, reason, segment, variant); existing ones are left alone."""
    if not rows:
        return
    now = _stamp(conn.dialect)
    values = [dict(template=edition.template, edition_date=edition.day, now=now, **row) for row in rows]
    conn.execute(_ADD_PLANNED, values)


def plan_all_pending(conn: Connection, edition: EditionKey, customer_ids, *, skipped: str | None = None,
                     state: str = PENDING, phase: str | None = None, arms: str | None = None) -> int:
    """Insert a ``pending`` row (``skipped`` with that reason; or in ``state``, with ``phase`` and
    ``arms``: a tested edition's) for every customer id the ``customer_ids`` statement selects that
    has no row yet, in the database (no row passes through Python); the rows added."""
    c = delivery.c
    chosen = customer_ids.subquery()
    rows = select(literal(edition.template, String), literal(edition.day, Date), chosen.c.id,
                  literal(SKIPPED if skipped else state, String), literal(skipped, String),
                  literal(0, Integer), literal(utcnow(), UTCDateTime()), literal(phase, String), literal(arms, String))
    statement = (_insert(conn, delivery)
                 .from_select([c.template, c.edition_date, c.customer_id, c.state, c.reason, c.attempts, c.updated_at,
                               c.phase, c.arms],
                              rows.where(true()))  # SQLite: a WHERE before ON CONFLICT (no ambiguity)
                 .on_conflict_do_nothing())
    return conn.execute(statement, execution_options={"preserve_rowcount": True}).rowcount


# Textual statements for the per-row bulk paths: a compiled Core statement processes every
# parameter of every row by type, which cost as much as the database's own work here.
_ADD_PLANNED = text(
    "INSERT INTO delivery (template, edition_date, customer_id, state, reason, segment, variant, attempts, "
    "updated_at) VALUES (:template, :edition_date, :customer_id, :state, :reason, :segment, :variant, 0, :now) "
    "ON CONFLICT DO NOTHING"
).bindparams(bindparam("edition_date", type_=Date()))


def _stamp(dialect, when: datetime | None = None):
    """A time (default: now) as UTCDateTime stores it (naive UTC text on SQLite)."""
    when = utcnow() if when is None else when.astimezone(timezone.utc)
    if dialect.name == "sqlite":
        return when.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return when


# Delivering ------------------------------------------------------------------------------------

def claim_batch(engine: Engine, edition: EditionKey, worker: str, limit: int, lease: float) -> list[Claim]:
    """Claim up to ``limit`` rows for ``worker`` in one transaction: stale claims first (their
    worker died), then pending rows whose back-off is over, then fresh pending rows, lowest id first.

    ``engine`` should be ``preferences.database.for_writes(engine)`` so SQLite takes its write
    lock at BEGIN."""
    c = delivery.c
    now = utcnow()
    stale = and_(c.state == CLAIMED, c.claimed_at < now - timedelta(seconds=lease))
    claimed: list[Claim] = []
    with engine.begin() as conn:
        # One statement each, not one with OR: each walks its own part of ix_delivery_work (fresh
        # rows in id order), where an OR made every claim scan the edition's rows from the start,
        # and rows waiting for their retry would be read again by every claim.
        retry = and_(c.state == PENDING, c.not_before <= now)
        for condition in (stale, retry, and_(c.state == PENDING, c.not_before.is_(None))):
            if len(claimed) >= limit:
                break
            chosen = (select(c.id).where(edition.where(), condition).order_by(c.id).limit(limit - len(claimed))
                      .with_for_update(skip_locked=True))  # ignored by SQLite, whose write lock suffices
            statement = (update(delivery)
                         .where(c.id.in_(chosen.scalar_subquery()))
                         .values(state=CLAIMED, claimed_by=worker, claimed_at=now, updated_at=now,
                                 attempts=c.attempts + 1)
                         .returning(c.id, c.customer_id, c.attempts, c.phase, c.arms))
            claimed.extend(Claim(*row) for row in conn.execute(statement))
    return sorted(claimed, key=lambda claim: claim.id)


def renew_claims(conn: Connection, worker: str, ids: Sequence[int]) -> None:
    """Extend the lease of rows this worker still holds (a slow relay, a long batch)."""
    if ids:
        c = delivery.c
        conn.execute(update(delivery).where(c.id.in_(list(ids)), c.claimed_by == worker, c.state == CLAIMED)
                     .values(claimed_at=utcnow()))


def record(engine: Engine, worker: str, outcomes: Sequence[Outcome]) -> int:
    """Write the outcomes of claimed rows in one transaction; returns the rows changed.

    Only rows still claimed by ``worker`` change: if its lease ran out and another worker took a
    row over, that worker's outcome counts."""
    if not outcomes:
        return 0
    # Straight to the driver, a tuple per row: compiled, the update took a fifth of a worker's time.
    now, dialect = _stamp(engine.dialect), engine.dialect
    params = [(o.state, _cut(o.reason), o.segment, o.variant, o.message_id, _cut(o.answer), o.body_digest,
               o.state, o.arms, o.arms, 0 if o.tried else 1, o.not_before and _stamp(dialect, o.not_before), now,
               o.id, worker)
              for o in outcomes]
    with engine.begin() as conn:
        result = conn.exec_driver_sql(_RECORD[conn.dialect.paramstyle], params)
    return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(params)


_RECORD_SQL = (
    "UPDATE delivery SET state = ?, reason = ?, segment = coalesce(?, segment), variant = coalesce(?, variant), "
    "message_id = coalesce(?, message_id), answer = coalesce(?, answer), body_digest = ?, "
    # Sent: the arms the mail held, exactly (none for a variant without an experiment, whatever a
    # winner phase preset on the row); otherwise what the row had is kept.
    "arms = CASE WHEN ? = 'sent' THEN ? ELSE coalesce(?, arms) END, "
    "attempts = attempts - ?, not_before = ?, claimed_by = NULL, claimed_at = NULL, updated_at = ? "
    "WHERE id = ? AND claimed_by = ? AND state = 'claimed'"
)
# The same statement in each driver's positional style (sqlite3: qmark; psycopg: %s).
_RECORD = {"qmark": _RECORD_SQL} | dict.fromkeys(("format", "pyformat"), _RECORD_SQL.replace("?", "%s"))


# Counting --------------------------------------------------------------------------------------

def count_by_state(conn: Connection, edition: EditionKey) -> dict[str, int]:
    c = delivery.c
    found = dict(conn.execute(select(c.state, func.count()).where(edition.where()).group_by(c.state)).all())
    held = {HELD: found[HELD]} if found.get(HELD) else {}  # a tested edition's, waiting for the decision
    return {state: found.get(state, 0) for state in STATES} | held


def count_rows(conn: Connection, statement) -> int:
    """How many rows a select statement returns."""
    return conn.execute(select(func.count()).select_from(statement.subquery())).scalar_one()


def count_unfinished(conn: Connection, edition: EditionKey) -> int:
    c = delivery.c
    return conn.execute(select(func.count()).where(edition.where(), c.state.in_((PENDING, CLAIMED, HELD)))).scalar_one()


def next_claimable_in(conn: Connection, edition: EditionKey, lease: float) -> float | None:
    """Seconds until some row becomes claimable (0: now), or None when nothing is unfinished:
    a pending row is claimable at its ``not_before``, a claimed one when its lease runs out."""
    c = delivery.c
    pending = and_(edition.where(), c.state == PENDING)
    if conn.execute(select(c.id).where(pending, c.not_before.is_(None)).limit(1)).first():
        return 0.0
    retry = conn.execute(select(func.min(c.not_before)).where(pending)).scalar()
    oldest = conn.execute(select(func.min(c.claimed_at)).where(edition.where(), c.state == CLAIMED)).scalar()
    times = [t for t in (retry, oldest and oldest + timedelta(seconds=lease)) if t is not None]
    return None if not times else max(0.0, (min(times) - utcnow()).total_seconds())


def tally(conn: Connection, edition: EditionKey) -> list[tuple[str, str | None, str | None, str | None, int]]:
    """(state, reason, segment, variant, count) for every combination present: the report's data."""
    c = delivery.c
    statement = (select(c.state, c.reason, c.segment, c.variant, func.count())
                 .where(edition.where()).group_by(c.state, c.reason, c.segment, c.variant))
    return [tuple(row) for row in conn.execute(statement)]


def unfinished_runs(conn: Connection) -> list:
    """Runs that are not complete, oldest edition first."""
    return conn.execute(select(send_run).where(send_run.c.completed_at.is_(None))
                        .order_by(send_run.c.edition_date)).all()


def deliveries_of(conn: Connection, edition: EditionKey) -> list:
    """Every row of an edition (tests and small editions only: not for the bulk path)."""
    return conn.execute(select(delivery).where(edition.where()).order_by(delivery.c.customer_id)).all()


def _insert(conn: Connection, table: Table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _cut(text: str | None) -> str | None:
    return text if text is None or len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT - 1] + "…"
