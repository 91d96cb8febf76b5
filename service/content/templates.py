"""templates/<name>/: template.yaml (subject, sender, schedule, slots) and layout.mjml.

(Named apart from service/web/templates/, which holds the staff pages' Jinja templates.)"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path
from types import MappingProxyType

from email_validator import EmailNotValidError, validate_email
from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from service.content.reading.field_reader import IDENT, FieldReader
from service.content.files import read_text, read_yaml
from service.content.digests import read_digests
from service.content.hosts import HOST_KEYS, read_hosts
from service.content.markup.mjml_checks import check_markup
from service.content.markup.sandbox import check_source, editor_environment
from service.content.model import Slot, Template
from service.content.problems import Problems
from service.content.schedule import Schedule, Trigger, read_schedule, read_trigger
from service.content.markup.utm import read_utm
from service.content.reading.yaml_lines import LinedDict

TEMPLATE_KEYS = ("name", "list_id", "sender", "reply_to", "subject", "preheader",
                 "first_name_fallback", "schedule", "trigger", "min_blocks", "slots", "tracking", "utm",
                 "decide_after", "digest",
                 *HOST_KEYS)
SLOT_KEYS = ("teams", "max", "required", "fallback")


def load_templates(root: Path, locales: tuple[str, ...], teams: set[str] | None, problems: Problems,
                   shown_root: str) -> dict[str, Template]:
    folder = root / "templates"
    if not folder.is_dir():
        problems.error(f"{shown_root}/templates", 1, "missing folder: templates/<name>/ holds the newsletters")
        return {}
    templates = {}
    for directory in sorted(p for p in folder.iterdir() if p.is_dir()):
        shown = f"{shown_root}/templates/{directory.name}"
        if not IDENT.match(directory.name):
            problems.error(shown, 1, "template folder names are lowercase letters, digits and '-'")
            continue
        template = _load_one(directory, shown, locales, teams, problems)
        if template is not None:
            templates[template.id] = template
    if not templates:
        problems.error(f"{shown_root}/templates", 1, "no template found (templates/<name>/template.yaml)")
    return templates


def _load_one(directory: Path, shown: str, locales: tuple[str, ...], teams: set[str] | None,
              problems: Problems) -> Template | None:
    yaml_shown, layout_shown = f"{shown}/template.yaml", f"{shown}/layout.mjml"
    if not (directory / "template.yaml").is_file():
        problems.error(yaml_shown, 1, "missing file: every template folder has a template.yaml")
        return None
    data = read_yaml(directory / "template.yaml", yaml_shown, problems)
    if data is None:
        return None
    reader = FieldReader(data, problems, yaml_shown)
    reader.only(TEMPLATE_KEYS)
    sender_name, sender_email = _sender(reader)
    subject = reader.per_locale("subject", locales, required=True)
    env = editor_environment(autoescape=False)
    preheader = reader.per_locale("preheader", locales)
    lines = dict(reader.lines())
    for key, texts in (("subject", subject), ("preheader", preheader)):
        for locale, text in texts.items():
            lines[f"{key}.{locale}"] = at = _locale_line(reader, key, locale)
            for finding in check_source(text, env):
                problems.error(yaml_shown, at, f"{key} ({locale}): {finding.message}")
    schedule, trigger = _when(reader)
    slots = _slots(reader, teams)
    reply_to = reader.text("reply_to")
    if reply_to is not None and _email_problem(reply_to):
        reader.error("reply_to", f"reply_to: {_email_problem(reply_to)}")
    layout = read_text(directory / "layout.mjml", layout_shown, problems) \
        if (directory / "layout.mjml").is_file() else None
    if layout is None:
        if not (directory / "layout.mjml").exists():
            problems.error(layout_shown, 1, "missing file: every template folder has a layout.mjml")
        return None
    _check_layout(layout, layout_shown, [s.name for s in slots], problems)
    list_id = reader.text("list_id", required=True) or f"{directory.name}.invalid"
    if not all(part and IDENT.match(part) for part in list_id.split(".")) or "." not in list_id:
        reader.error("list_id", f"list_id {list_id!r} must look like a domain: weekly.shop.example")
    return Template(
        id=directory.name, names=MappingProxyType(reader.per_locale("name", locales) or {locales[0]: directory.name}),
        path=yaml_shown, list_id=list_id, sender_name=sender_name, sender_email=sender_email,
        subject=MappingProxyType(subject),
        first_name_fallback=MappingProxyType(reader.per_locale("first_name_fallback", locales)),
        schedule=schedule, trigger=trigger, slots=tuple(slots), layout=layout, layout_path=layout_shown,
        min_blocks=reader.integer("min_blocks", 1, minimum=0), reply_to=reply_to,
        preheader=MappingProxyType(preheader), tracking=reader.flag("tracking", True), utm=read_utm(reader),
        hosts=read_hosts(reader), decide_after=_decide_after(reader, trigger),
        digests=read_digests(reader, schedule, trigger is not None), lines=MappingProxyType(lines),
    )


DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _decide_after(reader: FieldReader, trigger: Trigger | None) -> timedelta | None:
    """``decide_after: 4h`` (minutes m, hours h or days d): when a tested edition is decided."""
    if not reader.has("decide_after"):
        return None
    written = reader.raw("decide_after")
    match = DURATION.match(written) if isinstance(written, str) else None
    if match is None or int(match.group(1)) == 0:
        reader.error("decide_after", f"decide_after {written!r}: write a duration like 4h, 90m or 1d "
                                     "(how long the test sample's clicks are counted before the winner goes out)")
        return None
    if trigger is not None:
        reader.error("decide_after", "decide_after is for a newsletter on a schedule: a mail sent on an event "
                                     "is not tested with `send --test`")
        return None
    return timedelta(**{DURATION_UNITS[match.group(2)]: int(match.group(1))})


SENDER_SHAPES = ('news@shop.example, "Shop <news@shop.example>" '
                 'or {name: Shop, email: news@shop.example}')


def _when(reader: FieldReader) -> tuple[Schedule, Trigger | None]:
    """When its emails go out: on a ``schedule`` (the newsletters) or on a ``trigger`` (the
    welcome mail: to each customer, days after their confirmation); one of the two."""
    if reader.has("trigger"):
        if reader.has("schedule"):
            reader.error("schedule", "a template has a 'schedule' or a 'trigger', not both")
        trigger = read_trigger(FieldReader(reader.raw("trigger"), reader.problems, reader.path,
                                           reader.line("trigger"), "trigger mapping"))
        return trigger.schedule, trigger
    if not reader.has("schedule"):
        reader.error(None, "missing required key 'schedule' (cadence, weekday, time, timezone), "
                           "or 'trigger' (event, after) for a mail sent on an event")
        return Schedule(), None
    return read_schedule(FieldReader(reader.raw("schedule"), reader.problems, reader.path,
                                     reader.line("schedule"), "schedule mapping")), None


def _email_problem(address: str) -> str | None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"{address!r} is not a valid email address: {exc}"
    return None


def _locale_line(reader: FieldReader, key: str, locale: str) -> int:
    """The line of one locale's text in `key: {de: ..., en: ...}` (the key's line for one text)."""
    value = reader.raw(key)
    return value.line_of(locale) if isinstance(value, LinedDict) else reader.line(key)


def _sender(reader: FieldReader) -> tuple[str, str]:
    """The sender's name and address, written as a mapping or as one "Name <address>" text."""
    if not reader.has("sender"):
        reader.error(None, f"missing required key 'sender' ({SENDER_SHAPES})")
        return "", ""
    raw = reader.raw("sender")
    if isinstance(raw, dict):
        sender = FieldReader(raw, reader.problems, reader.path, reader.line("sender"), "sender {name, email}")
        sender.only(("name", "email"))
        written = sender.text("email", required=True)
        if written is None:
            return sender.text("name", "") or "", ""
        name, address = _mailbox(sender, "email", written)
        return sender.text("name", name) or "", address
    if isinstance(raw, (list, bool)) or not isinstance(raw, str):
        reader.error("sender", f"sender must be {SENDER_SHAPES}, got {raw!r}")
        return "", ""
    return _mailbox(reader, "sender", raw)


