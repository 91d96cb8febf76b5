"""Which editions ``newsletter send --due`` starts: per template, its latest edition whose time
has come, unless its run is complete."""

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
    started: bool  # a run exists (an earlier call started it; it is continued)
    too_late: bool  # not started and more than the allowed lateness past its time


def due_editions(conn, content: Content, now: datetime, max_late: timedelta) -> list[DueEdition]:
    """Per template, its latest edition whose time has come, unless that edition's run is
    complete. An edition not started within ``max_late`` of its time is marked ``too_late``."""
    found = []
    for template in sorted(content.templates.values(), key=lambda t: t.id):
        schedule = template.schedule
        today = now.astimezone(ZoneInfo(schedule.timezone)).date()
        day = today if schedule.is_edition(today) and schedule.starts_at(today) <= now \
            else schedule.previous_edition(today)
        run = ledger.get_run(conn, ledger.EditionKey(template.id, day))
        if run is not None and run.completed_at is not None:
            continue
        starts_at = schedule.starts_at(day)
        found.append(DueEdition(template.id, day, starts_at, run is not None,
                                run is None and now - starts_at > max_late))
    return found
