"""The HTML of every distinct variant of the demo's mails, checked with axe-core in Chromium:
no violation but the two landmark rules that do not apply to a mail (tests/e2e/axe.py says why).

The weekly demo edition: every variant its segments, locales and exclusions make, with no
excluded group and with each single one of the groups that matter to the variant, and each arm of
the experiments in it; the other
templates (monthly, welcome, welcome-tips): every segment and locale. On main before the fix
this failed on the footer's social icons (image-alt, link-name: both serious)."""

from __future__ import annotations

import pytest

from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.check import load_content
from axe import MailChecker
from demo_variants import EDITIONS, distinct_variants
from chromium import browser  # noqa: F401  (a fixture)

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
