"""Mistakes in teams, product groups, audience and templates, at the line of the offending value."""

from __future__ import annotations

import pytest

from content_tree import FILES, content_errors, write_tree  # noqa: F401  (a fixture)
from service.content.check import check_content


@pytest.fixture
def errors(content_errors):
    return content_errors


def replace(name: str, old: str, new: str) -> dict[str, str]:
    import textwrap
    text = textwrap.dedent(FILES[name])
    assert old in text, old
    return {name: text.replace(old, new)}


AUD = "content/audience.yaml"
TPL = "content/templates/weekly/template.yaml"
LAYOUT = "content/templates/weekly/layout.mjml"


@pytest.mark.parametrize("old, new, expected", [
    ("purchasing_power: {gte: 4}", "spending: {gte: 4}",
     f"{AUD}:11: unknown attribute 'spending' in rule (declared: last_order, lifecycle, locale, loyalty, purchasing_power)"),
    ("purchasing_power: {gte: 4}", "lifecycle: [subscriber, lead]",
     f"{AUD}:11: 'lead' is not a value of 'lifecycle' (declared: subscriber, customer)"),
    ("purchasing_power: {gte: 4}", "lifecycle: {gte: 2}",
     f"{AUD}:11: 'gte' compares numbers or dates, but 'lifecycle' is choice"),
    ("purchasing_power: {gte: 4}", "last_order: {gte: 90 days ago}",
     f"{AUD}:11: 'gte' for 'last_order' needs a date (2026-11-23) or days relative to the edition date (-90d), got '90 days ago'"),
    ("purchasing_power: {gte: 4}", "purchasing_power: {between: [1, 2]}",
     f"{AUD}:11: unknown operator 'between' for 'purchasing_power' (use one of eq, in, exists, gte, gt, lte, lt)"),
    ("purchasing_power: {gte: 4}", "loyalty: 'yes'",
     f"{AUD}:11: 'loyalty' is a flag: use true or false, got 'yes'"),
    ("purchasing_power: {gte: 4}", "any: []", f"{AUD}:11: 'any:' needs a non-empty list of rules"),
    ("purchasing_power: {gte: 4}", "locale: fr", f"{AUD}:11: 'fr' is not a value of 'locale' (declared: de, en)"),
    ("loyalty: {type: flag}", "loyalty: {type: boolean}",
     f"{AUD}:6: attribute type 'boolean' must be one of text, choice, flag, number, date"),
    ("lifecycle: {type: choice, values: [subscriber, customer]}", "lifecycle: {type: choice}",
     f"{AUD}:3: choice attribute 'lifecycle' needs 'values: [a, b, ...]'"),
])
def test_audience_errors(errors, old, new, expected):
    assert errors(replace("audience.yaml", old, new)) == [expected]


def test_segment_after_catch_all_can_never_match(errors):
    text = FILES["audience.yaml"].replace("  - id: vip", "  - id: all\n            rule: {}\n          - id: vip")
    assert errors({"audience.yaml": text}) == [
        f"{AUD}:10: segment 'vip' can never match: 'all' above it matches everyone"]


def test_rules_combine_any_and_all(tmp_path):
    from datetime import date
    text = FILES["audience.yaml"].replace(
        "purchasing_power: {gte: 4}",
        "any:\n                - purchasing_power: {gte: 4}\n                - all:\n"
        "                  - lifecycle: customer\n                  - last_order: {gte: -30d}")
    content = check_content(write_tree(tmp_path, {"audience.yaml": text})).content
    vip = content.audience.segment("vip")
    today = date(2026, 11, 23)
    assert vip.matches({"purchasing_power": 5}, "de", today)
    assert vip.matches({"lifecycle": "customer", "last_order": "2026-11-01"}, "de", today)
    assert not vip.matches({"lifecycle": "customer", "last_order": "2026-10-01"}, "de", today)
    assert not vip.matches({"lifecycle": "subscriber", "purchasing_power": 3}, "de", today)
    assert not vip.matches({}, "de", today)


@pytest.mark.parametrize("old, new, expected", [
    ("hero: {teams: [brand]", "hero: {teams: [brands]", f"{TPL}:9: slot 'hero': unknown team 'brands' (teams: brand, news)"),
    ("fallback: brand/hero}", "fallback: brand/missing}", f"{TPL}:9: slot 'hero': fallback block 'brand/missing' does not exist"),
    ("email: news@shop.example", "email: news@", f"{TPL}:3: sender: 'news@' is not a valid email address: There must "
     "be something after the @-sign. (write news@shop.example, \"Shop <news@shop.example>\" or {name: Shop, "
     "email: news@shop.example})"),
    ("weekday: monday", "weekday: mondays", f"{TPL}:6: weekday 'mondays' must be one of monday, tuesday, wednesday, thursday, friday, saturday, sunday"),
    ("timezone: Europe/Berlin", "timezone: Europe/Hamburg", f"{TPL}:6: unknown time zone 'Europe/Hamburg' (e.g. Europe/Berlin)"),
    ('de: "Hallo {{ recipient.first_name }}"', 'de: "Hallo {{ recipient.vorname }}"',
     f"{TPL}:4: subject (de): unknown personal field recipient.vorname (fields: recipient.first_name, recipient.email, "
     "links.preferences, links.unsubscribe, links.view_online, edition.date, edition.name, segment.id, segment.name, locale, "
     "preheader)"),
    ("min_blocks: 1", "min_blocks: -1", f"{TPL}:7: 'min_blocks' must be at least 0, got -1"),
])
def test_template_errors(errors, old, new, expected):
    assert errors(replace("templates/weekly/template.yaml", old, new)) == [expected]


