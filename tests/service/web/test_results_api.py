"""``GET /api/results``: the same figures as the CLI and the pages, behind the API's keys, in its
OpenAPI document, and fuzzed from that document like the rest of the API."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from starlette.testclient import TestClient

from bounce_samples import report_about
from preferences.mail.bounce_mail import read_bounce_mail
from preferences.suppression.recording import SoftBounceRule
from preferences.suppression.return_path import ReturnPath
from service.lifecycle.bounces import record_batch
from service.results.deliverability import deliverability_by_edition
from service.results.export import records
from service.results.figures import Period, results_by
from service.results.refresh import refresh
from service.settings import Settings
from service.web.app import create_app
from api_fuzz import call_and_validate
from send_fixtures import (EDITION, add_customers, age_deliveries, db_url, engine,  # noqa: F401
                           migrated_postgres_url, send_demo_edition, settings_for)

KEY = "results-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
BASE = "http://127.0.0.1:8000"
TRACKED = re.compile(re.escape(BASE) + r"(/r/~?[A-Za-z0-9_.-]+/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22})")


@pytest.fixture
def client(engine, db_url, tmp_path):
    add_customers(engine, 16)
    messages, _ = send_demo_edition(engine, db_url, tmp_path / "outbox")
    age_deliveries(engine)
    app = create_app(replace(settings_for(db_url), api_keys=(("bi", KEY),)))
    with TestClient(app, base_url=BASE) as client:
        for message in messages[:5]:
            client.get(TRACKED.findall(message.get_body(("html",)).get_content())[0], follow_redirects=False)
        app.state.clicks.flush()
        refresh(engine)
        yield client


@pytest.mark.parametrize("by", ["edition", "block", "team", "link", "segment", "variant", "product-group"])
def test_the_figures_are_the_same_as_everywhere(client, engine, by):
    response = client.get("/api/results", params={"by": by}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    with engine.connect() as conn:
        period = Period("weekly", EDITION, EDITION)
        expected = records(results_by(conn, period, by), by, deliverability_by_edition(conn, period))
    assert body["rows"] == expected and (body["from"], body["to"]) == ("2026-11-23", "2026-11-23")
    assert body["refreshed_at"] and body["template"] == "weekly" and body["by"] == by


def test_the_editions_carry_their_bounce_and_complaint_rates(client, engine, tmp_path):
    import mailbox
    from email import message_from_bytes, policy

    messages = sorted((message_from_bytes(m.as_bytes(), policy=policy.default)
                       for m in mailbox.Maildir(tmp_path / "outbox")), key=lambda m: str(m["To"]))
    [quiet] = client.get("/api/results", headers=AUTH).json()["rows"]
    assert (quiet["sent"], quiet["hard_bounces"], quiet["hard_bounce_rate"], quiet["warnings"]) == (16, 0, 0.0, [])
    reports = [r for n, (m, kind) in enumerate([(messages[0], "hard"), (messages[1], "soft"), (messages[2], "soft")])
               for r in read_bounce_mail(report_about(m, kind, n))]
    record_batch(engine, reports, ReturnPath(Settings().bounce_address, Settings().link_keys), SoftBounceRule())
    [row] = client.get("/api/results", headers=AUTH).json()["rows"]
    assert {name: row[name] for name in ("sent", "hard_bounces", "hard_bounce_rate", "soft_bounces",
                                         "soft_bounce_rate", "complaints", "complaint_rate", "warnings")} == {
        "sent": 16, "hard_bounces": 1, "hard_bounce_rate": 0.0625, "soft_bounces": 2, "soft_bounce_rate": 0.125,
        "complaints": 0, "complaint_rate": 0.0, "warnings": ["hard-bounce-rate"]}
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["Results"]
    assert schema["properties"]["rows"]["items"]["properties"]["warnings"]["items"]["enum"] == \
        ["complaint-rate", "hard-bounce-rate"]
    block = client.get("/api/results", params={"by": "block"}, headers=AUTH).json()["rows"][0]
    assert "sent" not in block and "warnings" not in block  # by edition only


def test_a_team_and_a_range(client):
    rows = client.get("/api/results", params={"by": "block", "team": "offers", "from": "2026-11-01",
                                              "to": "2026-11-30"}, headers=AUTH).json()["rows"]
    assert rows and all(row["team"] == "offers" for row in rows)


@pytest.mark.parametrize("params, field", [
    ({"by": "colour"}, "by"), ({"from": "23.11.2026"}, "from"), ({"to": "2026-13-01"}, "to"),
    ({"from": "2026-12-01", "to": "2026-11-01"}, "from"), ({"limit": "5"}, "limit"), ({"template": ""}, "template"),
])
def test_bad_parameters_are_400_naming_the_field(client, params, field):
    response = client.get("/api/results", params=params, headers=AUTH)
    assert response.status_code == 400 and field in response.json()["fields"]


def test_it_needs_a_key_and_is_in_the_document(client):
    assert client.get("/api/results").status_code == 401
    assert client.get("/api/results", headers={"Authorization": "Bearer wrong"}).status_code == 401
    document = client.get("/api/openapi.json").json()
    operation = document["paths"]["/api/results"]["get"]
    assert operation["operationId"] == "getResults" and "Results" in document["components"]["schemas"]
    assert {p["$ref"].rsplit("/", 1)[1] for p in operation["parameters"]} <= set(document["components"]["parameters"])


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    from preferences.database import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('results-fuzz') / 'newsletter.db'}"
    upgrade(url)
    app = create_app(replace(settings_for(url), api_keys=(("bi", KEY),)))
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_the_results_operation_keeps_its_schema_under_fuzzing(fuzzed, mode):
    operation = next(r.ok() for r in fuzzed.get_all_operations() if r.ok().label == "GET /api/results")

    @settings(max_examples=100, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        call_and_validate(case, KEY)

    fuzz()
