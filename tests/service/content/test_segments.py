"""Segments: each condition type, missing attributes, and the first matching segment wins."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta

import pytest

from content_tree import write_tree
from preferences.attributes import Attribute
from service.assembly.edition import Edition
from service.content.check import check_content, load_content
from service.content.problems import Problems
from service.content.segments import compile_rule, segment_of
from service.content.reading.yaml_lines import parse

EDITION = date(2026, 11, 23)
SCHEMA = {
    "lifecycle": Attribute("lifecycle", "choice", values=("subscriber", "customer", "advocate")),
    "purchasing_power": Attribute("purchasing_power", "number", min=1, max=5),
    "last_order": Attribute("last_order", "date"),
    "loyalty": Attribute("loyalty", "flag"),
    "branch": Attribute("branch", "text"),
}


def rule(source: str):
    """The predicate of a rule written as in audience.yaml; the rule must be free of errors."""
    problems = Problems()
    predicate = compile_rule(parse(textwrap.dedent(source)), SCHEMA, ("de", "en"), problems, "a.yaml", 1)
    assert problems.errors == []
    return predicate


def days_ago(n: int) -> str:
    return (EDITION - timedelta(days=n)).isoformat()


@pytest.mark.parametrize("source, attributes, expected", [
    # equals, on every attribute type
    ("lifecycle: customer", {"lifecycle": "customer"}, True),
    ("lifecycle: customer", {"lifecycle": "subscriber"}, False),
    ("lifecycle: {eq: customer}", {"lifecycle": "customer"}, True),
    ("lifecycle: {eq: customer}", {"lifecycle": "advocate"}, False),
    ("loyalty: true", {"loyalty": True}, True),
    ("loyalty: true", {"loyalty": False}, False),
    ("loyalty: false", {"loyalty": False}, True),
    ("branch: Hamburg", {"branch": "Hamburg"}, True),
    ("branch: Hamburg", {"branch": "Bremen"}, False),
    ("purchasing_power: {eq: 4}", {"purchasing_power": 4}, True),
    ("purchasing_power: {eq: 4}", {"purchasing_power": 4.0}, True),
    ("purchasing_power: {eq: 4}", {"purchasing_power": "4"}, True),
    ("purchasing_power: {eq: 4}", {"purchasing_power": 3}, False),
    ("last_order: 2026-11-01", {"last_order": "2026-11-01"}, True),
    ("last_order: 2026-11-01", {"last_order": date(2026, 11, 1)}, True),
    ("last_order: 2026-11-01", {"last_order": "2026-11-02"}, False),
    # in a list (short and long form)
    ("lifecycle: [customer, advocate]", {"lifecycle": "customer"}, True),
    ("lifecycle: [customer, advocate]", {"lifecycle": "advocate"}, True),
    ("lifecycle: [customer, advocate]", {"lifecycle": "subscriber"}, False),
    ("lifecycle: {in: [customer]}", {"lifecycle": "customer"}, True),
    ("lifecycle: {in: [customer]}", {"lifecycle": "advocate"}, False),
    ("purchasing_power: [4, 5]", {"purchasing_power": 5}, True),
    ("purchasing_power: [4, 5]", {"purchasing_power": 3}, False),
    # several conditions of one rule must all hold
    ("lifecycle: customer\nloyalty: true", {"lifecycle": "customer", "loyalty": True}, True),
    ("lifecycle: customer\nloyalty: true", {"lifecycle": "customer", "loyalty": False}, False),
    ("purchasing_power: {gte: 2, lt: 4}", {"purchasing_power": 2}, True),
    ("purchasing_power: {gte: 2, lt: 4}", {"purchasing_power": 3.9}, True),
    ("purchasing_power: {gte: 2, lt: 4}", {"purchasing_power": 4}, False),
    ("purchasing_power: {gte: 2, lt: 4}", {"purchasing_power": 1}, False),
    # the empty rule matches everyone
    ("{}", {}, True),
])
def test_equals_in_and_combined_conditions(source, attributes, expected):
    assert rule(source)(attributes, "de", EDITION) is expected


@pytest.mark.parametrize("op, value, expected", [
    ("gte", 3, False), ("gte", 4, True), ("gte", 5, True),
    ("gt", 3, False), ("gt", 4, False), ("gt", 5, True),
    ("lte", 3, True), ("lte", 4, True), ("lte", 5, False),
    ("lt", 3, True), ("lt", 4, False), ("lt", 5, False),
])
def test_number_comparisons_at_the_boundary(op, value, expected):
    predicate = rule(f"purchasing_power: {{{op}: 4}}")
    assert predicate({"purchasing_power": value}, "de", EDITION) is expected
    assert predicate({"purchasing_power": str(value)}, "de", EDITION) is expected  # as a CSV import has it


def test_number_comparison_with_a_fraction():
    predicate = rule("purchasing_power: {gt: 3.5}")
    assert predicate({"purchasing_power": 4}, "de", EDITION)
    assert not predicate({"purchasing_power": 3}, "de", EDITION)


@pytest.mark.parametrize("op, value, expected", [
    ("gte", "2026-10-31", False), ("gte", "2026-11-01", True), ("gte", "2026-11-02", True),
    ("gt", "2026-10-31", False), ("gt", "2026-11-01", False), ("gt", "2026-11-02", True),
    ("lte", "2026-10-31", True), ("lte", "2026-11-01", True), ("lte", "2026-11-02", False),
    ("lt", "2026-10-31", True), ("lt", "2026-11-01", False), ("lt", "2026-11-02", False),
])
def test_absolute_date_comparisons(op, value, expected):
    predicate = rule(f"last_order: {{{op}: 2026-11-01}}")
    assert predicate({"last_order": value}, "de", EDITION) is expected
    assert predicate({"last_order": date.fromisoformat(value)}, "de", EDITION) is expected


@pytest.mark.parametrize("source, ago, expected", [
    ("last_order: {gte: -90d}", 89, True),
    ("last_order: {gte: -90d}", 90, True),
    ("last_order: {gte: -90d}", 91, False),
    ("last_order: {gt: -90d}", 90, False),
    ("last_order: {lt: -180d}", 181, True),
    ("last_order: {lt: -180d}", 180, False),
    ("last_order: {lte: -180d}", 180, True),
    ("last_order: {lte: 0d}", 0, True),
    ("last_order: {lt: 0d}", 0, False),
    ("last_order: {lt: +7d}", -6, True),  # a date in the future (a pre-order)
    ("last_order: {lt: +7d}", -7, False),
])
def test_relative_dates_count_from_the_edition_date(source, ago, expected):
    assert rule(source)({"last_order": days_ago(ago)}, "de", EDITION) is expected


def test_relative_dates_move_with_the_edition():
    predicate = rule("last_order: {gte: -90d}")
    customer = {"last_order": "2026-08-25"}  # exactly 90 days before the edition
    assert predicate(customer, "de", EDITION)
    assert not predicate(customer, "de", EDITION + timedelta(days=1))
    assert predicate(customer, "de", EDITION + timedelta(days=-30))


@pytest.mark.parametrize("source", [
    "purchasing_power: {gte: 1}", "purchasing_power: {gt: 0}", "purchasing_power: {lte: 5}",
    "purchasing_power: {lt: 99}", "purchasing_power: {eq: 4}", "purchasing_power: [1, 2, 3, 4, 5]",
    "last_order: {gte: 1900-01-01}", "last_order: {lt: 2999-01-01}", "last_order: {lte: +999d}",
    "last_order: {gte: -9999d}", "last_order: 2026-11-01", "lifecycle: [subscriber, customer, advocate]",
    "loyalty: false", "branch: Hamburg",
])
@pytest.mark.parametrize("attributes", [{}, {"purchasing_power": None, "last_order": None, "loyalty": None,
                                             "lifecycle": None, "branch": None}])
def test_missing_attributes_never_match(source, attributes):
    assert rule(source)(attributes, "de", EDITION) is False


@pytest.mark.parametrize("source, attributes", [
    ("purchasing_power: {gte: 1}", {"purchasing_power": "many"}),
    ("purchasing_power: {lt: 99}", {"purchasing_power": True}),  # a flag is not a number
    ("last_order: {lt: +999d}", {"last_order": "soon"}),
    ("last_order: {gte: 1900-01-01}", {"last_order": "2026-13-01"}),
])
def test_values_of_the_wrong_kind_never_match_comparisons(source, attributes):
    assert rule(source)(attributes, "de", EDITION) is False


@pytest.mark.parametrize("source, attributes, expected", [
    ("branch: {exists: true}", {"branch": "Hamburg"}, True),
    ("branch: {exists: true}", {}, False),
    ("branch: {exists: true}", {"branch": None}, False),
    ("branch: {exists: false}", {}, True),
    ("branch: {exists: false}", {"branch": None}, True),
    ("branch: {exists: false}", {"branch": "Hamburg"}, False),
    ("loyalty: {exists: true}", {"loyalty": False}, True),  # false is a value, not a missing one
    ("purchasing_power: {exists: true}", {"purchasing_power": 0}, True),
    ("last_order: {exists: false}", {"last_order": "2026-01-01"}, False),
])
def test_exists(source, attributes, expected):
    assert rule(source)(attributes, "de", EDITION) is expected


LAPSED = """\
    lifecycle: [customer, advocate]
    any:
      - last_order: {lt: -180d}
      - last_order: {exists: false}
      - purchasing_power: {eq: 1}
    """


@pytest.mark.parametrize("attributes, expected", [
    ({"lifecycle": "customer", "last_order": days_ago(200)}, True),
    ({"lifecycle": "advocate"}, True),
    ({"lifecycle": "customer", "last_order": days_ago(10), "purchasing_power": 1}, True),
    ({"lifecycle": "customer", "last_order": days_ago(10), "purchasing_power": 3}, False),
    ({"lifecycle": "subscriber", "last_order": days_ago(200)}, False),
    ({}, False),
])
def test_any_is_an_or_inside_an_and(attributes, expected):
    assert rule(LAPSED)(attributes, "de", EDITION) is expected


def test_all_and_nested_any():
    predicate = rule("""\
        any:
          - purchasing_power: {gte: 4}
          - all:
            - lifecycle: customer
            - last_order: {gte: -30d}
        """)
    assert predicate({"purchasing_power": 5}, "de", EDITION)
    assert predicate({"lifecycle": "customer", "last_order": days_ago(30)}, "de", EDITION)
    assert not predicate({"lifecycle": "customer", "last_order": days_ago(31)}, "de", EDITION)
    assert not predicate({"last_order": days_ago(1)}, "de", EDITION)


def test_all_needs_every_rule():
    predicate = rule("all:\n  - loyalty: true\n  - purchasing_power: {gte: 3}")
    assert predicate({"loyalty": True, "purchasing_power": 3}, "de", EDITION)
    assert not predicate({"loyalty": True, "purchasing_power": 2}, "de", EDITION)
    assert not predicate({"loyalty": False, "purchasing_power": 5}, "de", EDITION)


@pytest.mark.parametrize("source, locale, expected", [
    ("locale: en", "en", True),
    ("locale: en", "de", False),
    ("locale: [de, en]", "de", True),
    ("locale: {in: [de]}", "en", False),
    ("locale: {exists: true}", "de", True),
    ("locale: en\nloyalty: true", "en", True),
])
def test_locale_is_an_attribute(source, locale, expected):
    assert rule(source)({"loyalty": True}, locale, EDITION) is expected


def test_a_locale_attribute_in_the_attributes_does_not_override_the_customers_locale():
    assert rule("locale: en")({"locale": "en"}, "de", EDITION) is False


AUDIENCE = """\
    locales: [de, en]
    attributes:
      lifecycle: {type: choice, values: [subscriber, customer]}
      purchasing_power: {type: number, min: 1, max: 5}
      last_order: {type: date}
      loyalty: {type: flag}
    segments:
      - id: vip
        name: VIP
        rule:
          purchasing_power: {gte: 4}
      - id: english
        name: English speakers
        rule:
          locale: en
      - id: recent
        name: Recent buyers
        rule:
          last_order: {gte: -30d}
      - id: everyone
        name: Everyone
        rule: {}
    """


@pytest.fixture
def content(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return load_content(write_tree(tmp_path, {"audience.yaml": AUDIENCE}))


@pytest.mark.parametrize("attributes, locale, expected", [
    ({"purchasing_power": 5, "last_order": days_ago(1)}, "en", "vip"),  # matches all four: the first wins
    ({"purchasing_power": 2, "last_order": days_ago(1)}, "en", "english"),
    ({"purchasing_power": 2, "last_order": days_ago(1)}, "de", "recent"),
    ({"last_order": days_ago(31)}, "de", "everyone"),
    ({}, "de", "everyone"),
])
def test_the_first_matching_segment_wins(content, attributes, locale, expected):
    segments = content.audience.segments
    assert segment_of(segments, attributes, locale, EDITION).id == expected
    edition = Edition(content, content.templates["weekly"], EDITION)
    assert edition.segment_for(attributes, locale).id == expected


def test_an_unknown_locale_is_matched_as_the_default_locale(content):
    edition = Edition(content, content.templates["weekly"], EDITION)
    assert edition.segment_for({}, "fr").id == "everyone"  # not "english", and no error
    assert edition.segment_for({}, None).id == "everyone"


def test_relative_dates_use_the_editions_date(content):
    customer = {"last_order": "2026-11-01"}
    assert Edition(content, content.templates["weekly"], EDITION).segment_for(customer, "de").id == "recent"
    later = Edition(content, content.templates["weekly"], date(2027, 1, 4))
    assert later.segment_for(customer, "de").id == "everyone"


def test_no_segment_matches_without_a_catch_all(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    audience = AUDIENCE.replace("      - id: everyone\n        name: Everyone\n        rule: {}\n", "")
    loaded = load_content(write_tree(tmp_path, {"audience.yaml": audience}))
    assert segment_of(loaded.audience.segments, {}, "de", EDITION) is None


@pytest.mark.parametrize("condition", ["{gte: 2026-11-01 10:00:00}", "2026-11-01 10:00:00"])
def test_a_date_time_in_a_date_rule_is_a_content_error(tmp_path, monkeypatch, condition):
    monkeypatch.chdir(tmp_path)
    audience = AUDIENCE.replace("last_order: {gte: -30d}", f"last_order: {condition}")
    result = check_content(write_tree(tmp_path, {"audience.yaml": audience}))
    assert [(p.path, p.line) for p in result.errors] == [("content/audience.yaml", 19)]
