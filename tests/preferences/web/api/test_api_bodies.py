"""The request bodies' models and the schemas generated from them: the served document states the
limits, a wrongly typed value in any field is a 422 naming it (never a 500), and what the served
schema accepts the API accepts, what it refuses the API refuses (property-based, with hypothesis).
"""

from __future__ import annotations

import re
from datetime import timedelta

import jsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from preferences.changes import latest_pause_end
from preferences.models import Frequency, Status
from test_api import AUTH, CATALOGUE, TODAY, assert_error, customer_count, make_client

PREFERENCES = "/api/customers/CRM-1/preferences"


@pytest.fixture
def engine(sqlite_url):
    # Validation happens before the database: SQLite alone is enough here.
    from preferences.database import make_engine

    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def client(engine):
    return make_client(engine)


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").json()


def constraint(schema, key):
    """``key`` of a property schema, or of the first member of its ``anyOf`` that has it."""
    for candidate in [schema, *schema.get("anyOf", ())]:
        if key in candidate:
            return candidate[key]
    raise AssertionError(f"no {key} in {schema}")


# The served schema states the limits ------------------------------------------------------------

def test_the_schema_states_the_limits(spec):
    schemas, parameters = spec["components"]["schemas"], spec["components"]["parameters"]
    assert parameters["ExternalId"]["schema"]["maxLength"] == 128
    for name in ("CustomerInput", "CustomerBatchItem"):
        properties = schemas[name]["properties"]
        assert constraint(properties["external_id"], "maxLength") == 128
        assert constraint(properties["first_name"], "maxLength") == 100
        assert constraint(properties["email"], "maxLength") == 320
        assert properties["locale"]["enum"] == ["de", "en", None]
        assert schemas[name]["additionalProperties"] is False
    assert schemas["CustomerBatchItem"]["required"] == ["email", "external_id"]
    assert schemas["BatchRequest"]["properties"]["customers"]["maxItems"] == 1000
    patch = schemas["PreferencesPatch"]["properties"]
    assert constraint(patch["paused_until"], "format") == "date"
    assert "today or later, at most 12 months ahead" in patch["paused_until"]["description"]
    assert constraint(patch["version"], "minimum") == 1
    assert schemas[patch["frequency"]["$ref"].rpartition("/")[2]]["enum"] == list(Frequency)


@pytest.mark.parametrize("value, single", [('"3"', True), ('W/"12"', True), ("*", True), ('"1", "2"', False),
                                           ("3", False), ('"x"', False)])
def test_if_match_takes_one_etag(spec, value, single):
    pattern = spec["components"]["parameters"]["IfMatch"]["schema"]["pattern"]
    assert bool(re.search(pattern, value)) is single


# A wrongly typed value is a 422 naming its field -----------------------------------------------

WRONG = [{}, [], 0, True, "x", None, 1.5]
# field -> the values of WRONG its type takes (0 is an external id, "x" a text, null "keep it")
TAKES = {"external_id": [0, "x"], "email": ["x"], "first_name": ["x", None], "locale": ["x", None],
         "status": [None], "attributes": [{}, None]}
CUSTOMER_CASES = [(name, value) for name in TAKES for value in WRONG if value not in TAKES[name]] + [
    ("external_id", "x" * 129), ("first_name", "x" * 101), ("email", "a" * 310 + "@example.com")]


@pytest.mark.parametrize("name, value", CUSTOMER_CASES)
def test_a_wrongly_typed_customer_field_is_named(client, engine, name, value):
    assert_error(client.put("/api/customers/CRM-1", headers=AUTH,
                            json={"email": "a@example.com", name: value}), 422, name)
    item = {"external_id": "CRM-1", "email": "a@example.com", name: value}
    assert_error(client.post("/api/customers:batch", headers=AUTH, json={"customers": [item]}),
                 422, f"customers[0].{name}")
    assert customer_count(engine) == 0


@pytest.mark.parametrize("value", [{}, 0, True, "x", None, [0], ["x", {}]])
def test_a_wrongly_typed_batch_is_named(client, value):
    field = "customers" if not isinstance(value, list) else "customers[0]"
    assert_error(client.post("/api/customers:batch", headers=AUTH, json={"customers": value}), 422, field)


PATCH_TAKES = {"frequency": [], "paused_until": [None], "excluded_groups": [[]], "locale": ["x"],
               "version": [None]}
PATCH_CASES = [(name, value) for name in PATCH_TAKES for value in WRONG if value not in PATCH_TAKES[name]
               ] + [("excluded_groups", [1]), ("excluded_groups", ["kids", {}]), ("version", "1"),
                    ("paused_until", "2027-02-30"), ("paused_until", "20270110")]


@pytest.mark.parametrize("name, value", PATCH_CASES)
def test_a_wrongly_typed_preference_field_is_named(client, name, value):
    assert client.put("/api/customers/CRM-1", headers=AUTH, json={"email": "a@example.com"}).status_code == 201
    other = {"excluded_groups": ["cars"]} if name != "excluded_groups" else {"locale": "fr"}
    body = assert_error(client.patch(PREFERENCES, headers=AUTH, json={name: value, **other}), 422, name, *other)
    assert set(body["fields"]) == {name, *other}  # the domain still checks the rest
    assert client.get(PREFERENCES, headers=AUTH).json()["version"] == 1


