"""The compacting pass's rules, each on a small piece of HTML, then on every body of the demo's
editions (tests/e2e/test_compact_pixels_browser.py shows Chromium draws the same pixels)."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import service.assembly.render as render_module
from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.compact import CompactError, _check, _tokens, compact
from service.assembly.edition import Edition
from service.assembly.plain_text import html_to_text
from service.assembly.render import Renderer
from service.content.check import load_content

HEAD = '<!doctype html><html><head><title>t</title></head><body>{}</body></html>'


def body(html: str) -> str:
    return compact(HEAD.format(html))[len(HEAD.split("{}")[0]):-len(HEAD.split("{}")[1])]


@pytest.mark.parametrize("piece", [
    "Hallo @@nl:recipient.first_name@@,  schön",
    '<a href="@@nl:links.unsubscribe@@" style="color: red; @@nl:recipient.email@@">x</a>',
    "<p>{{ recipient.first_name }}  {{ links.view_online }}</p>",
])
def test_placeholders_and_their_surroundings_stay(piece):
    assert body(piece) == piece


def test_a_conditional_keeps_what_it_holds_byte_for_byte():
    cond = '<!--[if mso | IE]><table border="0" style="width:600px; line-height:0px;">\n  <tr><![endif]-->'
    assert body(cond) == cond


def test_adjacent_conditionals_of_one_condition_become_one():
    assert body("<!--[if mso | IE]></td><![endif]--><!--[if mso | IE]></tr></table><![endif]-->") == \
        "<!--[if mso | IE]></td></tr></table><![endif]-->"


@pytest.mark.parametrize("html", [
    "<!--[if mso]><b><![endif]--><!--[if mso | IE]></b><![endif]-->",  # another condition
    "<!--[if mso | IE]><b><![endif]--> <!--[if mso | IE]></b><![endif]-->",  # a space between
    "<!--[if mso | IE]><b><![endif]--><i>x</i><!--[if mso | IE]></b><![endif]-->",
    '<!--[if !mso]><!--><div class="x">a</div><!--<![endif]--><!--[if !mso]><!--><p>b</p><!--<![endif]-->',
])
def test_other_conditionals_stay_as_they_are(html):
    assert body(html) == html


def test_ordinary_comments_go_conditional_ones_stay():
    assert body("<p>a<!-- a note -->b</p><!--[if mso]>x<![endif]-->") == "<p>ab</p><!--[if mso]>x<![endif]-->"


@pytest.mark.parametrize("raw", [
    '<pre style="margin: 0px;">  two  spaces\n\n  <!-- kept --> @@nl:recipient.email@@ </pre>',
    '<textarea style="margin: 0px;">  a\n  <tbody> </textarea>',
])
def test_pre_and_textarea_are_verbatim(raw):
    assert body(f"<div>{raw}</div>") == f"<div>{raw}</div>"


@pytest.mark.parametrize("style, short", [
    ("margin: 0px auto; padding:0px 25px 0px 0;", "margin:0 auto;padding:0 25px 0 0"),
    ("font-family:Helvetica, Arial, sans-serif;", "font-family:Helvetica,Arial,sans-serif"),
    ("width:10px;height:100px;left:-0px", "width:10px;height:100px;left:-0"),
    ("line-height:0px;font-size:0px;mso-line-height-rule:exactly;", "line-height:0px;font-size:0;mso-line-height-rule:exactly"),
    ("mso-padding-alt:0px 24px;border:0px", "mso-padding-alt:0px 24px;border:0"),
    ("color:red;margin:0;color:red", "margin:0;color:red"),  # the same twice: the last copy
    ("color:red; background:#fff; color:blue;", "color:red;background:#fff;color:blue"),  # a fallback stays
    ("width:100% !important;", "width:100% !important"),
])
def test_an_inline_style_gets_shorter(style, short):
    assert body(f'<div style="{style}">x</div>') == f'<div style="{short}">x</div>'


@pytest.mark.parametrize("style", ["font-family:'Open Sans', Arial; margin:0px;",
                                   "background:url(a.png) 0px 0px;", "font-family:&quot;A B&quot;, x;",
                                   "color /* c */: red;", "not a declaration; color:red"])
def test_an_inline_style_that_is_not_plain_stays(style):
    assert body(f'<div style="{style}">x</div>') == f'<div style="{style}">x</div>'


@pytest.mark.parametrize("html, short", [
    ("<a>x</a> <b>y</b>\n<i>z</i>", "<a>x</a> <b>y</b>\n<i>z</i>"),  # between inline elements it shows
    ("<td> <img src=x></td>", "<td> <img src=x></td>"),
    ('<table role="presentation">\n <tbody>\n  <tr>\n   <td>a</td>\n   <td>b</td>\n  </tr>\n </tbody>\n</table>',
     '<table role="presentation"><tr><td>a</td><td>b</td></tr></table>'),
    ("<table><tbody class=x><tr><td>a</td></tr></tbody></table>", "<table><tbody class=x><tr><td>a</td></tr></table>"),
])
def test_whitespace_goes_only_where_it_renders_as_nothing(html, short):
    assert body(html) == short


def test_the_head_loses_its_whitespace_and_repeated_style_blocks():
    head = ('<html>\n<head>\n  <title> t </title>\n  <style type="text/css">\n  p { margin: 13px 0; }\n</style>\n'
            '<style type="text/css">p{margin:13px 0}</style>\n<style>@media only screen and (max-width: 479px) {\n'
            '  table, td { width: 100% !important; }\n}</style><style>a{color:red}</style>'
            '<style>p{margin:13px 0}</style><link rel="stylesheet" href="s.css"><style>p{margin:13px 0}</style>\n</head>\n<body>x</body>\n</html>')
    assert compact(head) == (
        '<html><head><title> t </title><style type="text/css">p{margin:13px 0}</style>'
        '<style>@media only screen and (max-width:479px){table,td{width:100% !important}}</style>'
        '<style>a{color:red}</style><style>p{margin:13px 0}</style><link rel="stylesheet" href="s.css">'
        '<style>p{margin:13px 0}</style></head><body>x</body>\n</html>')


def test_a_changed_placeholder_or_outlook_markup_is_refused_with_where():
    with pytest.raises(CompactError, match="recipient.email"):
        _check("a @@nl:recipient.email@@", _tokens("a @@nl:recipient.email@@"), "a")
    with pytest.raises(CompactError, match="Outlook markup near.*<td>"):
        _check("<!--[if mso]><td><![endif]-->", _tokens("<!--[if mso]><td><![endif]-->"),
               "<!--[if mso]><th><![endif]-->")


PIECES = ["<table>", "<table role=\"presentation\">", "<tbody>", "</tbody>", "</table>", "<tr>", "</tr>", "<td>",
          "</td>", "<head>", "</head>", "<body>", "</body>", "<title>", "</title>", " ", "\n  ", "a b", "<b>", "</b>",
          '<div style="margin: 0px auto ; font-family:A, B;">', '<p style="x:1;x:2;x:1">', "</div>",
          '<a href="@@nl:links.unsubscribe@@">', "@@nl:recipient.first_name@@", "{{ x }}", "<!-- note -->",
          "<!--[if mso | IE]><td style='a:0px'>\n<![endif]-->", "<!--[if mso]><tr><![endif]-->",
          "<!--[if !mso]><!-->", "<!--<![endif]-->", "<pre>  <b> @@nl:recipient.email@@ </pre>",
          "<textarea>\n x</textarea>", "<style>p { margin : 0 ; }</style>", "<style>p{margin:0}</style>", "<", ">"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_any_mix_of_pieces_compacts_once_and_keeps_what_it_must(pieces):
    html = "".join(pieces)
    compacted = compact(html)  # compact itself refuses to change placeholders, Outlook markup, raw blocks
    assert compact(compacted) == compacted
    assert len(compacted) <= len(html)


# -- the demo edition -----------------------------------------------------------------------

@pytest.fixture(scope="module", params=["weekly", "monthly", "welcome", "welcome-tips"])
def demo_mails(request):
    """Each distinct body of a demo template's edition: (MJML's HTML, compacted), with placeholders."""
    content = load_content(CONTENT)
    edition = Edition(content, content.templates[request.param], date(2026, 11, 23))
    bodies = {}
    for segment in content.audience.segments:
        for locale in content.audience.locales:
            assembly = edition.assemble(segment, locale, ())
            if assembly.skip_reason is None:
                bodies.setdefault(assembly.body_key, assembly)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render_module, "compact", lambda html: html)
        renderer = Renderer(LinkSigner([b"compact-test-link-key-012345678"]), "https://news.example.com",
                            "unsubscribe@nordhaus.example")
        originals = []
        for assembly in bodies.values():
            html = renderer.variant(edition, assembly).html
            originals.append("".join(f"{literal}@@nl:{field}@@" for literal, field in zip(html.literals, html.fields))
                             + html.literals[-1])
    assert len(originals) >= 4
    started = time.perf_counter()
    compacted = [compact(html) for html in originals]
    assert (time.perf_counter() - started) / len(originals) < 0.1, "compact takes more than 100 ms a variant"
    return list(zip(originals, compacted))


def test_every_demo_variant_is_smaller_and_compacts_once(demo_mails):
    for original, compacted in demo_mails:
        assert len(compacted) < 0.97 * len(original)
        assert compact(compacted) == compacted


_TAG = re.compile(r"<(?!!)[^>]*>")  # the tags, also those inside Outlook's conditionals
_STYLE_VALUE = re.compile(r'(\sstyle=")[^"]*"')


def test_every_demo_variant_keeps_its_tags_attributes_and_quotes(demo_mails):
    """But for tbody and style values, the same tags with the same attributes, quoted the same."""
    def tags(html):
        return [_STYLE_VALUE.sub(r'\1"', t) for t in _TAG.findall(html) if t not in ("<tbody>", "</tbody>")]
    for original, compacted in demo_mails:
        assert tags(compacted) == tags(original)


def test_every_demo_variant_keeps_its_text_part(demo_mails):
    for original, compacted in demo_mails:
        assert html_to_text(compacted) == html_to_text(original)


def test_tbody_ends_repeated_before_a_table_end_go_in_one_pass():
    # Found by the property test: compacting twice must change nothing more.
    html = '<table role="presentation"><tbody><tbody><tr><td>x</td></tr></tbody></tbody></table>'
    assert compact(html) == compact(compact(html)) == '<table role="presentation"><tr><td>x</td></tr></table>'
