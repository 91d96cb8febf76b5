"""audience.yaml: locales, typed customer attributes and the ordered segments over them."""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType

from preferences.attributes import Attribute

from service.content.reading.field_reader import FieldReader
from service.content.files import read_yaml
from service.content.model import Audience
from service.content.problems import Problems
from service.content.segments import Segment, compile_rule
from service.content.reading.yaml_lines import LinedDict, LinedList

ATTRIBUTE_TYPES = ("text", "choice", "flag", "number", "date")
_LOCALE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED = ("locale", "any", "all")


def load_audience(root: Path, problems: Problems, shown_root: str) -> Audience:
    shown = f"{shown_root}/audience.yaml"
    path = root / "audience.yaml"
    if not path.is_file():
        problems.error(shown, 1, "missing file: audience.yaml declares locales, attributes and segments")
        return Audience(("de",), MappingProxyType({}), ())
    reader = FieldReader(read_yaml(path, shown, problems) or LinedDict(), problems, shown)
    if not reader.data and not reader.ok:
        return Audience(("de",), MappingProxyType({}), ())
    reader.only(("locales", "attributes", "segments"))
    locales = _locales(reader)
    attributes = _attributes(reader)
    segments = _segments(reader, attributes, locales)
    return Audience(locales, MappingProxyType(attributes), segments)


def _locales(reader: FieldReader) -> tuple[str, ...]:
    items = reader.text_list("locales")
    if not items:
        reader.error("locales" if reader.has("locales") else None,
                     "'locales' must list at least one locale, the default first (e.g. [de, en])")
        return ("de",)
    locales = []
    for value, line in items:
        if not _LOCALE.match(value):
            reader.problems.error(reader.path, line, f"locale {value!r} must look like 'de' or 'de-AT'")
        elif value in locales:
            reader.problems.error(reader.path, line, f"duplicate locale {value!r}")
        else:
            locales.append(value)
    return tuple(locales) or ("de",)


def _attributes(reader: FieldReader) -> dict[str, Attribute]:
    raw = reader.raw("attributes")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        reader.error("attributes", "'attributes' must map names to {type: ...}")
        return {}
    result: dict[str, Attribute] = {}
    for name, spec in raw.items():
        line = raw.line_of(name) if isinstance(raw, LinedDict) else reader.line("attributes")
        if not isinstance(name, str) or not _ATTRIBUTE_NAME.match(name) or name in RESERVED:
            reader.problems.error(reader.path, line, f"attribute name {name!r} must be lowercase "
                                  f"letters, digits and '_' (and not {', '.join(RESERVED)})")
            continue
        field = FieldReader(spec, reader.problems, reader.path, line, "attribute spec like {type: choice}")
        field.only(("type", "values", "min", "max", "label"))
        kind = field.text("type", required=True)
        if kind not in ATTRIBUTE_TYPES:
            if kind is not None:
                field.error("type", f"attribute type {kind!r} must be one of {', '.join(ATTRIBUTE_TYPES)}")
            continue
        values: tuple[str, ...] = ()
        if kind == "choice":
            values = tuple(v for v, _ in field.text_list("values") or [])
            if not values:
                field.error("values" if field.has("values") else None,
                            f"choice attribute {name!r} needs 'values: [a, b, ...]'")
                continue
        elif field.has("values"):
            field.error("values", f"only choice attributes have values; {name!r} is {kind}")
        bounds = {}
        for key in ("min", "max"):
            if field.has(key):
                value = field.raw(key)
                if kind != "number" or isinstance(value, bool) or not isinstance(value, (int, float)):
                    field.error(key, f"{key!r} is a number bound of a number attribute")
                else:
                    bounds[key] = value
        result[name] = Attribute(name=name, type=kind, values=values, min=bounds.get("min"),
                                 max=bounds.get("max"))
    return result


def _segments(reader: FieldReader, attributes: dict[str, Attribute],
              locales: tuple[str, ...]) -> tuple[Segment, ...]:
    raw = reader.raw("segments")
    if not isinstance(raw, list) or not raw:
        reader.error("segments" if reader.has("segments") else None,
                     "'segments' must be a non-empty, ordered list")
        return ()
    segments: list[Segment] = []
    for i, item in enumerate(raw):
        line = raw.line_of(i) if isinstance(raw, LinedList) else reader.line("segments")
        field = FieldReader(item, reader.problems, reader.path, line, "segment (id, name, rule)")
        field.only(("id", "name", "rule", "description"))
        segment_id = field.ident("id")
        rule_line = field.line("rule") if field.has("rule") else line
        if "rule" not in field.data:
            field.error(None, "a segment needs a 'rule' ({} matches everyone)")
        rule = field.raw("rule")
        predicate = compile_rule(rule, attributes, locales, reader.problems, reader.path, rule_line)
        if segment_id is None:
            continue
        if any(s.id == segment_id for s in segments):
            field.error("id", f"duplicate segment id {segment_id!r}")
            continue
        catch_all = isinstance(rule, dict) and not rule and "rule" in field.data
        segments.append(Segment(segment_id, field.text("name", segment_id) or segment_id,
                                predicate, line, catch_all))
    for index, segment in enumerate(segments[:-1]):
        if segment.is_catch_all:
            reader.problems.error(reader.path, segments[index + 1].line,
                                  f"segment {segments[index + 1].id!r} can never match: "
                                  f"{segment.id!r} above it matches everyone")
            break
    if segments and not segments[-1].is_catch_all:
        reader.problems.warn(reader.path, segments[-1].line,
                             "no catch-all segment (rule: {}) at the end: customers who match no "
                             "segment get no newsletter")
    return tuple(segments)
