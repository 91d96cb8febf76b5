"""Sign-up to first newsletter settings in real headless Chromium, against the whole service app
(``create_app``: pages, CSRF, the outbox worker in its lifespan) under uvicorn, over SQLite, the
transactional relay a Maildir: a visitor fills in the hosted form, the confirmation mail arrives
in the outbox, its link opens the confirm page, the button confirms, and the settings page the
confirm page links to shows the choices made at sign-up; then cron's ``send --due`` sends the
welcome mail, with the blocks of her groups, whose settings link leads to the same page. Screenshots (desktop and phone) go to
the test's tmp dir."""

from __future__ import annotations

import mailbox
import re
from dataclasses import replace
from email import message_from_bytes, policy

from sqlalchemy import select
from typer.testing import CliRunner

from preferences.database import make_engine, upgrade
from preferences.optin.tables import opt_in
from repo_paths import CONTENT
from service.cli.main import app
from service.settings import Settings
from service.web.app import create_app
from chromium import browser, free_port, serving  # noqa: F401  (browser is a fixture)
from send_fixtures import wait_until

AGENT = "newsletter-e2e-signup"


def mails(outbox, count: int) -> list:
    wait_until(lambda: (outbox / "new").is_dir() and len(list(mailbox.Maildir(outbox, create=False))) >= count,
               timeout=20)
    return [message_from_bytes(m.as_bytes(), policy=policy.default) for m in mailbox.Maildir(outbox, create=False)]


def test_signup_confirmation_mail_confirm_and_settings_in_chromium(browser, tmp_path):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = replace(Settings.from_env({}), database_url=url, content_dir=CONTENT, base_url=base,
                       relay=f"maildir:{tmp_path / 'outbox'}")
    with serving(create_app(settings), lifespan="on", port=port):
        page = browser.new_page(user_agent=AGENT, locale="de-DE", viewport={"width": 1100, "height": 900})
        page.goto(f"{base}/signup")
        assert page.locator("html").get_attribute("lang") == "de"
        trap = page.locator("#website").bounding_box()  # the honeypot: off-screen, not for people
        assert trap is not None and trap["x"] + trap["width"] <= 0
        page.fill("#email", "Lena.Vogel@example.com")
        page.fill("#first_name", "Lena")
        for group in page.locator("input[name=groups]").all()[2:]:
            group.uncheck()
        page.screenshot(path=str(tmp_path / "signup-desktop.png"), full_page=True)
        page.click("button[type=submit]")
        assert "Bitte schauen Sie in Ihr Postfach" in page.locator("h1").inner_text()
        page.screenshot(path=str(tmp_path / "signup-sent.png"), full_page=True)

        [confirmation] = mails(tmp_path / "outbox", 1)
        assert confirmation["To"] == "Lena.Vogel@example.com"
        assert confirmation["Subject"] == "Bitte bestätigen Sie Ihre Anmeldung"
        text = confirmation.get_content()
        assert text.startswith("Hallo Lena,") and "7 Tage" in text
        link = re.search(re.escape(base) + r"/confirm/\S+", text).group(0)

        phone = browser.new_page(user_agent=AGENT, locale="de-DE", viewport={"width": 390, "height": 844})
        phone.goto(link)
        assert "Mit Ihrer Bestätigung willigen Sie ein" in phone.locator("#consent").inner_text()
        phone.screenshot(path=str(tmp_path / "confirm-phone.png"), full_page=True)
        phone.click("button[type=submit]")
        assert phone.locator("h1").inner_text() == "Willkommen!"
        phone.click("text=Newsletter-Einstellungen")
        assert phone.url.startswith(f"{base}/preferences/")
        ticked = [box.get_attribute("value") for box in phone.locator("input[name=groups]").all() if box.is_checked()]
        assert len(ticked) == 2  # what she chose at sign-up
        phone.screenshot(path=str(tmp_path / "settings-phone.png"), full_page=True)

        # Cron's `send --due` sends the welcome mail; its settings link opens her preference page.
        sent = CliRunner().invoke(app, ["send", "--due", "--to", f"maildir:{tmp_path / 'editions'}", "--workers", "0"],
                                  env={"DATABASE_URL": url, "NEWSLETTER_CONTENT_DIR": str(CONTENT),
                                       "NEWSLETTER_BASE_URL": base, "NEWSLETTER_RELAY": f"maildir:{tmp_path / 'outbox'}"})
        assert sent.exit_code == 0, sent.output
        [welcome] = mails(tmp_path / "editions", 1)
        assert welcome["To"].addresses[0].addr_spec == "Lena.Vogel@example.com"
        assert welcome["Subject"] == "Willkommen bei Nordhaus, Lena!"
        html = welcome.get_body(("html",)).get_content()
        reader = browser.new_page(viewport={"width": 390, "height": 844})  # a mail program: no page's CSP
        reader.set_content(html)
        shown = reader.locator("body").inner_text()
        assert "Willkommen bei Nordhaus!" in shown
        assert "Raus in die Natur" in shown and "Kochen mit Freude" not in shown  # her groups, not the others
        reader.screenshot(path=str(tmp_path / "welcome-phone.png"), full_page=True)
        settings_link = reader.locator("a", has_text="Einstellungen ansehen").get_attribute("href")
        phone.goto(settings_link)
        assert phone.url.startswith(f"{base}/preferences/")
        assert len([b for b in phone.locator("input[name=groups]").all() if b.is_checked()]) == 2

    engine = make_engine(url)
    with engine.connect() as conn:
        proof = conn.execute(select(opt_in)).one()
    engine.dispose()
    assert proof.channel == "signup" and proof.source == "hosted" and proof.request_user_agent == AGENT
    assert proof.confirmed_at is not None and proof.confirm_user_agent == AGENT and proof.confirm_wording
    print(f"screenshots in {tmp_path}")
