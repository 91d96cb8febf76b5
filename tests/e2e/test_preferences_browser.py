"""The preference centre in real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright for Python), against the pages served by uvicorn on 127.0.0.1 over a SQLite file.

A customer opens the personal link of their email, makes the newsletter monthly, pauses it for
four weeks, unticks two product groups and saves; the page says in words what they will get, and
the database holds the new state and one consent event per changed field. Then the unsubscribe
link is fetched in the browser (which must change nothing), a POST without the RFC 8058 body is
refused, the page's button posts exactly that body and unsubscribes, and a mail provider's
one-click after it changes nothing more. Every page is photographed on a desktop and a 390 px phone screen
under the test's tmp dir (printed at the end; run with -s to see the path).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import date, timedelta

import pytest
from sqlmodel import Session
from starlette.applications import Starlette

from preferences import store
from preferences.consent import client_hash
from preferences.customers import CustomerData
from preferences.database import for_writes, make_engine, upgrade
from preferences.links import LinkSigner, Purpose
from preferences.web import errors
from preferences.web.centre import Catalogue, Centre
from preferences.web.csrf import protect
from preferences.web.pages import routes
from chromium import browser, free_port, serving  # noqa: F401  (browser is a fixture)

USER_AGENT = "newsletter-e2e-browser"
PROVIDER_AGENT = "mail-provider-unsubscriber/1.0"
TODAY = date(2026, 11, 23)  # a Monday, the weekly edition's day
GROUPS = {
    "outdoor": {"de": "Outdoor & Wandern", "en": "Outdoor & hiking"},
    "garden": {"de": "Garten & Pflanzen", "en": "Garden & plants"},
    "kitchen": {"de": "Küche & Genuss", "en": "Kitchen & dining"},
    "living": {"de": "Wohnen & Einrichten", "en": "Living & interiors"},
    "kids": {"de": "Kinder & Spielen", "en": "Kids & play"},
    "tools": {"de": "Werkzeug & Heimwerken", "en": "Tools & DIY"},
    "lighting": {"de": "Licht & Beleuchtung", "en": "Lighting"},
    "pets": {"de": "Tierbedarf", "en": "Pet supplies"},
}


def mondays(day: date) -> list[date]:
    first = day + timedelta(days=(0 - day.weekday()) % 7)
    return [first + timedelta(weeks=n) for n in range(60)]


@pytest.fixture
def served(tmp_path):
    """The preference pages under uvicorn in a thread: (base URL, engine, signer, public id)."""
    url = f"sqlite:///{tmp_path / 'var' / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        customer = store.create_customer(session, CustomerData(
            external_id="4711", email="anna.berg@example.com", first_name="Anna", locale="de"),
            "import", default_locale="de")
        session.commit()
        public_id = customer.public_id
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    signer = LinkSigner([b"e2e-link-key-0123456789abcdef"])
    catalogue = Catalogue(locales=("de", "en"), product_groups=GROUPS, attributes={},
                          newsletter_names={"de": "Nordhaus Newsletter"}, upcoming_editions=mondays)
    centre = Centre(engine=engine, write_engine=for_writes(engine), signer=signer, base_url=base_url,
                    catalogue=lambda: catalogue, csrf_secret=b"e2e-csrf-secret-0123456789", today=lambda: TODAY)
    app = protect(Starlette(routes=routes(centre), exception_handlers=errors.handlers()), centre.csrf_secret)
    with serving(app, port=port):
        yield base_url, engine, signer, public_id
    engine.dispose()


def state(engine, public_id):
    with Session(engine) as session:
        customer = store.get_customer_by_public_id(session, public_id)
        preference = store.get_preference(session, customer.id)
        events = [(e.field, e.old, e.new, str(e.channel), e.client_hash)
                  for e in store.list_consent_events(session, customer.id) if e.field != "created"]
        return (str(customer.status), str(preference.frequency), preference.paused_until,
                list(preference.excluded_groups), preference.version), events


def one_click(url: str, body: bytes = b"List-Unsubscribe=One-Click") -> int:
    """A mail provider's RFC 8058 POST: no cookie, no token, no redirect followed."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "User-Agent": PROVIDER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.geturl() == url
            assert response.headers.get("Set-Cookie") is None
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_a_customer_changes_the_preferences_and_unsubscribes_in_chromium(browser, served, tmp_path):
    base_url, engine, signer, public_id = served
    shots = tmp_path / "screenshots"
    shots.mkdir()
    preferences_url = signer.url(base_url, public_id, Purpose.PREFERENCES)  # as in every email
    unsubscribe_url = signer.url(base_url, public_id, Purpose.UNSUBSCRIBE)  # the List-Unsubscribe URL
    desktop = browser.new_context(user_agent=USER_AGENT, viewport={"width": 1280, "height": 900}, locale="de-DE")
    phone = browser.new_context(user_agent=USER_AGENT, viewport={"width": 390, "height": 844},
                                device_scale_factor=2, is_mobile=True, has_touch=True, locale="de-DE")
    page, mobile = desktop.new_page(), phone.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    def photograph(name: str, url: str | None = None) -> None:
        page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
        if url is not None:
            mobile.goto(url)
            mobile.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
            # Good on a phone: nothing wider than the screen.
            assert mobile.evaluate("document.documentElement.scrollWidth") <= 390

    # 1. The link from the email.
    response = page.goto(preferences_url)
    assert response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert page.locator("h1").inner_text() == "Ihre Newsletter-Einstellungen"
    photograph("1-preferences", preferences_url)
    assert "anna.berg@example.com" not in page.url

    # 2. Monthly, a four-week pause, without two product groups: found by their labels.
    page.get_by_label("Monatlich").check()
    page.get_by_label("4 Wochen pausieren").check()
    page.get_by_label("Outdoor & Wandern").uncheck()
    page.get_by_label("Kinder & Spielen").uncheck()
    assert page.get_by_label("Garten & Pflanzen").is_checked()
    page.screenshot(path=str(shots / "2-filled-in-desktop.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Einstellungen speichern").click()

    # 3. The answer, in words.
    confirmation = page.locator("#summary").inner_text()
    assert confirmation == ("Sie bekommen unseren Newsletter jetzt monatlich, ab der Ausgabe vom "
                            "4. Januar 2027, ohne Outdoor & Wandern und Kinder & Spielen.")
    assert page.get_by_role("status").is_visible()
    photograph("3-saved")
    mobile.goto(preferences_url + "?lang=en")  # the same page in English, on the phone
    assert mobile.locator("h1").inner_text() == "Your newsletter settings"
    mobile.screenshot(path=str(shots / "3-saved-state-english-phone.png"), full_page=True)

    # A form with a mistake: said next to the field, nothing written.
    page.get_by_label("Bis zu einem Datum pausieren").check()
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Einstellungen speichern").click()
    assert navigation.value.status == 422
    assert page.locator("#pause-error").inner_text() == \
        "Bitte geben Sie den Tag ein, ab dem Sie wieder Newsletter möchten."
    photograph("3b-form-error")

    browser_hash = client_hash("127.0.0.1", USER_AGENT)
    saved, events = state(engine, public_id)
    assert saved == ("active", "monthly", TODAY + timedelta(weeks=4), ["kids", "outdoor"], 2)
    assert sorted(events) == sorted([
        ("frequency", "weekly", "monthly", "page", browser_hash),
        ("paused_until", None, "2026-12-21", "page", browser_hash),
        ("excluded_groups", [], ["kids", "outdoor"], "page", browser_hash),
    ])

    # 4. The unsubscribe link, fetched by the browser (as a link scanner would): changes nothing.
    for _ in range(3):
        response = page.goto(unsubscribe_url)
        assert response.status == 200
    assert page.get_by_role("button", name="Ja, abmelden").is_visible()
    photograph("4-unsubscribe-confirm", unsubscribe_url)
    assert state(engine, public_id) == (saved, events)

    # 5. A POST without the RFC 8058 body changes nothing; the page's button posts exactly that
    #    body, and a mail provider's one-click after it changes nothing more.
    assert one_click(unsubscribe_url, b"List-Unsubscribe=Other") == 400
    assert state(engine, public_id) == (saved, events)
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.get_by_role("button", name="Ja, abmelden").click()
    assert posted.value.post_data == "List-Unsubscribe=One-Click"
    assert page.locator("h1").inner_text() == "Sie sind abgemeldet"
    assert one_click(unsubscribe_url) == 200
    now, all_events = state(engine, public_id)
    assert now[0] == "unsubscribed"
    assert all_events[3:] == [("status", "active", "unsubscribed", "page", browser_hash)]

    # 6. The link from the old email now says so and offers the way back (by email).
    page.goto(preferences_url)
    assert page.locator("h1").inner_text() == "Sie sind abgemeldet"
    assert page.get_by_role("button", name="Wieder anmelden").is_visible()
    photograph("5-unsubscribed", preferences_url)

    # 7. A broken link: the friendly page.
    response = page.goto(preferences_url[:-2])
    assert response.status == 404
    assert page.get_by_role("heading", name="This link does not work").is_visible()
    photograph("6-bad-link", preferences_url[:-2])

    # Nothing but our own pages was ever requested (no third-party resources).
    assert requests and all(url.startswith(base_url) for url in requests)
    desktop.close()
    phone.close()
    print(f"\nscreenshots: {shots}")
