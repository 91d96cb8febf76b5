"""The coverage of an edition (``newsletter plan``): for every segment and locale, what each slot
gets, and what cannot be sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from service.assembly.digest import Ranking, due_digests
from service.assembly.edition import Assembly, Edition
from service.assembly.render import GMAIL_CLIP_BYTES, Renderer
from service.content.markup.compose import RenderError
from service.content.markup.mjml import MjmlError
from service.content.model import ORIGINAL, Content


@dataclass(frozen=True)
class CoverageRow:
    assembly: Assembly
    html_bytes: int | None = None  # longest possible HTML of the base variant


@dataclass
class Coverage:
    template: str
    edition_date: date
    rows: list[CoverageRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    variants_checked: int = 0
    exclusion_groups: dict[tuple[str, str], int] = field(default_factory=dict)
    digests: dict[str, list[CoverageRow]] = field(default_factory=dict)  # the best-of editions' rows, by name

    @property
    def ok(self) -> bool:
        return not self.errors


def edition_coverage(content: Content, template_id: str, edition_date: date, renderer: Renderer,
                 drafts: bool = False, rankings: dict[str, Ranking] | None = None) -> Coverage:
    """Assemble every (segment, locale) variant, and the variants with one product group
    excluded, and check each renders under Gmail's clipping size with the unsubscribe link
    before that point; the same for the best-of editions due that day (by ``rankings``). Errors
    name the segment and locale that cannot be sent."""
    template = content.templates[template_id]
    edition = Edition(content, template, edition_date, drafts=drafts, rankings=rankings)
    plan = Coverage(template_id, edition_date)
    refused = template.schedule.not_an_edition(edition_date, template_id)
    if refused:
        plan.errors.append(refused)
    for digest in [None] + due_digests(template, edition_date):
        rows = plan.rows if digest is None else plan.digests.setdefault(digest.name, [])
        for segment in content.audience.segments:
            for locale in content.audience.locales:
                rows.append(_cover(plan, renderer, edition, segment, locale, digest))
    return plan


def _cover(plan: Coverage, renderer: Renderer, edition: Edition, segment, locale: str, digest) -> CoverageRow:
    """One (segment, locale) row: its variants with no or one product group excluded, checked."""
    content = edition.content
    base = edition.assemble(segment, locale, digest=digest)
    relevant = sorted(edition.key_for(segment, locale, content.product_groups).exclusions)
    if digest is None:
        plan.exclusion_groups[(segment.id, locale)] = len(relevant)
    size = None
    for excluded in [()] + [(g,) for g in relevant]:
        # Each arm of an experiment is a variant of its own (one arm at a time, not every combination).
        first = edition.assemble(segment, locale, excluded, digest=digest)
        arms = [{e.id: a.name} for e in edition.arms.experiments_in(first) for a in e.arms if a.name != ORIGINAL]
        for assembly in [first] + [edition.assemble(segment, locale, excluded, arms=named, digest=digest)
                                   for named in arms]:
            size = _check(plan, renderer, edition, assembly, size, excluded)
    return CoverageRow(base, size)


def _check(plan: Coverage, renderer: Renderer, edition: Edition, assembly: Assembly, size: int | None,
           excluded: tuple) -> int | None:
    """Check that one variant can be sent as it is; the size of the row's base variant (no
    exclusion, the original of each experiment) once it is known."""
    label = assembly.key.label()
    if assembly.skip_reason:
        plan.errors.append(f"{label}: not sent: {assembly.skip_reason}")
        return size
    try:
        variant = renderer.variant(edition, assembly)
    except (RenderError, MjmlError) as exc:
        plan.errors.append(f"{label}: does not render: {exc}")
        return size
    plan.variants_checked += 1
    longest = variant.longest_html()
    if not excluded and size is None:
        size = longest
    if longest > GMAIL_CLIP_BYTES:
        plan.errors.append(f"{label}: HTML can reach {longest // 1024} KB; Gmail clips "
                           f"at {GMAIL_CLIP_BYTES // 1024} KB")
    offset = variant.unsubscribe_offset()
    if offset is None:
        plan.errors.append(f"{label}: no unsubscribe link ({{{{ links.unsubscribe }}}})")
    elif offset > GMAIL_CLIP_BYTES:
        plan.errors.append(f"{label}: the unsubscribe link is past Gmail's clipping point")
    return size
