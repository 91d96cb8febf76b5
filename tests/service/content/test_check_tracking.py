"""``tracking:`` (block front matter, template.yaml) and ``utm:`` (template.yaml): read with the
other keys, every mistake reported as ``path:line: message``."""

from __future__ import annotations

import textwrap

import pytest

from content_tree import FILES, block_file, content_errors, write_tree  # noqa: F401  (a fixture)
from service.content.check import load_content

BUTTON = '<mj-button href="https://shop.example/a">A</mj-button>'


def template_with(extra: str) -> str:
    """The tiny tree's template.yaml with ``extra`` lines added after its first line."""
    lines = textwrap.dedent(FILES["templates/weekly/template.yaml"]).splitlines(keepends=True)
    return lines[0] + textwrap.dedent(extra) + "".join(lines[1:])


@pytest.fixture
def check(content_errors):
    return content_errors


def test_tracking_defaults_to_true_and_false_is_read(tmp_path):
    content = load_content(write_tree(tmp_path))
    assert content.templates["weekly"].tracking is True and content.templates["weekly"].utm == {}
    assert content.blocks["news/jackets"].tracking is True
    content = load_content(write_tree(tmp_path / "off", {
        "blocks/news/a.mjml": block_file(BUTTON, extra="tracking: false"),
        "templates/weekly/template.yaml": template_with("tracking: false\n")}))
    assert content.blocks["news/a"].tracking is False and content.templates["weekly"].tracking is False


@pytest.mark.parametrize("value", ["maybe", "0", '"false"', "2026-11-23"])
def test_a_block_tracking_that_is_not_true_or_false(check, value):
    errors = check({"blocks/news/a.mjml": block_file(BUTTON, extra=f"tracking: {value}")})
    assert len(errors) == 1 and errors[0].startswith("content/blocks/news/a.mjml:4: 'tracking' must be true or false, got ")


def test_a_block_tracking_without_value(check):
    assert check({"blocks/news/a.mjml": block_file(BUTTON, extra="tracking:")}) == [
        "content/blocks/news/a.mjml:4: 'tracking' has no value: write one or leave the key out"]


def test_a_template_tracking_that_is_not_true_or_false(check):
    assert check({"templates/weekly/template.yaml": template_with("tracking: off-ish\n")}) == [
        "content/templates/weekly/template.yaml:2: 'tracking' must be true or false, got 'off-ish'"]


def test_utm_is_read_with_its_placeholders(tmp_path):
    content = load_content(write_tree(tmp_path, {"templates/weekly/template.yaml": template_with(
        'utm: {source: newsletter, medium: email, campaign: "{edition}", content: "{team}-{block}", term: "{template}"}\n')}))
    assert dict(content.templates["weekly"].utm) == {
        "source": "newsletter", "medium": "email", "campaign": "{edition}", "content": "{team}-{block}",
        "term": "{template}"}


YAML = "content/templates/weekly/template.yaml"


@pytest.mark.parametrize("utm, message", [
    ("utm: {source: newsletter, channel: email}",
     "3: unknown key 'channel' (allowed: source, medium, campaign, content, term)"),
    ("utm: {source: 5}", "3: 'source' must be text, got the number 5 (in quotes if you mean the text: '5')"),
    ("utm: {source: yes}", "3: 'source' must be text, got true (a yes/no value)"),
    ("utm: {source: ''}", "3: 'source' is empty: write a text or leave the key out"),
    ('utm: {campaign: "{week}"}',
     "3: utm campaign: unknown placeholder {week} (placeholders: {edition}, {template}, {block}, {team})"),
    ('utm: {campaign: "x-{edition"}', "3: utm campaign: unmatched brace in 'x-{edition' "
                                      "(placeholders are written {edition})"),
    ("utm: newsletter", "2: 'utm' must be a mapping like {source: newsletter, medium: email} "
                        "(keys: source, medium, campaign, content, term)"),
    ("utm:", "2: 'utm' has no value: write one or leave the key out"),
])
def test_bad_utm(check, utm, message):
    # On two lines, so the line of the mapping (2) and of its keys (3) differ.
    written = utm.replace("utm: {", "utm:\n  {") if "{" in utm.split(":", 1)[1][:3] else utm
    assert check({"templates/weekly/template.yaml": template_with(written + "\n")}) == [f"{YAML}:{message}"]


def test_a_bad_utm_key_is_reported_at_its_own_line(check):
    text = template_with("utm:\n  source: newsletter\n  medium: 7\n  campaign: \"{nope}\"\n")
    assert check({"templates/weekly/template.yaml": text}) == [
        f"{YAML}:4: 'medium' must be text, got the number 7 (in quotes if you mean the text: '7')",
        f"{YAML}:5: utm campaign: unknown placeholder {{nope}} "
        "(placeholders: {edition}, {template}, {block}, {team})"]
