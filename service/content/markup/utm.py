"""template.yaml's ``utm:``: the campaign parameters added to every web link of its emails.

Read here with the other keys (every mistake at its line); applied to the links when a variant
compiles (``service.assembly.tracking``), never per recipient."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping

from service.content.reading.field_reader import FieldReader

UTM_KEYS = ("source", "medium", "campaign", "content", "term")  # utm_source, utm_medium, ...
# What a value may say in braces, filled in per link when the variant compiles.
UTM_FIELDS = ("edition", "template", "block", "team")
_BRACED = re.compile(r"\{([^{}]*)\}")


def read_utm(reader: FieldReader) -> Mapping[str, str]:
    """The ``utm`` mapping of template.yaml ({} when absent), its mistakes reported at their lines."""
    if not reader.has("utm"):
        if "utm" in reader.data:
            reader.error("utm", "'utm' has no value: write one or leave the key out")
        return MappingProxyType({})
    raw = reader.raw("utm")
    if not isinstance(raw, dict):
        reader.error("utm", f"'utm' must be a mapping like {{source: newsletter, medium: email}} "
                            f"(keys: {', '.join(UTM_KEYS)})")
        return MappingProxyType({})
    utm = FieldReader(raw, reader.problems, reader.path, reader.line("utm"), "utm mapping")
    utm.only(UTM_KEYS)
    values = {}
    for key in UTM_KEYS:
        if key not in raw:
            continue
        value = utm.text(key)
        if value is None:
            continue
        problem = value_problem(value)
        if problem:
            utm.error(key, f"utm {key}: {problem}")
            continue
        values[key] = value
    return MappingProxyType(values)


def value_problem(value: str) -> str | None:
    """Why a utm value cannot be filled in (an unknown or unclosed {placeholder}), or None."""
    for name in _BRACED.findall(value):
        if name not in UTM_FIELDS:
            return (f"unknown placeholder {{{name}}} "
                    f"(placeholders: {', '.join('{' + f + '}' for f in UTM_FIELDS)})")
    if "{" in _BRACED.sub("", value) or "}" in _BRACED.sub("", value):
        return f"unmatched brace in {value!r} (placeholders are written {{edition}})"
    return None


def fill(value: str, fields: Mapping[str, str]) -> str:
    """``value`` with each {placeholder} replaced by its field (all checked by ``read_utm``)."""
    return _BRACED.sub(lambda match: fields[match.group(1)], value)
