"""A block's file text from its front-matter values and MJML body, written as an editor would.

An existing file changes only where its values changed: each top-level key of the front matter
is a run of lines, and only the runs of changed keys are rewritten (a one-line key keeps its
trailing comment); a removed key loses its lines, a new one goes after the key that precedes it
in the documented order. Everything else (comments, key order, quoting, line endings, a
byte-order mark, the body when it is unchanged) stays byte for byte. The result is parsed back;
should it not say exactly what was asked (a front matter laid out in a way this does not
follow), the front matter is written afresh in the documented order instead.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Mapping

from service.content.blocks import BLOCK_KEYS
from service.content.reading.yaml_lines import YamlSyntaxError, parse

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?=[ \t]|$)")
_ABSENT = object()
BOM = "\ufeff"


def yaml_value(value: Any) -> str:
    """``value`` as YAML text for ``key: <text>``: plain where that reads back the same, else
    quoted (JSON's double-quoted strings and flow lists are YAML too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, date)):
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, (list, tuple)):
        text = "[" + ", ".join(yaml_value(item) for item in value) + "]"
        return text if _reads_back(text, list(value)) else json.dumps(list(value), ensure_ascii=False)
    text = str(value)
    return text if text and text.strip() == text and _reads_back(text, text) else json.dumps(text, ensure_ascii=False)


def _reads_back(text: str, value: Any) -> bool:
    try:
        parsed = parse(f"k: {text}\n")
    except (YamlSyntaxError, ValueError):
        return False
    if not isinstance(parsed, dict) or "k" not in parsed:
        return False
    got = parsed["k"]
    same_kind = isinstance(got, list) if isinstance(value, list) else type(got) is type(value)
    return same_kind and got == value


def compose(original: str | None, values: Mapping[str, Any], body: str) -> str:
    """The file text: ``original`` (None for a new block) with the keys of ``values`` set (None
    removes a key; keys not in ``values`` stay as written) and ``body`` ("\\n" line ends) after it."""
    body = _normalized(body)
    if original is None:
        return _fresh({}, values, body, "\n", "")
    bom = BOM if original.startswith(BOM) else ""
    text = original[len(bom):]
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    close = next((i for i in range(1, len(lines)) if lines[0].strip() == "---" and lines[i].strip() == "---"), None)
    if close is None:
        return bom + _fresh({}, values, body, newline, "")
    header, old_body = lines[1:close], newline.join(lines[close + 1:])
    try:
        current = parse("\n".join(header)) or {}
    except YamlSyntaxError:
        current = None
    if not isinstance(current, dict):
        return bom + _fresh({}, values, body, newline, old_body)
    kept_body = old_body if _normalized(old_body) == body else newline.join(body.split("\n"))
    chunks = _chunks(header)
    if chunks is not None and {key for key, _ in chunks if key} == set(current):
        edited = _edit(chunks, current, values)
        new_header = [line for _, chunk in edited for line in chunk]
        if _says(new_header, current, values):
            return bom + newline.join(["---" if lines[0] == "---" else lines[0], *new_header, lines[close],
                                       kept_body])
    return bom + _fresh(current, values, body, newline, old_body)