def test_layout_missing_and_unknown_slots(errors):
    found = errors(replace("templates/weekly/layout.mjml", '{{ slot("products") }}', '{{ slot("offers") }}'))
    assert found == [f"{LAYOUT}:1: slot 'products' of template.yaml is missing from the layout "
                     '(write {{ slot("products") }} where it goes)',
                     f"{LAYOUT}:4: slot('offers') is not a slot of template.yaml (slots: hero, products)"]


def test_layout_slot_twice(errors):
    found = errors(replace("templates/weekly/layout.mjml", '{{ slot("products") }}',
                           '{{ slot("products") }}\n    {{ slot("products") }}'))
    assert found == [f"{LAYOUT}:5: slot('products') appears twice (first at line 4)"]


def test_teams_and_groups_errors(errors):
    found = errors({
        "teams.yaml": "teams:\n  - id: news\n    name: News\n  - id: brand\n    name: Brand\n    reviewers: [\"@b\"]\n",
        "product_groups.yaml": "product_groups:\n  - id: outdoor\n    label: {de: Outdoor}\n  - id: kitchen\n    label: {de: K, en: K}\n",
    })
    assert found == [
        "content/product_groups.yaml:3: 'label' has no text for locale en",
        "content/teams.yaml:2: a team needs at least one reviewer (e.g. \"@org/team\") for CODEOWNERS",
    ]


@pytest.mark.parametrize("name", ["teams.yaml", "audience.yaml", "product_groups.yaml", "templates/weekly/template.yaml"])
def test_yaml_that_is_not_a_mapping(errors, name):
    found = errors({name: "- just\n- a list\n"})
    assert found and all(":" in e for e in found)
    assert any(e.startswith(f"content/{name}:1: ") for e in found)


@pytest.mark.parametrize("text, expected", [
    ("", "content/teams.yaml:1: teams.yaml is empty: it declares the teams (teams: followed by a list)"),
    ("teams: [\n  {id: news\n", "content/teams.yaml:2: invalid YAML: the '{' that opens here is not closed "
                                "(expected ',' or '}', but got '<stream end>' at line 3)"),
    ("teams:\n  - id: news\n    name: News\n", "content/teams.yaml:2: a team needs at least one reviewer "
                                               "(e.g. \"@org/team\") for CODEOWNERS"),
])
def test_a_broken_teams_yaml_is_the_only_error(errors, text, expected):
    # Without it, every block folder and every slot's team would be reported as unknown.
    assert errors({"teams.yaml": text}) == [expected]


def test_the_root_cause_is_reported_first(errors):
    found = errors({"teams.yaml": "", "blocks/news/jackets.mjml": "---\ntitle: T\n---\n<mj-section></mj-section>\n"})
    assert found[0].startswith("content/teams.yaml:1: teams.yaml is empty")
    assert found[1:] == ["content/blocks/news/jackets.mjml:2: missing required key 'slot'"]


def test_slot_errors_are_at_the_slots_line(errors):
    found = errors(replace("templates/weekly/template.yaml", "products: {teams: [news], max: 2}",
                           "products:\n    teams: [news]\n    fallback: brand/hero"))
    assert found == [f"{TPL}:12: slot 'products': fallback 'brand/hero' is a block for slot 'hero' by team 'brand'"]


@pytest.mark.parametrize("written, name, address", [
    ('"Nordhaus Shop <news@shop.example>"', "Nordhaus Shop", "news@shop.example"),
    ('news@shop.example', "", "news@shop.example"),
    ('\'"Nordhaus, Shop" <news@shop.example>\'', "Nordhaus, Shop", "news@shop.example"),
    ('{email: "Größe <news@shop.example>"}', "Größe", "news@shop.example"),
    ('{name: Shop, email: "Other <news@shop.example>"}', "Shop", "news@shop.example"),
])
def test_a_sender_may_be_written_as_name_and_address(tmp_path, written, name, address):
    from service.content.check import load_content
    files = replace("templates/weekly/template.yaml", "{name: Shop, email: news@shop.example}", written)
    template = load_content(write_tree(tmp_path, files)).templates["weekly"]
    assert (template.sender_name, template.sender_email) == (name, address)


@pytest.mark.parametrize("written, expected", [
    ('"Shop news@shop.example"', "'Shop news@shop.example' is not a valid email address"),
    ('"Shop <news@>"', "'Shop <news@>' is not a valid email address: There must be something after the @-sign."),
    ('"a@shop.example, b@shop.example"', "'a@shop.example, b@shop.example' is not one email address"),
    ("[news@shop.example]", "sender must be news@shop.example"),
])
def test_a_wrong_sender_names_the_value_in_the_file_and_the_expected_shape(errors, written, expected):
    found = errors(replace("templates/weekly/template.yaml", "{name: Shop, email: news@shop.example}", written))
    assert len(found) == 1 and found[0].startswith(f"{TPL}:3: ")
    assert expected in found[0] and 'news@shop.example, "Shop <news@shop.example>"' in found[0]
    assert "invalid@invalid" not in found[0]


@pytest.mark.parametrize("english, expected", [
    ("{{ recipient.vorname }}", "6: subject (en): unknown personal field recipient.vorname"),
    ("{{ 'x' * 10**9 }}", "6: cannot render: 'x' * 1000000000 makes a value of 1,000,000,000 characters"),
])
def test_a_subject_error_is_at_its_locales_line(errors, english, expected):
    found = errors(replace("templates/weekly/template.yaml",
                           'subject: {de: "Hallo {{ recipient.first_name }}", en: "Hello {{ recipient.first_name }}"}',
                           f'subject:\n  de: "Hallo {{{{ recipient.first_name }}}}"\n  en: "{english}"'))
    assert len(found) == 1 and found[0].startswith(f"{TPL}:{expected}"), found
