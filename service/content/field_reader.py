"""Typed reading of values from a YAML mapping, reporting each mistake at its line."""

from __future__ import annotations

import re
from datetime import date
from types import MappingProxyType
from typing import Any, Iterable

from service.content.problems import Problems
from service.content.yaml_lines import LinedDict, LinedList, empty_mapping

IDENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


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

    def text(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.error(None, f"missing required key {key!r}")
            return default
        if isinstance(value, (dict, list)) or isinstance(value, bool):
            self.error(key, f"{key!r} must be text, got {type(value).__name__}")
            return default
        return str(value)

    def ident(self, key: str, required: bool = True) -> str | None:
        value = self.text(key, required=required)
        if value is not None and not IDENT.match(value):
            self.error(key, f"{key} {value!r} must be lowercase letters, digits and '-'")
            return None
        return value

    def integer(self, key: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.data.get(key, default)
        if value is None:
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
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(key, f"{key!r} must be true or false, got {value!r}")
            return default
        return value

    def day(self, key: str) -> date | None:
        value = self.data.get(key)
        if value is None:
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
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return [(value, self.line(key))]
        if not isinstance(value, list):
            self.error(key, f"{key!r} must be a list like [a, b]")
            return []
        items = []
        for i, item in enumerate(value):
            at = value.line_of(i) if isinstance(value, LinedList) else self.line(key)
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                self.problems.error(self.path, at, f"{key!r} items must be text, got {item!r}")
            else:
                items.append((str(item), at))
        return items

    def per_locale(self, key: str, locales: tuple[str, ...], required: bool = False) -> dict[str, str]:
        """A text per locale ({de: ..., en: ...}); a plain text is used for every locale."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.error(None, f"missing required key {key!r}")
            return {}
        if isinstance(value, str):
            return {loc: value for loc in locales}
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
