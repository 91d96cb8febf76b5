"""YAML that remembers where each value was written, so errors can point at the line."""

from __future__ import annotations

from typing import Any

import yaml


class LinedDict(dict):
    """A mapping from a YAML file; `line` is where it starts, `lines[key]` where a value is."""

    line: int = 1
    lines: dict

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


def empty_mapping(line: int) -> LinedDict:
    """An empty mapping that says where it would have been (for empty front matter)."""
    result = LinedDict()
    result.line, result.lines = line, {}
    return result


class LinedList(list):
    """A sequence from a YAML file; `lines[i]` is the line of item i."""

    line: int = 1
    lines: list

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LinedDict:
    loader.flatten_mapping(node)
    result = LinedDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            key = str(key)
        if key in result:
            raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = value_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LinedList:
    result = LinedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _timestamp(loader: _Loader, node: yaml.ScalarNode):
    # An impossible date (2026-13-01) stays text, so the field check reports it at its line.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; `line` is 1-based, relative to the parsed text."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def parse(text: str) -> Any:
    """Parse one YAML document into LinedDict/LinedList/scalars, or raise YamlSyntaxError."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        return _raise(*_located(exc))
    except yaml.YAMLError as exc:
        return _raise(1, f"invalid YAML: {exc}")
    except RecursionError:
        return _raise(1, "invalid YAML: nested too deeply")


def _located(exc: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The line to blame and the message. A quote or bracket that is never closed is noticed
    only where the text ends (or at the next key): blame the line that opened it."""
    problem, context = exc.problem or "", exc.context or ""
    at = exc.problem_mark or exc.context_mark
    line = at.line + 1 if at else 1
    opened = next((what for kind, what in _OPENERS.items() if kind in context), None)
    if opened and exc.context_mark is not None and exc.context_mark.line + 1 != line:
        return exc.context_mark.line + 1, f"invalid YAML: {opened} that opens here is not closed " \
                                          f"({problem} at line {line})"
    return line, f"invalid YAML: {problem or context}"


_OPENERS = {"quoted scalar": "the quote", "flow sequence": "the '['", "flow mapping": "the '{'"}


def _raise(line: int, message: str):
    raise YamlSyntaxError(line, message)
