"""Every distinct body of the demo content's mails, for tests that check each one (axe, pixels,
the text part): one edition date per template."""

from __future__ import annotations

from datetime import date

from service.assembly.edition import Edition

EDITIONS = {"weekly": date(2026, 11, 23), "monthly": date(2027, 1, 5), "welcome": date(2026, 11, 23),
            "welcome-tips": date(2026, 11, 23)}


def distinct_variants(content, template_id: str, with_exclusions: bool):
    """(edition, assembly) of each distinct body, in a stable order: every segment and locale,
    with (``with_exclusions``) no excluded group and each single group that matters to the
    variant, and each arm of the experiments in it."""
    edition = Edition(content, content.templates[template_id], EDITIONS[template_id])
    seen = {}
    for segment in content.audience.segments:
        for locale in content.audience.locales:
            groups = sorted(edition._relevant_groups(segment, locale)) if with_exclusions else []
            for excluded in [(), *((g,) for g in groups)]:
                assembly = edition.assemble(segment, locale, excluded)
                # Each arm of an experiment in it is a body of its own (one arm at a time).
                arms = [{e.id: a.name} for e in edition.arms.experiments_in(assembly) for a in e.arms]
                for shown in [assembly] + [edition.assemble(segment, locale, excluded, arms=named) for named in arms]:
                    if shown.skip_reason is None:
                        seen.setdefault(shown.body_key, (edition, shown))
    return list(seen.values())
