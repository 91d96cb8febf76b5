"""When a template's editions come out: every <weekday>, or the first <weekday> of a month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.content.reading.field_reader import FieldReader

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CADENCES = ("weekly", "monthly")


@dataclass(frozen=True)
class Schedule:
    cadence: str = "weekly"
    weekday: int = 0  # Monday
    at: time = time(7, 0)
    timezone: str = "Europe/Berlin"

    def is_edition(self, day: date) -> bool:
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
        day += timedelta(days=(self.weekday - day.weekday()) % 7)
        while not self.is_edition(day):
            day += timedelta(days=7)
        return day

    def previous_edition(self, day: date) -> date:
        """The last edition date strictly before `day`."""
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
    raw_time = reader.raw("time")
    # YAML 1.1 reads an unquoted 07:00 as a sexagesimal number (420): accept it as minutes.
    if isinstance(raw_time, int) and not isinstance(raw_time, bool):
        raw_time = f"{raw_time // 60:02d}:{raw_time % 60:02d}"
    at = time(7, 0)
    if raw_time is not None:
        try:
            at = time.fromisoformat(str(raw_time))
        except ValueError:
            reader.error("time", f"time {raw_time!r} must look like \"07:00\"")
    zone = reader.text("timezone", "Europe/Berlin") or "Europe/Berlin"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        reader.error("timezone", f"unknown time zone {zone!r} (e.g. Europe/Berlin)")
        zone = "Europe/Berlin"
    return Schedule(cadence, WEEKDAYS.index(weekday_name), at, zone)
