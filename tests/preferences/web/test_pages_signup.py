"""The signup page and the confirmation it leads to, through the real routes and CSRF check, on
SQLite and PostgreSQL: the same answer whatever the address's state, the honeypot, the rate
limit, the embedded form, the field errors, the proof kept, and the link's expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from preferences.models import customer_table
from preferences.optin import wording
from preferences.optin.tables import consent_text, opt_in, outbox
from preferences.utc import utcnow
from preferences.web import errors
from preferences.web.csrf import protect
from preferences.web.pages import routes
from test_pages_support import SECRET, TESTCLIENT_HASH, as_form, edit, form_fields, site  # noqa: F401  (fixture)

SIGNUP = "/signup"


def signup_form(site, lang="en", **changes):
    page = site.client.get(f"{SIGNUP}?lang={lang}").text
    action = SIGNUP + f"?lang={lang}"
    return edit(form_fields(page, action), **changes), action


def customers(site) -> dict[str, str]:
    with site.engine.connect() as conn:
        return dict(conn.execute(select(customer_table.c.email, customer_table.c.status)).all())


def queued(site) -> int:
    with site.engine.connect() as conn:
        return len(conn.execute(select(outbox.c.id)).all())


def test_the_page_speaks_the_visitors_language_and_asks_what_the_issue_says(site):
    page = site.client.get(SIGNUP, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert page.status_code == 200 and '<html lang="de">' in page.text
    assert "Melden Sie sich für unseren Newsletter an" in page.text and "Nordhaus Newsletter" in page.text
    names = [name for name, _ in form_fields(page.text, SIGNUP)]
    assert {"csrftoken", "wording", "email", "first_name", "website", "groups", "locale"} <= set(names)
    assert names.count("groups") == 4  # every product group, ticked
    english = site.client.get(f"{SIGNUP}?lang=en").text
    assert '<html lang="en">' in english and "Yes, I would like to get the" in english
    assert '<div class="trap" aria-hidden="true">' in english and 'tabindex="-1"' in english
    assert "<script" not in english


def test_a_signup_makes_a_pending_customer_with_proof_and_queues_one_confirmation(site):
    fields, action = signup_form(site, email="Anna.Berg@Example.COM", first_name="Anna", locale="de",
                                 groups=["garden", "kitchen"])
    response = site.client.post(action, data=as_form(fields), headers={"User-Agent": "Firefox/140"})
    assert response.status_code == 200 and "Please check your inbox" in response.text
    assert customers(site) == {"Anna.Berg@example.com": "pending"}
    assert site.wakes == 1 and len(site.confirmations) == 1
    with site.engine.connect() as conn:
        request = conn.execute(select(opt_in)).one()
        shown = conn.execute(select(consent_text.c.text).where(consent_text.c.version == request.request_wording)
                             ).scalar_one()
    assert (request.channel, request.source, request.request_user_agent) == ("signup", "hosted", "Firefox/140")
    assert shown == wording.text(wording.SIGNUP, "en", "Nordhaus Newsletter")  # the text the form showed
    state = site.state(site.confirmations[0].public_id)
    assert state["locale"] == "de" and sorted(state["excluded_groups"]) == ["kids", "outdoor"]


def test_the_answer_is_the_same_whether_the_address_is_new_pending_subscribed_or_unsubscribed(site):
    site.customer(n=1)  # anna1@example.com, active
    answers = []
    for email in ("new@example.com", "new@example.com", "anna1@example.com"):
        fields, action = signup_form(site, email=email)
        answers.append(site.client.post(action, data=as_form(fields)))
    assert {a.status_code for a in answers} == {200} and len({a.text for a in answers}) == 1
    assert queued(site) == 1  # the new one; asked again at once and already subscribed: nothing


def test_a_robot_filling_the_honeypot_gets_the_same_answer_and_nothing_happens(site):
    fields, action = signup_form(site, email="bot@example.com", website="http://spam.example")
    response = site.client.post(action, data=as_form(fields))
    human, _ = signup_form(site, email="human@example.com")
    assert response.status_code == 200 and response.text == site.client.post(action, data=as_form(human)).text
    assert customers(site) == {"human@example.com": "pending"}


def test_too_many_signups_from_one_client_get_429_and_nothing_happens(site):
    site.signups_allowed = False
    fields, action = signup_form(site, email="anna@example.com")
    response = site.client.post(action, data=as_form(fields))
    assert response.status_code == 429 and "too many sign-ups" in response.text
    assert customers(site) == {}


def test_bad_fields_are_named_beside_the_field_and_nothing_is_written(site):
    fields, action = signup_form(site, email="not an address", first_name="x" * 101, groups=[], locale="fr")
    response = site.client.post(action, data=as_form(fields))
    assert response.status_code == 422
    for message in ("Please enter a valid email address.", "Please use at most 100 characters",
                    "Please choose at least one topic.", "Please choose one of the languages offered."):
        assert message in response.text
    assert 'value="not an address"' in response.text and 'aria-invalid="true"' in response.text
    assert customers(site) == {} and queued(site) == 0
    german, action = signup_form(site, lang="de", email="kaputt")
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein." in site.client.post(action, data=as_form(german)).text


def test_the_hosted_form_needs_its_csrf_token_the_embedded_one_its_allowed_host(site):
    fields, action = signup_form(site, email="anna@example.com")
    without = [(k, v) for k, v in fields if k != "csrftoken"]
    assert site.client.post(action, data=as_form(without)).status_code == 403
    shop = TestClient(site.client.app)  # a visitor of the shop: no cookie of ours, no token
    embedded = {"email": "bo@example.com", "locale": "de", "groups": ["garden"]}
    answer = shop.post(f"{SIGNUP}?via=embed", data=embedded, headers={"Origin": "https://www.shop.example"})
    assert answer.status_code == 200 and "Bitte schauen Sie in Ihr Postfach" in answer.text
    with site.engine.connect() as conn:
        assert conn.execute(select(opt_in.c.source)).scalars().all() == ["embedded:www.shop.example"]
    centre = replace(site.centre, signup_origins=frozenset({"www.shop.example"}))
    limited = TestClient(protect(Starlette(routes=routes(centre), exception_handlers=errors.handlers()), SECRET))
    refused = limited.post(f"{SIGNUP}?via=embed", data=embedded, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "You cannot sign up here" in refused.text
    allowed = limited.post(f"{SIGNUP}?via=embed", data={**embedded, "email": "cy@example.com"},
                           headers={"Referer": "https://www.shop.example/newsletter"})
    assert allowed.status_code == 200


def test_confirming_the_signup_records_the_proof_and_the_link_expires(site):
    fields, action = signup_form(site, email="anna@example.com", locale="en")
    site.client.post(action, data=as_form(fields))
    link = site.confirmations[-1].confirm_url.removeprefix("https://news.example")
    shown = site.client.get(link)
    assert shown.status_code == 200 and "By confirming, you agree to get the Nordhaus Newsletter" in shown.text
    done = site.client.post(link, data=as_form(form_fields(shown.text, link)), headers={"User-Agent": "Safari/18"})
    assert done.status_code == 200 and "Welcome!" in done.text and "Welcome back" not in done.text
    with site.engine.connect() as conn:
        request = conn.execute(select(opt_in)).one()
    assert request.confirmed_at is not None and request.confirm_channel == "page"
    assert request.confirm_user_agent == "Safari/18" and request.confirm_client != TESTCLIENT_HASH
    assert request.confirm_wording == wording.version_of("en", wording.text(wording.CONFIRM, "en",
                                                                             "Nordhaus Newsletter"))
    assert customers(site) == {"anna@example.com": "active"}

    fields, action = signup_form(site, email="late@example.com")
    site.client.post(action, data=as_form(fields))
    with site.engine.begin() as conn:
        conn.execute(update(opt_in).where(opt_in.c.confirmed_at.is_(None))
                     .values(expires_at=utcnow() - timedelta(seconds=1)))
    late = site.confirmations[-1].confirm_url.removeprefix("https://news.example")
    expired = site.client.get(late)
    assert expired.status_code == 410 and "This link has expired" in expired.text and 'href="/signup?lang=' in expired.text
    token = dict(form_fields(site.client.get(SIGNUP).text, SIGNUP))["csrftoken"]
    assert site.client.post(late, data=as_form([("csrftoken", token)])).status_code == 410
    assert customers(site)["late@example.com"] == "pending"


def test_a_confirm_page_whose_wording_changed_asks_again(site):
    fields, action = signup_form(site, email="anna@example.com")
    site.client.post(action, data=as_form(fields))
    link = site.confirmations[-1].confirm_url.removeprefix("https://news.example")
    shown = site.client.get(link).text
    response = site.client.post(link, data=as_form(edit(form_fields(shown, link), wording="de-0000000000000000")))
    assert response.status_code == 409 and "has changed since you opened this page" in response.text
    assert customers(site) == {"anna@example.com": "pending"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["email", "first_name", "locale", "groups", "website", "wording", "x"]),
                          st.text(max_size=40)), max_size=8))
def test_no_form_gets_a_server_error(site, fields):
    response = TestClient(site.client.app).post(f"{SIGNUP}?via=embed", data=as_form(fields))
    assert response.status_code in (200, 400, 422), response.text
    assert "Traceback" not in response.text
