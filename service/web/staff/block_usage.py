"""A team's blocks as its page lists them: what each file says (read from the folder, so a block
with an error is listed too, to be opened and fixed) and where it is used, by the same assembly
the plan and the send use: the coming editions, and in each the segments (and locales) whose
email would hold it. A draft is shown where it would be once ready (the assembly with drafts)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from service.content.model import ORIGINAL, Content
from service.staff.block_changes import Change
from service.web.staff.block_form import BlockForm

COMING = 4  # editions of each newsletter looked at


@dataclass(frozen=True)
class Use:
    newsletter: str
    day: date
    audiences: tuple[tuple[str, tuple[str, ...]], ...]  # (segment, its locales)


@dataclass(frozen=True)
class Row:
    name: str  # the file name without .mjml
    form: BlockForm
    uses: tuple[Use, ...]
    change: Change | None  # the last change made in the editor
    broken: bool  # the file has an error (so it is in no email)


def team_rows(folder: Path, content: Content | None, editions, team: str, today: date,
              changes: dict[str, Change], broken: set[str]) -> list[Row]:
    """The rows of ``blocks/<team>/``; ``editions(template, day, drafts)`` gives the (cached)
    edition to assemble, ``content`` None when the folder has errors (then no uses)."""
    uses = used_in(content, editions, team, today) if content is not None else {}
    rows = []
    for path in sorted(folder.glob("*.mjml")) if folder.is_dir() else []:
        if path.name.startswith("."):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        form, _ = BlockForm.from_file(text)
        block_id = f"{team}/{path.stem}"
        rows.append(Row(path.stem, form, tuple(uses.get(block_id, ())), changes.get(block_id), block_id in broken))
    return rows


def used_in(content: Content, editions, team: str, today: date) -> dict[str, list[Use]]:
    """Block id -> the coming editions and audiences that would get it."""
    found: dict[str, dict[tuple[str, date], dict[str, list[str]]]] = {}
    for template in sorted(content.templates.values(), key=lambda t: t.id):
        if not any(team in slot.teams for slot in template.slots):
            continue
        try:
            days = list(itertools.islice(template.schedule.editions(today, date.max), COMING))
        except OverflowError:
            days = []
        for day, drafts in itertools.product(days, (False, True)):
            edition = editions(template, day, drafts)
            for segment, locale in itertools.product(content.audience.segments, content.audience.locales):
                assembly = edition.assemble(segment, locale)
                if assembly.skip_reason:
                    continue  # this email is not sent at all
                for chosen in assembly.blocks:
                    # An arm goes where its original goes (to the customers its split gives it).
                    experiment = content.experiments.get(chosen.story)
                    arms = [content.blocks[a.blocks[chosen.locale]] for a in experiment.arms
                            if a.name != ORIGINAL] if experiment else []
                    for block in (chosen, *arms):
                        if block.team == team and block.is_draft == drafts:
                            audiences = found.setdefault(block.id, {}).setdefault((template.id, day), {})
                            audiences.setdefault(segment.id, []).append(locale)
    return {block_id: [Use(name, day, tuple((s, tuple(ls)) for s, ls in audiences.items()))
                       for (name, day), audiences in sorted(by_edition.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
            for block_id, by_edition in found.items()}
