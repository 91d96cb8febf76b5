from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preferences.attributes import Attribute, validate_attributes
from preferences.errors import InvalidAttributes

# The schema of content/audience.yaml, as the content loader would build it.
SCHEMA = {
    a.name: a
    for a in [
        Attribute("region", "choice", values=("north", "south", "east", "west")),
        Attribute("branch", "text"),
        Attribute("lifecycle", "choice", values=("subscriber", "first-buyer", "customer", "advocate")),
        Attribute("last_order", "date"),
        Attribute("orders_12m", "number", min=0),
        Attribute("purchasing_power", "number", min=1, max=5),
        Attribute("loyalty_member", "flag"),
    ]
}


def errors_of(raw):
    with pytest.raises(InvalidAttributes) as error:
        validate_attributes(raw, SCHEMA)
    return error.value.errors


def test_a_good_json_record_is_normalised():
    raw = {"region": "north", "branch": "Hamburg-Altona", "lifecycle": "customer", "last_order": date(2026, 10, 1),
           "orders_12m": 3, "purchasing_power": 4.0, "loyalty_member": True}
    assert validate_attributes(raw, SCHEMA) == {
        "region": "north", "branch": "Hamburg-Altona", "lifecycle": "customer", "last_order": "2026-10-01",
        "orders_12m": 3, "purchasing_power": 4, "loyalty_member": True,
    }


def test_a_csv_record_of_strings_is_normalised():
    raw = {"region": " North ", "branch": "Köln", "last_order": "2026-10-01", "orders_12m": "12",
           "purchasing_power": "2.5", "loyalty_member": "yes"}
    clean = validate_attributes(raw, SCHEMA)
    assert clean == {"region": "north", "branch": "Köln", "last_order": "2026-10-01", "orders_12m": 12,
                     "purchasing_power": 2.5, "loyalty_member": True}
    assert type(clean["orders_12m"]) is int and type(clean["purchasing_power"]) is float


@pytest.mark.parametrize("raw, expected", [
    ("true", True), ("TRUE", True), ("yes", True), ("1", True), ("ja", True), ("y", True), (1, True), (True, True),
    ("false", False), ("no", False), ("0", False), ("nein", False), ("N", False), (0, False), (False, False),
])
def test_flags_in_every_usual_spelling(raw, expected):
    assert validate_attributes({"loyalty_member": raw}, SCHEMA) == {"loyalty_member": expected}


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_means_not_set(empty):
    assert validate_attributes({"region": empty, "orders_12m": empty, "loyalty_member": empty}, SCHEMA) == {}


def test_every_bad_field_is_named_at_once():
    errors = errors_of({
        "region": "Mars", "colour": "red", "last_order": "01.10.2026", "orders_12m": -1,
        "purchasing_power": 9, "loyalty_member": "maybe", "branch": 42,
    })
    assert set(errors) == {"region", "colour", "last_order", "orders_12m", "purchasing_power", "loyalty_member", "branch"}
    assert "north, south, east, west" in errors["region"]
    assert "unknown attribute" in errors["colour"] and "region" in errors["colour"]
    assert "YYYY-MM-DD" in errors["last_order"]
    assert "minimum 0" in errors["orders_12m"]
    assert "maximum 5" in errors["purchasing_power"]
    assert "flag" in errors["loyalty_member"]
    assert "text" in errors["branch"]


@pytest.mark.parametrize("value, message", [
    ("2026-02-30", "not a valid date"),
    ("2026-13-01", "not a valid date"),
    ("20261001", "YYYY-MM-DD"),
    (datetime(2026, 10, 1, 12, 0), "YYYY-MM-DD"),
    (20261001, "YYYY-MM-DD"),
])
def test_bad_dates(value, message):
    assert message in errors_of({"last_order": value})["last_order"]


@pytest.mark.parametrize("value", ["four", "1,5", "nan", "inf", float("nan"), float("inf"), True, [1], "9" * 5000, "1e"])
def test_bad_numbers(value):
    assert "orders_12m" in errors_of({"orders_12m": value})


def test_number_bounds_are_inclusive():
    assert validate_attributes({"purchasing_power": 1, "orders_12m": 0}, SCHEMA) == {"purchasing_power": 1, "orders_12m": 0}
    assert validate_attributes({"purchasing_power": "5"}, SCHEMA) == {"purchasing_power": 5}


def test_choices_are_exact_or_differ_only_in_case():
    assert validate_attributes({"lifecycle": "First-Buyer"}, SCHEMA) == {"lifecycle": "first-buyer"}
    assert "region" in errors_of({"region": ["north"]})


def test_text_refuses_control_characters_and_huge_values():
    assert "control" in errors_of({"branch": "a\r\nBcc: x"})["branch"]
    assert "500" in errors_of({"branch": "x" * 501})["branch"]


def test_a_non_string_key_is_an_unknown_attribute():
    assert "1" in errors_of({1: "x"})


@pytest.mark.parametrize("kwargs", [
    {"type": "colour"},
    {"type": "choice"},
    {"type": "text", "values": ("a",)},
    {"type": "text", "min": 1},
    {"type": "number", "min": 5, "max": 1},
])
def test_a_broken_schema_is_refused(kwargs):
    with pytest.raises(ValueError):
        Attribute("x", **kwargs)


def test_attribute_is_frozen_and_values_a_tuple():
    a = Attribute("region", "choice", values=["north"])
    assert a.values == ("north",)
    with pytest.raises(AttributeError):
        a.name = "other"  # type: ignore[misc]


# too_slow: the first text draw of a fresh machine builds Hypothesis's character tables.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(SCHEMA) + ["unknown"]),
                       st.one_of(st.none(), st.text(max_size=20), st.integers(), st.floats(), st.booleans(),
                                 st.dates())))
def test_anything_either_validates_to_json_or_names_the_bad_fields(raw):
    import json

    try:
        clean = validate_attributes(raw, SCHEMA)
    except InvalidAttributes as error:
        assert error.errors and set(error.errors) <= set(raw)
    else:
        json.dumps(clean, allow_nan=False)
        assert set(clean) <= set(raw) and validate_attributes(clean, SCHEMA) == clean
