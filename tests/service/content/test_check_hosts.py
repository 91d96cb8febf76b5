"""template.yaml's ``asset_hosts`` / ``link_hosts`` / ``social_icons`` and the check that content
keeps to them: every image and link host nobody declared is a ``path:line`` warning; a social
icon from MJML's default origin (a third party) is an error."""

from __future__ import annotations

import textwrap

import pytest

from content_tree import FILES, block_file, write_tree
from service.content.check import check_content, load_content

HOSTS = """\
    asset_hosts: [cdn.shop.example]
    link_hosts: [shop.example, "*.shop.example"]
    """
SOCIAL = ('<mj-social><mj-social-element name="instagram" alt="Instagram" '
          'href="https://www.instagram.com/shop">Instagram</mj-social-element></mj-social>')


def template_with(extra: str) -> str:
    return textwrap.dedent(FILES["templates/weekly/template.yaml"]) + textwrap.dedent(extra)


def layout_with(section: str) -> str:
    """The tiny tree's layout with ``section``'s markup in a column at line 6."""
    return textwrap.dedent(FILES["templates/weekly/layout.mjml"]).replace(
        "    {{ slot(\"products\") }}\n",
        f"    {{{{ slot(\"products\") }}}}\n    <mj-section><mj-column>\n{section}\n    </mj-column></mj-section>\n")


@pytest.fixture
def check(tmp_path, monkeypatch):
    """The check of the tiny tree with overrides: (errors, warnings) as ``path:line: message``."""
    monkeypatch.chdir(tmp_path)

    def run(overrides):
        result = check_content(write_tree(tmp_path, overrides))
        return [str(p) for p in result.errors], [str(p) for p in result.warnings]
    return run


def test_declared_hosts_are_read_lowercased(tmp_path):
    content = load_content(write_tree(tmp_path, {"templates/weekly/template.yaml": template_with(
        "asset_hosts: [CDN.shop.example]\nlink_hosts: [shop.example]\nsocial_icons: https://cdn.shop.example/icons\n")}))
    hosts = content.templates["weekly"].hosts
    assert hosts.assets == ("cdn.shop.example",) and hosts.links == ("shop.example",)
    assert hosts.social_icons == "https://cdn.shop.example/icons/"  # MJML appends "instagram.png"


def test_without_declarations_nothing_is_judged(check):
    errors, warnings = check({"blocks/news/a.mjml": block_file(
        '<mj-image src="https://elsewhere.example/a.png" alt="A" href="https://tracker.example/x" />')})
    assert errors == [] and warnings == []


def test_a_block_with_an_undeclared_image_and_link_host_is_warned_at_its_line(check):
    errors, warnings = check({
        "templates/weekly/template.yaml": template_with(HOSTS),
        "blocks/news/a.mjml": block_file(
            '<mj-image src="https://cdn.shop.example/a.png" alt="A" href="https://www.shop.example/a" />\n'
            '  <mj-image src="https://cdn.shpo.example/b.png" alt="B" href="https://shop.exmaple/b" />\n'
            '  <mj-text><a href="https://shop.example/c">C</a> <a href="mailto:help@anywhere.example">help</a>'
            '</mj-text>')})
    assert errors == []
    assert warnings == [
        "content/blocks/news/a.mjml:8: warning: image host 'cdn.shpo.example' is not in asset_hosts of weekly "
        "(content/templates/weekly/template.yaml): a typo, or a third party that learns of every open?",
        "content/blocks/news/a.mjml:8: warning: link host 'shop.exmaple' is not in link_hosts of weekly "
        "(content/templates/weekly/template.yaml): a typo, or a site nobody meant to send readers to?",
    ]


