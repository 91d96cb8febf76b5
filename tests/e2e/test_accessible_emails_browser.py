"""The HTML of every distinct variant of the demo's mails, checked with axe-core in Chromium:
no violation but the two landmark rules that do not apply to a mail (tests/e2e/axe.py says why).

The weekly demo edition: every variant its segments, locales and exclusions make, with no
excluded group and with each single one of the groups that matter to the variant, and each arm of
the experiments in it; the other
templates (monthly, welcome, welcome-tips): every segment and locale. On main before the fix
this failed on the footer's social icons (image-alt, link-name: both serious)."""

from __future__ import annotations

from datetime import date

import pytest

from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.check import load_content
from axe import MailChecker
from chromium import browser  # noqa: F401  (a fixture)

EDITIONS = {"weekly": date(2026, 11, 23), "monthly": date(2027, 1, 5), "welcome": date(2026, 11, 23),
            "welcome-tips": date(2026, 11, 23)}


def distinct_variants(content, template_id: str, with_exclusions: bool):
    """(edition, assembly) of each distinct body, in a stable order."""
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


@pytest.mark.parametrize("template_id", list(EDITIONS))
def test_every_variant_has_no_axe_violation(browser, template_id):  # noqa: F811
    content = load_content(CONTENT)
    renderer = Renderer(LinkSigner([b"axe-test-link-key-0123456789ab"]), "https://news.nordhaus.example",
                        "unsubscribe@nordhaus.example")
    variants = distinct_variants(content, template_id, with_exclusions=template_id == "weekly")
    assert len(variants) >= 10
    found, blocks, checker = {}, set(), MailChecker(browser)
    for edition, assembly in variants:
        recipient = Recipient(public_id="pub0000000000000000001", email="anna@example.com", first_name="Anna",
                              locale=assembly.key.locale, attributes={})
        html = renderer.html(edition, renderer.variant(edition, assembly), recipient)
        blocks |= {b.id for b in assembly.blocks}
        problems = checker.violations(html)
        if problems:
            found[assembly.key.label()] = problems
    checker.close()
    assert found == {}, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in found.items())
    assert len(blocks) >= 6
    print(f"{template_id}: {len(variants)} variants, {len(blocks)} blocks checked")
