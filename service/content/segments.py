"""Segments: ordered rules over typed customer attributes; a customer falls in the first match."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping

from preferences.attributes import Attribute

from service.content.problems import Problems
from service.content.reading.yaml_lines import LinedDict, LinedList

COMPARISONS = ("gte", "gt", "lte", "lt")
OPERATORS = ("eq", "in", "exists", *COMPARISONS)
_RELATIVE_DAYS = re.compile(r"^([+-]?\d{1,5})d$")

# A compiled predicate: (attributes, locale, edition date) -> bool
Predicate = Callable[[Mapping[str, Any], str, date], bool]


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    predicate: Predicate
    line: int
    is_catch_all: bool = False

    def matches(self, attributes: Mapping[str, Any], locale: str, today: date) -> bool:
        return self.predicate(attributes, locale, today)


def segment_of(segments: tuple[Segment, ...], attributes: Mapping[str, Any], locale: str,
               today: date) -> Segment | None:
    """The first segment whose rule matches, or None when no segment does."""
    for segment in segments:
        if segment.predicate(attributes, locale, today):
            return segment
    return None


def compile_rule(raw: Any, schema: Mapping[str, Attribute], locales: tuple[str, ...],
                 problems: Problems, path: str, line: int) -> Predicate:
    """Turn a rule written in audience.yaml into a predicate, reporting every mistake."""
    return _Compiler(schema, locales, problems, path).rule(raw, line)


def _always(attributes: Mapping[str, Any], locale: str, today: date) -> bool:
    return True


class _Compiler:
    def __init__(self, schema: Mapping[str, Attribute], locales: tuple[str, ...],
                 problems: Problems, path: str):
        self.schema = dict(schema)
        self.schema["locale"] = Attribute(name="locale", type="choice", values=tuple(locales))
        self.problems = problems
        self.path = path

    def error(self, line: int, message: str) -> Predicate:
        self.problems.error(self.path, line, message)
        return _always

    def rule(self, raw: Any, line: int) -> Predicate:
        if raw is None:
            return _always
        if not isinstance(raw, dict):
            return self.error(line, "a rule must be a mapping of attribute: condition")
        parts = []
        for key, value in raw.items():
            at = raw.line_of(key) if isinstance(raw, LinedDict) else line
            if key in ("any", "all"):
                parts.append(self.combination(key, value, at))
            elif key not in self.schema:
                known = ", ".join(sorted(self.schema))
                parts.append(self.error(at, f"unknown attribute {key!r} in rule (declared: {known})"))
            else:
                parts.append(self.condition(self.schema[key], value, at))
        if not parts:
            return _always
        if len(parts) == 1:
            return parts[0]
        return lambda a, loc, d: all(p(a, loc, d) for p in parts)

    def combination(self, kind: str, value: Any, line: int) -> Predicate:
        if not isinstance(value, list) or not value:
            return self.error(line, f"'{kind}:' needs a non-empty list of rules")
        rules = [self.rule(item, value.line_of(i) if isinstance(value, LinedList) else line)
                 for i, item in enumerate(value)]
        combine = any if kind == "any" else all
        return lambda a, loc, d: combine(r(a, loc, d) for r in rules)

    def condition(self, attr: Attribute, raw: Any, line: int) -> Predicate:
        if isinstance(raw, list):
            return self.operator(attr, "in", raw, line)
        if isinstance(raw, dict):
            if not raw:
                return self.error(line, f"empty condition for {attr.name!r}")
            parts = []
            for op, value in raw.items():
                at = raw.line_of(op) if isinstance(raw, LinedDict) else line
                if op not in OPERATORS:
                    parts.append(self.error(at, f"unknown operator {op!r} for {attr.name!r} "
                                                f"(use one of {', '.join(OPERATORS)})"))
                else:
                    parts.append(self.operator(attr, op, value, at))
            return parts[0] if len(parts) == 1 else (lambda a, loc, d: all(p(a, loc, d) for p in parts))
        return self.operator(attr, "eq", raw, line)

    def operator(self, attr: Attribute, op: str, raw: Any, line: int) -> Predicate:
        name = attr.name
        get = (lambda a, loc: loc) if name == "locale" else (lambda a, loc: a.get(name))
        if op == "exists":
            if not isinstance(raw, bool):
                return self.error(line, f"'exists' for {name!r} takes true or false")
            return lambda a, loc, d: (get(a, loc) is not None) is raw
        if op in COMPARISONS:
            if attr.type not in ("number", "date"):
                return self.error(line, f"'{op}' compares numbers or dates, but {name!r} is {attr.type}")
            return self.comparison(attr, op, raw, line, get)
        values = raw if op == "in" else [raw]
        if op == "in" and (not isinstance(raw, list) or not raw):
            return self.error(line, f"'in' for {name!r} needs a non-empty list")
        wanted = set()
        for value in values:
            ok = self.literal(attr, value, line)
            if ok is _BAD:
                return _always
            wanted.add(ok)
        return lambda a, loc, d: _normal(attr, get(a, loc)) in wanted

    def comparison(self, attr: Attribute, op: str, raw: Any, line: int, get) -> Predicate:
        compare = {"gte": lambda x, y: x >= y, "gt": lambda x, y: x > y,
                   "lte": lambda x, y: x <= y, "lt": lambda x, y: x < y}[op]
        if attr.type == "number":
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                return self.error(line, f"'{op}' for {attr.name!r} needs a number, got {raw!r}")
            return lambda a, loc, d: _num(get(a, loc)) is not None and compare(_num(get(a, loc)), raw)
        if isinstance(raw, datetime):
            return self.error(line, f"'{op}' for {attr.name!r} needs a date without a time, got {raw}")
        if isinstance(raw, date):
            return lambda a, loc, d: _day(get(a, loc)) is not None and compare(_day(get(a, loc)), raw)
        match = _RELATIVE_DAYS.match(str(raw).strip()) if isinstance(raw, str) else None
        if not match:
            return self.error(line, f"'{op}' for {attr.name!r} needs a date (2026-11-23) "
                                    f"or days relative to the edition date (-90d), got {raw!r}")
        offset = timedelta(days=int(match.group(1)))
        return lambda a, loc, d: _day(get(a, loc)) is not None and compare(_day(get(a, loc)), d + offset)

    def literal(self, attr: Attribute, value: Any, line: int) -> Any:
        kind = attr.type
        if kind == "choice":
            if not isinstance(value, str) or value not in attr.values:
                self.error(line, f"{value!r} is not a value of {attr.name!r} "
                                 f"(declared: {', '.join(attr.values)})")
                return _BAD
            return value
        if kind == "flag":
            if not isinstance(value, bool):
                self.error(line, f"{attr.name!r} is a flag: use true or false, got {value!r}")
                return _BAD
            return value
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.error(line, f"{attr.name!r} is a number, got {value!r}")
                return _BAD
            return value
        if kind == "date":
            if not isinstance(value, date) or isinstance(value, datetime):
                self.error(line, f"{attr.name!r} is a date (YYYY-MM-DD), got {value!r}")
                return _BAD
            return value.isoformat()
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.error(line, f"{attr.name!r} is text, got {value!r}")
            return _BAD
        return str(value)


_BAD = object()


def _normal(attr: Attribute, value: Any) -> Any:
    if value is None:
        return None
    if attr.type == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if attr.type == "number":
        return _num(value)
    return value


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value is not None else None
    except ValueError:
        return None