# What the schema accepts, the API accepts; what it refuses, the API refuses ---------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=6)
NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=100)


def not_(*types):
    """JSON values of none of ``types`` (a boolean is never an int here)."""
    return JSON.filter(lambda v: isinstance(v, bool) or not isinstance(v, types))


def bodies(fields, required=()):
    """Bodies whose fields all hold values the schema and the domain take, and such bodies with up
    to two fields (or an unknown one) holding a value the schema refuses."""
    valid = st.fixed_dictionaries({name: fields[name][0] for name in required},
                                  optional={name: fields[name][0] for name in fields if name not in required})
    refused = st.one_of(*[st.tuples(st.just(name), bad) for name, (_, bad) in fields.items()],
                        st.tuples(st.just("nickname"), JSON))
    return valid | st.builds(lambda body, changes: {**body, **dict(changes)}, valid, st.lists(refused, min_size=1, max_size=2))


# The API also takes attribute values spelt as in a CSV file ("4", "yes", "North", ""), as the schema
# says in words: generated here are the JSON spellings and values no spelling makes right.
ATTRIBUTE = {  # attribute: (values in their JSON spelling, values nobody takes)
    "region": (st.sampled_from(["north", "south"]), st.sampled_from(["mars", 1])),
    "branch": (NAME, st.text(min_size=501, max_size=510) | st.integers()),
    "last_order": (st.sampled_from(["2026-10-01", "2024-02-29"]), st.sampled_from(["2026-02-30", "soon"])),
    "orders_12m": (st.integers(0, 50) | st.floats(0, 50), st.just(-1) | st.just("many")),
    "purchasing_power": (st.integers(1, 5), st.sampled_from([0, 6, 5.5, "lots"])),
    "loyalty_member": (st.booleans(), st.just("perhaps")),
}
ATTRIBUTES = st.one_of(
    st.none(), st.just({}), st.fixed_dictionaries({}, optional={name: good | st.none() for name, (good, _) in ATTRIBUTE.items()}))
BAD_ATTRIBUTES = not_(dict, type(None)) | st.builds(dict, st.lists(st.one_of(
    *[st.tuples(st.just(name), bad | st.just([]) | st.just({})) for name, (_, bad) in ATTRIBUTE.items()],
    st.tuples(st.just("colour"), SCALARS)), min_size=1, max_size=2))
CUSTOMER = bodies({  # field: (values the schema and the domain take, values the schema refuses)
    "external_id": (st.just("CRM-1"), st.sampled_from(["x" * 129, 1.5]) | not_(str, int, float)),
    "email": (st.sampled_from(["a@example.com", "Anna.Schmidt@example.de", "b+news@example.org"]),
              not_(str) | st.just("a" * 310 + "@example.com")),
    "first_name": (NAME | st.none(), not_(str, type(None)) | st.text(min_size=101, max_size=110)),
    "locale": (st.sampled_from(["de", "en", None]), st.sampled_from(["fr", "", " de"]) | not_(str, type(None))),
    "status": (st.sampled_from([*Status, None]), st.sampled_from(["gone", "", "Active"]) | not_(str, type(None))),
    "attributes": (ATTRIBUTES, BAD_ATTRIBUTES),
}, required=("email",))
DAYS = (latest_pause_end(TODAY) - TODAY).days
PATCH = bodies({
    "frequency": (st.sampled_from(list(Frequency)), st.sampled_from(["daily", "", None]) | not_(str)),
    "paused_until": (st.none() | st.integers(0, DAYS).map(lambda days: (TODAY + timedelta(days)).isoformat()),
                     st.sampled_from(["2027-02-30", "next week", "20270110", ""]) | not_(str, type(None))),
    "excluded_groups": (st.lists(st.sampled_from(sorted(CATALOGUE.product_groups)), max_size=5),
                        not_(list) | st.lists(not_(str), min_size=1, max_size=2)),
    "locale": (st.sampled_from(["de", "en"]), st.sampled_from(["fr", "", None]) | not_(str)),
    "version": (st.none() | st.integers(1, 4), st.integers(-1, 0) | not_(int, type(None))),
    "status": (st.nothing(), JSON),
})


def accepts(spec, name, value) -> bool:
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": spec["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    valid = validator.is_valid(value)
    event(f"the schema {'accepts' if valid else 'refuses'} it")  # both must happen (--hypothesis-show-statistics)
    return valid


BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@BOUNDED
@given(body=CUSTOMER)
def test_the_api_takes_a_customer_exactly_when_the_schema_does(client, spec, body):
    response = client.put("/api/customers/CRM-1", headers=AUTH, json=body)
    assert response.status_code in (200, 201, 422), response.text
    assert accepts(spec, "CustomerInput", body) == (response.status_code != 422), response.text


@BOUNDED
@given(body=PATCH)
def test_the_api_takes_a_change_exactly_when_the_schema_does(client, spec, body):
    client.put("/api/customers/CRM-1", headers=AUTH, json={"email": "a@example.com"})
    response = client.patch(PREFERENCES, headers={**AUTH, "If-Match": "*"}, json=body)
    assert response.status_code in (200, 409, 412, 422), response.text  # 409/412: a stale version
    assert accepts(spec, "PreferencesPatch", body) == (response.status_code != 422), response.text
