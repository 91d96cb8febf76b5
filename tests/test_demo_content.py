"""The shipped demo content is what newcomers see first: it must be clean, and complete."""

from datetime import date

import pytest

from repo_paths import CONTENT
from service.assembly.edition import Edition
from service.content.check import check_content

EDITION_RANGE = (date(2026, 11, 23), date(2027, 3, 1))


@pytest.fixture(scope="module")
def content():
    result = check_content(CONTENT, today=date(2026, 11, 23))
    assert [str(p) for p in result.errors] == []
    assert [str(p) for p in result.warnings] == []
    return result.content


def test_demo_content_is_rich_enough(content):
    assert len(content.teams) >= 4 and len(content.product_groups) >= 8
    assert len(content.audience.segments) >= 6 and content.audience.segments[-1].is_catch_all
    assert {"weekly", "monthly"} <= set(content.templates)
    blocks = content.blocks.values()
    assert len(blocks) >= 24 and {b.locale for b in blocks} == {"de", "en"}
    assert sum(b.is_draft for b in blocks) >= 2
    assert sum(1 for b in blocks if b.expire and b.expire < EDITION_RANGE[0]) >= 2
    assert sum(1 for b in blocks if b.publish and b.publish > date(2027, 1, 15)) >= 2


@pytest.mark.parametrize("template_id", ["weekly", "monthly"])
def test_every_edition_is_complete_for_every_segment_and_locale(content, template_id):
    template = content.templates[template_id]
    heroes = set()
    for day in template.schedule.editions(*EDITION_RANGE):
        edition = Edition(content, template, day)
        for segment in content.audience.segments:
            for locale in content.audience.locales:
                assembly = edition.assemble(segment, locale)
                assert assembly.skip_reason is None, (day, segment.id, locale, assembly.trace())
                heroes.add(assembly.fills[0].chosen[0].story)
    assert len(heroes) >= 3, "blocks should come and go across the season"
