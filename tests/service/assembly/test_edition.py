"""Assembly: every eligibility rule with its trace reason, order, max, fallback, skips, variant keys."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from content_tree import write_tree
from service.assembly.edition import Assembly, Edition
from service.content.check import load_content

EDITION = date(2026, 11, 23)
HERO = "{teams: [brand], max: 1, required: true, fallback: brand/hero}"


def block(slot: str = "products", **front: object) -> str:
    """A block file; front matter values are written as YAML."""
    lines = ["---", "title: T", f"slot: {slot}", *(f"{k}: {v}" for k, v in front.items()), "---",
             "<mj-section><mj-column><mj-text>Hi {{ recipient.first_name }}</mj-text></mj-column></mj-section>", ""]
    return "\n".join(lines)


def template(products: str = "{teams: [news], max: 2}", hero: str = HERO, min_blocks: int = 1) -> str:
    return f"""\
        name: Weekly
        list_id: weekly.shop.example
        sender: {{name: Shop, email: news@shop.example}}
        subject: {{de: "Hallo", en: "Hello"}}
        first_name_fallback: {{de: Kundin, en: there}}
        schedule: {{cadence: weekly, weekday: monday, time: "07:00", timezone: Europe/Berlin}}
        min_blocks: {min_blocks}
        slots:
          hero: {hero}
          products: {products}
        """


@pytest.fixture
def make(tmp_path, monkeypatch):
    """make({"news/a": block(...)}, template=..., drafts=...) -> an Edition of weekly on EDITION.

    The tiny tree's brand/hero (the hero slot's fallback) stays; its news/jackets goes."""
    monkeypatch.chdir(tmp_path)
    roots = itertools.count()

    def build(blocks: dict[str, str | None] | None = None, *, template_text: str | None = None,
              drafts: bool = False, day: date = EDITION) -> Edition:
        overrides: dict[str, str | None] = {"blocks/news/jackets.mjml": None}
        overrides.update({f"blocks/{name}.mjml": text for name, text in (blocks or {}).items()})
        if template_text is not None:
            overrides["templates/weekly/template.yaml"] = template_text
        content = load_content(write_tree(tmp_path / f"tree{next(roots)}", overrides))
        return Edition(content, content.templates["weekly"], day, drafts=drafts)
    return build


def assemble(edition: Edition, segment: str = "everyone", locale: str = "de", excluded=()) -> Assembly:
    return edition.assemble(edition.content.audience.segment(segment), locale, excluded)


def chosen(assembly: Assembly, slot: str = "products") -> list[str]:
    return [b.id for fill in assembly.fills if fill.slot.name == slot for b in fill.chosen]


def reasons(assembly: Assembly, slot: str = "products") -> dict[str, str]:
    return {r.block: r.reason for fill in assembly.fills if fill.slot.name == slot for r in fill.rejected}


# -- eligibility -----------------------------------------------------------------------------

def test_a_ready_block_in_its_window_is_chosen(make):
    result = assemble(make({"news/a": block(publish="2026-11-01", expire="2026-12-01")}))
    assert chosen(result) == ["news/a"] and reasons(result) == {}
    assert result.skip_reason is None
    assert [b.id for b in result.blocks] == ["brand/hero", "news/a"]


def test_a_draft_is_left_out(make):
    result = assemble(make({"news/a": block(status="draft"), "news/b": block()}))
    assert chosen(result) == ["news/b"]
    assert reasons(result) == {"news/a": "draft"}
    assert "    - news/a: draft" in result.trace()


def test_drafts_true_includes_drafts_in_a_variant_of_its_own(make):
    blocks = {"news/a": block(status="draft", priority=5), "news/b": block()}
    result = assemble(make(blocks, drafts=True))
    assert chosen(result) == ["news/a", "news/b"] and reasons(result) == {}
    assert result.key.drafts and result.key.label() == "everyone/de (drafts)"
    assert result.key != assemble(make(blocks)).key


@pytest.mark.parametrize("publish, expected", [
    ("2026-11-22", None), ("2026-11-23", None),  # the publish day is inclusive
    ("2026-11-24", "not yet published (from 2026-11-24)"),
])
def test_not_yet_published(make, publish, expected):
    result = assemble(make({"news/a": block(publish=publish)}))
    assert reasons(result).get("news/a") == expected
    assert chosen(result) == ([] if expected else ["news/a"])


@pytest.mark.parametrize("expire, expected", [
    ("2026-11-24", None),
    ("2026-11-23", "expired (2026-11-23)"),  # the expire day is exclusive
    ("2026-11-22", "expired (2026-11-22)"),
])
def test_expired(make, expire, expected):
    result = assemble(make({"news/a": block(publish="2026-11-01", expire=expire)}))
    assert reasons(result).get("news/a") == expected
    assert chosen(result) == ([] if expected else ["news/a"])


def test_a_block_for_other_segments(make):
    edition = make({"news/a": block(segments="[vip]"), "news/b": block(segments="[vip, everyone]")})
    everyone = assemble(edition, "everyone")
    assert chosen(everyone) == ["news/b"]
    assert reasons(everyone) == {"news/a": "for other segments (vip)"}
    assert chosen(assemble(edition, "vip")) == ["news/a", "news/b"]


LOCALES = {
    "news/a.de": block(locale="de", priority=3),  # story a in both locales
    "news/a.en": block(locale="en", priority=3),
    "news/b": block(priority=2),                    # story b only in the default locale (de)
    "news/c.en": block(locale="en", priority=1),    # story c only in English
}


def test_a_customer_gets_their_locale_per_story_else_the_default(make):
    edition = make(LOCALES, template_text=template(products="{teams: [news], max: 5}"))
    english = assemble(edition, locale="en")
    assert chosen(english) == ["news/a.en", "news/b", "news/c.en"]
    assert reasons(english) == {"news/a.de": "the en version is used"}
    german = assemble(edition, locale="de")
    assert chosen(german) == ["news/a.de", "news/b"]
    assert reasons(german) == {"news/a.en": "written in en", "news/c.en": "written in en"}


def test_an_unknown_locale_gets_the_default_locale(make):
    edition = make(LOCALES, template_text=template(products="{teams: [news], max: 5}"))
    french = assemble(edition, locale="fr")
    assert french.key.locale == "de" and chosen(french) == ["news/a.de", "news/b"]
    assert french is assemble(edition, locale="de")


def test_an_unusable_translation_falls_back_to_the_default_version(make):
    blocks = {"news/a.de": block(locale="de"), "news/a.en": block(locale="en", status="draft")}
    result = assemble(make(blocks), locale="en")
    assert chosen(result) == ["news/a.de"]
    assert reasons(result) == {"news/a.en": "draft"}


def test_an_excluded_product_group(make):
    blocks = {"news/a": block(product_groups="[outdoor]"), "news/b": block(product_groups="[kitchen, outdoor]"),
              "news/c": block(product_groups="[kitchen]")}
    edition = make(blocks, template_text=template(products="{teams: [news], max: 5}"))
    result = assemble(edition, excluded=["outdoor"])
    assert chosen(result) == ["news/c"]
    assert reasons(result) == {"news/a": "excluded product group outdoor",
                               "news/b": "excluded product group outdoor"}
    both = assemble(edition, excluded=["outdoor", "kitchen"])
    assert reasons(both)["news/b"] == "excluded product group kitchen, outdoor"
    assert chosen(both) == []


# -- order and max -------------------------------------------------------------------------------

def test_order_is_priority_then_freshest_publish_then_id(make):
    blocks = {
        "news/u": block(priority=-1, publish="2026-11-22"),
        "news/v": block(priority=5),                          # no publish date: the oldest
        "news/w": block(priority=5, publish="2026-11-20"),
        "news/x": block(priority=10, publish="2026-01-01"),
        "news/y": block(priority=5, publish="2026-11-20"),    # same as w: the id decides
        "news/z": block(priority=5, publish="2026-11-10"),
    }
    result = assemble(make(blocks, template_text=template(products="{teams: [news], max: 6}")))
    assert chosen(result) == ["news/x", "news/w", "news/y", "news/z", "news/v", "news/u"]


def test_at_most_max_blocks_per_slot(make):
    blocks = {"news/a": block(priority=3), "news/b": block(priority=2), "news/c": block(priority=1),
              "news/d": block(priority=0)}
    result = assemble(make(blocks))
    assert chosen(result) == ["news/a", "news/b"]
    assert reasons(result) == {"news/c": "over max (2)", "news/d": "over max (2)"}


def test_excluded_blocks_do_not_count_towards_max(make):
    blocks = {"news/a": block(priority=3, product_groups="[outdoor]"), "news/b": block(priority=2),
              "news/c": block(priority=1)}
    result = assemble(make(blocks), excluded=["outdoor"])
    assert chosen(result) == ["news/b", "news/c"]
    assert reasons(result) == {"news/a": "excluded product group outdoor"}


# -- fallback ------------------------------------------------------------------------------------

def test_a_required_empty_slot_gets_its_fallback_block(make):
    result = assemble(make({"news/a": block()}))
    hero = result.fills[0]
    assert hero.slot.name == "hero" and hero.used_fallback
    assert chosen(result, "hero") == ["brand/hero"]
    assert result.skip_reason is None
    assert "  hero: brand/hero  [fallback]" in result.trace()


def test_the_fallback_comes_in_the_customers_locale(make):
    edition = make({"news/a": block(), "brand/hero.en": block("hero", locale="en", story="hero")})
    assert chosen(assemble(edition, locale="en"), "hero") == ["brand/hero.en"]
    assert chosen(assemble(edition, locale="de"), "hero") == ["brand/hero"]
    assert chosen(assemble(edition, locale="fr"), "hero") == ["brand/hero"]


def test_a_fallback_block_is_never_a_normal_candidate(make):
    blocks = {"news/a": block(), "brand/hero.en": block("hero", locale="en", story="hero"),
              "brand/banner": block("hero", priority=-100, product_groups="[outdoor]")}
    edition = make(blocks)
    for locale in ("de", "en"):
        result = assemble(edition, locale=locale)
        assert chosen(result, "hero") == ["brand/banner"] and not result.fills[0].used_fallback
        assert reasons(result, "hero") == {"brand/hero": "fallback only", "brand/hero.en": "fallback only"}
    # The only normal hero excluded: the fallback steps in.
    excluded = assemble(edition, locale="en", excluded=["outdoor"])
    assert chosen(excluded, "hero") == ["brand/hero.en"] and excluded.fills[0].used_fallback
    assert reasons(excluded, "hero")["brand/banner"] == "excluded product group outdoor"


# -- skipped variants ----------------------------------------------------------------------------

def test_a_required_slot_that_stays_empty_is_not_sent(make):
    required = template(products="{teams: [news], max: 2, required: true}")
    edition = make({"news/a": block(product_groups="[outdoor]")}, template_text=required)
    assert assemble(edition).skip_reason is None
    result = assemble(edition, excluded=["outdoor"])
    assert result.skip_reason == "required slot products is empty"
    assert result.trace()[-1] == "  NOT SENT: required slot products is empty"
    assert assemble(make({}, template_text=required)).skip_reason == "required slot products is empty"


def test_fewer_blocks_than_min_blocks_is_not_sent(make):
    three = template(min_blocks=3)
    one = make({"news/a": block()}, template_text=three)  # the fallback hero counts: 2 blocks
    assert assemble(one).skip_reason == "only 2 blocks, the template needs 3"
    assert assemble(one).trace()[-1] == "  NOT SENT: only 2 blocks, the template needs 3"
    two = make({"news/a": block(), "news/b": block()}, template_text=three)
    assert assemble(two).skip_reason is None


def test_the_trace_lists_every_block_and_reason(make):
    blocks = {
        "news/a": block(priority=9, product_groups="[outdoor]"),
        "news/b": block(priority=8),
        "news/c": block(priority=7),
        "news/d": block(priority=6),
        "news/e": block(status="draft"),
        "news/f": block(expire="2026-11-23"),
        "news/g": block(publish="2026-12-01"),
        "news/h": block(segments="[vip]"),
        "news/i.en": block(locale="en"),
    }
    result = assemble(make(blocks), excluded=["outdoor", "kitchen"])
    assert result.trace() == [
        "variant everyone/de/-outdoor of weekly 2026-11-23",
        "  hero: brand/hero  [fallback]",
        "    - brand/hero: fallback only",
        "  products: news/b, news/c",
        "    - news/e: draft",
        "    - news/f: expired (2026-11-23)",
        "    - news/g: not yet published (from 2026-12-01)",
        "    - news/h: for other segments (vip)",
        "    - news/i.en: written in en",
        "    - news/a: excluded product group outdoor",
        "    - news/d: over max (2)",
    ]


# -- variant keys --------------------------------------------------------------------------------

KEYED = {"news/a": block(product_groups="[outdoor]"), "news/b": block(),
         "news/v": block(segments="[vip]", product_groups="[kitchen]")}


def test_same_segment_locale_and_relevant_exclusions_share_a_variant(make):
    edition = make(KEYED)
    vip = edition.segment_for({"purchasing_power": 5}, "de")
    other_vip = edition.segment_for({"purchasing_power": 4, "loyalty": True}, "de")
    assert vip is other_vip
    first = edition.assemble(vip, "de", ["outdoor", "kitchen"])
    second = edition.assemble(other_vip, "de", ("kitchen", "outdoor", "kitchen"))
    assert first.key == second.key and first is second
    assert first.key.exclusions == ("kitchen", "outdoor")


def test_an_exclusion_no_candidate_is_about_does_not_split_the_variant(make):
    edition = make(KEYED)
    everyone = edition.content.audience.segment("everyone")
    base = edition.key_for(everyone, "de")
    # kitchen is only in a vip block: for everyone else it changes nothing.
    assert edition.key_for(everyone, "de", ["kitchen"]) == base
    assert edition.key_for(everyone, "de", ["kitchen", "nonsense"]) == base
    assert edition.assemble(everyone, "de", ["kitchen"]) is edition.assemble(everyone, "de")
    split = edition.key_for(everyone, "de", ["kitchen", "outdoor"])
    assert split != base and split.exclusions == ("outdoor",)
    vip = edition.content.audience.segment("vip")
    assert edition.key_for(vip, "de", ["kitchen"]).exclusions == ("kitchen",)


def test_the_variant_key_has_the_segment_and_locale(make):
    edition = make(KEYED)
    everyone, vip = (edition.content.audience.segment(s) for s in ("everyone", "vip"))
    key = edition.key_for(everyone, "de")
    assert (key.template, key.edition_date, key.segment, key.locale, key.exclusions, key.drafts) == (
        "weekly", EDITION, "everyone", "de", (), False)
    assert edition.key_for(vip, "de") != key
    assert edition.key_for(everyone, "en") != key
    assert edition.key_for(everyone, "fr") == key  # unknown locale: the default locale
    assert edition.key_for(everyone, None) == key
    assert key.label() == "everyone/de"
    assert edition.key_for(everyone, "en", ["outdoor"]).label() == "everyone/en/-outdoor"
