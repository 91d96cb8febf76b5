"""Every kind of content mistake, each reported as the exact `path:line: message`."""

from __future__ import annotations

from datetime import date

import pytest

from content_tree import block_file, write_tree
from service.content import check as check_module
from service.content.check import check_content, load_content
from service.content.problems import ContentError

def block(body: str = '<mj-text>Hi</mj-text>', extra: str = "status: ready") -> str:
    return block_file(body, extra)


@pytest.fixture
def check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def run(overrides=None, today=None):
        result = check_content(write_tree(tmp_path, overrides), today)
        return [str(p) for p in result.errors], [str(p) for p in result.warnings]
    return run


def errors_of(check, overrides):
    return check(overrides)[0]


def test_the_tiny_tree_is_valid(check):
    assert check() == ([], [])


def test_loaded_content_is_complete_and_immutable(tmp_path):
    content = load_content(write_tree(tmp_path))
    assert set(content.blocks) == {"brand/hero", "news/jackets"}
    jackets = content.blocks["news/jackets"]
    assert jackets.product_groups == {"outdoor"} and jackets.segments == {"vip"}
    assert jackets.publish == date(2026, 11, 20) and jackets.body_line == 9
    assert [s.id for s in content.audience.segments] == ["vip", "everyone"]
    assert content.templates["weekly"].slot("hero").fallback == "brand/hero"
    with pytest.raises(TypeError):
        content.blocks["x"] = jackets  # type: ignore[index]
    with pytest.raises(AttributeError):
        jackets.slot = "hero"  # type: ignore[misc]


def test_load_raises_with_every_error(tmp_path):
    bad = {"blocks/news/a.mjml": block(extra="slot: nowhere"), "blocks/news/b.mjml": block(extra="priority: high")}
    with pytest.raises(ContentError) as info:
        load_content(write_tree(tmp_path, bad))
    assert len(info.value.problems) == 2


def test_a_version_checked_before_is_loaded_without_compiling_samples_and_a_changed_one_in_full(tmp_path, monkeypatch):
    # A send's workers get the version the CLI checked: they skip the sample compile (most of
    # their start-up) only while the folder still has it.
    root = write_tree(tmp_path)
    checked = load_content(root).version
    compiled = []
    monkeypatch.setattr(check_module, "_compile_samples", lambda *args: compiled.append(args))
    assert load_content(root, checked).version == checked and compiled == []
    (root / "blocks/news/late.mjml").write_text(
        "---\ntitle: T\nslot: products\n---\n<mj-section><mj-column><mj-text>x</mj-column>\n")
    monkeypatch.undo()
    with pytest.raises(ContentError, match="MJML of block 'news/late' does not compile"):
        load_content(root, checked)


@pytest.mark.parametrize("extra, line, message", [
    ("colour: red", 4, "unknown key 'colour' (allowed: title, slot, story, product_groups, segments, "
                       "priority, publish, expire, locale, status, tracking, arm_of, arm, split)"),
    ("product_groups: [outdoor, garden]", 4, "unknown product group 'garden' (product_groups: kitchen, outdoor)"),
    ("segments:\n  - vip\n  - vips", 6, "unknown segment 'vips' (segments: everyone, vip)"),
    ("publish: 2026-13-01", 4, "'publish' must be a date like 2026-11-23, got '2026-13-01'"),
    ("publish: 2026-12-10\nexpire: 2026-12-01", 5, "expire 2026-12-01 is not after publish 2026-12-10"),
    ("locale: fr", 4, "unknown locale 'fr' (locales: de, en)"),
    ("status: live", 4, "status 'live' must be one of ready, draft"),
    ("priority: high", 4, "'priority' must be a whole number, got 'high'"),
])
def test_front_matter_errors(check, extra, line, message):
    assert errors_of(check, {"blocks/news/a.mjml": block(extra=extra)}) == [f"content/blocks/news/a.mjml:{line}: {message}"]


def test_unknown_slot(check):
    text = "---\ntitle: T\nslot: sidebar\n---\n<mj-section></mj-section>\n"
    assert errors_of(check, {"blocks/news/a.mjml": text}) == [
        "content/blocks/news/a.mjml:3: unknown slot 'sidebar' (slots: hero, products)"]


