"""What ``newsletter send --due`` starts: the newsletters' editions whose time has come
(``due_editions``) and the editions of the mails sent on an event (``due_triggered``).

**Newsletters.** Per template, its latest edition whose time has come, unless its run is complete.

**Mails sent on an event** (the welcome mail and its series).

A template with ``trigger:`` (service/content/schedule.py) has an edition every day: the
edition of day D of a step sent ``after`` N days holds the customers whose first confirmation
(preferences/optin/confirmed.py) was on day D - N. ``newsletter send --due`` (cron, every few
minutes) plans each such edition whose time has come and delivers it like any other, through
the ledger and ``BatchSender``:

- planning is one ``INSERT ... SELECT`` per edition (no customer passes through Python), and adds
  only customers who have no row of the template at all: each step reaches a customer once,
  however often the send runs, crashes or is run twice at once (the ledger's unique key);
- an edition is looked at for ``max_late`` days after its day; one not sent by then is planned
  ``skipped`` with the reason ``too-late`` (a welcome that comes weeks late is no welcome, and
  the report says who missed it) for another ``REPORTED_DAYS``; older ones are left alone;
- at handover, the same rules as for a newsletter (unsubscribed, pending, paused, suppressed),
  but not the frequency: a customer who asked for a monthly newsletter is still welcomed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, exists, update

from preferences.database import for_writes
from preferences.optin.confirmed import first_confirmed_between
from preferences.utc import utcnow

from service.content.model import Content, Template
from service.sending import ledger
from service.sending.tables import delivery, send_run


@dataclass(frozen=True)
class DueEdition:
    template: str
    day: date
    starts_at: datetime
    started: bool  # a full run exists (an earlier call started it; it is continued)
    too_late: bool  # not started and more than the allowed lateness past its time


def due_editions(conn, content: Content, now: datetime, max_late: timedelta) -> list[DueEdition]:
    """Per template, its latest edition whose time has come, unless that edition's run is
    complete. An edition not started within ``max_late`` of its time is marked ``too_late``.

    Only a full run starts an edition: test runs (``--limit``) deliver to real customers and are
    in the ledger, but an edition that only they touched is as late as if they never ran."""
    found = []
    for template in sorted(content.newsletters().values(), key=lambda t: t.id):
        schedule = template.schedule
        today = now.astimezone(ZoneInfo(schedule.timezone)).date()
        day = today if schedule.is_edition(today) and schedule.starts_at(today) <= now \
            else schedule.previous_edition(today)
        run = ledger.get_run(conn, ledger.EditionKey(template.id, day))
        if run is not None and run.completed_at is not None:
            continue
        starts_at = schedule.starts_at(day)
        started = run is not None and not run.test_runs_only
        found.append(DueEdition(template.id, day, starts_at, started, not started and now - starts_at > max_late))
    return found


# Mails sent on an event ----------------------------------------------------------------------

TOO_LATE = "too-late"
# How many days past its lateness an edition's customers are still planned as skipped (so that
# a send that did not run for a while reports who missed their welcome).
REPORTED_DAYS = 14


@dataclass(frozen=True)
class TriggeredEdition:
    template: str
    day: date
    too_late: bool  # its customers are planned skipped (too-late), not sent


def due_triggered(content: Content, now: datetime) -> list[TriggeredEdition]:
    """Per template sent on an event, every edition that may hold customers now, oldest first:
    those whose time has come within the allowed lateness, and, marked ``too_late``, the
    ``REPORTED_DAYS`` before them."""
    found = []
    for template in sorted(content.triggered().values(), key=lambda t: t.id):
        trigger = template.trigger
        today = now.astimezone(ZoneInfo(trigger.timezone)).date()
        for back in range(trigger.max_late + REPORTED_DAYS, -1, -1):
            day = today - timedelta(days=back)
            if template.schedule.starts_at(day) <= now:
                found.append(TriggeredEdition(template.id, day, trigger.too_late(day, now)))
    return found


def plan_triggered(engine: Engine, template: Template, edition: TriggeredEdition) -> int:
    """Add a row for every customer of ``edition`` who has none of the template yet; the rows
    added (0: the edition's run is left as it was, none is created for an empty day)."""
    start, end = template.trigger.event_window(edition.day)
    customers = first_confirmed_between(start, end)
    customers = customers.where(~ever_planned(customers.selected_columns.id, template.id))
    key = ledger.EditionKey(template.id, edition.day)
    with for_writes(engine).begin() as conn:
        added = ledger.plan_all_pending(conn, key, customers, skipped=TOO_LATE if edition.too_late else None)
        if added:
            ledger.start_run(conn, key, None)
            reopen_run(conn, key)
            ledger.finish_plan(conn, key)
    return added


def reopen_run(conn: Connection, edition: ledger.EditionKey) -> None:
    """A run that gets rows after it completed (customers keep confirming all day) is
    unfinished again until those are done."""
    conn.execute(update(send_run).where(send_run.c.template == edition.template,
                                        send_run.c.edition_date == edition.day, send_run.c.completed_at.is_not(None))
                 .values(completed_at=None, updated_at=utcnow()))


def ever_planned(customer_id_column, template: str):
    """Whether a customer (the column of an enclosing query) has any row of ``template``, of any
    edition: what makes a mail sent on an event go to each customer once (ix_delivery_customer)."""
    return exists().where(delivery.c.customer_id == customer_id_column, delivery.c.template == template)


def unfinished(engine: Engine, editions: list[TriggeredEdition]) -> list[TriggeredEdition]:
    """The editions with rows still to deliver (planned now, or left by a run that stopped)."""
    with engine.connect() as conn:
        return [e for e in editions if not e.too_late
                and ledger.count_unfinished(conn, ledger.EditionKey(e.template, e.day))]
