"""Arms of a block as the check reads them: a valid experiment, and each kind of mistake reported
as the exact ``path:line: message`` (the tiny tree's ``news/jackets`` is the original)."""

from __future__ import annotations

import textwrap

import pytest

from content_tree import FILES, content_errors, write_tree  # noqa: F401
from service.content.check import load_content

ARM = """\
    ---
    title: Jackets, arm {name}
    arm_of: {of}
    arm: {name}
    {extra}
    ---
    <mj-section><mj-column><mj-text>Arm {name} of the jackets</mj-text></mj-column></mj-section>
    """
PAIR = """\
    ---
    title: Shoes
    slot: products
    locale: {locale}
    ---
    <mj-section><mj-column><mj-text>Shoes ({locale})</mj-text></mj-column></mj-section>
    """


def arm(name: str = "b", of: str = "news/jackets", extra: str = "status: ready") -> str:
    """An arm file: title at line 2, arm_of at 3, arm at 4, ``extra`` at 5."""
    return textwrap.dedent(ARM).format(name=name, of=of, extra=extra)


def test_an_arm_inherits_from_its_original_and_the_split_defaults_to_even(tmp_path):
    content = load_content(write_tree(tmp_path, {"blocks/news/jackets-b.mjml": arm(),
                                                 "blocks/news/jackets-c.mjml": arm("c")}))
    original, b = content.blocks["news/jackets"], content.blocks["news/jackets-b"]
    for key in ("slot", "product_groups", "segments", "priority", "publish", "expire"):
        assert getattr(b, key) == getattr(original, key)
    experiment = content.experiments["news/jackets"]
    assert b.arm_of == experiment.id == original.story
    assert [(a.name, a.share) for a in experiment.arms] == [("b", 3333), ("c", 3333), ("a", 3334)]
    assert experiment.arm("a").blocks == {"de": "news/jackets"}


def test_declared_splits_give_the_original_the_rest(tmp_path):
    content = load_content(write_tree(tmp_path, {"blocks/news/jackets-b.mjml": arm(extra="split: 30")}))
    experiment = content.experiments["news/jackets"]
    assert [(a.name, a.start, a.share) for a in experiment.arms] == [("b", 0, 3000), ("a", 3000, 7000)]
    assert experiment.split_text() == "b 30%, a 70%"


def test_an_arm_of_an_unknown_block(content_errors):
    assert content_errors({"blocks/news/jackets-b.mjml": arm(of="news/jackts")}) == [
        "content/blocks/news/jackets-b.mjml:3: arm_of: there is no block 'news/jackts' (write <team>/<file name "
        "without .mjml>, or the story of its translations)"]


def test_an_arm_of_an_arm(content_errors):
    errors = content_errors({"blocks/news/jackets-b.mjml": arm(),
                             "blocks/news/jackets-c.mjml": arm("c", of="news/jackets-b")})
    assert errors == ["content/blocks/news/jackets-c.mjml:3: arm_of: 'news/jackets-b' is itself an arm: "
                      "name the original block"]


def test_two_arms_with_one_name(content_errors):
    errors = content_errors({"blocks/news/jackets-b.mjml": arm(), "blocks/news/jackets-c.mjml": arm("b")})
    assert errors == ["content/blocks/news/jackets-c.mjml:4: experiment 'news/jackets' has an arm 'b' already: "
                      "content/blocks/news/jackets-b.mjml"]


def test_the_original_is_arm_a(content_errors):
    assert content_errors({"blocks/news/jackets-b.mjml": arm("a")}) == [
        "content/blocks/news/jackets-b.mjml:4: arm 'a' is the original's (arm: b, arm: short-text)"]


def test_an_arm_of_another_team(content_errors):
    assert content_errors({"blocks/brand/jackets-b.mjml": arm()}) == [
        "content/blocks/brand/jackets-b.mjml:3: arm_of: 'news/jackets' belongs to team 'news': an arm is written "
        "by the original's team, in blocks/news/"]


@pytest.mark.parametrize("line, message", [
    ("slot: hero", "slot: hero is not the original's (products in content/blocks/news/jackets.mjml): an arm "
                   "inherits slot; leave it out"),
    ("expire: 2026-12-24", "expire: 2026-12-24 is not the original's (2026-12-10 in content/blocks/news/jackets.mjml):"
                           " an arm inherits expire; leave it out"),
    ("publish: 2026-11-23", "publish: 2026-11-23 is not the original's (2026-11-20 in "
                            "content/blocks/news/jackets.mjml): an arm inherits publish; leave it out"),
    ("segments: [everyone]", "segments: [everyone] is not the original's ([vip] in content/blocks/news/jackets.mjml): "
                             "an arm inherits segments; leave it out"),
    ("product_groups: [kitchen]", "product_groups: [kitchen] is not the original's ([outdoor] in "
                                  "content/blocks/news/jackets.mjml): an arm inherits product_groups; leave it out"),
    ("priority: 5", "priority: 5 is not the original's (0 in content/blocks/news/jackets.mjml): an arm inherits "
                    "priority; leave it out"),
])
def test_an_arm_that_differs_from_the_original_where_it_must_inherit(content_errors, line, message):
    assert f"content/blocks/news/jackets-b.mjml:5: {message}" in content_errors(
        {"blocks/news/jackets-b.mjml": arm(extra=line)})


def test_repeating_the_originals_value_is_no_mistake(content_errors):
    assert content_errors({"blocks/news/jackets-b.mjml": arm(extra="segments: [vip]\nexpire: 2026-12-10")}) == []


