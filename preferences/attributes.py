"""Typed customer attributes (text, choice, flag, number, date) and their validation.

The schema comes from ``content/audience.yaml`` (the content loader in ``service`` builds the
``Attribute`` objects); this module only checks values against it. Values arrive from JSON (the
API) or as strings (a CSV import), so both spellings are accepted; the result is JSON-ready:
dates as ISO strings, numbers as int (when whole) or float, flags as bool.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from preferences.errors import InvalidAttributes

TYPES = ("text", "choice", "flag", "number", "date")
MAX_TEXT_LENGTH = 500

_TRUE = frozenset({"true", "yes", "y", "1", "on", "ja", "j", "x"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "nein"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Attribute:
    """One declared customer attribute.

    ``values``: the allowed values of a choice. ``min``/``max``: inclusive bounds of a number.
    """

    name: str
    type: str
    values: tuple[str, ...] = ()
    min: int | float | None = None
    max: int | float | None = None

    def __post_init__(self) -> None:
        # A broken schema is a bug in the loader, not a customer's mistake: fail loudly.
        if self.type not in TYPES:
            raise ValueError(f"attribute {self.name}: type must be one of {', '.join(TYPES)}, not {self.type!r}")
        if self.type == "choice" and not self.values:
            raise ValueError(f"attribute {self.name}: a choice needs values")
        if self.type != "choice" and self.values:
            raise ValueError(f"attribute {self.name}: only a choice has values")
        if (self.min is not None or self.max is not None) and self.type != "number":
            raise ValueError(f"attribute {self.name}: only a number has min and max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"attribute {self.name}: min is greater than max")
        object.__setattr__(self, "values", tuple(self.values))


class _Bad(Exception):
    """One value's problem, turned into an entry of InvalidAttributes.errors."""


def validate_attributes(raw: Mapping[str, Any], schema: Mapping[str, Attribute]) -> dict[str, Any]:
    """``raw`` checked against ``schema`` and normalised; unset values (None, "") are left out.

    Raises InvalidAttributes naming every bad field at once.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in raw.items():
        attribute = schema.get(name) if isinstance(name, str) else None
        if attribute is None:
            known = ", ".join(sorted(schema)) or "none"
            errors[str(name)] = f"unknown attribute (known: {known})"
            continue
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        try:
            clean[name] = _PARSERS[attribute.type](attribute, value)
        except _Bad as bad:
            errors[name] = str(bad)
    if errors:
        raise InvalidAttributes(errors)
    return clean


def _text(attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected text, got {_kind(value)}")
    if len(value) > MAX_TEXT_LENGTH:
        raise _Bad(f"longer than {MAX_TEXT_LENGTH} characters")
    if any(ord(c) < 32 for c in value):
        raise _Bad("contains control characters")
    return value


def _choice(attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected one of {', '.join(attribute.values)}, got {_kind(value)}")
    if value in attribute.values:
        return value
    # CRM exports like to capitalise; accept a spelling that differs only in case.
    folded = [v for v in attribute.values if v.casefold() == value.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise _Bad(f"{value!r} is not one of {', '.join(attribute.values)}")


def _flag(attribute: Attribute, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
    raise _Bad(f"expected a flag (true/false, yes/no, 1/0), got {value!r}")


def _number(attribute: Attribute, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad(f"expected a number, got {_kind(value)}")
    if isinstance(value, str):
        if len(value) > 40 or not _NUMBER.fullmatch(value):
            raise _Bad(f"expected a number like 4 or 2.5, got {value!r}")
        value = float(value) if any(c in value for c in ".eE") else int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad("expected a finite number")
        if value.is_integer():
            value = int(value)
    if attribute.min is not None and value < attribute.min:
        raise _Bad(f"{value} is less than the minimum {attribute.min}")
    if attribute.max is not None and value > attribute.max:
        raise _Bad(f"{value} is more than the maximum {attribute.max}")
    return value


def _date(attribute: Attribute, value: Any) -> str:
    # datetime is a date too; a timestamp here is almost certainly a mapping mistake.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise _Bad(f"{value!r} is not a valid date") from None
    raise _Bad(f"expected a date as YYYY-MM-DD, got {value!r}")


def _kind(value: Any) -> str:
    return {bool: "a flag", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


_PARSERS = {"text": _text, "choice": _choice, "flag": _flag, "number": _number, "date": _date}
