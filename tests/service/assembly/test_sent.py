"""The archive's unit: a compiled variant's body, serialised once and filled later to the same bytes."""

from __future__ import annotations

import json
from datetime import date

import pytest

from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.assembly.sent import SentBody
from service.content.check import load_content
from service.settings import Settings

EXPERIMENT_KEY = Settings().experiment_key  # the demo content has an experiment: customers get arms

EDITION = date(2026, 11, 23)
ACTIVE = {"lifecycle": "customer", "purchasing_power": 3, "last_order": "2026-10-01", "orders_12m": 2}


@pytest.fixture(scope="module")
def compiled():
    content = load_content(CONTENT)
    edition = Edition(content, content.templates["weekly"], EDITION, experiment_key=EXPERIMENT_KEY)
    renderer = Renderer(LinkSigner([b"k" * 32]), "https://news.example", "u@news.example")
    return edition, renderer


@pytest.mark.parametrize("first_name, locale, tracked", [
    ("Anna", "de", True), (None, "en", True), ('Zoë <b>"&', "de", False), ("@@nl:recipient.email@@", "en", True),
])
def test_an_archived_body_fills_to_the_bytes_the_variant_gives(compiled, first_name, locale, tracked):
    edition, renderer = compiled
    recipient = Recipient(public_id="P" * 22, email="zoe.x@example.com", first_name=first_name, locale=locale,
                          attributes=ACTIVE, click_tracking=tracked)
    variant = renderer.for_recipient(edition, edition.assembly_for(recipient), recipient)
    body = renderer.sent_body(edition, variant)
    again = SentBody.from_bytes(body.to_bytes())
    assert again == body and again.digest() == body.digest()
    assert renderer.sent_html(again, recipient) == renderer.html(edition, variant, recipient)
    if first_name is None:
        assert body.first_name_fallback == {"de": "liebe Kundin, lieber Kunde", "en": "there"}[locale]


def test_the_digest_tells_bodies_apart_and_names_equal_ones_alike(compiled):
    edition, renderer = compiled
    segment = edition.content.audience.segments[0]
    tracked = renderer.sent_body(edition, renderer.variant(edition, edition.assemble(segment, "de")))
    untracked = renderer.sent_body(edition, renderer.variant(edition, edition.assemble(segment, "de"), tracked=False))
    other = renderer.sent_body(edition, renderer.variant(edition, edition.assemble(segment, "en")))
    assert len({tracked.digest(), untracked.digest(), other.digest()}) == 3
    fresh = Renderer(LinkSigner([b"k" * 32]), "https://news.example", "u@news.example")  # another worker
    again = fresh.sent_body(edition, fresh.variant(edition, edition.assemble(segment, "de")))
    assert again.digest() == tracked.digest()


def test_another_format_is_refused_not_misread(compiled):
    edition, renderer = compiled
    body = renderer.sent_body(edition, renderer.variant(edition, edition.assemble(edition.content.audience.segments[0],
                                                                                  "de")))
    fields = json.loads(body.to_bytes())
    fields["format"] = 2
    with pytest.raises(ValueError, match="format 2"):
        SentBody.from_bytes(json.dumps(fields).encode())
