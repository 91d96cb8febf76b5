"""The plan of a send run: a ledger row for every active customer not planned yet.

``plan_run`` (once per run, in one process) streams the active customers in keyset batches,
decides for each whether they are due (preferences/due.py) and which variant they get, and
inserts their ledger rows (``pending`` or ``skipped`` with the reason). Rows already planned by
an earlier run are left alone: a re-run adds only new customers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Engine

from preferences.database import for_writes
from preferences.store import iter_send_candidates

from . import ledger
from .assemble import Edition
from .model import Content
from .send_spec import Decision, SendSpec, decide


@dataclass
class PlanCounts:
    considered: int = 0
    already_planned: int = 0
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
    template = content.templates[spec.template]
    edition = Edition(content, template, spec.day)
    previous = template.schedule.previous_edition(spec.day)
    writes, key = for_writes(engine), spec.edition
    counts = PlanCounts()
    if not dry_run:
        with writes.begin() as conn:
            ledger.start_run(conn, key, content.version)
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
