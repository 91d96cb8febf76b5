"""The operator API's customers: authentication, upsert (single and batch), and every bad input
answered as a JSON 4xx naming the field. Runs on SQLite and PostgreSQL (the ``engine`` fixture).

The client raises server exceptions, so any 500 fails the test that caused it.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

from attribute_schema import ATTRIBUTES
from preferences.database import for_writes
from preferences.links import LinkSigner
from preferences.models import ConsentEvent, Customer
from preferences.web import errors
from preferences.web.api.routes import MAX_BODY_BYTES, routes
from preferences.web.centre import Catalogue, Centre

KEY = "api-key-for-tests-0123456789"
OTHER_KEY = "second-key-for-tests-98765"
AUTH = {"Authorization": f"Bearer {KEY}"}
TODAY = date(2026, 11, 23)
CATALOGUE = Catalogue(
    locales=("de", "en"),
    product_groups={"outdoor": {"de": "Outdoor", "en": "Outdoor"}, "garden": {"de": "Garten", "en": "Garden"},
                    "kitchen": {"de": "Küche", "en": "Kitchen"}, "kids": {"de": "Kinder", "en": "Kids"}},
    attributes=ATTRIBUTES,
    newsletter_names={"en": "Weekly newsletter"},
    upcoming_editions=lambda day: [],
)


def make_client(engine, keys=(KEY,), extensions=lambda centre: ()) -> TestClient:
    """The API over ``engine``; ``extensions(centre)``: the extension operations to serve beside it."""
    centre = Centre(engine=engine, write_engine=for_writes(engine), signer=LinkSigner([b"k" * 32]),
                    base_url="https://news.example", catalogue=lambda: CATALOGUE, api_keys=tuple(keys),
                    today=lambda: TODAY)
    return TestClient(Starlette(routes=routes(centre, extensions=extensions(centre)),
                                exception_handlers=errors.handlers()),
                      raise_server_exceptions=True)


@pytest.fixture
def client(engine):
    return make_client(engine)


def put(client, external_id="CRM-1", headers=AUTH, **body):
    body.setdefault("email", "anna@example.com")
    return client.put(f"/api/customers/{external_id}", json=body, headers=headers)


def raw(client, method, path, content, content_type="application/json", headers=AUTH):
    return client.request(method, path, content=content, headers={**headers, "Content-Type": content_type})


def event_count(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ConsentEvent))


def customer_count(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Customer))


def assert_error(response, status, *fields):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert set(fields) <= set(body["fields"]), body
    return body


# Authentication --------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-key"},
    {"Authorization": f"Basic {KEY}"},
    {"Authorization": "Bearer "},
    {"Authorization": f"Bearer {KEY}x"},
    {"Authorization": "Bearer schlüssel".encode("utf-8")},
])
def test_missing_or_wrong_key_is_401_with_a_challenge(client, headers):
    for response in (client.get("/api/customers/CRM-1", headers=headers),
                     client.put("/api/customers/CRM-1", json={"email": "a@example.com"}, headers=headers),
                     client.post("/api/customers:batch", json={"customers": []}, headers=headers)):
        assert_error(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_any_configured_key_works(engine):
    client = make_client(engine, keys=(KEY, OTHER_KEY))
    assert put(client, headers={"Authorization": f"Bearer {OTHER_KEY}"}).status_code == 201
    assert client.get("/api/customers/CRM-1", headers={"authorization": f"bearer {KEY}"}).status_code == 200


def test_without_configured_keys_the_api_is_disabled_but_its_schema_is_served(engine):
    client = make_client(engine, keys=())
    body = assert_error(client.get("/api/customers/CRM-1", headers=AUTH), 503)
    assert body["error"] == "API disabled: set NEWSLETTER_API_KEYS"
    assert client.get("/api/openapi.json").status_code == 200


# Upsert one ------------------------------------------------------------------------------------

def test_put_creates_then_updates_then_changes_nothing(client, engine):
    created = put(client, first_name="Anna", locale="en",
                  attributes={"region": "North", "orders_12m": "3", "loyalty_member": "ja", "last_order": "2026-10-01"})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/customers/CRM-1"
    customer = created.json()["customer"]
    assert created.json()["result"] == "created"
    assert {k: customer[k] for k in ("external_id", "email", "first_name", "locale", "status")} == {
        "external_id": "CRM-1", "email": "anna@example.com", "first_name": "Anna", "locale": "en", "status": "active"}
    assert customer["attributes"] == {"region": "north", "orders_12m": 3, "loyalty_member": True,
                                      "last_order": "2026-10-01"}
    assert customer["preferences"] == {**customer["preferences"], "frequency": "weekly", "paused_until": None,
                                       "excluded_groups": [], "version": 1}
    assert client.get("/api/customers/CRM-1", headers=AUTH).json() == customer

    updated = put(client, email="anna.neu@example.com", attributes={"region": "south"})
    assert (updated.status_code, updated.json()["result"]) == (200, "updated")
    assert updated.json()["customer"]["email"] == "anna.neu@example.com"
    assert updated.json()["customer"]["attributes"] == {"region": "south"}  # PUT replaces the set
    assert updated.json()["customer"]["first_name"] == "Anna"  # left out: kept
    events = event_count(engine)

    again = put(client, email="anna.neu@example.com", attributes={"region": "south"})
    assert (again.status_code, again.json()["result"]) == (200, "unchanged")
    assert again.json()["customer"] == updated.json()["customer"]
    assert event_count(engine) == events and customer_count(engine) == 1


def test_put_writes_consent_events_on_the_api_channel(client):
    put(client, locale="de")
    put(client, locale="en")
    put(client, status="unsubscribed")
    put(client, status="active")  # consent is never granted back by the CRM
    events = client.get("/api/customers/CRM-1/consent-events", headers=AUTH).json()["events"]
    assert [(e["field"], e["old"], e["new"], e["channel"]) for e in events] == [
        ("created", None, {"frequency": "weekly", "locale": "de", "status": "active"}, "api"),
        ("locale", "de", "en", "api"),
        ("status", "active", "unsubscribed", "api"),
    ]
    assert client.get("/api/customers/CRM-1", headers=AUTH).json()["status"] == "unsubscribed"


def test_put_accepts_the_same_external_id_in_the_body(client):
    response = client.put("/api/customers/CRM-7", json={"external_id": "CRM-7", "email": "a@example.com"}, headers=AUTH)
    assert response.status_code == 201


def test_email_of_another_customer_is_a_conflict(client, engine):
    put(client, "CRM-1", email="anna@example.com")
    response = put(client, "CRM-2", email="ANNA@example.com")
    assert_error(response, 409, "email")
    assert customer_count(engine) == 1


# Batch -----------------------------------------------------------------------------------------

def test_batch_upserts_all_in_one_go(client, engine):
    put(client, "CRM-1", email="a@example.com", first_name="A")
    put(client, "CRM-2", email="b@example.com")
    response = client.post("/api/customers:batch", headers=AUTH, json={"customers": [
        {"external_id": "CRM-1", "email": "a@example.com", "first_name": "A"},
        {"external_id": "CRM-2", "email": "b@example.com", "first_name": "Bärbel"},
        {"external_id": "CRM-3", "email": "c@example.com", "attributes": {"purchasing_power": 5}},
        {"external_id": 4, "email": "d@example.com"},
    ]})
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 2, "updated": 1, "unchanged": 1, "results": [
        {"index": 0, "external_id": "CRM-1", "result": "unchanged", "kept": {}},
        {"index": 1, "external_id": "CRM-2", "result": "updated", "kept": {}},
        {"index": 2, "external_id": "CRM-3", "result": "created", "kept": {}},
        {"index": 3, "external_id": "4", "result": "created", "kept": {}},
    ]}
    assert customer_count(engine) == 4
    assert client.get("/api/customers/CRM-2", headers=AUTH).json()["first_name"] == "Bärbel"


def test_a_batch_with_bad_items_writes_nothing_and_names_every_one(client, engine):
    response = client.post("/api/customers:batch", headers=AUTH, json={"customers": [
        {"external_id": "CRM-1", "email": "a@example.com"},
        {"external_id": "CRM-2", "email": "not-an-email"},
        {"external_id": "CRM-3", "email": "c@example.com", "attributes": {"region": "mars", "colour": "red"}},
        "CRM-4",
        {"external_id": "CRM-5", "email": "A@example.com"},
        {"external_id": "CRM-1", "email": "e@example.com"},
    ]})
    body = assert_error(response, 422, "customers[1].email", "customers[2].attributes.region",
                        "customers[2].attributes.colour", "customers[3]", "customers[4].email",
                        "customers[5].external_id")
    assert [item["index"] for item in body["items"]] == [1, 2, 3, 4, 5]
    assert body["items"][0] == {"index": 1, "external_id": "CRM-2", "fields": {"email": body["fields"]["customers[1].email"]}}
    assert "nothing was written" in body["error"]
    assert customer_count(engine) == 0 and event_count(engine) == 0


def test_a_batch_conflicting_with_stored_customers_writes_nothing(client, engine):
    put(client, "CRM-1", email="a@example.com")
    response = client.post("/api/customers:batch", headers=AUTH, json={"customers": [
        {"external_id": "CRM-2", "email": "b@example.com"},
        {"external_id": "CRM-3", "email": "a@EXAMPLE.com"},
    ]})
    body = assert_error(response, 409, "customers[1].email")
    assert [item["index"] for item in body["items"]] == [1]
    assert customer_count(engine) == 1
    assert client.get("/api/customers/CRM-2", headers=AUTH).status_code == 404


def test_batch_limits(client):
    too_many = {"customers": [{"external_id": f"C{i}", "email": f"c{i}@example.com"} for i in range(1001)]}
    assert_error(client.post("/api/customers:batch", headers=AUTH, json=too_many), 422, "customers")
    assert_error(client.post("/api/customers:batch", headers=AUTH, json={"customer": []}), 422, "customers", "customer")
    assert_error(client.post("/api/customers:batch", headers=AUTH, json={"customers": {}}), 422, "customers")
    huge = json.dumps({"customers": [], "padding": "x" * (5 * 1024 * 1024)})
    assert_error(raw(client, "POST", "/api/customers:batch", huge), 413)
    empty = client.post("/api/customers:batch", headers=AUTH, json={"customers": []})
    assert empty.json() == {"created": 0, "updated": 0, "unchanged": 0, "results": []}


# Every bad input -------------------------------------------------------------------------------

BAD_BODIES = [
    # (body, status, field)
    ({"email": "nope"}, 422, "email"),
    ({}, 422, "email"),
    ({"email": 42}, 422, "email"),
    ({"email": "a@example.com", "first_name": 7}, 422, "first_name"),
    ({"email": "a@example.com", "first_name": "Anna\r\nBcc: x"}, 422, "first_name"),
    ({"email": "a@example.com", "locale": "fr"}, 422, "locale"),
    ({"email": "a@example.com", "status": "gone"}, 422, "status"),
    ({"email": "a@example.com", "attributes": ["north"]}, 422, "attributes"),
    ({"email": "a@example.com", "attributes": {"colour": "red"}}, 422, "attributes.colour"),
    ({"email": "a@example.com", "attributes": {"region": "mars"}}, 422, "attributes.region"),
    ({"email": "a@example.com", "attributes": {"region": 1}}, 422, "attributes.region"),
    ({"email": "a@example.com", "attributes": {"purchasing_power": 9}}, 422, "attributes.purchasing_power"),
    ({"email": "a@example.com", "attributes": {"orders_12m": "many"}}, 422, "attributes.orders_12m"),
    ({"email": "a@example.com", "attributes": {"loyalty_member": "perhaps"}}, 422, "attributes.loyalty_member"),
    ({"email": "a@example.com", "attributes": {"last_order": "2026-02-30"}}, 422, "attributes.last_order"),
    ({"email": "a@example.com", "attributes": {"branch": {"city": "Kiel"}}}, 422, "attributes.branch"),
    ({"email": "a@example.com", "nickname": "Anni"}, 422, "nickname"),
    ({"email": "a@example.com", "external_id": "CRM-2"}, 422, "external_id"),
    ([{"email": "a@example.com"}], 422, "body"),
    ("a@example.com", 422, "body"),
    (True, 422, "body"),
]


@pytest.mark.parametrize("body, status, field", BAD_BODIES, ids=[str(case[2]) for case in BAD_BODIES])
def test_bad_customer_bodies_are_answered_with_the_field(client, engine, body, status, field):
    response = client.put("/api/customers/CRM-1", json=body, headers=AUTH)
    assert_error(response, status, field)
    assert customer_count(engine) == 0


BAD_RAW = [
    (b"null", "application/json", 422),
    (b'{"email": "a@example.com", "attributes": {"orders_12m": 1e400}}', "application/json", 422),
    (b'{"email": "a@example.com"', "application/json", 400),
    (b"", "application/json", 400),
    (b"   ", "application/json", 400),
    (b'{"email": NaN}', "application/json", 400),
    (b'{"email": "a@example.com", "first_name": "\\ud800"}', "application/json", 400),
    (b'{"email": "a@example.com", "first_name": "J\xfcrgen"}', "application/json", 400),
    (b"[" * 60_000, "application/json", 400),
    (b'{"n": 1' + b"0" * 5000 + b"}", "application/json", 400),
    (b'{"email": "a@example.com"}', "text/plain", 415),
    (b"email=a@example.com", "application/x-www-form-urlencoded", 415),
    (b'{"email": "a@example.com"}', "", 415),
    (b'{"email": "a@example.com", "first_name": "' + b"x" * MAX_BODY_BYTES + b'"}', "application/json", 413),
]


@pytest.mark.parametrize("content, content_type, status", BAD_RAW)
def test_malformed_requests_are_4xx_json(client, engine, content, content_type, status):
    headers = {**AUTH, "Content-Type": content_type} if content_type else AUTH
    response = client.request("PUT", "/api/customers/CRM-1", content=content, headers=headers)
    assert_error(response, status)
    assert "Traceback" not in response.text
    assert customer_count(engine) == 0


def test_json_with_charset_and_json_suffix_types_are_accepted(client):
    body = json.dumps({"email": "a@example.com", "first_name": "Jürgen"}).encode()
    assert raw(client, "PUT", "/api/customers/C1", body, "application/json; charset=utf-8").status_code == 201
    assert raw(client, "PUT", "/api/customers/C1", body, "application/merge-patch+json").status_code == 200


def test_body_too_large_is_refused_before_reading_it(client):
    response = client.request("PUT", "/api/customers/CRM-1", content=b"{}",
                              headers={**AUTH, "Content-Type": "application/json", "Content-Length": "99999999"})
    assert_error(response, 413)


@pytest.mark.parametrize("path", ["/api/customers/nobody", "/api/customers/nobody/preferences",
                                  "/api/customers/nobody/consent-events", "/api/customers/%00",
                                  "/api/customers/" + "x" * 300, "/api/customers/a%01b/preferences"])
def test_unknown_customers_are_404(client, path):
    assert_error(client.get(path, headers=AUTH), 404)


def test_a_line_break_in_the_path_is_a_json_404_too(client):
    # Starlette's Mount does not match it; the app's 404 is still the API's JSON under /api.
    assert_error(client.get("/api/customers/a%0Ab/preferences", headers=AUTH), 404)


def test_unknown_routes_and_methods_are_json(client):
    assert_error(client.get("/api/nothing/here", headers=AUTH), 404)
    assert_error(client.get("/api/customers", headers=AUTH), 404)
    response = client.delete("/api/customers/CRM-1", headers=AUTH)
    assert_error(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT"}  # HEAD is answered too


def test_reads_change_nothing(client, engine):
    put(client)
    before = (event_count(engine), client.get("/api/customers/CRM-1", headers=AUTH).json())
    for _ in range(3):
        client.get("/api/customers/CRM-1", headers=AUTH)
        client.get("/api/customers/CRM-1/preferences", headers=AUTH)
        client.get("/api/customers/CRM-1/consent-events", headers=AUTH)
        client.head("/api/customers/CRM-1", headers=AUTH)
    assert (event_count(engine), client.get("/api/customers/CRM-1", headers=AUTH).json()) == before


def test_an_upsert_keeps_the_language_the_customer_chose_unless_asked_to_overwrite(client, engine):
    """Issue 10.6: the next CRM sync must not undo the customer's own choice."""
    from preferences import store
    from preferences.models import Channel

    assert put(client, locale="de").status_code == 201
    with Session(engine) as session:  # the customer picks English on the preference page
        customer = store.get_customer_by_external_id(session, "CRM-1")
        store.change_preferences(session, customer, {"locale": "en"}, Channel.PAGE, None, today=TODAY,
                                 known_groups=CATALOGUE.product_groups, locales=CATALOGUE.locales)
        session.commit()
    again = put(client, locale="de", first_name="Anna")
    assert again.status_code == 200
    assert again.json()["result"] == "updated" and again.json()["customer"]["locale"] == "en"
    assert set(again.json()["kept"]) == {"locale"} and "preference page" in again.json()["kept"]["locale"]
    batch = client.post("/api/customers:batch", headers=AUTH, json={"customers": [
        {"external_id": "CRM-1", "email": "anna@example.com", "locale": "de"}]}).json()
    assert batch["results"][0]["result"] == "unchanged" and set(batch["results"][0]["kept"]) == {"locale"}
    forced = client.put("/api/customers/CRM-1?overwrite_preferences=true", headers=AUTH,
                        json={"email": "anna@example.com", "locale": "de"})
    assert forced.json()["customer"]["locale"] == "de" and forced.json()["kept"] == {}
    assert_error(client.put("/api/customers/CRM-1?overwrite_preferences=1", headers=AUTH,
                            json={"email": "anna@example.com"}), 400, "overwrite_preferences")


def test_an_upsert_that_cannot_resubscribe_says_so(client):
    assert put(client).status_code == 201
    assert client.post("/api/customers/CRM-1/unsubscribe", headers=AUTH).status_code == 200
    response = put(client, status="active")
    assert response.json()["result"] == "unchanged" and response.json()["customer"]["status"] == "unsubscribed"
    assert "only the customer can subscribe again" in response.json()["kept"]["status"]
