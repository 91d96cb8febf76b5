"""Which editions ``newsletter send --due`` starts: per template, its latest edition whose time
has come, unless its run is complete. (The mails sent on an event, the welcome mail, have their
own: service/sending/triggered.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from service.content.model import Content
from service.sending import ledger


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
