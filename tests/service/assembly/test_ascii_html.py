"""HTML made 7-bit: references for characters, line breaks only where they change nothing."""

from __future__ import annotations

import html as htmllib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from service.assembly.ascii_html import FOLD_AT, fold, to_ascii
from service.content.markup.fields import placeholder


def test_characters_become_references_outside_style_and_script():
    source = '<style>p::before{content:"ü"}</style><p title="Grüße">Grüße 🙂</p><script>"ß"</script>'
    ascii_ = to_ascii(source)
    assert ascii_ == ('<style>p::before{content:"ü"}</style><p title="Gr&#252;&#223;e">Gr&#252;&#223;e &#128578;</p>'
                      '<script>"ß"</script>')
    assert htmllib.unescape(ascii_) == htmllib.unescape(source)


def test_an_ascii_body_is_left_alone():
    assert to_ascii("<p>plain &amp; simple</p>") == "<p>plain &amp; simple</p>"


def test_a_long_line_is_broken_between_attributes_only():
    cell = '<td align="center" style="font-size:0px;padding:10px 25px;word-break:break-word;">Hello world, this text</td>'
    source = cell * 40
    folded = fold(source, {})
    lines = folded.split("\n")
    assert len(lines) > 1 and max(map(len, lines)) <= FOLD_AT
    # Only white space between attributes was turned into line breaks.
    assert folded.replace("\n", " ") == source
    for line in lines[1:]:
        assert re.match(r'(align|style)=', line)


def test_a_placeholder_counts_at_its_longest_and_is_never_split():
    link = f'<a href="https://x.example/r/{placeholder("links.click")}" target="_blank">x</a>'
    folded = fold(link * 20, {"links.click": 400})
    assert folded.count(placeholder("links.click")) == 20
    # Each line holds at most one link's worth once the token is 400 long: 400 + about 60 > 600 / 2.
    assert all(line.count("@@nl:") <= 1 for line in folded.split("\n"))


def test_a_line_break_already_in_a_tag_starts_a_line():
    source = ('<td\n  align="center" style="' + "x" * 500 + '">') * 3
    lines = fold(source, {}).split("\n")
    assert max(map(len, lines)) <= FOLD_AT and fold(source, {}).replace("\n", " ").split() == source.replace(
        "\n", " ").split()


def test_text_and_values_in_quotes_are_never_broken():
    source = "<p>" + "word " * 300 + "</p>" + '<img alt="' + "a b " * 200 + '" src="x.png">'
    folded = fold(source, {})
    assert "word " * 300 in folded and 'alt="' + "a b " * 200 + '"' in folded


_attribute = st.from_regex(r'[a-z]{1,8}="[^"<>\n]{0,80}"', fullmatch=True)
_tag = st.builds(lambda name, attributes: f"<{name} {' '.join(attributes)}>", st.sampled_from(["td", "div", "a", "img"]),
                 st.lists(_attribute, min_size=1, max_size=6))
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="<>"), max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_tag, _text, st.just("\n")), max_size=60).map("".join), st.integers(20, 700))
def test_folding_changes_nothing_but_white_space_between_attributes(source, limit):
    folded = fold(source, {}, limit)
    assert len(folded) == len(source)
    # Where a space may become a line break: between the attributes of a tag, outside quotes.
    between = {tag.start() + space.start() for tag in re.finditer(r"<[a-z]+ [^<>]*>", source)
               for space in re.finditer(r' (?=[a-z]+=")', tag.group(0))}
    for position, (before, after) in enumerate(zip(source, folded)):
        assert before == after or (position in between and after == "\n")
