"""The whole app as `newsletter serve` runs it: preference centre, CSRF, one-click, double opt-in."""

from __future__ import annotations

import mailbox
import re
import shutil
from dataclasses import replace

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from sqlalchemy import select

from preferences.customers import CustomerData
from preferences.database import make_engine, upgrade
from preferences.links import LinkSigner, Purpose
from preferences.optin.tables import outbox
from preferences.store import create_customer, get_customer_by_external_id, list_consent_events
from repo_paths import CONTENT
from send_fixtures import free_port, wait_until
from service.settings import Settings
from service.web.app import create_app

FORM_FIELD = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


@pytest.fixture
def app_env(tmp_path):
    shutil.copytree(CONTENT, tmp_path / "content")
    url = f"sqlite:///{tmp_path}/n.db"
    upgrade(url)
    settings = replace(Settings.from_env({}), database_url=url, content_dir=tmp_path / "content",
                       relay=f"maildir:{tmp_path}/outbox")
    engine = make_engine(url)
    with Session(engine) as session:
        customer = create_customer(session, CustomerData(external_id="C1", email="ada@example.com",
                                                         first_name="Ada", locale="en"),
                                   "import", default_locale="de")
        session.commit()
        public_id = customer.public_id
    # Entered, so the app's lifespan runs its background threads (the outbox worker among them).
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        yield client, LinkSigner(settings.link_keys), public_id, engine, tmp_path
    engine.dispose()


def delivered(outbox, count: int) -> list:
    """The messages in the Maildir once there are ``count`` (the outbox worker sends them from
    its thread, a moment after the request that queued them)."""
    wait_until(lambda: (outbox / "new").is_dir() and len(list(mailbox.Maildir(outbox, create=False))) >= count)
    return list(mailbox.Maildir(outbox, create=False))


def status(engine, external_id="C1"):
    with Session(engine) as session:
        return get_customer_by_external_id(session, external_id).status


def form(html: str, action: str) -> dict[str, str]:
    start = html.index(f'action="{action}"')
    end = html.index("</form>", start)
    return dict(FORM_FIELD.findall(html[start:end]))


def test_one_click_unsubscribe_through_the_app(app_env):
    client, signer, public_id, engine, _ = app_env
    path = "/unsubscribe/" + signer.sign(public_id, Purpose.UNSUBSCRIBE)
    for _ in range(3):
        assert client.get(path).status_code == 200  # a link scanner changes nothing
    assert status(engine) == "active"
    response = TestClient(client.app).post(path, data={"List-Unsubscribe": "One-Click"})  # no cookies
    assert response.status_code == 200 and status(engine) == "unsubscribed"


def test_page_post_without_csrf_token_is_refused(app_env):
    client, signer, public_id, engine, _ = app_env
    path = "/preferences/" + signer.sign(public_id, Purpose.PREFERENCES)
    assert client.get(path).status_code == 200
    response = client.post(path, data={"frequency": "monthly", "version": "1"})
    assert response.status_code == 403


def test_resubscribe_mails_a_one_time_confirm_link(app_env):
    client, signer, public_id, engine, tmp_path = app_env
    path = "/preferences/" + signer.sign(public_id, Purpose.PREFERENCES)
    page = client.get(path).text
    assert client.post(f"{path}/unsubscribe", data=form(page, f"{path}/unsubscribe")).status_code == 200
    page = client.get(path).text
    assert client.post(f"{path}/resubscribe", data=form(page, f"{path}/resubscribe")).status_code == 200
    assert status(engine) == "pending"

    messages = delivered(tmp_path / "outbox", 1)
    assert len(messages) == 1 and messages[0]["To"] == "ada@example.com"
    assert messages[0]["Subject"] == "Please confirm your subscription"
    text = messages[0].get_payload(decode=True).decode(messages[0].get_content_charset())
    confirm = re.search(r"http://127\.0\.0\.1:8000(/confirm/\S+)", text).group(1)
    page = client.get(confirm).text
    assert client.post(confirm, data=form(page, confirm)).status_code == 200
    assert status(engine) == "active"
    assert client.get(confirm).status_code == 404  # works once
    with Session(engine) as session:
        fields = [e.field for e in list_consent_events(session, get_customer_by_external_id(session, "C1").id)]
    assert fields == ["created", "status", "status", "status"]


def test_the_operator_api_is_served_without_csrf(app_env, monkeypatch):
    client, *_ = app_env
    settings = replace(client.app.state.settings, api_keys=("operator-key-0123456789",))
    api = TestClient(create_app(settings))
    assert api.get("/api/openapi.json").json()["openapi"].startswith("3.1")
    headers = {"Authorization": "Bearer operator-key-0123456789"}
    response = api.put("/api/customers/C2", headers=headers,
                       json={"email": "bo@example.com", "first_name": "Bo", "locale": "de"})
    assert response.status_code == 201, response.text
    assert api.get("/api/customers/C2", headers=headers).json()["email"] == "bo@example.com"
    assert api.get("/api/customers/C2").status_code == 401


def confirm_links(outbox, count: int) -> list[str]:
    links = []
    for message in delivered(outbox, count):
        text = message.get_payload(decode=True).decode("utf-8")
        links += re.findall(r"http://127\.0\.0\.1:8000(/confirm/\S+)", text)
    return links


def test_a_customer_the_api_creates_as_pending_gets_the_confirmation_mail(app_env):
    """Issue 10.4: every path that makes a customer pending sends the double opt-in mail."""
    client, _, _, engine, tmp_path = app_env
    settings = replace(client.app.state.settings, api_keys=(("crm", "operator-key-0123456789"),))
    headers = {"Authorization": "Bearer operator-key-0123456789"}
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as api:
        one = api.put("/api/customers/C2", headers=headers, json={"email": "bo@example.com", "status": "pending"})
        assert one.status_code == 201 and one.json()["confirmation"] == "queued"
        batch = api.post("/api/customers:batch", headers=headers, json={"customers": [
            {"external_id": "C3", "email": "cy@example.com", "status": "pending", "locale": "en"},
            {"external_id": "C4", "email": "di@example.com"}]}).json()
        assert [r.get("confirmation") for r in batch["results"]] == ["queued", None]  # C4 is active: no mail
        assert "confirmation" not in api.put("/api/customers/C2", headers=headers,
                                             json={"email": "bo@example.com"}).json()  # not newly pending
        links = confirm_links(tmp_path / "outbox", 2)
        assert len(links) == 2
        page = api.get(links[0])
        assert page.status_code == 200
        assert api.post(links[0], data=form(page.text, links[0])).status_code == 200
    assert {status(engine, "C2"), status(engine, "C3")} == {"active", "pending"}


def test_a_relay_that_is_down_delays_the_confirmation_and_never_loses_it(app_env):
    client, _, _, engine, tmp_path = app_env
    settings = replace(client.app.state.settings, api_keys=("operator-key-0123456789",),
                       relay=f"smtp://127.0.0.1:{free_port()}?timeout=2&retries=0")
    with TestClient(create_app(settings)) as api:
        response = api.put("/api/customers/C2", headers={"Authorization": "Bearer operator-key-0123456789"},
                           json={"email": "bo@example.com", "status": "pending"})
        assert response.status_code == 201 and response.json()["confirmation"] == "queued"
        wait_until(lambda: _outbox(engine) == [("queued", 1)])  # tried once, waiting for its back-off
    assert status(engine, "C2") == "pending"


def _outbox(engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(outbox.c.state, outbox.c.attempts))]
