"""Every page the service serves, in each of its states, checked with axe-core in Chromium
(WCAG 2.0/2.1 A and AA and best practices): no violation at all. The web app is the whole of
``create_app`` under uvicorn over SQLite with the demo content; customers get the demo edition
first, so every page is reached the way a customer or an editor reaches it: from a mail.

``test_every_page_route_is_checked`` fails when a page is added to the app without being added
here: accessibility is kept, not achieved once."""

from __future__ import annotations

import mailbox
import re
from dataclasses import replace
from email import message_from_bytes, policy

import pytest
from starlette.routing import Mount

from preferences.database import make_engine, upgrade
from service.staff import accounts
from service.staff.passwords import Passwords
from service.web.app import create_app
from axe import email_violations, violations
from chromium import browser, free_port, serving  # noqa: F401  (browser is a fixture)
from send_fixtures import add_customers, send_demo_edition, settings_for, wait_until

SECRET = "a long staff secret for axe"
# GET routes that are no page: a CSV download, and the click redirect (its refusal is the bad-link page).
NOT_PAGES = {"results_csv": "a CSV file", "click": "a redirect; a bad click link shows the bad-link page"}


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    add_customers(engine, 12)
    messages, _ = send_demo_edition(engine, url, tmp_path / "editions")
    with engine.begin() as conn:
        accounts.add(conn, Passwords(), "ada", "ada@nordhaus.example", None, "admin", SECRET, by="test")
    engine.dispose()
    port = free_port()
    settings = replace(settings_for(url), base_url=f"http://127.0.0.1:{port}",
                       relay=f"maildir:{tmp_path / 'outbox'}")
    return create_app(settings), port, messages, tmp_path / "outbox"


def personal_link(message, purpose: str) -> str:
    """The path of a personal link (/preferences/..., /unsubscribe/..., /view/...) of a sent mail."""
    html = message.get_body(("html",)).get_content()
    return re.search(rf'href="https?://[^/"]+(/{purpose}/[^"]+)"', html).group(1).replace("&amp;", "&")


class Checker:
    """Visits pages and collects what axe finds, by route name, so one run reports all of them."""

    def __init__(self, browser, base: str):  # noqa: F811
        self.browser, self.base = browser, base
        self.found: dict[str, list[str]] = {}
        self.covered: set[str] = set()

    def page(self, locale: str = "de-DE"):
        return self.browser.new_page(locale=locale, viewport={"width": 1100, "height": 900})

    def check(self, page, route: str, state: str, *, email: bool = False) -> None:
        self.covered.add(route)
        found = email_violations(self.browser, page.content()) if email else violations(page)
        if found:
            self.found[f"{route} ({state}) {page.url}"] = found

    def visit(self, page, path: str, route: str, state: str, status: int = 200, **kwargs) -> None:
        response = page.goto(self.base + path)
        assert response.status == status, (path, response.status)
        self.check(page, route, state, **kwargs)


def page_routes(app) -> set[str]:
    """The names of the app's GET routes outside the JSON API."""
    names = set()
    for route in app.routes:
        if isinstance(route, Mount):
            continue  # /api: JSON, checked against its OpenAPI schema instead
        if "GET" in (getattr(route, "methods", None) or ()):
            names.add(route.name)
    return names