def test_team_not_allowed_in_slot(check):
    text = "---\ntitle: T\nslot: hero\n---\n<mj-section></mj-section>\n"
    assert errors_of(check, {"blocks/news/a.mjml": text}) == [
        "content/blocks/news/a.mjml:3: team 'news' may not fill slot 'hero' (allowed: brand)"]


@pytest.mark.parametrize("where", ["blocks/a.mjml", "blocks/sales/a.mjml", "blocks/news/deep/a.mjml"])
def test_block_outside_its_team_folder(check, where):
    assert errors_of(check, {where: block()}) == [
        f"content/{where}:1: block file outside its team's folder: blocks live in blocks/<team>/ "
        "with team one of brand, news"]


@pytest.mark.parametrize("body, message", [
    ("<mj-text>{{ recipient.name }}</mj-text>", "unknown personal field recipient.name"),
    ("<mj-text>{{ customer.iban }}</mj-text>", "unknown field customer.iban"),
    ("<mj-text>{% if recipient.first_name %}x{% endif %}</mj-text>",
     "personal field recipient.first_name may only be printed as it is ({{ recipient.first_name }}): "
     "what depends on the customer belongs in segments"),
    ("<mj-text>{{ ''.__class__.__mro__ }}</mj-text>", "access to private attribute '__mro__' is not allowed (sandbox)"),
    ("<mj-text>{{ cycler.__init__.__globals__ }}</mj-text>", "access to private attribute '__globals__' is not allowed (sandbox)"),
    ("<mj-text>{{ ''|attr('format') }}</mj-text>", "filter 'attr' is not allowed in content"),
    ("<mj-text>{{ 'x'.format(1) }}</mj-text>", "calling functions or methods is not allowed in content"),
    ("{% include '../../secrets.txt' %}", "include/import/extends are not allowed in content: editors never choose template paths"),
    ("<mj-text>{{ oops </mj-text>", "Jinja syntax error: unexpected '/'"),
])
def test_jinja_errors_at_their_line(check, body, message):
    errors = errors_of(check, {"blocks/news/a.mjml": block(body=body)})
    assert len(errors) == 1
    assert errors[0].startswith(f"content/blocks/news/a.mjml:7: {message}")


def test_jinja_syntax_error_on_a_later_line(check):
    body = "<mj-text>\n  line two\n  {% if locale == 'de' %}\n</mj-text>"
    assert errors_of(check, {"blocks/news/a.mjml": block(body=body)}) == [
        "content/blocks/news/a.mjml:10: Jinja syntax error: Unexpected end of template. Jinja was looking for "
        "the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'."]


@pytest.mark.parametrize("body, message", [
    ('<mj-imag src="https://x.example/a.jpg" alt="a" />', "unknown MJML tag <mj-imag>"),
    ('<mj-include path="../../x.mjml" />', "mj-include is not allowed: editors never choose file paths"),
    ('<mj-image src="https://x.example/a.jpg" />', '<mj-image> without alt text (write alt="" for a decorative image)'),
    ('<mj-text><img src="https://x.example/a.jpg"></mj-text>', '<img> without alt text (write alt="" for a decorative image)'),
    ('<mj-button href="http://shop.example/x">x</mj-button>', "plain-http link 'http://shop.example/x': use https:"),
    ('<mj-button href="javascript:alert(1)">x</mj-button>', "link 'javascript:alert(1)' is not https: or mailto:"),
    ('<mj-text><a href="{{ recipient.email }}">x</a></mj-text>', "recipient.email is not a link field"),
    ('<mj-text><b onclick="x()">x</b></mj-text>', "event handler attribute 'onclick' is not allowed in email"),
])
def test_markup_errors(check, body, message):
    errors = errors_of(check, {"blocks/news/a.mjml": block(body=body)})
    assert len(errors) == 1
    assert errors[0].startswith(f"content/blocks/news/a.mjml:7: {message}")


def test_decorative_image_and_personal_links_are_fine(check):
    body = ('<mj-image src="https://x.example/a.jpg" alt="" />'
            '<mj-button href="{{ links.preferences }}">p</mj-button>'
            '<mj-button href="mailto:service@shop.example">m</mj-button>')
    assert errors_of(check, {"blocks/news/a.mjml": block(body=body)}) == []


def test_mjml_that_does_not_compile_names_the_block(check):
    text = "---\ntitle: T\nslot: products\n---\n<mj-section><mj-column><mj-text>x</mj-column>\n"
    errors = errors_of(check, {"blocks/news/a.mjml": text})
    assert len(errors) == 1
    assert errors[0].startswith("content/blocks/news/a.mjml:5: MJML of block 'news/a' does not compile:")


