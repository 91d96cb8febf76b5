"""The plan of a send run: a ledger row for every active customer not planned yet.

``plan_run`` runs once per run, in one process, while the workers already deliver what it
planned. Rows planned by an earlier run are left alone: a re-run adds only new customers.

- A whole run is planned in the database: one ``INSERT ... SELECT`` per range of customer ids
  adds every active customer as ``pending``, no row passing through Python. Whether a customer
  is due (preferences/due.py) is decided where it has to be decided anyway, at handover
  (service/sending/batch.py re-reads each claimed customer): who is not due ends up ``skipped`` with the
  same reason as if the plan had decided it. Planning 100,000 customers takes well under a
  second instead of seconds of the parent's CPU that the workers need.
- ``--limit`` and ``--dry-run`` stream the customers through Python and decide each one here:
  a limit counts due customers, and a dry run reports the variants without writing anything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Engine, select

from preferences.database import for_writes
from preferences.models import customer_table
from preferences.store import iter_send_candidates, send_candidate_ids

from service.assembly.edition import Edition
from service.content.model import Content
from service.sending import digests, ledger, phases
from service.sending.spec import Decision, SendSpec, decide


# Customer ids per INSERT ... SELECT of the whole-run plan: short write transactions, so the
# workers' claims and records interleave with the plan and start on the first range at once.
PLAN_RANGE = 10_000


@dataclass
class PlanCounts:
    considered: int = 0
    already_planned: int = 0
    # New pending rows. Decided here (--limit, --dry-run): the due customers among them; planned
    # in the database: every new row, the handover skips whoever of them is not due.
    due: int = 0
    skipped: Counter = field(default_factory=Counter)
    segments: dict = field(default_factory=dict)  # segment -> Counter(state)
    variants: Counter = field(default_factory=Counter)  # due customers per variant
    complete: bool = False  # went through every customer (not stopped by --limit)


def plan_run(engine: Engine, content: Content, spec: SendSpec, *, limit: int | None = None,
             dry_run: bool = False, batch: int = 2000,
             on_batch: Callable[[PlanCounts], None] | None = None) -> PlanCounts:
    """Insert a ledger row for every active customer not planned yet (none with ``dry_run``,
    which counts the variants instead); stop after ``limit`` new due customers."""
    if limit is None and not dry_run:
        return _plan_in_database(engine, content, spec, on_batch)
    template = content.templates[spec.template]
    edition = Edition(content, template, spec.day, experiment_key=spec.settings.experiment_key,
                      rankings=digests.decided(engine, spec.template, spec.day))
    previous = template.schedule.previous_edition(spec.day)
    writes, key = for_writes(engine), spec.edition
    counts = PlanCounts()
    if not dry_run:
        with writes.begin() as conn:
            ledger.start_run(conn, key, content.version, test_run=limit is not None)
    after, stopped = 0, False
    while not stopped:
        with engine.connect() as conn:
            rows = list(iter_send_candidates(conn, after, batch))
            if not rows:
                counts.complete = True
                break
            planned = ledger.planned_customer_ids(conn, key, rows[0].id, rows[-1].id)
            fresh = [r for r in rows if r.id not in planned]
            last = ledger.last_sent_dates(conn, spec.template, spec.day, (r.id for r in fresh))
        after = rows[-1].id
        counts.considered += len(rows)
        counts.already_planned += len(planned)
        new_rows = []
        for row in fresh:
            if limit is not None and counts.due >= limit:
                stopped = True
                break
            decision = decide(edition, row, last.get(row.id), previous, variant=dry_run)
            new_rows.append(dict(customer_id=row.id, state=decision.state, reason=decision.reason,
                                 segment=decision.segment, variant=decision.variant))
            _count(counts, decision)
        if not dry_run and new_rows:
            with writes.begin() as conn:
                ledger.add_planned(conn, key, new_rows)
        if on_batch:
            on_batch(counts)
    if not dry_run and counts.complete:
        with writes.begin() as conn:
            ledger.finish_plan(conn, key)
    return counts


def _count(counts: PlanCounts, decision: Decision) -> None:
    per_segment = counts.segments.setdefault(decision.segment or "(none)", Counter())
    per_segment[decision.state] += 1
    if decision.state == ledger.PENDING:
        counts.due += 1
        if decision.variant:
            counts.variants[decision.variant] += 1
    else:
        counts.skipped[decision.reason] += 1


def _plan_in_database(engine: Engine, content: Content, spec: SendSpec,
                      on_batch: Callable[[PlanCounts], None] | None) -> PlanCounts:
    writes, key = for_writes(engine), spec.edition
    counts = PlanCounts()
    with writes.begin() as conn:
        ledger.start_run(conn, key, content.version)
        if spec.test_share is not None:
            phases.start_test(conn, key, spec.test_share)
        run = ledger.get_run(conn, key)
    # A tested edition's (service/sending/phases.py): held, and the sample drawn, in the test
    # phase; the winners' arms once released. Else plain pending rows.
    values, testing = phases.plan_values(run), phases.testing(run)
    after = 0
    while True:
        with engine.connect() as conn:
            upto = _range_end(conn, after)
            considered = ledger.count_rows(conn, send_candidate_ids(after, upto))
        with writes.begin() as conn:
            added = ledger.plan_all_pending(conn, key, send_candidate_ids(after, upto), **values)
            if testing:
                phases.draw_sample(conn, key, spec.settings.experiment_key, run.test_share, after, upto)
        counts.considered += considered
        counts.already_planned += considered - added
        counts.due += added
        if on_batch:
            on_batch(counts)
        if upto is None:
            break
        after = upto
    counts.complete = True
    with writes.begin() as conn:
        ledger.finish_plan(conn, key)
    return counts


def _range_end(conn, after: int) -> int | None:
    """The customer id that ends the range of PLAN_RANGE ids after ``after``; None: the last range."""
    c = customer_table.c
    return conn.execute(select(c.id).where(c.id > after).order_by(c.id).offset(PLAN_RANGE - 1).limit(1)).scalar()