def test_every_page_in_every_state_has_no_axe_violation(browser, site):  # noqa: F811
    app, port, messages, outbox = site
    with serving(app, lifespan="on", port=port) as base:
        axe = Checker(browser, base)
        customer = axe.page()

        # Sign-up: the form in both languages, with a mistake, and sent.
        axe.visit(customer, "/signup", "signup", "de")
        axe.visit(customer, "/signup?lang=en", "signup", "en")
        customer.goto(base + "/signup")
        customer.fill("#email", "not an address")
        customer.click("button[type=submit]")
        assert customer.locator("[id$=-error]").count() >= 1
        axe.check(customer, "signup", "with an error")
        customer.goto(base + "/signup")
        customer.fill("#email", "lena.vogel@example.com")
        customer.fill("#first_name", "Lena")
        customer.click("button[type=submit]")
        axe.check(customer, "signup", "sent")

        # The confirmation mail's link: the confirm page, then confirmed.
        wait_until(lambda: (outbox / "new").is_dir() and len(list(mailbox.Maildir(outbox, create=False))) >= 1,
                   timeout=20)
        [confirmation] = [message_from_bytes(m.as_bytes(), policy=policy.default)
                          for m in mailbox.Maildir(outbox, create=False)]
        confirm = re.search(re.escape(base) + r"(/confirm/\S+)", confirmation.get_content()).group(1)
        axe.visit(customer, confirm, "confirm", "asked")
        customer.click("button[type=submit]")
        axe.check(customer, "confirm", "confirmed")
        axe.visit(customer, "/confirm/not-a-token", "confirm", "bad link", status=404)

        # The preference page from a mail: German, English, with an error, saved.
        preferences = personal_link(messages[0], "preferences")
        axe.visit(customer, preferences, "preferences", "de")
        axe.visit(customer, preferences + ("&" if "?" in preferences else "?") + "lang=en", "preferences", "en")
        customer.goto(base + preferences)
        customer.locator("#pause-date").check()  # a pause until a date, without the date
        with customer.expect_navigation() as navigation:
            customer.get_by_role("button", name="Einstellungen speichern").click()
        assert navigation.value.status == 422
        axe.check(customer, "preferences", "with an error")
        customer.goto(base + preferences)
        customer.locator("input[name=frequency][value=monthly]").check()
        customer.get_by_role("button", name="Einstellungen speichern").click()
        assert customer.get_by_role("status").count() == 1
        axe.check(customer, "preferences", "saved")

        # One-click unsubscribe: asked, done, and the settings page of an unsubscribed customer.
        unsubscribe = personal_link(messages[1], "unsubscribe")
        axe.visit(customer, unsubscribe, "unsubscribe", "asked")
        customer.get_by_role("button", name="Ja, abmelden").click()
        axe.check(customer, "unsubscribe", "done")
        axe.visit(customer, personal_link(messages[1], "preferences"), "preferences", "unsubscribed")

        # The web version of a sent mail (an email: the mail rules), a broken one, a 404.
        axe.visit(customer, personal_link(messages[2], "view"), "web_version", "sent mail", email=True)
        axe.visit(customer, personal_link(messages[2], "view")[:-3], "web_version", "bad link", status=404)
        axe.visit(customer, preferences.split("?")[0][:-2], "preferences", "bad link", status=404)
        axe.visit(customer, "/r/nothing/here", "click", "bad link", status=404)
        axe.visit(customer, "/no/such/page", "404", "not found", status=404)

        # Staff: sign-in (with a mistake), the preview, the results, the editor (with an error).
        staff = axe.page("en-GB")
        axe.visit(staff, "/staff/login", "staff_login", "form")
        staff.fill("#name", "ada")
        staff.fill("#password", "wrong")
        staff.click("button[type=submit]")
        axe.check(staff, "staff_login", "with an error")
        staff.fill("#name", "ada")
        staff.fill("#password", SECRET)
        staff.click("button[type=submit]")
        axe.visit(staff, "/preview", "preview_index", "index")
        variant = staff.locator("a[href^='/preview/weekly/']").first.get_attribute("href")
        axe.visit(staff, variant, "preview_variant", "a variant")
        axe.visit(staff, variant.split("?")[0] + "/email.html", "preview_email", "its email", email=True)
        axe.visit(staff, "/results", "results", "all teams")
        axe.visit(staff, "/results/team/advice", "results_team", "a team")
        axe.visit(staff, "/edit", "edit_index", "teams")
        axe.visit(staff, "/edit/advice", "edit_team", "a team's blocks")
        axe.visit(staff, "/edit/advice/heating-costs-b.de", "edit_block", "an arm of a test")
        axe.visit(staff, "/edit/advice/winter-garden-care.en", "edit_block", "a block")
        staff.fill("#f-expire", "2026-11-01")
        staff.click("button[value=save]")
        assert staff.locator("#err-expire").count() == 1
        axe.check(staff, "edit_block", "with a check error")

    assert axe.found == {}, "\n".join(f"{where}:\n  " + "\n  ".join(lines) for where, lines in axe.found.items())
    missing = page_routes(app) - axe.covered - set(NOT_PAGES)
    assert not missing, f"pages without an axe check: {sorted(missing)} (add them to this test)"


def test_every_page_route_is_checked():
    """The list above against the app's routes, without a browser: a new page route fails here
    until the browser test visits it."""
    from repo_paths import CONTENT
    from service.settings import Settings

    app = create_app(replace(Settings.from_env({}), database_url="sqlite://", content_dir=CONTENT))
    source = open(__file__, encoding="utf-8").read()
    visited = set(re.findall(r'"([a-z_]+)", "[^"]+"(?:, status=\d+)?(?:, email=True)?\)', source))
    visited |= set(re.findall(r'axe\.check\(\w+, "([a-z_]+)"', source))
    assert page_routes(app) - visited - set(NOT_PAGES) == set()
