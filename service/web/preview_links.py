"""The staff preview's addresses: which variant a page shows (``Target``), its URL, and the links
to its neighbours (other segments, locales, editions, and the other arms of its experiments)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from starlette.routing import Router

from service.assembly.digest import due_digests
from service.assembly.recipient import Recipient
from service.content.model import Content, Experiment, Template

SAMPLE = Recipient(public_id="PreviewPreviewPreview0", email="preview@example.com", first_name="Alex")


@dataclass(frozen=True)
class Target:
    template: Template
    day: date
    segment_id: str
    locale: str
    excluded: tuple[str, ...]
    drafts: bool
    name: str
    urls: Router = field(compare=False, repr=False)
    arms: tuple[tuple[str, str], ...] = ()  # (experiment, arm) shown; an experiment not named: arm a
    pace: str | None = None  # shown as readers of this pace get it (their digest); None: the week's

    def href(self, email: bool = False, **changes) -> str:
        """This page's URL (or the email alone's) with some values changed."""
        t = replace(self, **changes)
        return variant_href(self.urls, t.template.id, t.day, t.segment_id, t.locale, excluded=t.excluded,
                            drafts=t.drafts, name=t.name, email=email, arms=t.arms, pace=t.pace)

    def with_arm(self, experiment: str, arm: str) -> str:
        arms = dict(self.arms) | {experiment: arm}
        return self.href(arms=tuple(sorted(arms.items())))


def variant_href(urls: Router, template: str, day: date, segment_id: str, locale: str, *, excluded=(),
                 drafts: bool = False, name: str | None = None, email: bool = False, arms=(),
                 pace: str | None = None) -> str:
    """The URL of a variant's page (or of its email alone), from the named routes."""
    path = urls.url_path_for("preview_email" if email else "preview_variant", template=template,
                             date=day.isoformat(), segment=segment_id, locale=locale)
    query: dict = {}
    if excluded:
        query["exclude"] = ",".join(excluded)
    if drafts:
        query["drafts"] = "1"
    if name is not None and name != SAMPLE.first_name:
        query["name"] = name
    if arms:
        query["arm"] = [f"{experiment}={arm}" for experiment, arm in arms]
    if pace:
        query["pace"] = pace
    return path + (f"?{urlencode(query, doseq=True)}" if query else "")


def navigation(content: Content, target: Target, experiments: list[Experiment]) -> dict:
    schedule = target.template.schedule
    try:
        previous = schedule.previous_edition(target.day)
    except OverflowError:
        previous = None
    try:
        following = schedule.next_edition(target.day + timedelta(days=1))
    except OverflowError:
        following = None
    return {
        "segments": [(s, target.href(segment_id=s.id)) for s in content.audience.segments],
        "locales": [(loc, target.href(locale=loc)) for loc in content.audience.locales],
        "previous": previous and target.href(day=previous),
        "next": following and target.href(day=following),
        "drafts": target.href(drafts=not target.drafts),
        "email": target.href(email=True),
        "path": target.href(excluded=(), drafts=False, name=None, arms=()),
        "index": target.urls.url_path_for("preview_index") + f"?from={target.day.isoformat()}"
                 + ("&drafts=1" if target.drafts else ""),
        # Per experiment of the variant: each arm with its share and the link that shows it.
        "experiments": [(e, [(a, target.with_arm(e.id, a.name)) for a in e.arms]) for e in experiments],
        # The best-of editions some readers get on this date: (label, pace or None, link).
        "paces": [("the week's edition", None, target.href(pace=None))]
                 + [(f"{d.name} ({', '.join(d.paces)} readers)", d.paces[0], target.href(pace=d.paces[0]))
                    for d in due_digests(target.template, target.day)],
    }
