"""The editor's preview: the newsletter as a chosen segment would get it, with the block as the
editor is writing it (the checked candidate folder), rendered by the preview pages' renderer
for the preview's sample recipient, and whether (or why not) the block is in it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.markup.compose import RenderError
from service.content.markup.mjml import MjmlError
from service.content.model import Content, Template
from service.web.preview import SAMPLE

CHOICES = 4  # coming editions offered per newsletter


@dataclass(frozen=True)
class Shown:
    html: str | None  # None: it could not be rendered (``failure`` says why)
    subject: str
    chosen: bool
    reason: str | None  # why the block is not in this email
    failure: str | None = None


def edition_choices(content: Content, slot: str, today: date) -> list[tuple[str, str]]:
    """(value, label) of the coming editions of each newsletter with the slot."""
    found = []
    for template in sorted(content.templates.values(), key=lambda t: t.id):
        if template.slot(slot) is None:
            continue
        try:
            days = list(itertools.islice(template.schedule.editions(today, date.max), CHOICES))
        except OverflowError:
            days = []
        found += [(f"{template.id}/{day.isoformat()}", f"{template.id} {day.isoformat()}") for day in days]
    return found


def parse_choice(content: Content, value: str) -> tuple[Template, date] | None:
    template_id, _, day = value.partition("/")
    template = content.templates.get(template_id)
    try:
        edition_day = date.fromisoformat(day)
    except ValueError:
        return None
    if template is None or not template.schedule.is_edition(edition_day):
        return None
    return template, edition_day


def render(renderer: Renderer, content: Content, template: Template, day: date, segment_id: str,
           locale: str, block_id: str) -> Shown:
    """The email of ``segment_id``/``locale`` for ``template`` on ``day``, drafts included."""
    segment = content.audience.segment(segment_id) or content.audience.segments[0]
    edition = Edition(content, template, day, drafts=True)
    block = content.blocks.get(block_id)  # an arm is shown in its original's place
    assembly = edition.assemble(segment, locale, arms={block.arm_of: block.arm} if block and block.arm_of else None)
    chosen = any(b.id == block_id for b in assembly.blocks)
    reason = None if chosen else next((r.reason for f in assembly.fills for r in f.rejected if r.block == block_id),
                                      "its slot is not in this newsletter")
    recipient = Recipient(public_id=SAMPLE.public_id, email=SAMPLE.email, first_name=SAMPLE.first_name,
                          locale=locale)
    try:
        variant = renderer.variant(edition, assembly)
        return Shown(renderer.html(edition, variant, recipient), renderer.subject(edition, variant, recipient),
                     chosen, reason)
    except (RenderError, MjmlError) as exc:
        return Shown(None, "", chosen, reason, failure=str(exc))
