"""The operator API's preferences, unsubscribe and consent trail, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from test_api import AUTH, assert_error, client, event_count, put  # noqa: F401 (client: a fixture)

PREFERENCES = "/api/customers/CRM-1/preferences"
EVENTS = "/api/customers/CRM-1/consent-events"


@pytest.fixture
def customer(client):
    assert put(client).status_code == 201
    return "CRM-1"


def patch(client, body, headers=None, path=PREFERENCES):
    """A PATCH as a careful client sends it: based on the version it read (If-Match), unless the
    test gives its own headers or a version in the body."""
    if headers is None:
        headers = dict(AUTH)
        current = client.get(path, headers=AUTH)
        if "version" not in body and current.status_code == 200:
            headers["If-Match"] = current.headers["etag"]
    return client.patch(path, json=body, headers=headers)


def trail(client, after=0):
    response = client.get(f"{EVENTS}?after={after}&limit=1000", headers=AUTH)
    assert response.status_code == 200, response.text
    return [(e["field"], e["old"], e["new"], e["channel"]) for e in response.json()["events"]]


def test_get_preferences_carries_the_version_as_etag(client, customer):
    response = client.get(PREFERENCES, headers=AUTH)
    assert response.json() == {**response.json(), "frequency": "weekly", "paused_until": None,
                               "excluded_groups": [], "locale": "de", "status": "active", "version": 1}
    assert response.headers["etag"] == '"1"'


def test_patch_changes_the_given_fields_with_one_event_each_in_order(client, customer):
    response = patch(client, {"frequency": "monthly", "paused_until": "2027-01-10",
                              "excluded_groups": ["kids", "outdoor", "kids"], "locale": "en"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changed"] == ["frequency", "paused_until", "excluded_groups", "locale"]
    assert body["preferences"] == {**body["preferences"], "frequency": "monthly", "paused_until": "2027-01-10",
                                   "excluded_groups": ["kids", "outdoor"], "locale": "en", "version": 2}
    assert response.headers["etag"] == '"2"'
    assert trail(client)[1:] == [
        ("frequency", "weekly", "monthly", "api"),
        ("paused_until", None, "2027-01-10", "api"),
        ("excluded_groups", [], ["kids", "outdoor"], "api"),
        ("locale", "de", "en", "api"),
    ]
    # Only what is given changes; a pause is ended with null.
    response = patch(client, {"paused_until": None, "frequency": "monthly"})
    assert response.json()["changed"] == ["paused_until"]
    assert response.json()["preferences"]["excluded_groups"] == ["kids", "outdoor"]
    assert trail(client)[-1] == ("paused_until", "2027-01-10", None, "api")
    assert client.get("/api/customers/CRM-1", headers=AUTH).json()["preferences"] == response.json()["preferences"]


def test_patch_without_changes_writes_nothing(client, engine, customer):
    before = event_count(engine)
    response = patch(client, {"frequency": "weekly", "excluded_groups": []})
    assert (response.status_code, response.json()["changed"], response.json()["preferences"]["version"]) == (200, [], 1)
    assert patch(client, {}).json()["changed"] == []
    assert event_count(engine) == before


BAD_PATCHES = [
    ({"frequency": "daily"}, "frequency"),
    ({"frequency": 7}, "frequency"),
    ({"excluded_groups": ["outdoor", "cars"]}, "excluded_groups"),
    ({"excluded_groups": "outdoor"}, "excluded_groups"),
    ({"excluded_groups": [1, 2]}, "excluded_groups"),
    ({"paused_until": "2020-01-01"}, "paused_until"),
    ({"paused_until": "2030-01-01"}, "paused_until"),
    ({"paused_until": "next week"}, "paused_until"),
    ({"paused_until": 20270101}, "paused_until"),
    ({"locale": "fr"}, "locale"),
    ({"status": "unsubscribed"}, "status"),
    ({"email": "x@example.com"}, "email"),
    ({"version": "1"}, "version"),
    ({"version": True}, "version"),
    ({"version": 0}, "version"),
]


@pytest.mark.parametrize("body, field", BAD_PATCHES, ids=[f"{case[1]}-{i}" for i, case in enumerate(BAD_PATCHES)])
def test_bad_patches_name_the_field_and_change_nothing(client, engine, customer, body, field):
    before = event_count(engine)
    assert_error(patch(client, {**body, "frequency": "monthly"} if field != "frequency" else body), 422, field)
    assert client.get(PREFERENCES, headers=AUTH).json()["version"] == 1
    assert event_count(engine) == before


def test_every_bad_field_is_named_at_once(client, customer):
    body = assert_error(patch(client, {"frequency": "daily", "excluded_groups": ["cars"], "locale": "fr"}), 422)
    assert set(body["fields"]) == {"frequency", "excluded_groups", "locale"}


def test_stale_if_match_is_412_and_stale_version_is_409(client, engine, customer):
    assert patch(client, {"frequency": "monthly"}, headers={**AUTH, "If-Match": '"1"'}).status_code == 200
    before = event_count(engine)
    stale = patch(client, {"frequency": "biweekly"}, headers={**AUTH, "If-Match": '"1"'})
    assert_error(stale, 412, "If-Match")
    assert stale.headers["etag"] == '"2"' and stale.json()["current_version"] == 2
    assert_error(patch(client, {"frequency": "biweekly", "version": 1}), 409, "version")
    assert_error(patch(client, {"frequency": "biweekly"}, headers={**AUTH, "If-Match": '"garbage"'}), 400, "If-Match")
    assert_error(patch(client, {"frequency": "biweekly"}, headers={**AUTH, "If-Match": "2"}), 400, "If-Match")
    assert_error(patch(client, {"frequency": "biweekly"}, headers={**AUTH, "If-Match": '"99"'}), 412, "If-Match")
    assert event_count(engine) == before
    assert client.get(PREFERENCES, headers=AUTH).json()["frequency"] == "monthly"

    assert patch(client, {"frequency": "biweekly"}, headers={**AUTH, "If-Match": 'W/"2"'}).status_code == 200
    assert patch(client, {"frequency": "weekly", "version": 3}).status_code == 200
    assert patch(client, {"frequency": "monthly"}, headers={**AUTH, "If-Match": "*"}).status_code == 200
    assert_error(patch(client, {"frequency": "weekly", "version": 4}, headers={**AUTH, "If-Match": '"5"'}), 400, "version")
    assert_error(patch(client, {"frequency": "weekly"}, headers={**AUTH, "If-Match": '"5", "6"'}), 400)


def test_a_patch_without_a_precondition_is_428_and_changes_nothing(client, engine, customer):
    """Last writer wins is how a customer's own choice gets lost: the API asks which version the
    change is based on (RFC 6585); `If-Match: *` is the explicit "whatever is there"."""
    before = event_count(engine)
    response = patch(client, {"frequency": "monthly"}, headers=AUTH)
    assert_error(response, 428, "If-Match")
    assert event_count(engine) == before and client.get(PREFERENCES, headers=AUTH).json()["version"] == 1
    # A bad field is still named first: the client learns every problem it can fix at once.
    assert_error(patch(client, {"frequency": "daily"}, headers=AUTH), 422, "frequency")
    assert patch(client, {"frequency": "monthly"}, headers={**AUTH, "If-Match": "*"}).status_code == 200


def test_patch_bad_requests(client, customer):
    assert_error(client.patch(PREFERENCES, content=b"{", headers={**AUTH, "Content-Type": "application/json"}), 400)
    assert_error(client.patch(PREFERENCES, content=b"frequency=weekly",
                              headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"}), 415)
    assert_error(patch(client, {"frequency": "weekly"}, path="/api/customers/CRM-404/preferences"), 404)
    assert_error(patch(client, {"frequency": "weekly"}, headers={}), 401)


def test_unsubscribe_is_idempotent_and_recorded(client, engine, customer):
    first = client.post("/api/customers/CRM-1/unsubscribe", headers=AUTH)
    assert first.json() == {"external_id": "CRM-1", "status": "unsubscribed", "changed": True}
    events = event_count(engine)
    second = client.post("/api/customers/CRM-1/unsubscribe", headers=AUTH)
    assert (second.status_code, second.json()["changed"]) == (200, False)
    assert event_count(engine) == events
    assert trail(client)[-1] == ("status", "active", "unsubscribed", "api")
    preferences = client.get(PREFERENCES, headers=AUTH)
    assert (preferences.json()["status"], preferences.json()["version"]) == ("unsubscribed", 2)
    assert_error(client.get("/api/customers/CRM-1/unsubscribe", headers=AUTH), 405)
    assert_error(client.post("/api/customers/CRM-404/unsubscribe", headers=AUTH), 404)


def test_consent_events_are_paged_in_order(client, customer):
    for frequency in ("monthly", "biweekly", "weekly", "monthly"):
        patch(client, {"frequency": frequency})
    everything = client.get(EVENTS, headers=AUTH).json()
    assert [e["field"] for e in everything["events"]] == ["created"] + ["frequency"] * 4
    assert everything["next_after"] is None
    ids = [e["id"] for e in everything["events"]]
    assert ids == sorted(ids)

    seen, after = [], 0
    while after is not None:
        page = client.get(f"{EVENTS}?limit=2&after={after}", headers=AUTH).json()
        assert len(page["events"]) <= 2
        seen += [e["id"] for e in page["events"]]
        after = page["next_after"]
    assert seen == ids
    assert client.get(f"{EVENTS}?after={ids[-1]}", headers=AUTH).json() == {"events": [], "next_after": None}


def test_consent_events_of_one_customer_only(client, customer):
    put(client, "CRM-2", email="other@example.com")
    patch(client, {"frequency": "monthly"}, path="/api/customers/CRM-2/preferences")
    assert [e["field"] for e in client.get(EVENTS, headers=AUTH).json()["events"]] == ["created"]


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"),
    ("after=-5", "after"), ("after=1.5", "after"), ("after=99999999999999999999999", "after"),
    ("after=%D9%A3", "after"), ("after=", "after"), ("limit=", "limit"), ("after=&limit=10", "after"),
])
def test_bad_paging_parameters_are_400(client, customer, query, field):
    assert_error(client.get(f"{EVENTS}?{query}", headers=AUTH), 400, field)


def test_a_patch_with_a_refused_field_writes_nothing_and_names_every_bad_field(client, customer, engine):
    before = client.get(PREFERENCES, headers=AUTH).json()
    events = event_count(engine)
    response = patch(client, {"frequency": "monthly", "paused_until": 5, "excluded_groups": ["no-such-group"]})
    assert_error(response, 422, "paused_until", "excluded_groups")
    assert client.get(PREFERENCES, headers=AUTH).json() == before  # frequency not changed, version not bumped
    assert event_count(engine) == events


def test_every_api_change_names_the_key_that_made_it_never_its_secret(engine):
    from test_api import make_client
    client = make_client(engine, keys=(("crm-sync", "a-secret-of-the-crm-0123"), "a-bare-secret-0123456789"))
    named = {"Authorization": "Bearer a-secret-of-the-crm-0123"}
    bare = {"Authorization": "Bearer a-bare-secret-0123456789"}
    assert put(client, headers=named).status_code == 201
    assert client.post("/api/customers:batch", headers=named, json={"customers": [
        {"external_id": "CRM-2", "email": "b@example.com"}]}).status_code == 200
    assert patch(client, {"frequency": "monthly"}, headers={**bare, "If-Match": '"1"'}).status_code == 200
    assert client.post("/api/customers/CRM-1/unsubscribe", headers=named).status_code == 200
    events = client.get(f"{EVENTS}?limit=1000", headers=bare).json()["events"]
    assert [(e["field"], e["actor"]) for e in events] == [
        ("created", "crm-sync"), ("frequency", "key-2"), ("status", "crm-sync")]
    other = client.get("/api/customers/CRM-2/consent-events", headers=bare).json()["events"]
    assert [(e["field"], e["actor"]) for e in other] == [("created", "crm-sync")]
    with engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.exec_driver_sql("SELECT * FROM consent_event") for v in row)
    assert "secret" not in stored and "crm-sync" in stored


def test_a_change_on_the_page_names_no_api_key(engine):
    from preferences import store
    from preferences.models import Channel
    from sqlmodel import Session
    from test_api import make_client
    client = make_client(engine)
    assert put(client).status_code == 201
    with Session(engine) as session:
        customer = store.get_customer_by_external_id(session, "CRM-1")
        store.unsubscribe(session, customer, Channel.PAGE, "h" * 64)
        session.commit()
    events = client.get(EVENTS, headers=AUTH).json()["events"]
    assert [(e["field"], e["actor"], e["client_hash"]) for e in events] == [
        ("created", "key-1", None), ("status", None, "h" * 64)]


def test_a_customer_created_with_any_id_gets_a_location_it_can_be_read_at(client):
    """Found by the fuzz: a Location header with a non-Latin-1 id was a 500."""
    response = put(client, external_id="Kundé-ß-测试")
    assert response.status_code == 201
    assert response.headers["location"] == "/api/customers/Kund%C3%A9-%C3%9F-%E6%B5%8B%E8%AF%95"
    assert client.get(response.headers["location"], headers=AUTH).json()["external_id"] == "Kundé-ß-测试"


@pytest.mark.parametrize("query", ["limt=5", "=null", "after=1&extra=2"])
def test_an_unknown_query_parameter_is_400(client, customer, query):
    body = assert_error(client.get(f"{EVENTS}?{query}", headers=AUTH), 400)
    assert "unknown query parameter" in body["error"]
    assert_error(client.get(f"/api/customers/CRM-1?{query}", headers=AUTH), 400)


def test_click_measuring_is_shown_and_changed_like_the_other_choices(client, customer):
    assert client.get(PREFERENCES, headers=AUTH).json()["click_tracking"] is True
    response = patch(client, {"click_tracking": False})
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == ["click_tracking"]
    assert response.json()["preferences"]["click_tracking"] is False
    assert client.get(PREFERENCES, headers=AUTH).json()["click_tracking"] is False
    assert trail(client)[-1] == ("click_tracking", True, False, "api")
    assert patch(client, {"click_tracking": False}).json()["changed"] == []  # no change, no event


@pytest.mark.parametrize("value", ["false", 0, None, []])
def test_click_measuring_is_true_or_false(client, customer, value):
    response = patch(client, {"click_tracking": value})
    assert response.status_code == 422, response.text
    assert set(response.json()["fields"]) == {"click_tracking"}
    assert client.get(PREFERENCES, headers=AUTH).json()["click_tracking"] is True
