"""When a template's editions come out: every <weekday>, or the first <weekday> of a month; or,
for a template sent on an event (the welcome mail), a number of days after that event."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.content.reading.field_reader import FieldReader

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CADENCES = ("weekly", "monthly")
# A template sent on an event has an edition every day: the customers whose event was N days
# before it (not written by editors: what `trigger:` makes of the schedule).
DAILY = "daily"


@dataclass(frozen=True)
class Schedule:
    cadence: str = "weekly"
    weekday: int = 0  # Monday
    at: time = time(7, 0)
    timezone: str = "Europe/Berlin"

    def is_edition(self, day: date) -> bool:
        if self.cadence == DAILY:
            return True
        if day.weekday() != self.weekday:
            return False
        return self.cadence == "weekly" or day.day <= 7

    def not_an_edition(self, day: date, template_id: str) -> str | None:
        """Why ``day`` is refused as an edition of ``template_id`` (None: it is one): the one
        message of ``plan``, ``preview`` and ``send``."""
        if self.is_edition(day):
            return None
        return f"{day} is not an edition date of {template_id} (next: {self.next_edition(day)})"

    def next_edition(self, day: date) -> date:
        """The first edition date on or after `day`."""
        if self.cadence == DAILY:
            return day
        day += timedelta(days=(self.weekday - day.weekday()) % 7)
        while not self.is_edition(day):
            day += timedelta(days=7)
        return day

    def previous_edition(self, day: date) -> date:
        """The last edition date strictly before `day`."""
        if self.cadence == DAILY:
            return day - timedelta(days=1)
        day -= timedelta(days=(day.weekday() - self.weekday) % 7 or 7)
        while not self.is_edition(day):
            day -= timedelta(days=7)
        return day

    def editions(self, start: date, end: date) -> Iterator[date]:
        """Every edition date from `start` to `end`, both included."""
        day = self.next_edition(start)
        while day <= end:
            yield day
            day = self.next_edition(day + timedelta(days=1))

    def starts_at(self, day: date) -> datetime:
        """The moment the edition of `day` is due, as an aware datetime."""
        return datetime.combine(day, self.at, tzinfo=ZoneInfo(self.timezone))


def read_schedule(reader: FieldReader) -> Schedule:
    """The `schedule:` mapping of a template.yaml, with every mistake reported."""
    reader.only(("cadence", "weekday", "time", "timezone"))
    cadence = reader.text("cadence", "weekly")
    if cadence not in CADENCES:
        reader.error("cadence", f"cadence {cadence!r} must be one of {', '.join(CADENCES)}")
        cadence = "weekly"
    weekday_name = (reader.text("weekday", "monday") or "monday").lower()
    if weekday_name not in WEEKDAYS:
        reader.error("weekday", f"weekday {weekday_name!r} must be one of {', '.join(WEEKDAYS)}")
        weekday_name = "monday"
    return Schedule(cadence, WEEKDAYS.index(weekday_name), _time(reader, time(7, 0)), _zone(reader))


def _time(reader: FieldReader, default: time) -> time:
    raw_time = reader.raw("time")
    # YAML 1.1 reads an unquoted 07:00 as a sexagesimal number (420): accept it as minutes.
    if isinstance(raw_time, int) and not isinstance(raw_time, bool):
        raw_time = f"{raw_time // 60:02d}:{raw_time % 60:02d}"
    if raw_time is None:
        return default
    try:
        return time.fromisoformat(str(raw_time))
    except ValueError:
        reader.error("time", f"time {raw_time!r} must look like \"07:00\"")
        return default


def _zone(reader: FieldReader) -> str:
    zone = reader.text("timezone", "Europe/Berlin") or "Europe/Berlin"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        reader.error("timezone", f"unknown time zone {zone!r} (e.g. Europe/Berlin)")
        zone = "Europe/Berlin"
    return zone


# The events a template can be sent on. "confirmed": the customer's first double opt-in
# confirmation (preferences/optin), so the welcome mail greets each subscriber once.
EVENTS = ("confirmed",)
TRIGGER_KEYS = ("event", "after", "time", "timezone", "max_late")
_DAYS = re.compile(r"^(\d{1,3})d$")


@dataclass(frozen=True)
class Trigger:
    """``trigger:`` of a template.yaml: sent to each customer once, ``after`` days after the event.

    The edition of day D holds the customers whose event happened on day D - ``after`` (in
    ``timezone``). ``after: 0d`` goes out as soon as the event is seen; a later step of a series
    on its day at ``at``. An edition not sent within ``max_late`` days of its day is not sent
    (reason ``too-late``): a welcome that comes weeks late is no welcome."""

    event: str = "confirmed"
    after: int = 0  # days
    at: time = time(9, 0)
    timezone: str = "Europe/Berlin"
    max_late: int = 3  # days

    @property
    def schedule(self) -> Schedule:
        """An edition every day, each due at ``at`` (the time of the first step is the event's own)."""
        return Schedule(DAILY, 0, time(0, 0) if self.after == 0 else self.at, self.timezone)

    def event_day(self, day: date) -> date:
        """The day of the event whose customers the edition of ``day`` is for."""
        return day - timedelta(days=self.after)

    def event_window(self, day: date) -> tuple[datetime, datetime]:
        """From when to when (aware, end excluded) the event of the edition of ``day`` happened."""
        start = datetime.combine(self.event_day(day), time(0, 0), tzinfo=ZoneInfo(self.timezone))
        return start, datetime.combine(self.event_day(day) + timedelta(days=1), time(0, 0),
                                       tzinfo=ZoneInfo(self.timezone))

    def too_late(self, day: date, now: datetime) -> bool:
        """Whether the edition of ``day`` is past its allowed lateness at ``now``."""
        return (now.astimezone(ZoneInfo(self.timezone)).date() - day).days > self.max_late


def read_trigger(reader: FieldReader) -> Trigger:
    """The `trigger:` mapping of a template.yaml, with every mistake reported."""
    reader.only(TRIGGER_KEYS)
    event = reader.text("event", "confirmed")
    if event not in EVENTS:
        reader.error("event", f"event {event!r} must be one of {', '.join(EVENTS)}")
        event = "confirmed"
    after, max_late = _days(reader, "after", 0), _days(reader, "max_late", 3)
    if max_late < 1:
        reader.error("max_late", "max_late must be at least 1d (a send that runs late must still reach everyone)")
        max_late = 1
    return Trigger(event, after, _time(reader, time(9, 0)), _zone(reader), max_late)


def _days(reader: FieldReader, key: str, default: int) -> int:
    raw = reader.raw(key)
    if raw is None:
        return default
    match = _DAYS.match(str(raw).strip()) if not isinstance(raw, bool) else None
    if match is None:
        reader.error(key, f"{key} {raw!r} must be a number of days like 3d")
        return default
    return int(match.group(1))
