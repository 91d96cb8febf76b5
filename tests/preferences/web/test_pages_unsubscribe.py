"""Unsubscribing (RFC 8058 one-click, the confirm page, the page's button), and coming back only
through a confirmation email: a leaked link can narrow consent, never widen it back."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.testclient import TestClient

from preferences import store
from preferences.links import Purpose
from preferences.store import confirm_link_context
from test_pages_support import TESTCLIENT_HASH, as_form, edit, form_fields, site  # noqa: F401

ONE_CLICK = "List-Unsubscribe=One-Click"


def fresh_client(site) -> TestClient:
    """A client with no cookies, like a mail provider's server."""
    return TestClient(site.client.app)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_unsubscribes_at_once_without_cookie_or_token_and_is_idempotent(site, encoding):
    public_id = site.customer()
    client = fresh_client(site)
    path = site.path(public_id, Purpose.UNSUBSCRIBE)

    def post():
        if encoding == "urlencoded":
            return client.post(path, content=ONE_CLICK, follow_redirects=False,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        return client.post(path, files={"List-Unsubscribe": (None, "One-Click")}, follow_redirects=False)

    first = post()
    assert first.status_code == 200 and "location" not in first.headers
    assert "set-cookie" not in first.headers
    assert "Sie sind abgemeldet" in first.text
    assert site.state(public_id)["status"] == "unsubscribed"
    second = post()
    assert second.status_code == 200
    events = site.events(public_id)
    assert [(e.field, e.old, e.new, e.channel) for e in events] == [("status", "active", "unsubscribed", "one-click")]
    assert events[0].client_hash == TESTCLIENT_HASH


def test_one_click_works_even_with_a_csrf_cookie_present(site):
    public_id = site.customer()
    site.client.get(site.path(public_id))  # the browser has the cookie now
    response = site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and site.state(public_id)["status"] == "unsubscribed"


@pytest.mark.parametrize("content_type, body", [
    ("application/x-www-form-urlencoded", "List-Unsubscribe=Other"),
    ("application/x-www-form-urlencoded", "List-Unsubscribe="),
    ("application/x-www-form-urlencoded", "list-unsubscribe=one-click"),
    ("application/x-www-form-urlencoded", "List-Unsubscribe=One-Click&List-Unsubscribe=Other"),
    ("application/x-www-form-urlencoded", ""),
    ("application/json", '{"List-Unsubscribe": "One-Click"}'),
    ("text/plain", "List-Unsubscribe=One-Click"),
    (None, ""),
])
@pytest.mark.parametrize("query", ["", "?via=page"])
def test_only_the_one_click_body_unsubscribes(site, content_type, body, query):
    public_id = site.customer(locale="en")
    headers = {"Content-Type": content_type} if content_type else {}
    response = fresh_client(site).post(site.path(public_id, Purpose.UNSUBSCRIBE) + query,
                                       content=body, headers=headers)
    assert response.status_code == 400
    assert "That was not an unsubscribe" in response.text and "Nothing was changed" in response.text
    assert site.state(public_id)["status"] == "active" and site.events(public_id) == []


def test_other_fields_beside_the_one_click_pair_do_not_stop_an_unsubscribe(site):
    public_id = site.customer()
    response = fresh_client(site).post(site.path(public_id, Purpose.UNSUBSCRIBE),
                                       data={"List-Unsubscribe": "One-Click", "provider": "x"})
    assert response.status_code == 200 and site.state(public_id)["status"] == "unsubscribed"


def test_get_of_the_unsubscribe_link_never_changes_anything(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id, Purpose.UNSUBSCRIBE)
    before = site.state(public_id)
    for _ in range(5):
        response = site.client.get(path)
        assert response.status_code == 200
    assert site.state(public_id) == before and site.events(public_id) == []
    assert "Unsubscribe from our newsletter?" in response.text
    # A plain button, no token needed; it posts exactly the RFC 8058 body, marked as the page's.
    assert form_fields(response.text, path + "?via=page") == [("List-Unsubscribe", "One-Click")]
    assert f'href="{site.path(public_id)}"' in response.text  # or change the settings instead
    assert site.client.head(path).status_code == 200 and site.state(public_id) == before


def test_the_confirm_button_of_the_unsubscribe_page(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id, Purpose.UNSUBSCRIBE)
    page = site.client.get(path).text
    response = site.client.post(path + "?via=page", content=urlencode(form_fields(page, path + "?via=page")),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.request.content == b"List-Unsubscribe=One-Click"
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert [(e.field, e.new, e.channel) for e in site.events(public_id)] == [("status", "unsubscribed", "page")]
    again = site.client.get(path)
    assert "We already send you no newsletters." in again.text


def test_a_failing_write_answers_5xx_never_a_false_200(site, monkeypatch):
    public_id = site.customer()

    def broken(*args, **kwargs):
        raise OperationalError("UPDATE customer", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "unsubscribe", broken)
    response = fresh_client(site).post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 503 and response.headers["retry-after"]
    assert "database is locked" not in response.text and "Traceback" not in response.text
    assert site.state(public_id)["status"] == "active"


def test_unsubscribe_from_everything_on_the_page_then_subscribe_again_by_email(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    page = site.client.get(path).text
    response = site.client.post(f"{path}/unsubscribe", data=as_form(form_fields(page, f"{path}/unsubscribe")))
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text and "Done: you will get no more newsletters" in response.text
    assert site.state(public_id)["status"] == "unsubscribed"

    # The link from an old email now shows the status and the way back.
    page = site.client.get(path).text
    assert "You are unsubscribed" in page and "Subscribe again" in page
    response = site.client.post(f"{path}/resubscribe", data=as_form(form_fields(page, f"{path}/resubscribe")))
    assert response.status_code == 200 and "A confirmation email is on its way to you." in response.text
    # Pending, not active: the link alone did not widen consent back.
    assert site.state(public_id)["status"] == "pending"
    [pending] = site.confirmations
    assert pending.public_id == public_id and pending.email == "anna1@example.com" and pending.locale == "en"
    assert pending.confirm_url.startswith("https://news.example/confirm/")
    confirm = pending.confirm_url.removeprefix("https://news.example")

    for _ in range(3):  # link scanners may fetch it: nothing happens
        shown = site.client.get(confirm)
        assert shown.status_code == 200 and "Confirm your subscription" in shown.text
        assert "You can unsubscribe at any time" in shown.text  # the consent wording it records
    assert site.state(public_id)["status"] == "pending"
    done = site.client.post(confirm, data=as_form(form_fields(shown.text, confirm)))
    assert done.status_code == 200 and "Welcome back!" in done.text
    assert "weekly, starting with the edition of 23 November" in done.text
    assert site.state(public_id)["status"] == "active"
    assert [(e.field, e.new) for e in site.events(public_id)] == [
        ("status", "unsubscribed"), ("status", "pending"), ("status", "active")]
    assert {e.channel for e in site.events(public_id)} == {"page"}
    # The confirm link works once.
    assert site.client.get(confirm).status_code == 404


def test_a_pending_customer_can_ask_for_the_email_again_or_stay_unsubscribed(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    page = site.client.get(path).text
    site.client.post(f"{path}/resubscribe", data=as_form(form_fields(page, f"{path}/resubscribe")))
    page = site.client.get(path).text
    assert "Please confirm by email" in page
    again = site.client.post(f"{path}/resubscribe", data=as_form(form_fields(page, f"{path}/resubscribe")))
    # Asked again at once: the page says it is sent, but one mail per ten minutes is enough.
    assert "A confirmation email is on its way to you." in again.text
    assert len(site.confirmations) == 1
    response = site.client.post(f"{path}/unsubscribe", data=as_form(form_fields(page, f"{path}/unsubscribe")))
    assert site.state(public_id)["status"] == "unsubscribed" and "You are unsubscribed" in response.text
    # The link mailed while pending no longer confirms anything.
    confirm = site.confirmations[0].confirm_url.removeprefix("https://news.example")
    assert site.client.get(confirm).status_code == 404
    assert site.state(public_id)["status"] == "unsubscribed"


def test_an_old_confirm_link_does_not_work_after_a_newer_one(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    page = site.client.get(path).text
    site.client.post(f"{path}/resubscribe", data=as_form(form_fields(page, f"{path}/resubscribe")))
    old = site.confirmations[-1].confirm_url.removeprefix("https://news.example")
    site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    page = site.client.get(path).text
    site.client.post(f"{path}/resubscribe", data=as_form(form_fields(page, f"{path}/resubscribe")))
    new = site.confirmations[-1].confirm_url.removeprefix("https://news.example")
    assert old != new
    shown = site.client.get(new)
    assert site.client.post(old, data=as_form(form_fields(shown.text, new))).status_code == 404
    assert site.state(public_id)["status"] == "pending"
    assert site.client.post(new, data=as_form(form_fields(shown.text, new))).status_code == 200
    assert site.state(public_id)["status"] == "active"


def test_a_confirm_link_for_an_active_customer_is_not_found(site):
    public_id = site.customer()
    with Session(site.engine) as session:
        customer = store.get_customer_by_public_id(session, public_id)
        context = confirm_link_context(store.get_preference(session, customer.id))
    assert site.client.get(site.path(public_id, Purpose.CONFIRM, context)).status_code == 404


def test_the_page_never_waits_for_the_relay_the_mail_is_queued_and_the_worker_woken(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    page = site.client.get(path).text
    response = site.client.post(f"{path}/resubscribe", data=as_form(form_fields(page, f"{path}/resubscribe")))
    assert response.status_code == 200 and "A confirmation email is on its way to you." in response.text
    assert site.wakes == 1 and len(site.confirmations) == 1 and site.state(public_id)["status"] == "pending"


def test_saving_the_form_of_an_unsubscribed_customer_changes_nothing(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    page = site.client.get(path).text
    site.client.post(site.path(public_id, Purpose.UNSUBSCRIBE), data={"List-Unsubscribe": "One-Click"})
    fields = edit(form_fields(page, path), version="2", frequency="monthly")  # even at the right version
    response = site.client.post(path, data=as_form(fields))
    assert response.status_code == 409 and "You are unsubscribed" in response.text
    assert site.state(public_id)["frequency"] == "weekly"


def test_subscribe_again_while_active_just_shows_the_page(site):
    public_id = site.customer(locale="en")
    path = site.path(public_id)
    page = site.client.get(path).text
    response = site.client.post(f"{path}/resubscribe", data=as_form(form_fields(page, path)[:1]))
    assert response.status_code == 200 and "Your newsletter settings" in response.text
    assert form_fields(response.text, path)  # the form still posts to the page itself
    assert site.events(public_id) == [] and site.confirmations == []
