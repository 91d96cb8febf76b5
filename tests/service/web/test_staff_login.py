"""Staff accounts on the staff pages, through the whole app over a migrated SQLite file: a page
sends the browser to sign in, a right password sets a session cookie that opens the pages, a
wrong one (or name) does not and says the same, the shared password opens nothing once accounts
exist, signing out / a disable ends the session server-side, tries are limited, and POSTs from
another site are refused."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from preferences.database import make_engine, upgrade
from repo_paths import CONTENT
from service.settings import Settings
from service.staff import accounts
from service.staff.passwords import Passwords
from service.staff.tables import staff_event
from service.web.app import create_app

BASE = "http://news.example"
SECRET = "a long staff secret"
SAME_SITE = {"Origin": BASE}


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        accounts.add(conn, Passwords(), "lena", "lena@nordhaus.example", "advice", "editor", SECRET, by="test")
    settings = replace(Settings.from_env({}), database_url=url, content_dir=CONTENT, base_url=BASE,
                       preview_password="shared demo password")
    with TestClient(create_app(settings), base_url=BASE) as client:
        yield client, engine
    engine.dispose()


def sign_in(client, name="lena", password=SECRET, next_="/preview", headers=SAME_SITE):
    return client.post("/staff/login", data={"name": name, "password": password, "next": next_}, headers=headers,
                       follow_redirects=False)


def test_a_staff_page_sends_the_browser_to_sign_in_and_back(site):
    client, _ = site
    first = client.get("/results?x=1", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/staff/login?next=/results%3Fx%3D1"
    login = client.get(first.headers["location"], headers={"Accept-Language": "de-DE"})
    assert login.status_code == 200 and '<html lang="de">' in login.text and "Anmelden" in login.text
    assert 'name="next" value="/results?x=1"' in login.text
    done = sign_in(client, next_="/results?x=1")
    assert done.status_code == 303 and done.headers["location"] == "/results?x=1"
    cookie = done.headers["set-cookie"]
    assert cookie.startswith("staff=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/preview").status_code == 200
    assert "signed in as lena (editor, advice)" in client.get("/staff/login?lang=en").text


def test_a_wrong_password_or_name_says_the_same_and_everything_is_recorded(site):
    client, engine = site
    wrong_password, wrong_name = sign_in(client, password="not the password"), sign_in(client, name="tom")
    assert wrong_password.status_code == wrong_name.status_code == 401
    assert "Der Name oder das Passwort stimmt nicht." in wrong_password.text  # German unless asked otherwise
    assert wrong_password.text.replace('value="lena"', 'value="tom"') == wrong_name.text
    assert "set-cookie" not in wrong_password.headers
    assert sign_in(client).status_code == 303
    with engine.connect() as conn:
        trail = [tuple(r) for r in conn.execute(select(staff_event.c.actor, staff_event.c.action)
                                                .order_by(staff_event.c.id))]
    assert trail == [("test", "staff-added"), ("lena", "sign-in-failed"), ("tom", "sign-in-failed"),
                     ("lena", "sign-in")]


def test_the_shared_password_opens_nothing_once_accounts_exist(site):
    client, _ = site
    basic = "Basic " + base64.b64encode(b"x:shared demo password").decode()
    assert client.get("/preview", headers={"Authorization": basic}, follow_redirects=False).status_code == 303


def test_signing_out_or_a_disable_ends_the_session_on_the_server(site):
    client, engine = site
    sign_in(client)
    token = client.cookies.get("staff")
    out = client.post("/staff/logout", headers=SAME_SITE, follow_redirects=False)
    assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
    client.cookies.set("staff", token)  # a copy of the old cookie is worth nothing now
    assert client.get("/preview", follow_redirects=False).status_code == 303
    sign_in(client)
    assert client.get("/preview").status_code == 200
    with engine.begin() as conn:
        accounts.disable(conn, "lena", by="ops")
    assert client.get("/preview", follow_redirects=False).status_code == 303
    assert sign_in(client).status_code == 401


def test_tries_are_limited_per_name(site):
    client, _ = site
    answers = [sign_in(client, password=f"guess number {n}").status_code for n in range(6)]
    assert answers == [401] * 5 + [429]
    assert sign_in(client).status_code == 429  # even the right one, until the window passes


def test_posts_from_another_site_and_next_urls_elsewhere_are_refused(site):
    client, _ = site
    for foreign in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site", "Origin": BASE},
                    {"Origin": "null"}, {"Referer": "https://evil.example/page"}):
        assert sign_in(client, headers=foreign).status_code == 403, foreign
    # What Chromium sends from our own page (no Referer there, so Origin is null):
    assert sign_in(client, headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"}).status_code == 303
    client.post("/staff/logout", headers=SAME_SITE)
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        assert sign_in(client, next_=elsewhere).headers["location"] == "/preview"
        client.post("/staff/logout", headers=SAME_SITE)
    assert client.post("/staff/logout", headers={"Origin": "https://evil.example"}).status_code == 403