@pytest.mark.parametrize("data, message", [
    (b"", "empty file: a block starts with '---', its front matter, then '---'"),
    (b"<mj-section></mj-section>", "a block must start with a '---' line opening its front matter"),
    (b"---\ntitle: x\n", "front matter is not closed by a '---' line"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "file is not UTF-8 text"),
    (b"---\ntitle: [x\n---\n<mj-section/>", "invalid YAML"),
    (b"---\n- a\n- b\n---\n<mj-section/>", "expected a front matter mapping"),
])
def test_broken_files_are_errors_not_tracebacks(check, data, message):
    errors = errors_of(check, {"blocks/news/a.mjml": data})
    assert len(errors) == 1 and message in errors[0] and errors[0].startswith("content/blocks/news/a.mjml:")


def test_byte_order_mark_is_accepted(check):
    data = "\ufeff".encode() + block().encode()
    assert errors_of(check, {"blocks/news/a.mjml": data}) == []


def test_huge_file_is_refused(check):
    data = block(body="<mj-text>" + "x" * 600_000 + "</mj-text>")
    assert errors_of(check, {"blocks/news/a.mjml": data}) == [
        "content/blocks/news/a.mjml:1: file is 586 KB; content files may be at most 512 KB"]


def test_duplicate_story_and_locale(check):
    twin = block(extra="story: jackets")
    errors = errors_of(check, {"blocks/news/jackets-copy.mjml": twin, "blocks/news/jackets.mjml": block()})
    assert errors == ["content/blocks/news/jackets.mjml:2: story 'news/jackets' already has a 'de' version "
                      "in content/blocks/news/jackets-copy.mjml"]


def test_file_name_locale_must_match_front_matter(check):
    assert errors_of(check, {"blocks/news/a.en.mjml": block(extra="locale: de")}) == [
        "content/blocks/news/a.en.mjml:4: file name says locale 'en' but the front matter says 'de'"]


def test_all_errors_in_one_pass(check):
    errors = errors_of(check, {
        "blocks/news/a.mjml": block(extra="slot: nowhere"),
        "blocks/news/b.mjml": block(body='<mj-image src="https://x.example/a.jpg" />'),
        "product_groups.yaml": "product_groups:\n  - id: Outdoor\n    label: {de: O, en: O}\n",
    })
    assert [e.split(":")[0] for e in errors] == [  # the declaration the others refer to first
        "content/product_groups.yaml", "content/blocks/news/a.mjml", "content/blocks/news/b.mjml",
        "content/blocks/news/jackets.mjml"]


@pytest.mark.parametrize("expression, message", [
    ("9**(9**9)", "cannot render: 9 ** 387420489 makes a number of more than 1,000 digits"),
    ("'a' * 1000000000", "cannot render: 'a' * 1000000000 makes a value of 1,000,000,000 characters or items "
                         "(at most 100,000)"),
])
def test_huge_expressions_are_reported_at_their_line_within_a_second(check, expression, message):
    import time
    started = time.monotonic()
    body = "<mj-text>\n  Hi\n  {{ " + expression + " }}\n</mj-text>"
    assert errors_of(check, {"blocks/news/a.mjml": block(body=body)}) == [f"content/blocks/news/a.mjml:9: {message}"]
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("header, expected", [
    ("title: T\nslot: products\nsegments: [vip\npriority: 1\nstatus: ready",
     "4: invalid YAML: the '[' that opens here is not closed (expected ',' or ']', but got ':' at line 5)"),
    ("title: 'T\nslot: products\npriority: 1\nstatus: ready",
     "2: invalid YAML: the quote that opens here is not closed (found unexpected end of stream at line 5)"),
    ("title: T\nslot: products\n  priority: 1\nstatus: ready", "4: invalid YAML: mapping values are not allowed here"),
])
def test_front_matter_yaml_errors_are_at_their_own_line(check, header, expected):
    text = f"---\n{header}\n---\n<mj-section></mj-section>\n"
    assert errors_of(check, {"blocks/news/a.mjml": text}) == [f"content/blocks/news/a.mjml:{expected}"]


