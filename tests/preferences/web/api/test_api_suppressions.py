"""``/api/suppressions``: list (newest first, by reason, by address in any case, a page at a time),
one entry with its reports, suppress by hand, lift; the API key named in the consent trail; a lift
that does not resubscribe; every mistake a JSON 4xx; and an address suppressed through the API
skipped by a real send. On SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select
from sqlmodel import Session

from preferences import store as customers
from preferences.customers import CustomerData
from preferences.database import make_engine
from preferences.models import Channel, consent_event_table
from preferences.suppression import store
from preferences.suppression.tables import COMPLAINED, HARD_BOUNCE, bounce_report
from preferences.web.api import suppressions
from send_fixtures import add_customers, db_url, migrated_postgres_url, send_demo_edition  # noqa: F401
from test_api import KEY, assert_error, make_client

AUTH = {"Authorization": f"Bearer {KEY}"}


def client_for(engine):
    return make_client(engine, keys=(("ops-console", KEY),),
                       extensions=lambda centre: (suppressions.extension(centre),))


@pytest.fixture
def client(engine):
    return client_for(engine)


def add_customer(engine, external_id="CRM-1", email="Anna.Berg@Example.com") -> int:
    with Session(engine) as session:
        customer = customers.create_customer(session, CustomerData(external_id=external_id, email=email),
                                             Channel.IMPORT, default_locale="de")
        session.commit()
        return customer.id


def trail(engine):
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(consent_event_table.c.old_value, consent_event_table.c.new_value, consent_event_table.c.channel,
                   consent_event_table.c.actor)
            .where(consent_event_table.c.field == "suppressed").order_by(consent_event_table.c.id))]


def suppress(client, email, note="asked by phone"):
    return client.post("/api/suppressions", json={"email": email, "note": note}, headers=AUTH)


def test_an_operator_suppresses_an_address_once_named_in_the_trail(client, engine):
    add_customer(engine)
    created = suppress(client, "anna.berg@EXAMPLE.com")
    assert created.status_code == 201, created.text
    entry = created.json()
    assert created.headers["location"] == f"/api/suppressions/{entry['id']}"
    assert {k: entry[k] for k in ("email", "reason", "detail", "actor", "customer", "reports")} == {
        "email": "anna.berg@example.com", "reason": "manual", "detail": "asked by phone", "actor": "ops-console",
        "customer": {"external_id": "CRM-1", "status": "active"}, "reports": []}
    assert datetime.fromisoformat(entry["created_at"]).tzinfo is not None
    # Again, in another case and with another note: the entry as it is, 200, nothing written.
    again = suppress(client, "ANNA.BERG@example.com", note="another reason")
    assert again.status_code == 200 and again.json() == entry
    assert again.headers["location"] == created.headers["location"]
    assert client.get(created.headers["location"], headers=AUTH).json() == entry
    assert trail(engine) == [(None, '"manual"', "api", "ops-console")]


def test_an_address_that_is_nobodys_is_suppressed_without_an_event(client, engine):
    entry = suppress(client, "nobody@example.com").json()
    assert entry["customer"] is None and trail(engine) == []


def test_lifting_names_the_key_and_then_the_entry_is_gone(client, engine):
    add_customer(engine)
    location = suppress(client, "anna.berg@example.com").headers["location"]
    lifted = client.delete(location, headers=AUTH)
    assert lifted.status_code == 204 and lifted.content == b""
    assert_error(client.get(location, headers=AUTH), 404)
    assert_error(client.delete(location, headers=AUTH), 404)
    with engine.connect() as conn:
        assert store.suppression_of(conn, "anna.berg@example.com") is None
    assert trail(engine) == [(None, '"manual"', "api", "ops-console"), ('"manual"', None, "api", "ops-console")]


def test_lifting_a_complaint_does_not_resubscribe(client, engine):
    customer_id = add_customer(engine)
    with Session(engine) as session:
        customers.unsubscribe(session, customers.get_customer_by_external_id(session, "CRM-1"), Channel.COMPLAINT)
        store.suppress(session.connection(), "anna.berg@example.com", COMPLAINED, Channel.COMPLAINT,
                       customer_id=customer_id, detail="abuse")
        session.commit()
    [entry] = client.get("/api/suppressions", headers=AUTH).json()["suppressions"]
    assert entry["customer"] == {"external_id": "CRM-1", "status": "unsubscribed"}
    assert client.delete(f"/api/suppressions/{entry['id']}", headers=AUTH).status_code == 204
    assert client.get("/api/customers/CRM-1", headers=AUTH).json()["status"] == "unsubscribed"
    assert client.get("/api/suppressions", headers=AUTH).json()["suppressions"] == []


def test_the_list_newest_first_by_reason_by_address_and_in_pages(client, engine):
    with engine.begin() as conn:
        store.suppress(conn, "old@example.com", HARD_BOUNCE, Channel.BOUNCE, detail="5.1.1 user unknown")
    for n in range(5):
        assert suppress(client, f"kunde.{n}@example.com", note=f"note {n}").status_code == 201
    listed = client.get("/api/suppressions", headers=AUTH).json()
    assert [e["email"] for e in listed["suppressions"]] == [
        *(f"kunde.{n}@example.com" for n in reversed(range(5))), "old@example.com"]
    assert listed["next_after"] is None
    pages, after = [], None
    while True:
        page = client.get("/api/suppressions", params={"limit": 2, **({"after": after} if after else {})},
                          headers=AUTH).json()
        pages.append([e["email"] for e in page["suppressions"]])
        after = page["next_after"]
        if after is None:
            break
    assert [len(p) for p in pages] == [2, 2, 2] and sum(pages, []) == [e["email"] for e in listed["suppressions"]]
    [bounced] = client.get("/api/suppressions", params={"reason": "hard-bounce"}, headers=AUTH).json()["suppressions"]
    assert (bounced["email"], bounced["detail"], bounced["actor"]) == ("old@example.com", "5.1.1 user unknown", None)
    [one] = client.get("/api/suppressions", params={"email": " Kunde.3@EXAMPLE.com"}, headers=AUTH
                       ).json()["suppressions"]
    assert one["email"] == "kunde.3@example.com" and one["detail"] == "note 3"
    assert client.get("/api/suppressions", params={"email": "kunde.3@example.co"}, headers=AUTH
                      ).json()["suppressions"] == []


def test_one_entry_shows_the_reports_behind_it(client, engine):
    customer_id = add_customer(engine)
    with engine.begin() as conn:
        store.suppress(conn, "anna.berg@example.com", HARD_BOUNCE, Channel.BOUNCE, detail="5.1.1 user unknown")
        conn.execute(bounce_report.insert(), [dict(
            report_key=f"<r{n}@mx.example>", kind="hard", source="webhook", address="anna.berg@example.com",
            customer_id=customer_id, template="weekly", edition_date=datetime(2026, 11, 23).date(),
            message_id=f"<m{n}@weekly.example>", status="5.1.1", detail=f"smtp; 550 try {n}",
            reported_at=datetime(2026, 11, 24, n, tzinfo=timezone.utc),
            recorded_at=datetime(2026, 11, 24, 12, tzinfo=timezone.utc)) for n in range(7)])
    [entry] = client.get("/api/suppressions", headers=AUTH).json()["suppressions"]
    detail = client.get(f"/api/suppressions/{entry['id']}", headers=AUTH).json()
    assert {k: v for k, v in detail.items() if k != "reports"} == entry
    assert [r["detail"] for r in detail["reports"]] == [f"smtp; 550 try {n}" for n in (6, 5, 4, 3, 2)]
    assert detail["reports"][0] == {"kind": "hard", "source": "webhook", "status": "5.1.1",
                                    "detail": "smtp; 550 try 6", "template": "weekly", "edition_date": "2026-11-23",
                                    "message_id": "<m6@weekly.example>",
                                    "reported_at": detail["reports"][0]["reported_at"]}
    assert datetime.fromisoformat(detail["reports"][0]["reported_at"]) == datetime(2026, 11, 24, 6, tzinfo=timezone.utc)


@pytest.mark.parametrize("method, path", [("GET", "/api/suppressions"), ("GET", "/api/suppressions/1"),
                                          ("POST", "/api/suppressions"), ("DELETE", "/api/suppressions/1")])
def test_every_operation_needs_a_key(client, engine, method, path):
    with engine.begin() as conn:
        store.suppress(conn, "nobody@example.com", HARD_BOUNCE, Channel.BOUNCE)
    body = {"email": "a@example.com", "note": "x"} if method == "POST" else None
    assert_error(client.request(method, path, json=body), 401)
    assert_error(client.request(method, path, json=body, headers={"Authorization": "Bearer wrong"}), 401)
    with engine.connect() as conn:
        assert store.suppression_of(conn, "nobody@example.com") is not None
        assert store.suppression_of(conn, "a@example.com") is None


@pytest.mark.parametrize("params, field", [
    ({"reason": "spam"}, "reason"), ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"),
    ({"after": "0"}, "after"), ({"after": "x"}, "after"), ({"email": ""}, "email"), ({"email": "a\x00@b.c"}, "email"),
    ({"email": "a" * 321}, "email"), ({"cursor": "1"}, "cursor"),
])
def test_bad_list_parameters_are_400_naming_them(client, params, field):
    assert_error(client.get("/api/suppressions", params=params, headers=AUTH), 400, field)


@pytest.mark.parametrize("body, fields", [
    ({"email": "not an address", "note": "x"}, {"email"}), ({"email": "a@example.com"}, {"note"}),
    ({"email": "a@example.com", "note": "  "}, {"note"}), ({"email": "a@example.com", "note": "a\nb"}, {"note"}),
    ({"email": "a@example.com", "note": "x" * 501}, {"note"}), ({"note": 3}, {"email", "note"}),
    ({"email": "a@example.com", "note": "x", "reason": "hard-bounce"}, {"reason"}),
])
def test_bad_bodies_are_422_naming_every_field_and_write_nothing(client, engine, body, fields):
    assert set(assert_error(client.post("/api/suppressions", json=body, headers=AUTH), 422)["fields"]) == fields
    assert client.get("/api/suppressions", headers=AUTH).json()["suppressions"] == []


def test_unreadable_bodies_and_unknown_ids(client):
    assert_error(client.post("/api/suppressions", content=b"{", headers={**AUTH, "Content-Type": "application/json"}),
                 400)
    assert_error(client.post("/api/suppressions", content=b"email=a@example.com",
                             headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"}), 415)
    assert_error(client.post("/api/suppressions", json=["a@example.com"], headers=AUTH), 422, "body")
    for path in ("/api/suppressions/999", "/api/suppressions/abc", "/api/suppressions/0", "/api/suppressions/-1",
                 f"/api/suppressions/{2**70}"):
        assert_error(client.get(path, headers=AUTH), 404)
        assert_error(client.delete(path, headers=AUTH), 404)


def test_the_operations_are_in_the_document(client):
    document = client.get("/api/openapi.json").json()
    validate(document)  # still valid OpenAPI 3.1 with them
    paths = document["paths"]
    assert paths["/api/suppressions"]["get"]["operationId"] == "listSuppressions"
    assert paths["/api/suppressions"]["post"]["operationId"] == "suppressAddress"
    assert set(paths["/api/suppressions"]["post"]["responses"]) >= {"200", "201", "401", "415", "422"}
    assert paths["/api/suppressions/{id}"]["get"]["operationId"] == "getSuppression"
    lift = paths["/api/suppressions/{id}"]["delete"]
    assert lift["operationId"] == "liftSuppression" and lift["responses"]["204"] == {"description": "Lifted"}
    assert "stays unsubscribed" in lift["description"]
    assert {"Suppression", "SuppressionDetail", "SuppressionPage", "SuppressionInput"} <= set(
        document["components"]["schemas"])


def test_an_address_suppressed_through_the_api_is_skipped_by_the_send(db_url, tmp_path):  # noqa: F811
    engine = make_engine(db_url)
    try:
        add_customers(engine, 4)
        client = client_for(engine)
        assert suppress(client, "KUNDE.2@example.com").status_code == 201
        messages, deliveries = send_demo_edition(engine, db_url, tmp_path / "outbox")
    finally:
        engine.dispose()
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == ["kunde.1@example.com", "kunde.3@example.com", "kunde.4@example.com"]
    assert (deliveries[2].state, deliveries[2].reason) == ("skipped", "suppressed")