def _mailbox(reader: FieldReader, key: str, written: str) -> tuple[str, str]:
    """Split "Name <address>" (RFC 5322, as mail programs write it) or take a bare address."""
    found = [pair for pair in getaddresses([written]) if any(pair)]
    if len(found) > 1:
        name, address, problem = "", "", f"{written!r} is not one email address"
    else:  # unparsable: validate what was written, for the validator's precise reason
        name, address = found[0] if found and found[0][1] else ("", written)
        problem = _email_problem(address)
    if problem:
        reader.error(key, f"sender: {problem} (write {SENDER_SHAPES})")
        return "", ""
    return name, address


def _slots(reader: FieldReader, teams: set[str] | None) -> list[Slot]:
    """The slots; `teams` None: teams.yaml is broken, so team names are not judged."""
    raw = reader.raw("slots")
    if not isinstance(raw, dict) or not raw:
        reader.error("slots" if reader.has("slots") else None, "'slots' must map slot names to {teams: [...]}")
        return []
    slots = []
    for name, spec in raw.items():
        line = raw.line_of(name) if isinstance(raw, LinedDict) else reader.line("slots")
        if not isinstance(name, str) or not IDENT.match(name):
            reader.problems.error(reader.path, line, f"slot name {name!r}: lowercase letters, digits and '-'")
            continue
        slot = FieldReader(spec, reader.problems, reader.path, line, "slot {teams, max, required, fallback}")
        slot.only(SLOT_KEYS)
        allowed = []
        for team, at in slot.text_list("teams") or []:
            if teams is not None and team not in teams:
                reader.problems.error(reader.path, at, f"slot {name!r}: unknown team {team!r} "
                                                       f"(teams: {', '.join(sorted(teams))})")
            allowed.append(team)  # kept even when unknown, so block checks don't repeat the error
        if not slot.has("teams"):
            slot.error(None, f"slot {name!r} needs 'teams: [...]' (who may fill it)")
        slots.append(Slot(name, tuple(allowed), slot.integer("max", 1, minimum=1, maximum=20),
                          slot.flag("required"), slot.text("fallback"),
                          MappingProxyType({**slot.lines(), "": line})))
    return slots


