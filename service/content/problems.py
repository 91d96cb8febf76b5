"""Content problems: every mistake an editor can make, with the place it was made."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding in a content file: `path:line: message`, path relative to the repository."""

    path: str
    line: int
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        label = "" if self.severity is Severity.ERROR else "warning: "
        return f"{self.path}:{self.line}: {label}{self.message}"


class ContentError(Exception):
    """The content cannot be used; carries every error found (all of them, in one pass)."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(p for p in problems if p.severity is Severity.ERROR)
        super().__init__("\n".join(str(p) for p in self.problems))


class Problems:
    """Collects problems while loading, so one pass reports all of them."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, path: str, line: int, message: str) -> None:
        self.items.append(Problem(path, max(line, 1), message))

    def warn(self, path: str, line: int, message: str) -> None:
        self.items.append(Problem(path, max(line, 1), message, Severity.WARNING))

    @property
    def errors(self) -> list[Problem]:
        return sorted(p for p in self.items if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> list[Problem]:
        return sorted(p for p in self.items if p.severity is Severity.WARNING)
