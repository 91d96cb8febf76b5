"""The text part made piece by piece (service/assembly/plain_text.py): for every body of the demo
content the same text as the whole document gives, and the same HTML as without the cuts."""

from __future__ import annotations

import pytest

import service.assembly.render as render_module
from demo_variants import EDITIONS, distinct_variants
from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.plain_text import CUT, SectionText, html_to_text
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.check import load_content

ANNA = dict(public_id="pub0000000000000000001", email="anna@example.com", first_name="Anna & Ole")


def renderer() -> Renderer:
    return Renderer(LinkSigner([b"plain-text-test-link-key-012345"]), "https://news.nordhaus.example",
                    "unsubscribe@nordhaus.example")


@pytest.mark.parametrize("template_id", list(EDITIONS))
def test_every_body_has_the_text_and_html_of_the_whole_document(monkeypatch, template_id):
    variants = distinct_variants(load_content(CONTENT), template_id, with_exclusions=template_id == "weekly")
    cut, whole = renderer(), renderer()
    with monkeypatch.context() as patch:  # the same compile with no cut in the MJML
        patch.setattr(render_module, "CUT_MJML", "")
        uncut = [(whole.variant(e, a, tracked=tracked), e, a, tracked) for e, a in variants for tracked in (True, False)]
    pieces = 0
    for variant, edition, assembly, tracked in uncut:
        anna = Recipient(locale=assembly.key.locale, **ANNA)
        mine = cut.variant(edition, assembly, tracked=tracked)
        assert cut.html(edition, mine, anna) == whole.html(edition, variant, anna)
        assert CUT not in cut.html(edition, mine, anna)
        as_sent = whole.html(edition, variant, anna)
        assert cut.text(edition, mine, anna) == html_to_text(as_sent).replace("\n", "\r\n")
        pieces += len(assembly.fills) * 2
    # Each block and slot was one piece; most pieces were shared between bodies.
    assert cut.text_pieces.converted < pieces / 3


def test_a_piece_is_converted_once_and_the_cache_is_bounded():
    text = SectionText(limit=2)
    page = f"<p>Hello</p>{CUT}<p>Offers</p>{CUT}<p>Bye</p>"
    html, plain = text.of(page)
    assert html == "<p>Hello</p><p>Offers</p><p>Bye</p>"
    assert plain == html_to_text(html) == "Hello\n\nOffers\n\nBye\n"
    assert text.converted == 3
    assert text.of(f"<p>Bye</p>{CUT}<p>Offers</p>")[1] == "Bye\n\nOffers\n"
    assert text.converted == 3  # both were still cached (the two most recent)
    text.of("<p>Hello</p>")
    assert text.converted == 4  # Hello had gone: only two pieces are kept


def test_a_link_and_its_text_stay_together_in_a_piece():
    html, plain = SectionText().of(f'{CUT}<p><a href="https://x.example/a">Read</a></p>{CUT}<p>Next</p>{CUT}')
    assert plain == html_to_text(html)
    assert "Read" in plain and "https://x.example/a" in plain
