"""What a customer (or the operator's API) may change, and how a change is checked.

Pure functions: ``validate_changes`` turns submitted values into normalised ones and keeps only
those that really differ from the current state, so the store writes exactly one consent event
per changed field and none for a form saved without changes.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from typing import Any, Collection, Mapping

from preferences.consent import CLICK_TRACKING, EXCLUDED_GROUPS, FREQUENCY, LOCALE, PAUSED_UNTIL
from preferences.errors import InvalidPreference
from preferences.models import Frequency

CHANGEABLE = (FREQUENCY, PAUSED_UNTIL, EXCLUDED_GROUPS, LOCALE, CLICK_TRACKING)
MAX_PAUSE_MONTHS = 12

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def latest_pause_end(today: date) -> date:
    """The latest day a pause may last until: 12 months from ``today``."""
    return add_months(today, MAX_PAUSE_MONTHS)


def validate_changes(
    changes: Mapping[str, Any],
    *,
    current: Mapping[str, Any],
    today: date,
    known_groups: Collection[str],
    locales: Collection[str],
) -> dict[str, Any]:
    """The normalised values of the fields in ``changes`` that differ from ``current``.

    ``current`` holds the present frequency, paused_until, excluded_groups, locale and
    click_tracking.
    Raises InvalidPreference naming every bad field.
    """
    errors: dict[str, str] = {}
    result: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in CHANGEABLE:
            errors[str(name)] = f"cannot be changed (changeable: {', '.join(CHANGEABLE)})"
            continue
        try:
            if name == FREQUENCY:
                new = _frequency(value)
            elif name == PAUSED_UNTIL:
                new = _paused_until(value, current.get(PAUSED_UNTIL), today)
            elif name == EXCLUDED_GROUPS:
                new = _excluded_groups(value, current.get(EXCLUDED_GROUPS) or (), known_groups)
            elif name == CLICK_TRACKING:
                new = _flag(value)
            else:
                new = _locale(value, locales)
        except ValueError as error:
            errors[name] = str(error)
            continue
        if new != current.get(name):
            result[name] = new
    if errors:
        raise InvalidPreference.from_errors(errors)
    return result


def _frequency(value: Any) -> Frequency:
    try:
        return Frequency(value)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(Frequency)}") from None


def _paused_until(value: Any, current: date | None, today: date) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a valid date") from None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError("expected a date as YYYY-MM-DD")
    if value == current:
        # Re-submitting the stored pause is no change, even if that day has passed since.
        return value
    if value < today:
        raise ValueError("the pause must end today or later")
    latest = latest_pause_end(today)
    if value > latest:
        raise ValueError(f"a pause can last at most {MAX_PAUSE_MONTHS} months (until {latest.isoformat()})")
    return value


def _excluded_groups(value: Any, current: Collection[str], known_groups: Collection[str]) -> list[str]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Collection):
        raise ValueError("expected a list of product group ids")
    if not all(isinstance(group, str) for group in value):
        raise ValueError("product group ids must be text")
    # A group the customer excluded earlier may have left the catalogue since; keeping it
    # excluded is no new choice and must not make the whole form invalid.
    unknown = set(value) - set(known_groups) - set(current)
    if unknown:
        raise ValueError(f"unknown product group: {', '.join(sorted(unknown))}")
    return sorted(set(value))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _locale(value: Any, locales: Collection[str]) -> str:
    if not isinstance(value, str) or value not in locales:
        raise ValueError(f"must be one of {', '.join(locales)}")
    return value
