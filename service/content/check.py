"""Loading and checking content/: every file, every cross-reference, all problems in one pass."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

from markupsafe import escape

from service.content.audience import load_audience
from service.content.blocks import Vocabulary, load_blocks
from service.content.experiments import resolve_experiments
from service.content.hosts import added_by_mjml, check_hosts, users_of
from service.content.markup.compose import (RenderError, render_block, render_layout, render_preheader, render_subject,
                      variant_context)
from service.content.markup.document import dress
from service.content.markup.mjml import MjmlError, compile_mjml, wrap_block
from service.content.markup.sandbox import field_lines
from service.content.model import ORIGINAL, Block, Content, Experiment, Template
from service.content.problems import ContentError, Problem, Problems
from service.content.teams import load_product_groups, load_teams
from service.content.templates import load_templates


@dataclass(frozen=True)
class CheckResult:
    content: Content | None  # None when there are errors
    errors: list[Problem]
    warnings: list[Problem]


def load_content(content_dir: Path, checked_version: str | None = None) -> Content:
    """The validated content, or ContentError listing every error.

    ``checked_version``: the version of this folder that the process starting this one checked in
    full (a send's workers: the CLI checked it): while the folder still has that version, the
    blocks are not compiled with sample values again, which was most of a worker's start-up. Any
    other version is checked in full."""
    root = Path(content_dir)
    trusted = checked_version is not None and root.is_dir() and content_version(root.resolve()) == checked_version
    result = check_content(content_dir, compile_samples=not trusted)
    if trusted and result.content is not None and result.content.version != checked_version:
        result = check_content(content_dir)  # changed while it was read: no shortcut
    if result.content is None:
        raise ContentError(result.errors)
    return result.content


def check_content(content_dir: Path, today: date | None = None, shown_root: str | None = None, *,
                  compile_samples: bool = True) -> CheckResult:
    """Load everything and report all errors and warnings (warnings about dates need `today`).
    `shown_root` names the folder in messages (default: as the working directory sees it); a
    copy checked in its place (the editor's candidate) passes the original's name."""
    root = Path(content_dir).resolve()
    shown_root = shown_root or shown_name(root)
    problems = Problems()
    if not root.is_dir():
        problems.error(shown_root, 1, "content folder not found")
        return CheckResult(None, problems.errors, problems.warnings)
    audience = load_audience(root, problems, shown_root)
    loaded_teams = load_teams(root, problems, shown_root)
    # teams.yaml broken: its error is the root cause; team names elsewhere are not judged.
    team_ids = None if loaded_teams is None else set(loaded_teams)
    teams = loaded_teams or {}
    groups = load_product_groups(root, audience.locales, problems, shown_root)
    templates = load_templates(root, audience.locales, team_ids, problems, shown_root)
    vocabulary = Vocabulary(
        teams=frozenset(teams) if team_ids is not None else _team_folders(root),
        slots=frozenset(s.name for t in templates.values() for s in t.slots),
        product_groups=frozenset(groups), segments=frozenset(s.id for s in audience.segments),
        locales=audience.locales,
    )
    blocks = load_blocks(root, vocabulary, problems, shown_root)
    experiments = resolve_experiments(blocks, problems)  # arms take their slot and dates from it
    _check_ids(blocks, problems)
    if team_ids is not None:
        _check_slot_teams(blocks, templates, team_ids, problems)
        _check_fallbacks(templates, blocks, team_ids, problems)
    _check_label_room(templates, blocks, experiments, audience, groups, problems)
    check_hosts(templates, blocks, problems)
    if compile_samples:
        _compile_samples(templates, blocks, audience.locales, problems)
    if today is not None:
        _warn_unseen(blocks, templates, today, problems)
    _warn_unpaired_translations(blocks, audience.default_locale, problems)
    _warn_first_name_without_fallback(templates, blocks, problems)
    if problems.errors:
        return CheckResult(None, _root_causes_first(problems.errors, shown_root), problems.warnings)
    content = Content(
        root=root, teams=MappingProxyType(teams), product_groups=MappingProxyType(groups),
        audience=audience, templates=MappingProxyType(templates),
        blocks=MappingProxyType(blocks), version=content_version(root), experiments=experiments,
    )
    return CheckResult(content, [], problems.warnings)


def content_version(root: Path) -> str:
    """A digest of every file under content/: changes whenever an editor changes anything."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


DECLARATIONS = ("teams.yaml", "audience.yaml", "product_groups.yaml")  # what other files refer to


def _root_causes_first(errors: list[Problem], shown_root: str) -> list[Problem]:
    """Errors in the files every other file refers to come first: they explain the rest."""
    shared = {f"{shown_root}/{name}" for name in DECLARATIONS}
    return sorted(errors, key=lambda p: (p.path not in shared, p))


def _team_folders(root: Path) -> frozenset[str]:
    folder = root / "blocks"
    return frozenset(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else frozenset()


def shown_name(root: Path) -> str:
    """How paths are written in messages: relative to the working directory when the content is
    under it (as CI runs the check from the repository root), else the whole absolute path, so
    that every path in a message can be opened as printed."""
    try:
        return root.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return root.as_posix()


def _check_ids(blocks: dict[str, Block], problems: Problems) -> None:
    seen: dict[tuple[str, str], Block] = {}
    for block in blocks.values():
        key = (block.story, block.locale)
        if key in seen:
            problems.error(block.path, block.line_of("story"), f"story {block.story!r} already has a {block.locale!r} "
                                          f"version in {seen[key].path}")
        else:
            seen[key] = block


def _check_slot_teams(blocks: dict[str, Block], templates: dict[str, Template], teams: set[str],
                      problems: Problems) -> None:
    for block in blocks.values():
        slots = [s for t in templates.values() for s in t.slots if s.name == block.slot]
        if any(not teams.issuperset(s.teams) for s in slots):
            continue  # the template's unknown team is reported already
        if slots and not any(block.team in s.teams for s in slots):
            allowed = sorted({team for s in slots for team in s.teams})
            problems.error(block.path, block.line_of("slot"), f"team {block.team!r} may not fill slot "
                                                             f"{block.slot!r} (allowed: {', '.join(allowed)})")


def _check_fallbacks(templates: dict[str, Template], blocks: dict[str, Block], teams: set[str],
                     problems: Problems) -> None:
    for template in templates.values():
        for slot in template.slots:
            if slot.fallback is None or not teams.issuperset(slot.teams):
                continue
            block = blocks.get(slot.fallback)
            if block is None:
                problems.error(template.path, slot.line_of("fallback"), f"slot {slot.name!r}: fallback block "
                                                                        f"{slot.fallback!r} does not exist")
            elif block.slot != slot.name or block.team not in slot.teams:
                problems.error(template.path, slot.line_of("fallback"), f"slot {slot.name!r}: fallback "
                               f"{slot.fallback!r} is a block for slot {block.slot!r} by team {block.team!r}")


LABEL_ROOM = 200  # a variant's label in the ledger (delivery.variant, variant_block.variant)


def _check_label_room(templates, blocks, experiments, audience, groups, problems: Problems) -> None:
    """A variant's label names its segment, locale, exclusions and arms: with every experiment of a
    template at once it must still fit the ledger's column (PostgreSQL refuses a longer one)."""
    longest = (max((len(s.id) for s in audience.segments), default=0) + max(map(len, audience.locales)) + 3
               + len(",".join(sorted(groups))) + len(" (drafts) (untracked)"))
    for template in templates.values():
        slots = {slot.name for slot in template.slots}
        mine = [e for e in experiments.values() if _original(e, blocks).slot in slots]
        arms = len(" []") + len(";".join(f"{e.id}={max((a.name for a in e.arms), key=len)}" for e in mine))
        if mine and longest + arms + template.digest_room > LABEL_ROOM:
            first = blocks[next(iter(mine[-1].arms[0].blocks.values()))]  # the last experiment's first arm
            problems.error(first.path, first.line_of("arm_of"), f"with {len(mine)} experiments in template "
                           f"{template.id!r} a variant's label can reach {longest + arms + template.digest_room} characters, and the "
                           f"ledger keeps {LABEL_ROOM}: run fewer experiments at once")


def _original(experiment: Experiment, blocks: dict[str, Block]) -> Block:
    return blocks[next(iter(experiment.arm(ORIGINAL).blocks.values()))]


def _compile_samples(templates: dict[str, Template], blocks: dict[str, Block],
                     locales: tuple[str, ...], problems: Problems) -> None:
    """Render and compile every block and layout once, as the send will, to catch what only
    shows then (a Jinja runtime error, MJML that does not compile)."""
    sample = next(iter(templates.values()), None)
    if sample is None:
        return
    # Files that already have errors would only repeat them here.
    broken = {p.path for p in problems.errors}
    for block in blocks.values():
        if block.path in broken:
            continue
        context = variant_context(sample, date(2026, 1, 1), "sample", "Sample", block.locale)
        user = next(iter(users_of(block, templates)), sample)
        try:
            source = render_block(block, context)
            _warn_added(source, compile_mjml(wrap_block(source), user.hosts.social_icons), user, block.path,
                        block.body_line, problems)
        except RenderError as exc:
            problems.error(exc.path, exc.line, exc.message)
        except MjmlError as exc:
            problems.error(block.path, block.body_line, f"MJML of block {block.id!r} does not compile: {exc}")
    for template in templates.values():
        if template.path in broken or template.layout_path in broken:
            continue
        for locale in locales:
            context = variant_context(template, date(2026, 1, 1), "sample", "Sample", locale)
            try:
                subject = render_subject(template, locale, context)
                render_preheader(template, locale, context)
                source = render_layout(template, {}, context)
                html = compile_mjml(dress(source, locale, escape(subject)), template.hosts.social_icons)
                if locale == locales[0]:
                    _warn_added(source, html, template, template.layout_path, 1, problems)
            except RenderError as exc:
                problems.error(exc.path, exc.line, exc.message)
            except MjmlError as exc:
                problems.error(template.layout_path, 1, f"layout does not compile: {exc}")


def _warn_added(source: str, html: str, template: Template, path: str, line: int, problems: Problems) -> None:
    for host in added_by_mjml(source, html, template.hosts):
        problems.warn(path, line, f"the compiled email loads from or links to {host!r}, which no content "
                                  f"file names: one of MJML's default icons (<mj-accordion>, <mj-carousel>: set "
                                  f"their icon attributes to an image on your asset host)")


def _warn_unseen(blocks: dict[str, Block], templates: dict[str, Template], today: date,
                 problems: Problems) -> None:
    """A block that is not yet expired but whose window holds no edition will never be sent."""
    for block in blocks.values():
        if block.is_draft or block.arm_of or block.expire is None or block.expire <= today:
            continue  # an arm: said of its original
        start = max(today, block.publish or today)
        users = [t for t in templates.values() if t.slot(block.slot) is not None]
        if users and not any(t.schedule.next_edition(start) < block.expire for t in users):
            names = ", ".join(t.id for t in users)
            problems.warn(block.path, block.line_of("expire"), f"expires {block.expire} before the next "
                                                               f"edition of {names}: it will never be sent")


def _warn_unpaired_translations(blocks: dict[str, Block], default_locale: str, problems: Problems) -> None:
    """Two blocks of one team, slot and validity window that differ only by locale are most
    likely one story in two languages; without a shared `story:` both are sent, and readers
    of the other locale get the default-locale one as well."""
    groups: dict[tuple, list[Block]] = {}
    for block in blocks.values():
        groups.setdefault((block.team, block.slot, block.publish, block.expire), []).append(block)
    for group in groups.values():
        locales_of: dict[str, set[str]] = {}
        for block in group:
            locales_of.setdefault(block.story, set()).add(block.locale)
        alone = [b for b in group if locales_of[b.story] == {b.locale}]  # no translation of its own
        originals = [b for b in alone if b.locale == default_locale]
        for block in alone:
            if block.locale == default_locale or not originals:
                continue
            names = ", ".join(b.path.rsplit("/", 1)[-1] for b in originals)
            problems.warn(block.path, block.line_of("story") if "story" in block.lines else block.line_of("locale"),
                          f"looks like the {block.locale!r} translation of {names} (same team, slot and dates) "
                          f"but is not paired with it: give both the same 'story:' (or name the files "
                          f"<story>.{default_locale}.mjml and <story>.{block.locale}.mjml), or "
                          f"{block.locale!r} readers get both")


FIRST_NAME = "recipient.first_name"


def _warn_first_name_without_fallback(templates: dict[str, Template], blocks: dict[str, Block],
                                      problems: Problems) -> None:
    """A customer without a first name reads "Hi ," unless the template names a fallback."""
    for template in templates.values():
        if template.first_name_fallback:
            continue
        advice = (f"prints {{{{ {FIRST_NAME} }}}}, but template {template.id!r} has no first_name_fallback: "
                  f"customers without a first name read an empty name (set first_name_fallback: "
                  f"{{de: ..., en: ...}} in {template.path})")
        for key, texts in (("subject", template.subject), ("preheader", template.preheader)):
            if any(field_lines(text, FIRST_NAME) for text in texts.values()):
                problems.warn(template.path, template.line_of(key), f"{key} {advice}")
        for line in field_lines(template.layout, FIRST_NAME)[:1]:
            problems.warn(template.layout_path, line, f"the layout {advice}")
        slots = {slot.name for slot in template.slots}
        for block in blocks.values():
            if block.slot in slots:
                for line in field_lines(block.body, FIRST_NAME)[:1]:
                    problems.warn(block.path, block.body_line + line - 1, f"the block {advice}")
