"""Reading editors' files safely: size, encoding, YAML and front matter, errors at their line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.content.problems import Problems
from service.content.reading.yaml_lines import YamlSyntaxError, parse

MAX_FILE_BYTES = 512 * 1024


def read_text(path: Path, shown: str, problems: Problems) -> str | None:
    """The file's text, or None after reporting why it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.error(shown, 1, f"cannot read file: {exc.strerror or exc}")
        return None
    if len(data) > MAX_FILE_BYTES:
        problems.error(shown, 1, f"file is {len(data) // 1024} KB; content files may be at most "
                                 f"{MAX_FILE_BYTES // 1024} KB")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.error(shown, line, "file is not UTF-8 text")
        return None
    text = text.removeprefix("\ufeff")  # editors' tools on Windows add a byte-order mark
    if "\x00" in text:
        problems.error(shown, text[: text.index("\x00")].count("\n") + 1, "file contains a NUL byte (binary?)")
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_yaml(path: Path, shown: str, problems: Problems) -> Any:
    """The parsed YAML (LinedDict and friends), or None after reporting the problem."""
    text = read_text(path, shown, problems)
    return None if text is None else parse_yaml(text, shown, problems)


def parse_yaml(text: str, shown: str, problems: Problems, first_line: int = 1) -> Any:
    # Padding with blank lines makes every line number in the result a line of the file.
    try:
        return parse("\n" * (first_line - 1) + text)
    except YamlSyntaxError as exc:
        problems.error(shown, exc.line, exc.message)
        return None


@dataclass(frozen=True)
class FrontMatter:
    header: str
    header_line: int  # line of the header's first line in the file
    body: str
    body_line: int


def split_front_matter(text: str, shown: str, problems: Problems) -> FrontMatter | None:
    """Split `---` YAML `---` body; None after reporting what is wrong."""
    lines = text.split("\n")
    if not text.strip():
        problems.error(shown, 1, "empty file: a block starts with '---', its front matter, then '---'")
        return None
    if lines[0].strip() != "---":
        problems.error(shown, 1, "a block must start with a '---' line opening its front matter")
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return FrontMatter("\n".join(lines[1:index]), 2, "\n".join(lines[index + 1:]), index + 2)
    problems.error(shown, 1, "front matter is not closed by a '---' line")
    return None
