"""The block editor's form: a block's front matter as form fields and its body as text, read from
a file or from a POST, turned into the values the file is written with, and the check's
problems put beside the field (or body line) they are about.

The form sends what the editor typed, unjudged: a priority that is no number or a date that is
no date is written as text and the check itself says what is wrong, at that key's line, as
``newsletter check`` would. A value equal to what the file means already is passed as the
file has it (an absent ``status`` stays absent rather than becoming ``status: ready``), so a
save changes only what the editor changed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Mapping

from service.content.files import split_front_matter
from service.content.problems import Problem, Problems, Severity
from service.content.reading.yaml_lines import YamlSyntaxError, parse
from service.content.writing.front_matter import line_keys

FIELDS = ("title", "slot", "product_groups", "segments", "priority", "publish", "expire", "locale", "status")
# What an arm takes from its original (service.content.experiments.INHERITED): no field of its form.
INHERITED = ("slot", "product_groups", "segments", "priority", "publish", "expire")
LISTS = ("product_groups", "segments")
MAX_BODY = 512 * 1024  # as large as a content file may be
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class BlockForm:
    title: str = ""
    slot: str = ""
    product_groups: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    priority: str = ""
    publish: str = ""
    expire: str = ""
    locale: str = ""
    status: str = "draft"
    body: str = ""
    name: str = ""  # a new block's story name (its file is <name>.<locale>.mjml)
    arm_of: str = ""  # an arm's original (its file's arm_of), as the file says: never from a POST
    arm: str = ""

    def of_file(self, written: Mapping[str, Any]) -> "BlockForm":
        """This form with what only the file says (whether it is an arm, and of what)."""
        return replace(self, arm_of=_text(written.get("arm_of")), arm=_text(written.get("arm")))

    @classmethod
    def from_file(cls, text: str) -> tuple["BlockForm", dict[str, Any]]:
        """The form of a file as it is, and its front matter as written (empty if unreadable)."""
        text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        parts = split_front_matter(text, "", Problems())
        if parts is None:
            return cls(body=text), {}
        try:
            data = parse(parts.header) or {}
        except YamlSyntaxError:
            data = {}
        data = dict(data) if isinstance(data, dict) else {}

        def shown(key: str) -> str:
            value = data.get(key)
            return "" if value is None else value.isoformat() if isinstance(value, date) else str(value)

        def items(key: str) -> tuple[str, ...]:
            value = data.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),) if value else ()

        form = cls(title=shown("title"), slot=shown("slot"), product_groups=items("product_groups"),
                   segments=items("segments"), priority=shown("priority"), publish=shown("publish"),
                   expire=shown("expire"), locale=shown("locale"), status=shown("status") or "ready",
                   body=parts.body)
        return form.of_file(data), data

    @classmethod
    def from_post(cls, form: Mapping, lists: Mapping[str, list[str]]) -> "BlockForm":
        def text(key: str, limit: int = 500) -> str:
            value = form.get(key)
            return value.strip()[:limit] if isinstance(value, str) else ""

        body = form.get("body")
        return cls(title=text("title"), slot=text("slot", 64), product_groups=tuple(lists.get("product_groups", ())),
                   segments=tuple(lists.get("segments", ())), priority=text("priority", 20),
                   publish=text("publish", 20), expire=text("expire", 20), locale=text("locale", 16),
                   status=text("status", 16), name=text("name", 64),
                   body=(body if isinstance(body, str) else "").replace("\r\n", "\n")[:MAX_BODY])

    def with_status(self, status: str) -> "BlockForm":
        return replace(self, status=status)

    def name_problem(self) -> str | None:
        """What is wrong with a new block's name (None: nothing)."""
        if not _NAME.fullmatch(self.name):
            return "name_rule"
        return None

    def values(self, written: Mapping[str, Any], default_locale: str) -> dict[str, Any]:
        """The front-matter values to write; ``written`` is the file's front matter as it is."""
        # An arm writes no slot (it inherits its original's): an empty one stays unwritten.
        values: dict[str, Any] = {"title": self.title, "slot": self.slot or ("" if "slot" in written else None)}
        for key in LISTS:
            chosen = list(getattr(self, key))
            values[key] = chosen or ([] if written.get(key) == [] else None)
        values["priority"] = _typed(self.priority, int)
        values["publish"] = _typed(self.publish, date.fromisoformat)
        values["expire"] = _typed(self.expire, date.fromisoformat)
        values["locale"] = None if (self.locale in ("", default_locale) and "locale" not in written) else self.locale
        values["status"] = None if (self.status == "ready" and "status" not in written) else self.status
        for key, value in list(values.items()):
            if _means(written.get(key), value):
                values[key] = written[key]  # the file's own spelling (a date, a one-item text list)
        if written.get("arm_of") is not None:  # an arm's form has none of these: the file keeps its own
            values.update({key: written.get(key) for key in INHERITED})
        return values


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _typed(raw: str, parse_as) -> Any:
    if not raw:
        return None
    try:
        return parse_as(raw)
    except ValueError:
        return raw  # written as text; the check says what it should be


def _means(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return False
    if isinstance(old, str) and isinstance(new, list):
        return new == [old]  # `segments: vip` is the list [vip]
    return old == new and type(old) is type(new)


@dataclass
class Placed:
    """A check's problems where the form shows them."""

    fields: dict[str, list[Problem]] = field(default_factory=dict)
    body: list[tuple[int, Problem]] = field(default_factory=list)  # (line of the body, problem)
    general: list[Problem] = field(default_factory=list)

    def add(self, key: str, problem: Problem) -> None:
        self.fields.setdefault(key, []).append(problem)

    @property
    def has_errors(self) -> bool:
        every = [p for ps in self.fields.values() for p in ps] + [p for _, p in self.body] + self.general
        return any(p.severity is Severity.ERROR for p in every)


def place(problems: list[Problem], text: str) -> Placed:
    """Each problem of the block's own file beside its field or body line; the rest general."""
    owners, body_line = line_keys(text)
    placed = Placed()
    for problem in problems:
        key = owners.get(problem.line)
        if key in FIELDS:
            placed.add(key, problem)
        elif body_line is not None and problem.line >= body_line:
            placed.body.append((problem.line - body_line + 1, problem))
        else:
            placed.general.append(problem)
    return placed
