"""Every image and link of an email has a name a screen reader can say, checked as ``path:line``:
a social icon without alt, a linked image without alt, a link whose only content is such an
image; and what the service sets itself (the title, the language) is not the layout's to set."""

from __future__ import annotations

import textwrap

import pytest

from content_tree import FILES, block_file, content_errors  # noqa: F401  (a fixture)

SOCIAL = '<mj-social><mj-social-element name="instagram" {alt} href="https://www.instagram.com/shop">Instagram</mj-social-element></mj-social>'
ICONS = "social_icons: https://cdn.shop.example/social/\n"


@pytest.fixture
def check(content_errors):
    return content_errors


def with_icons(overrides: dict[str, str]) -> dict[str, str]:
    return {"templates/weekly/template.yaml": textwrap.dedent(FILES["templates/weekly/template.yaml"]) + ICONS,
            **overrides}


@pytest.mark.parametrize("alt", ["", 'alt=""', 'alt="  "'])
def test_a_social_icon_needs_alt_text(check, alt):
    assert check(with_icons({"blocks/news/a.mjml": block_file(SOCIAL.format(alt=alt))})) == [
        "content/blocks/news/a.mjml:7: <mj-social-element> without alt text: its icon is a link of its own, "
        "which screen readers cannot name (write alt=\"Instagram\", the network's name)"]


def test_a_named_social_icon_passes(check):
    assert check(with_icons({"blocks/news/a.mjml": block_file(SOCIAL.format(alt='alt="Instagram"'))})) == []


def test_a_linked_image_with_empty_alt_has_no_name(check):
    errors = check({"blocks/news/a.mjml": block_file(
        '<mj-image src="https://cdn.shop.example/a.png" alt="" href="https://shop.example/a" />\n'
        '  <mj-image src="https://cdn.shop.example/spacer.png" alt="" />')})
    assert errors == ["content/blocks/news/a.mjml:7: a linked <mj-image> without alt text: screen readers "
                      "cannot say where it goes (give the image an alt naming the link's target)"]


@pytest.mark.parametrize("inside, named", [
    ('<img src="https://cdn.shop.example/a.png" alt="">', False),
    ('<span><img src="https://cdn.shop.example/a.png" alt=" "></span>', False),
    ('<img src="https://cdn.shop.example/a.png" alt="Our shop">', True),
    ('<img src="https://cdn.shop.example/a.png" alt=""> Our shop', True),
    ('<span>{{ segment.name }}</span><img src="https://cdn.shop.example/a.png" alt="">', True),
    ("Just text", True),
])
def test_a_link_whose_only_content_is_an_unnamed_image(check, inside, named):
    errors = check({"blocks/news/a.mjml": block_file(
        f'<mj-text><p>Intro</p>\n  <a href="https://shop.example/a">{inside}</a></mj-text>')})
    assert errors == ([] if named else [
        "content/blocks/news/a.mjml:8: a link whose only content is an image without alt text: screen readers "
        "cannot say where it goes (give the image an alt naming the link's target)"])


def test_the_title_and_the_language_are_the_services(check):
    layout = textwrap.dedent(FILES["templates/weekly/layout.mjml"]).replace(
        "<mjml>\n", '<mjml lang="en">\n  <mj-head>\n    <mj-title>Shop</mj-title>\n  </mj-head>\n')
    assert check({"templates/weekly/layout.mjml": layout}) == [
        "content/templates/weekly/layout.mjml:1: lang on <mjml> is set by the service: each email carries its "
        "recipient's language",
        "content/templates/weekly/layout.mjml:3: <mj-title> is set by the service: every email's title is its "
        "subject line (remove this line)"]
