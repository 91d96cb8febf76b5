"""The served OpenAPI document: a valid OpenAPI 3.1 document, listing exactly the routed
operations, and the API's real answers fit the schemas it declares."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from preferences.web.api.openapi import OPERATIONS, PREFIX
from preferences.web.api.routes import routes
from test_api import AUTH, CATALOGUE, make_client

METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


@pytest.fixture
def client(sqlite_url):
    from preferences.database import make_engine

    engine = make_engine(sqlite_url)
    yield make_client(engine)
    engine.dispose()


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")  # no API key needed
    assert response.status_code == 200
    return response.json()


def routed_operations() -> set[tuple[str, str]]:
    (mount,) = routes(centre=_DummyCentre())
    assert isinstance(mount, Mount) and mount.path == PREFIX
    found = set()
    for route in mount.routes:
        assert isinstance(route, Route)
        for method in METHODS:
            if hasattr(route.endpoint, method):  # an HTTPEndpoint: one method per HTTP method
                found.add((method, PREFIX + route.path))
    return found


class _DummyCentre:
    api_keys = ("x",)
    catalogue = staticmethod(lambda: CATALOGUE)


def test_the_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_route_is_documented_and_every_documented_operation_is_routed(spec):
    documented = {(method, path) for path, item in spec["paths"].items() for method in item if method in METHODS}
    assert routed_operations() == documented
    assert len(documented) == len(OPERATIONS) == 8


def test_every_documented_operation_answers(client, spec):
    client.put("/api/customers/CRM-1", json={"email": "a@example.com"}, headers=AUTH)
    for path, item in spec["paths"].items():
        for method in set(item) & METHODS:
            url = path.replace("{external_id}", "CRM-1")
            response = client.request(method.upper(), url, headers=AUTH, json={} if method != "get" else None)
            assert response.status_code not in (404, 405), (method, path, response.text)
            assert str(response.status_code) in item[method]["responses"], (method, path, response.status_code)


def test_security_is_bearer_and_only_the_schema_is_public(spec):
    assert spec["components"]["securitySchemes"]["bearer"] == {**spec["components"]["securitySchemes"]["bearer"],
                                                               "type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]
    public = [(path, method) for path, item in spec["paths"].items() for method, operation in item.items()
              if operation.get("security") == []]
    assert public == [("/api/openapi.json", "get")]


def test_the_document_follows_the_catalogue(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["Attributes"]["properties"]["region"]["enum"] == ["north", "south", "east", "west", None]
    assert schemas["Attributes"]["properties"]["purchasing_power"] == {"type": ["number", "null"], "minimum": 1, "maximum": 5}
    assert schemas["PreferencesPatch"]["properties"]["locale"]["enum"] == ["de", "en"]
    assert "outdoor" in schemas["PreferencesPatch"]["properties"]["excluded_groups"]["description"]


def conforms(spec, schema_name, value):
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    validator.validate(value)


def test_answers_fit_their_declared_schemas(client, spec):
    created = client.put("/api/customers/CRM-1", headers=AUTH, json={
        "email": "a@example.com", "first_name": "Ängela", "locale": "en",
        "attributes": {"region": "north", "purchasing_power": 4, "loyalty_member": True, "last_order": "2026-11-01"}})
    conforms(spec, "UpsertResult", created.json())
    conforms(spec, "Customer", client.get("/api/customers/CRM-1", headers=AUTH).json())
    conforms(spec, "Preferences", client.get("/api/customers/CRM-1/preferences", headers=AUTH).json())
    changed = client.patch("/api/customers/CRM-1/preferences", headers={**AUTH, "If-Match": '"1"'},
                           json={"frequency": "monthly", "paused_until": "2027-01-04", "excluded_groups": ["kids"]})
    conforms(spec, "PreferencesChange", changed.json())
    conforms(spec, "Unsubscribed", client.post("/api/customers/CRM-1/unsubscribe", headers=AUTH).json())
    conforms(spec, "ConsentEventPage", client.get("/api/customers/CRM-1/consent-events", headers=AUTH).json())
    batch = client.post("/api/customers:batch", headers=AUTH, json={"customers": [
        {"external_id": "CRM-2", "email": "b@example.com"}, {"external_id": "CRM-1", "email": "a@example.com"}]})
    conforms(spec, "BatchResult", batch.json())
    bad_batch = client.post("/api/customers:batch", headers=AUTH, json={"customers": [{"email": "x"}, 3]})
    conforms(spec, "Error", bad_batch.json())
    conforms(spec, "Error", client.get("/api/customers/nobody", headers=AUTH).json())
    conforms(spec, "Error", client.get("/api/customers/nobody").json())
    conforms(spec, "Error", client.patch("/api/customers/CRM-1/preferences", headers=AUTH, json={}).json())  # 428


def test_request_schemas_accept_what_the_server_accepts_and_refuse_some_of_what_it_refuses(spec):
    conforms(spec, "CustomerInput", {"email": "a@example.com", "attributes": {"region": "south", "orders_12m": 0}})
    conforms(spec, "BatchRequest", {"customers": [{"external_id": "C1", "email": "a@example.com"}]})
    conforms(spec, "PreferencesPatch", {"frequency": "biweekly", "paused_until": None, "version": 3})
    for name, value in [("CustomerInput", {"email": "a@example.com", "attributes": {"region": "mars"}}),
                        ("CustomerInput", {"email": "a@example.com", "nickname": "x"}),
                        ("PreferencesPatch", {"frequency": "daily"})]:
        with pytest.raises(jsonschema.ValidationError):
            conforms(spec, name, value)
