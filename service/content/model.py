"""The content model: immutable objects loaded from the editors' files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from preferences.attributes import Attribute

from service.content.schedule import Schedule, Trigger
from service.content.segments import Segment


MAIN_TEMPLATE = "weekly"


def key_lines() -> Mapping[str, int]:
    """A dataclass field: the line each key of the object's YAML was written at (for messages;
    not part of the object's value)."""
    return field(default_factory=lambda: MappingProxyType({}), compare=False, repr=False)


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    reviewers: tuple[str, ...]
    four_eyes: bool = False  # a block is set ready only by a second person, not its author


@dataclass(frozen=True)
class ProductGroup:
    id: str
    labels: Mapping[str, str]
    description: str = ""

    def label(self, locale: str) -> str:
        return self.labels.get(locale) or next(iter(self.labels.values()), self.id)


@dataclass(frozen=True)
class Audience:
    locales: tuple[str, ...]
    attributes: Mapping[str, Attribute]
    segments: tuple[Segment, ...]

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    def segment(self, segment_id: str) -> Segment | None:
        return next((s for s in self.segments if s.id == segment_id), None)


@dataclass(frozen=True)
class Slot:
    name: str
    teams: tuple[str, ...]
    max: int = 1
    required: bool = False
    fallback: str | None = None
    lines: Mapping[str, int] = key_lines()  # "" is the slot name's line

    def line_of(self, key: str = "") -> int:
        return self.lines.get(key) or self.lines.get("", 1)


@dataclass(frozen=True)
class Hosts:
    """Where a template's emails may load images from and link to (template.yaml's
    ``asset_hosts`` / ``link_hosts``; None: not declared, not checked) and the base address of
    its social icons (``social_icons``; MJML's default is a third party, www.mailjet.com)."""

    assets: tuple[str, ...] | None = None
    links: tuple[str, ...] | None = None
    social_icons: str | None = None


@dataclass(frozen=True)
class Digest:
    """A best-of edition (template.yaml's ``digest:``): readers of the paces ``paces`` get, per
    slot, the blocks with the best ``rank`` in their segment over the last ``weeks`` weeks'
    editions; a block with fewer than ``min_recipients`` measured recipients is ranked "thin"
    and its slot is topped up by the normal rules."""

    paces: tuple[str, ...]  # preferences' frequencies: "monthly", "biweekly"
    weeks: int
    rank: str = "click_rate"
    min_recipients: int = 200
    lines: Mapping[str, int] = key_lines()

    @property
    def name(self) -> str:
        """Its mark in variant keys and labels: ``best of 4w``."""
        return f"best of {self.weeks}w"


@dataclass(frozen=True)
class Template:
    id: str
    names: Mapping[str, str]  # per locale, the default locale first
    path: str  # template.yaml, from the repository root
    list_id: str
    sender_name: str
    sender_email: str
    subject: Mapping[str, str]
    first_name_fallback: Mapping[str, str]
    schedule: Schedule
    slots: tuple[Slot, ...]
    layout: str
    layout_path: str
    min_blocks: int = 1
    # Sent on an event instead of on its schedule (whose editions are then daily): the welcome mail.
    trigger: Trigger | None = None
    reply_to: str | None = None
    preheader: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tracking: bool = True  # False: no link of its emails is tracked, not the layout's either
    # utm_<key> query parameters for every web link (source, medium, campaign, content, term),
    # each value with its {edition}, {template}, {block}, {team} still to fill in per link.
    utm: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    hosts: Hosts = Hosts()
    digests: tuple[Digest, ...] = ()  # the best-of editions of its slower readers
    # How long after a tested edition's sample went out (`send --test`) its experiments are
    # decided and the rest gets the winner (`send --due`); None: only by hand.
    decide_after: timedelta | None = None
    lines: Mapping[str, int] = key_lines()

    def digest_for(self, pace: str) -> Digest | None:
        """The digest readers of ``pace`` (a frequency) get, if one is declared for it."""
        return next((d for d in self.digests if pace in d.paces), None)

    @property
    def digest_room(self) -> int:
        """The characters a digest's mark takes in its variants' labels (`` (best of 4w)``)."""
        return max((len(f" ({d.name})") for d in self.digests), default=0)

    def line_of(self, key: str) -> int:
        """The line of a key of template.yaml; "subject.de" is the line of one locale's text."""
        return self.lines.get(key) or self.lines.get(key.partition(".")[0], 1)

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)

    def name(self, locale: str) -> str:
        """The newsletter's name as customers of ``locale`` read it."""
        return self.names.get(locale) or next(iter(self.names.values()), self.id)

    @property
    def label(self) -> str:
        """Every name once, for staff pages and the CLI ("Wöchentlicher Newsletter / Weekly newsletter")."""
        return " / ".join(dict.fromkeys(self.names.values())) or self.id


