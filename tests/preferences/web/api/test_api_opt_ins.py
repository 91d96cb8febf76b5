"""``GET /api/customers/{id}/opt-ins`` through the whole app: the proof of a signup and its
confirmation with the exact wording, 404 for an unknown customer, 401 without a key, in the
OpenAPI document and fuzzed from it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import select
from starlette.testclient import TestClient

from preferences.database import upgrade
from preferences.models import customer_table
from repo_paths import CONTENT
from service.settings import Settings
from service.web.app import create_app
from api_fuzz import call_and_validate
from html_forms import as_form, edit, form_fields

KEY = "proof-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


def app_for(tmp_path):
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    settings_ = replace(Settings.from_env({}), database_url=url, content_dir=CONTENT, api_keys=(("audit", KEY),),
                        relay=f"maildir:{tmp_path / 'relay'}")
    return create_app(settings_)


def test_the_proof_of_a_signup_and_its_confirmation(tmp_path):
    app = app_for(tmp_path)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        page = client.get("/signup?lang=en").text
        fields = edit(form_fields(page, "/signup?lang=en"), email="ida@example.com", groups=["garden"])
        assert client.post("/signup?lang=en", data=as_form(fields), headers={"User-Agent": "Firefox/140"}
                           ).status_code == 200
        with app.state.engine.connect() as conn:
            external_id = conn.execute(select(customer_table.c.external_id)).scalar_one()
        [pending] = client.get(f"/api/customers/{external_id}/opt-ins", headers=AUTH).json()["opt_ins"]
        assert (pending["channel"], pending["source"], pending["user_agent"]) == ("signup", "hosted", "Firefox/140")
        assert pending["wording"]["text"].startswith("Yes, I would like to get the Weekly newsletter")
        assert pending["confirmation"] is None and len(pending["asked_for"]["excluded_groups"]) == 7
        link = _confirm_link(tmp_path / "relay")
        shown = client.get(link).text
        client.post(link, data=as_form(form_fields(shown, link)), headers={"User-Agent": "Safari/18"})
        [done] = client.get(f"/api/customers/{external_id}/opt-ins", headers=AUTH).json()["opt_ins"]
    confirmation = done["confirmation"]
    assert confirmation["channel"] == "page" and confirmation["user_agent"] == "Safari/18"
    assert confirmation["wording"]["text"].startswith("By confirming, you agree")
    assert confirmation["wording"]["version"].startswith("en-")


def test_unknown_customers_keys_and_the_document(tmp_path):
    with TestClient(app_for(tmp_path)) as client:
        assert client.get("/api/customers/nobody/opt-ins", headers=AUTH).status_code == 404
        assert client.get("/api/customers/nobody/opt-ins").status_code == 401
        document = client.get("/api/openapi.json").json()
    assert document["paths"]["/api/customers/{external_id}/opt-ins"]["get"]["operationId"] == "listOptIns"
    assert {"OptIn", "OptIns"} <= set(document["components"]["schemas"])


def _confirm_link(relay) -> str:
    import mailbox
    from send_fixtures import wait_until
    wait_until(lambda: (relay / "new").is_dir() and len(list(mailbox.Maildir(relay, create=False))) == 1)
    [message] = list(mailbox.Maildir(relay, create=False))
    text = message.get_payload(decode=True).decode("utf-8")
    return re.search(r"http://127\.0\.0\.1:8000(/confirm/\S+)", text).group(1)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    return schemathesis.openapi.from_asgi("/api/openapi.json", app_for(tmp_path_factory.mktemp("opt-ins-fuzz")))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_the_operation_keeps_its_schema_under_fuzzing(fuzzed, mode):
    operation = next(r.ok() for r in fuzzed.get_all_operations()
                     if r.ok().label == "GET /api/customers/{external_id}/opt-ins")

    @settings(max_examples=60, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        call_and_validate(case, KEY)

    fuzz()