def test_background_images_and_css_urls_count_as_images(check):
    _, warnings = check({
        "templates/weekly/template.yaml": template_with(HOSTS),
        "blocks/news/a.mjml": block_file(
            '<mj-text><div style="background-image:url(\'https://img.other.example/bg.png\')">x</div></mj-text>')})
    assert warnings == ["content/blocks/news/a.mjml:7: warning: image host 'img.other.example' is not in "
                        "asset_hosts of weekly (content/templates/weekly/template.yaml): a typo, or a third "
                        "party that learns of every open?"]


def test_the_layout_is_checked_against_its_own_template(check):
    _, warnings = check({"templates/weekly/template.yaml": template_with(HOSTS),
                         "templates/weekly/layout.mjml": layout_with(
                             '      <mj-image src="https://www.mailjet.com/logo.png" alt="Logo" />')})
    assert warnings == ["content/templates/weekly/layout.mjml:6: warning: image host 'www.mailjet.com' is not "
                        "in asset_hosts of weekly (content/templates/weekly/template.yaml): a typo, or a third "
                        "party that learns of every open?"]


@pytest.mark.parametrize("entry, message", [
    ("asset_hosts: [https://cdn.shop.example]", "asset_hosts: 'https://cdn.shop.example' is not a host name"),
    ("link_hosts: [shop]", "link_hosts: 'shop' is not a host name"),
    ("social_icons: http://cdn.shop.example/social/", "social_icons 'http://cdn.shop.example/social/' must be "
                                                      "an https: address"),
])
def test_declarations_that_are_not_hosts(check, entry, message):
    errors, _ = check({"templates/weekly/template.yaml": template_with(entry + "\n")})
    assert len(errors) == 1 and errors[0].startswith("content/templates/weekly/template.yaml:11: " + message)


def test_social_icons_must_come_from_a_declared_asset_host(check):
    errors, _ = check({"templates/weekly/template.yaml": template_with(
        HOSTS + "social_icons: https://static.other.example/social/\n")})
    assert errors == ["content/templates/weekly/template.yaml:13: social_icons is on 'static.other.example', "
                      "which is not in asset_hosts"]


def test_social_icons_from_mjmls_default_origin_are_an_error(check):
    errors, _ = check({"templates/weekly/layout.mjml": layout_with("      " + SOCIAL)})
    assert errors == ["content/templates/weekly/layout.mjml:6: <mj-social-element> icon without a src of its "
                      "own: MJML would load it from www.mailjet.com, a third party; set social_icons: "
                      "https://<your asset host>/<folder>/ in content/templates/weekly/template.yaml"]
    errors, warnings = check({"templates/weekly/layout.mjml": layout_with("      " + SOCIAL),
                              "templates/weekly/template.yaml": template_with(
                                  "asset_hosts: [cdn.shop.example]\nlink_hosts: [shop.example, www.instagram.com]\n"
                                  "social_icons: https://cdn.shop.example/social/\n")})
    assert errors == [] and warnings == []


def test_a_block_with_social_icons_needs_them_in_every_template_that_sends_it(check):
    errors, _ = check({"blocks/news/a.mjml": block_file(SOCIAL)})
    assert errors == ["content/blocks/news/a.mjml:7: <mj-social-element> icon without a src of its own: MJML "
                      "would load it from www.mailjet.com, a third party; set social_icons: https://<your "
                      "asset host>/<folder>/ in content/templates/weekly/template.yaml"]


def test_hosts_that_only_mjml_adds_are_warned(check):
    accordion = ("<mj-accordion><mj-accordion-element><mj-accordion-title>Q</mj-accordion-title>"
                 "<mj-accordion-text>A</mj-accordion-text></mj-accordion-element></mj-accordion>")
    _, warnings = check({"blocks/news/a.mjml": block_file(accordion)})
    assert warnings == ["content/blocks/news/a.mjml:6: warning: the compiled email loads from or links to "
                        "'i.imgur.com', which no content file names: one of MJML's default icons (<mj-accordion>, "
                        "<mj-carousel>: set their icon attributes to an image on your asset host)"]