def _check_layout(layout: str, shown: str, slot_names: list[str], problems: Problems) -> None:
    for finding in check_markup(layout, whole_document=True):
        problems.error(shown, finding.line, finding.message)
    env = editor_environment()
    findings = check_source(layout, env, extra_calls=frozenset({"slot"}))
    for finding in findings:
        problems.error(shown, finding.line, finding.message)
    if any(f.message.startswith("Jinja syntax error") for f in findings):
        return
    if not layout.lstrip().startswith("<mjml"):
        problems.error(shown, 1, "a layout is a whole MJML document starting with <mjml>")
    try:
        calls = [c for c in env.parse(layout).find_all(nodes.Call)
                 if isinstance(c.node, nodes.Name) and c.node.name == "slot"
                 and c.args and isinstance(c.args[0], nodes.Const)]
    except TemplateSyntaxError:
        return
    seen: dict[str, int] = {}
    for call in calls:
        name = call.args[0].value
        if name not in slot_names:
            problems.error(shown, call.lineno, f"slot({name!r}) is not a slot of template.yaml "
                                               f"(slots: {', '.join(slot_names)})")
        elif name in seen:
            problems.error(shown, call.lineno, f"slot({name!r}) appears twice (first at line {seen[name]})")
        else:
            seen[name] = call.lineno
    for name in slot_names:
        if name not in seen:
            problems.error(shown, 1, f"slot {name!r} of template.yaml is missing from the layout "
                                     f"(write {{{{ slot(\"{name}\") }}}} where it goes)")