@dataclass(frozen=True)
class Block:
    id: str  # <team>/<file name without .mjml>
    team: str
    path: str  # from the repository root
    title: str
    slot: str
    story: str  # translations of one story share it
    locale: str
    product_groups: frozenset[str] = frozenset()
    segments: frozenset[str] | None = None  # None: every segment
    priority: int = 0
    publish: date | None = None
    expire: date | None = None
    status: str = "ready"
    body: str = ""
    body_line: int = 1  # line of the body's first line in the file
    mtime: float = 0.0
    tracking: bool = True  # False: its links are sent as written (no /r/ link)
    # An arm of an experiment (service/content/experiments.py): once checked, the experiment's id
    # (the original's story); as written, what ``arm_of:`` says. None: not an arm.
    arm_of: str | None = None
    arm: str | None = None  # its arm's name ("b"); the original is arm "a"
    split: int | None = None  # percent of the experiment's customers, when declared
    lines: Mapping[str, int] = key_lines()  # front matter keys

    def line_of(self, key: str) -> int:
        """The line of a front-matter key; the front matter's first line when it is not written."""
        return self.lines.get(key) or self.lines.get("", 1)

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    def live_on(self, day: date) -> bool:
        """Inside its validity window on `day` (publish inclusive, expire exclusive)."""
        return (self.publish is None or self.publish <= day) and (self.expire is None or day < self.expire)


ORIGINAL = "a"  # the arm name of an experiment's original block
BUCKETS = 10_000  # a customer's place in an experiment: basis points, 0 <= bucket < BUCKETS


@dataclass(frozen=True)
class Arm:
    name: str  # "a" for the original
    story: str  # its blocks' story (the original's for arm a)
    start: int  # the buckets [start, start + share) get this arm
    share: int  # basis points of the customers (out of BUCKETS)
    blocks: Mapping[str, str]  # locale -> block id
    declared: bool = False  # its share was written (split:), not the even default


@dataclass(frozen=True)
class Experiment:
    """Arms of one block: the original (arm a) and its sibling files; id = the original's story."""

    id: str
    team: str
    arms: tuple[Arm, ...]  # in bucket order: the declared arms by name, arm a (the rest) last

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.arms if a.name == name), None)

    def arm_at(self, bucket: int) -> Arm:
        """The arm whose buckets hold ``bucket``."""
        return next((a for a in self.arms if a.start <= bucket < a.start + a.share), self.arms[-1])

    def split_text(self) -> str:
        """How its customers are split, in percent: ``b 30%, a 70%``."""
        return ", ".join(f"{a.name} {a.share / 100:g}%" for a in self.arms)


@dataclass(frozen=True)
class Content:
    """Everything in content/, validated; `version` changes whenever any file does."""

    root: Path
    teams: Mapping[str, Team]
    product_groups: Mapping[str, ProductGroup]
    audience: Audience
    templates: Mapping[str, Template]
    blocks: Mapping[str, Block]
    version: str
    experiments: Mapping[str, Experiment] = field(default_factory=lambda: MappingProxyType({}))

    def main_template(self) -> Template:
        """The newsletter the preference pages speak of ("starting with the edition of ..."):
        ``weekly`` when there is one, else the first template."""
        return (self.templates.get(MAIN_TEMPLATE) or next(iter(self.newsletters().values()), None)
                or next(iter(self.templates.values())))

    def newsletters(self) -> Mapping[str, Template]:
        """The templates sent on their schedule (not the welcome mails, sent on an event)."""
        return {k: t for k, t in self.templates.items() if t.trigger is None}

    def triggered(self) -> Mapping[str, Template]:
        """The templates sent on an event (the welcome mail and its series), by id."""
        return {k: t for k, t in self.templates.items() if t.trigger is not None}