def test_expiry_warning_is_at_the_expire_line(check):
    text = block(extra="publish: 2026-11-24\nexpire: 2026-11-27")
    assert check({"blocks/news/a.mjml": text}, today=date(2026, 11, 23))[1] == [
        "content/blocks/news/a.mjml:5: warning: expires 2026-11-27 before the next edition of weekly: it will never be sent"]


@pytest.mark.parametrize("title, message", [
    (".inf", "'title' must be text, got the number inf (in quotes if you mean the text: 'inf')"),
    ("123", "'title' must be text, got the number 123 (in quotes if you mean the text: '123')"),
    ("''", "'title' is empty: write a text or leave the key out"),
    ("'   '", "'title' is empty: write a text or leave the key out"),
    ("yes", "'title' must be text, got true (a yes/no value)"),
    ("2026-11-23", "'title' must be text, got the date 2026-11-23"),
    ("[a, b]", "'title' must be text, got a list"),
])
def test_a_title_of_the_wrong_type_is_an_error(check, title, message):
    text = f"---\ntitle: {title}\nslot: products\n---\n<mj-section></mj-section>\n"
    assert errors_of(check, {"blocks/news/a.mjml": text}) == [f"content/blocks/news/a.mjml:2: {message}"]


@pytest.mark.parametrize("extra, message", [
    ("status: null", "'status' has no value: write one or leave the key out"),
    ("product_groups: ~", "'product_groups' has no value: write one or leave the key out"),
    ("segments:", "'segments' has no value: write one or leave the key out"),
    ("priority: ~", "'priority' has no value: write one or leave the key out"),
    ("expire: null", "'expire' has no value: write one or leave the key out"),
    ("segments: [vip, 7]", "'segments' items must be text, got the number 7"),
])
def test_a_key_without_a_value_is_an_error_not_the_default(check, extra, message):
    assert errors_of(check, {"blocks/news/a.mjml": block(extra=extra)}) == [f"content/blocks/news/a.mjml:4: {message}"]


def test_wrong_types_in_yaml_files_are_reported_the_same_way(check):
    found = errors_of(check, {"teams.yaml": "teams:\n  - id: news\n    name: 42\n    reviewers: [\"@n\"]\n"
                                            "  - id: brand\n    name: Brand\n    reviewers: [\"@b\"]\n"})
    assert found == ["content/teams.yaml:3: 'name' must be text, got the number 42 "
                     "(in quotes if you mean the text: '42')"]


JACKETS_EN = """\
---
title: Jackets
slot: products
locale: en
publish: 2026-11-20
expire: 2026-12-10
{story}
---
<mj-section><mj-column><mj-text>Jackets</mj-text></mj-column></mj-section>
"""


def test_a_translation_that_is_not_paired_is_a_warning(check):
    errors, warnings = check({"blocks/news/jackets-en.mjml": JACKETS_EN.format(story="")})
    assert errors == []
    assert warnings == [
        "content/blocks/news/jackets-en.mjml:4: warning: looks like the 'en' translation of jackets.mjml (same team, "
        "slot and dates) but is not paired with it: give both the same 'story:' (or name the files "
        "<story>.de.mjml and <story>.en.mjml), or 'en' readers get both"]


@pytest.mark.parametrize("files", [
    {"blocks/news/jackets-en.mjml": JACKETS_EN.format(story="story: jackets")},
    {"blocks/news/jackets.en.mjml": JACKETS_EN.format(story="")},  # paired by file name
    {"blocks/news/gloves.en.mjml": JACKETS_EN.format(story="").replace("2026-12-10", "2026-12-24")},
])
def test_paired_translations_and_other_stories_are_fine(check, files):
    assert check(files) == ([], [])


def test_printing_the_first_name_without_a_fallback_is_a_warning(check):
    import textwrap
    from content_tree import FILES
    template = textwrap.dedent(FILES["templates/weekly/template.yaml"]).replace(
        "first_name_fallback: {de: Kundin, en: there}\n", "")
    errors, warnings = check({"templates/weekly/template.yaml": template})
    advice = ("prints {{ recipient.first_name }}, but template 'weekly' has no first_name_fallback: customers without "
              "a first name read an empty name (set first_name_fallback: {de: ..., en: ...} in "
              "content/templates/weekly/template.yaml)")
    assert errors == []
    assert warnings == [f"content/blocks/brand/hero.mjml:5: warning: the block {advice}",
                        f"content/templates/weekly/template.yaml:4: warning: subject {advice}"]
