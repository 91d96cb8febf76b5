"""Typed reading of values from a YAML mapping, reporting each mistake at its line."""

from __future__ import annotations

import re
from datetime import date
from types import MappingProxyType
from typing import Any, Iterable

from service.content.problems import Problems
from service.content.reading.yaml_lines import LinedDict, LinedList, empty_mapping

IDENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_ABSENT = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(value: Any) -> str:
    """What YAML made of a value, in an editor's words (for "must be text, got ...")."""
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a yes/no value)"
    if _is_number(value):
        return f"the number {value!r}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, dict):
        return "a mapping (key: value)"
    if isinstance(value, list):
        return "a list"
    return repr(value)


class FieldReader:
    """Reads the keys of one mapping; every problem goes to `problems` with path and line."""

    def __init__(self, data: Any, problems: Problems, path: str, line: int = 1, what: str = "mapping"):
        self.ok = isinstance(data, dict)
        if not self.ok:
            problems.error(path, getattr(data, "line", line), f"expected a {what} (key: value lines)")
            data = empty_mapping(line)
        self.data: LinedDict = data
        self.problems = problems
        self.path = path

    def line(self, key: str | None = None) -> int:
        if key is None or not isinstance(self.data, LinedDict):
            return getattr(self.data, "line", 1)
        return self.data.line_of(key)

    def lines(self) -> MappingProxyType:
        """Where each key was written ("" for the mapping itself), to keep in the model."""
        return MappingProxyType({"": self.line(), **getattr(self.data, "lines", {})})

    def error(self, key: str | None, message: str) -> None:
        self.problems.error(self.path, self.line(key), message)

    def only(self, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in self.data:
            if key not in allowed:
                self.error(key, f"unknown key {key!r} (allowed: {', '.join(allowed)})")

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def _get(self, key: str, required: bool = False) -> Any:
        """The value of `key`, or _ABSENT (reported when required, or when written without a
        value: `status:`, `status: null` and `status: ~` are mistakes, not the default)."""
        if key not in self.data:
            if required:
                self.error(None, f"missing required key {key!r}")
            return _ABSENT
        value = self.data[key]
        if value is None:
            self.error(key, f"{key!r} has no value: write one or leave the key out")
            return _ABSENT
        return value

    def _wrong(self, key: str, expected: str, value: Any) -> None:
        hint = f" (in quotes if you mean the text: '{value}')" if expected == "text" and _is_number(value) else ""
        self.error(key, f"{key!r} must be {expected}, got {describe(value)}{hint}")

    def text(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is _ABSENT:
            return default
        if not isinstance(value, str):
            self._wrong(key, "text", value)
            return default
        if not value.strip():
            self.error(key, f"{key!r} is empty: write a text or leave the key out")
            return default
        return value

    def ident(self, key: str, required: bool = True) -> str | None:
        value = self.text(key, required=required)
        if value is not None and not IDENT.match(value):
            self.error(key, f"{key} {value!r} must be lowercase letters, digits and '-'")
            return None
        return value

    def integer(self, key: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self._get(key)
        if value is _ABSENT:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, f"{key!r} must be a whole number, got {value!r}")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            self.error(key, f"{key!r} must be {bounds}, got {value}")
            return default
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key)
        if value is _ABSENT:
            return default
        if not isinstance(value, bool):
            self.error(key, f"{key!r} must be true or false, got {value!r}")
            return default
        return value

    def day(self, key: str) -> date | None:
        value = self._get(key)
        if value is _ABSENT:
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.error(key, f"{key!r} must be a date like 2026-11-23, got {value!r}")
            return None

    def text_list(self, key: str) -> list[tuple[str, int]] | None:
        """A list of texts with the line of each item; None when the key is absent."""
        value = self._get(key)
        if value is _ABSENT:
            return None
        if isinstance(value, str):
            return [(value, self.line(key))]
        if not isinstance(value, list):
            self.error(key, f"{key!r} must be a list like [a, b]")
            return []
        items = []
        for i, item in enumerate(value):
            at = value.line_of(i) if isinstance(value, LinedList) else self.line(key)
            if not isinstance(item, str) or not item.strip():
                self.problems.error(self.path, at, f"{key!r} items must be text, got {describe(item)}")
            else:
                items.append((str(item), at))
        return items

    def per_locale(self, key: str, locales: tuple[str, ...], required: bool = False) -> dict[str, str]:
        """A text per locale ({de: ..., en: ...}); a plain text is used for every locale."""
        value = self._get(key, required)
        if value is _ABSENT:
            return {}
        if isinstance(value, str):
            text = self.text(key)
            return {loc: text for loc in locales} if text is not None else {}
        if not isinstance(value, dict):
            self.error(key, f"{key!r} must be a text or one text per locale ({', '.join(locales)})")
            return {}
        sub = FieldReader(value, self.problems, self.path, self.line(key))
        sub.only(locales)
        result = {loc: sub.text(loc) for loc in locales if sub.has(loc)}
        missing = [loc for loc in locales if loc not in result]
        if missing:
            self.error(key, f"{key!r} has no text for locale {', '.join(missing)}")
        return {k: v for k, v in result.items() if v is not None}