def test_splits_that_leave_the_original_nothing(content_errors):
    errors = content_errors({"blocks/news/jackets-b.mjml": arm(extra="split: 60"),
                             "blocks/news/jackets-c.mjml": arm("c", extra="split: 40")})
    assert errors == ["content/blocks/news/jackets-c.mjml:5: the splits of 'news/jackets' add up to 100%: the "
                      "original (arm a) gets the rest, which must be more than 0%"]


@pytest.mark.parametrize("value", ["0", "-10", "100"])
def test_a_split_out_of_range(content_errors, value):
    assert content_errors({"blocks/news/jackets-b.mjml": arm(extra=f"split: {value}")}) == [
        f"content/blocks/news/jackets-b.mjml:5: 'split' must be between 1 and 99, got {value}"]


def test_a_split_on_some_arms_only(content_errors):
    errors = content_errors({"blocks/news/jackets-b.mjml": arm(extra="split: 30"),
                             "blocks/news/jackets-c.mjml": arm("c")})
    assert errors == ["content/blocks/news/jackets-c.mjml:4: arm 'c' declares no split while b does: either every "
                      "arm of 'news/jackets' declares one or none"]


def test_an_untracked_original(content_errors):
    original = textwrap.dedent(FILES["blocks/news/jackets.mjml"]).replace(
        "slot: products\n", "slot: products\ntracking: false\n")
    errors = content_errors({"blocks/news/jackets.mjml": original, "blocks/news/jackets-b.mjml": arm()})
    assert errors == ["content/blocks/news/jackets-b.mjml:3: the original 'news/jackets' has tracking: false: an "
                      "experiment is decided on its clicks, so its blocks must be tracked"]


def test_an_untracked_arm(content_errors):
    assert content_errors({"blocks/news/jackets-b.mjml": arm(extra="tracking: false")}) == [
        "content/blocks/news/jackets-b.mjml:5: an arm's links must be tracked: an experiment is decided on its clicks"]


def test_an_arm_missing_in_one_of_the_originals_locales(content_errors):
    shoes = {"blocks/news/shoes.de.mjml": textwrap.dedent(PAIR).format(locale="de"),
             "blocks/news/shoes.en.mjml": textwrap.dedent(PAIR).format(locale="en")}
    errors = content_errors({**shoes, "blocks/news/shoes-b.de.mjml": arm(of="news/shoes", extra="locale: de")})
    assert errors == ["content/blocks/news/shoes-b.de.mjml:4: arm 'b' of 'news/shoes' has no en version: the "
                      "original has one, so must every arm"]


def test_an_arm_in_a_locale_the_original_is_not_written_in(content_errors):
    assert content_errors({"blocks/news/jackets-b.en.mjml": arm(extra="locale: en")}) == [
        "content/blocks/news/jackets-b.en.mjml:5: the original 'news/jackets' has no 'en' version (it has de): an "
        "arm is written in the original's locales"]


def test_a_translated_original_is_named_by_its_story_and_each_locale_gets_its_arm(tmp_path):
    shoes = {f"blocks/news/shoes{part}.{locale}.mjml": (textwrap.dedent(PAIR).format(locale=locale) if not part else
                                                        arm(of="news/shoes", extra=f"locale: {locale}"))
             for part in ("", "-b") for locale in ("de", "en")}
    experiment = load_content(write_tree(tmp_path, shoes)).experiments["news/shoes"]
    assert experiment.arm("b").blocks == {"de": "news/shoes-b.de", "en": "news/shoes-b.en"}
    assert experiment.arm("a").blocks == {"de": "news/shoes.de", "en": "news/shoes.en"}


def test_arm_keys_on_a_block_that_is_no_arm(content_errors):
    original = textwrap.dedent(FILES["blocks/news/jackets.mjml"]).replace(
        "slot: products\n", "slot: products\nsplit: 20\n")
    assert content_errors({"blocks/news/jackets.mjml": original}) == [
        "content/blocks/news/jackets.mjml:4: 'split' belongs to an arm: an arm also says which block it is an arm "
        "of (arm_of: <block id>)"]


def test_an_arm_without_a_name(content_errors):
    text = arm().replace("arm: b\n", "")
    assert content_errors({"blocks/news/jackets-b.mjml": text}) == [
        "content/blocks/news/jackets-b.mjml:3: an arm names itself: write arm: b (a letter or a short name; the "
        "original is arm a)"]


def test_more_experiments_at_once_than_a_variant_label_can_name(content_errors, tmp_path):
    """The ledger keeps a variant's label in 200 characters (PostgreSQL refuses more): the check
    says so before a send would fail."""
    long = "winter-jackets-for-the-whole-family-in-every-size-and-colour"
    files = {}
    for n in range(4):
        files[f"blocks/news/{long}-{n}.mjml"] = textwrap.dedent(FILES["blocks/news/jackets.mjml"])
        files[f"blocks/news/{long}-{n}-b.mjml"] = arm(of=f"news/{long}-{n}")
    errors = content_errors(files)
    assert errors == [f"content/blocks/news/{long}-3-b.mjml:3: with 4 experiments in template 'weekly' a variant's "
                      f"label can reach 331 characters, and the ledger keeps 200: run fewer experiments at once"]
    for n in (2, 3):  # two experiments fit
        (tmp_path / "content" / f"blocks/news/{long}-{n}-b.mjml").unlink()
        del files[f"blocks/news/{long}-{n}-b.mjml"]
    assert content_errors(files) == []
