"""Staff sign-in in real headless Chromium against the whole app: a staff page sends the browser
to the sign-in page, a wrong password is said in German, the right one leads back to the page,
and signing out ends it (Chromium sends ``Origin: null`` from pages without a Referer, so the
same-site check must read ``Sec-Fetch-Site``: only a real browser shows that)."""

from __future__ import annotations

from dataclasses import replace

from preferences.database import make_engine, upgrade
from repo_paths import CONTENT
from service.settings import Settings
from service.staff import accounts
from service.staff.passwords import Passwords
from service.web.app import create_app
from chromium import browser, free_port, serving  # noqa: F401  (browser is a fixture)

SECRET = "a long staff secret"


def test_sign_in_back_to_the_page_and_sign_out(browser, tmp_path):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        accounts.add(conn, Passwords(), "lena", "lena@nordhaus.example", "advice", "editor", SECRET, by="test")
    engine.dispose()
    port = free_port()
    settings = replace(Settings.from_env({}), database_url=url, content_dir=CONTENT, base_url=f"http://127.0.0.1:{port}")
    with serving(create_app(settings), lifespan="on", port=port) as base:
        page = browser.new_page(locale="de-DE")
        page.goto(f"{base}/results")
        assert "/staff/login?next=/results" in page.url and page.locator("h1").inner_text() == "Anmelden"
        page.fill("#name", "lena")
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        assert "Der Name oder das Passwort stimmt nicht." in page.locator("[role=alert]").inner_text()
        page.fill("#password", SECRET)
        page.click("button[type=submit]")
        assert page.url == f"{base}/results"
        page.screenshot(path=str(tmp_path / "results-signed-in.png"))
        page.goto(f"{base}/staff/login?lang=en")
        assert "signed in as lena" in page.locator("main").inner_text()
        page.click("text=Sign out")
        assert "Sie sind abgemeldet." in page.locator("main").inner_text()  # the browser speaks German
        page.goto(f"{base}/preview")
        assert "/staff/login" in page.url