def _normalized(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _chunks(header: list[str]) -> list[tuple[str | None, list[str]]] | None:
    """The header as runs of lines: (key, its lines) for each top-level key, (None, lines) for
    comments and blank lines between keys. None when a line belongs to no key (unexpected)."""
    chunks: list[tuple[str | None, list[str]]] = []
    for line in header:
        match = _KEY.match(line)
        if match:
            chunks.append((match.group(1), [line]))
        elif not line.strip() or line.lstrip().startswith("#"):
            chunks.append((None, [line]))
        elif line[:1] in (" ", "\t", "-", "]", "}"):
            owners = [i for i, (key, _) in enumerate(chunks) if key is not None]
            if not owners:
                return None
            # A continuation of the last key's value; comment lines inside the value are its own.
            last = owners[-1]
            merged = [row for _, rows in chunks[last:] for row in rows]
            key = chunks[last][0]
            del chunks[last:]
            chunks.append((key, merged + [line]))
        else:
            return None
    return chunks


def _edit(chunks: list, current: Mapping[str, Any], values: Mapping[str, Any]) -> list:
    chunks = [(key, list(lines)) for key, lines in chunks]
    for key, value in values.items():
        if _same(current.get(key, _ABSENT), value):
            continue
        at = next((i for i, (k, _) in enumerate(chunks) if k == key), None)
        if value is None:
            if at is not None:
                del chunks[at]
            continue
        if at is not None:
            old = chunks[at][1]
            comment = _comment(old[0], key, current[key]) if len(old) == 1 else ""
            chunks[at] = (key, [f"{key}: {yaml_value(value)}{comment}"])
        else:
            chunks.insert(_insertion_point(chunks, key), (key, [f"{key}: {yaml_value(value)}"]))
    return chunks


def _same(old: Any, new: Any) -> bool:
    if new is None or old is _ABSENT:
        return new is None and old is _ABSENT
    if isinstance(new, (list, tuple)):
        return isinstance(old, list) and list(old) == list(new)
    return type(old) is type(new) and old == new


def _comment(line: str, key: str, value: Any) -> str:
    """The trailing ``  # ...`` of a one-line ``key: value`` line, if it has one."""
    rest = line[_KEY.match(line).end():]
    for match in re.finditer(r"[ \t]+#", rest):
        try:
            if parse(f"k:{rest[:match.start()]}\n").get("k") == value:
                return rest[match.start():]
        except (YamlSyntaxError, ValueError, AttributeError):
            continue
    return ""


def _insertion_point(chunks: list, key: str) -> int:
    """After the last present key that the documented order puts before ``key``, else first."""
    order = {k: i for i, k in enumerate(BLOCK_KEYS)}
    rank = order.get(key, len(order))
    before = [i for i, (k, _) in enumerate(chunks) if k is not None and order.get(k, len(order)) < rank]
    if before:
        return before[-1] + 1
    first = next((i for i, (k, _) in enumerate(chunks) if k is not None), len(chunks))
    return first


def _says(header: list[str], current: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether ``header`` reads back as ``current`` with ``values`` applied, nothing else."""
    try:
        parsed = parse("\n".join(header)) or {}
    except YamlSyntaxError:
        return False
    return isinstance(parsed, dict) and dict(parsed) == _applied(current, values)


def _applied(current: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(current)
    for key, value in values.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = list(value) if isinstance(value, tuple) else value
    return result


def _fresh(current: Mapping[str, Any], values: Mapping[str, Any], body: str, newline: str, old_body: str) -> str:
    """The front matter written afresh in the documented order (keys of other names after)."""
    merged = _applied(current, values)
    order = {k: i for i, k in enumerate(BLOCK_KEYS)}
    keys = sorted(merged, key=lambda k: (order.get(k, len(order)), str(k)))
    body_text = old_body if old_body and _normalized(old_body) == body else newline.join(body.split("\n"))
    return newline.join(["---", *(f"{key}: {yaml_value(merged[key])}" for key in keys), "---", body_text])


def line_keys(text: str) -> tuple[dict[int, str], int | None]:
    """Which front-matter key each line of a block file belongs to (file line numbers), and the
    line the body starts at (None: no closed front matter): to put a check's ``path:line``
    problem beside the form field of its key, or at its body line."""
    lines = _normalized(text.removeprefix(BOM)).split("\n")
    close = next((i for i in range(1, len(lines)) if lines[0].strip() == "---" and lines[i].strip() == "---"), None)
    if close is None:
        return {}, None
    owners: dict[int, str] = {}
    line = 2
    for key, chunk in _chunks(lines[1:close]) or []:
        for _ in chunk:
            if key is not None:
                owners[line] = key
            line += 1
    return owners, close + 2
