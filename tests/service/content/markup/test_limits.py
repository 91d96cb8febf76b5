"""The sandbox bounds memory: huge values are refused before they are made, at the expression's
line (the time limit: test_deadline.py)."""

from __future__ import annotations

import time

import pytest

from service.content.markup.compose import RenderError, render_subject
from service.content.markup.compose import _render as render
from service.content.markup.sandbox import editor_environment


@pytest.mark.parametrize("expression, message", [
    ("9**(9**9)", "9 ** 387420489 makes a number of more than 1,000 digits"),
    ("'a' * 1000000000", "'a' * 1000000000 makes a value of 1,000,000,000 characters or items (at most 100,000)"),
    ("[1] * 1000000000", "[1] * 1000000000 makes a value of 1,000,000,000 characters or items"),
    ("1000000000 * 'ab'", "1000000000 * 'ab' makes a value of 2,000,000,000 characters"),
    ("'a'|center(1000000000)", "center(1000000000) makes a text of 1,000,000,000 characters"),
    ("'%999999999d' % 1", "format '%999999999d' asks for a width of 999999999 (at most 1,000)"),
    ("'%*d' % (999999999, 1)", "format '%*d' asks for a width of *"),
    ("'ab'|replace('a', 'a' * 1000)|replace('a', 'a' * 1000)", "replace('a', 'aaaaaaaaaaaaaaaaaaaaaaaaaa...) "
                                                               "makes a text of more than 100,000 characters"),
    ("1.5 ** 1e9", "1.5 ** 1000000000.0 makes a number too large to compute"),
])
def test_huge_values_are_refused_at_their_line_at_once(expression, message):
    started = time.monotonic()
    with pytest.raises(RenderError) as info:
        render("<mj-text>\n  {{ " + expression + " }}\n</mj-text>", {}, "b.mjml", 5)
    assert time.monotonic() - started < 1
    assert info.value.line == 6 and info.value.message.startswith(f"cannot render: {message}")


def test_compiling_does_not_fold_huge_constants():
    # Jinja's optimizer folds constant expressions at compile time; intercepted operators it leaves alone.
    started = time.monotonic()
    editor_environment().from_string("{{ 9**(9**9) }}{{ 'a' * 1000000000 }}")
    assert time.monotonic() - started < 1


def test_doubling_with_set_and_tilde_is_bounded():
    source = "{% set a = 'a' * 60000 %}\n{% set b = a ~ a %}{{ b }}"
    with pytest.raises(RenderError, match="joining with ~ makes a text of 120,000 characters"):
        render(source, {}, "b.mjml", 1)
    with pytest.raises(RenderError, match=r"\+ .* makes a value of 120,000"):
        render("{% set a = 'a' * 60000 %}{{ a + a }}", {}, "b.mjml", 1)


def test_ordinary_arithmetic_and_formatting_still_work():
    source = "{{ 2**10 }} {{ 'ab' * 3 }} {{ '%5s' % 'x' }} {{ 1 + 2 }} {{ 'a' ~ 'b' }} {{ 'x'|center(5) }}"
    assert render(source, {}, "b.mjml", 1) == "1024 ababab     x 3 ab   x  "
    assert render("{{ 'banana'|replace('a', 'o', 2) }}", {}, "b.mjml", 1) == "bonona"


def test_subjects_are_bounded_too(tmp_path):
    from content_tree import write_tree
    from service.content.check import load_content
    template = load_content(write_tree(tmp_path)).templates["weekly"]
    slow = template.__class__(**{**template.__dict__, "subject": {"de": "{{ 'x' * 10**9 }}"}})
    with pytest.raises(RenderError, match=r"'x' \* 1000000000 makes a value"):
        render_subject(slow, "de", {})


@pytest.mark.parametrize("source, message", [
    ("{{ (['x' * 100000] * 1000)|join }}", "join makes a text of 100,000,000 characters"),
    ("{% for a in 'x' * 100000 %}{{ 'y' * 100000 }}{% endfor %}", "the output grows past 1,000,000 characters"),
    ("{% set x %}{% for a in 'x' * 100000 %}{{ 'y' * 100000 }}{% endfor %}{% endset %}",
     "the output grows past 1,000,000 characters"),
])
def test_output_that_repeats_a_long_text_is_refused_before_it_is_joined(source, message):
    # Each piece is within the bounds; only joining them would take gigabytes (one C call, which
    # the time limit cannot interrupt).
    started = time.monotonic()
    with pytest.raises(RenderError, match=message):
        render(source, {}, "b.mjml", 1)
    assert time.monotonic() - started < 0.5
    assert render("{{ ['a', 'b']|join(', ') }}{% set x %}{{ 'c' }}{% endset %}{{ x }}", {}, "b.mjml", 1) == "a, bc"
