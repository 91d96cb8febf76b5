"""A customer who unticks "measure which links I click" on the preference page gets the next
edition with no tracked link, in the mail the real send writes into a Maildir and on its web
version; everyone else's links still go through /r/. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select
from starlette.testclient import TestClient

from preferences.links import LinkSigner, Purpose
from preferences.models import ConsentEvent, Customer
from service.web.app import create_app
from html_forms import as_form, edit, form_fields
from send_fixtures import (add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           send_demo_edition, settings_for)

BASE = "http://127.0.0.1:8000"  # the settings' default base URL
TRACKED = re.compile(r"/r/~?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}/")


def parts(message) -> tuple[str, str]:
    return message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()


def view_path(page: str) -> str:
    url = next(u for u in re.findall(r'href="([^"]+)"', page) if "/view/" in u)
    return urlsplit(url.replace("&amp;", "&")).path


def test_a_customer_who_unticks_click_measuring_gets_no_tracked_link(engine, db_url, tmp_path):
    quiet, other = add_customers(engine, 2)
    settings = settings_for(db_url)
    with engine.connect() as conn:
        public_id = conn.execute(select(Customer.public_id).where(Customer.id == quiet)).scalar_one()
    path = urlsplit(LinkSigner(settings.link_keys).url(BASE, public_id, Purpose.PREFERENCES)).path
    with TestClient(create_app(settings), base_url=BASE) as client:
        fields = form_fields(client.get(path).text, path)
        assert ("measure", "1") in fields
        answer = client.post(path, data=as_form(edit(fields, measure=None)))  # with the CSRF cookie and token
        assert answer.status_code == 200
        with engine.connect() as conn:
            events = conn.execute(select(ConsentEvent.field, ConsentEvent.old_value, ConsentEvent.new_value,
                                         ConsentEvent.channel).where(ConsentEvent.customer_id == quiet)).all()
        assert [tuple(e) for e in events] == [("click_tracking", "true", "false", "page")]

        messages, deliveries = send_demo_edition(engine, db_url, tmp_path / "outbox")
        assert {deliveries[quiet].state, deliveries[other].state} == {"sent"}
        by_id = {int(m["To"].addresses[0].addr_spec.split(".")[1].split("@")[0]): m for m in messages}
        quiet_html, quiet_text = parts(by_id[quiet])
        other_html, other_text = parts(by_id[other])
        assert not TRACKED.search(quiet_html) and not TRACKED.search(quiet_text)
        assert "https://www.nordhaus.example/" in quiet_html  # the links as written, straight to the shop
        assert TRACKED.search(other_html) and TRACKED.search(other_text)
        # The personal links are the same kind for both.
        assert "/preferences/" in quiet_html and "/view/" in quiet_html

        # The web version shows each of them the same links as their mail.
        quiet_page = client.get(view_path(quiet_html))
        other_page = client.get(view_path(other_html))
        assert quiet_page.status_code == other_page.status_code == 200
        assert not TRACKED.search(quiet_page.text) and "https://www.nordhaus.example/" in quiet_page.text
        assert TRACKED.search(other_page.text)


def test_the_unmeasured_count_as_delivered_but_not_in_the_click_rates(engine, db_url, tmp_path):
    from preferences.models import preference_table
    from service.results.figures import Period, results_by
    from service.results.refresh import refresh
    from send_fixtures import EDITION

    quiet, *others = add_customers(engine, 4)
    with engine.begin() as conn:
        conn.execute(preference_table.update().where(preference_table.c.customer_id == quiet)
                     .values(click_tracking=False))
    _, deliveries = send_demo_edition(engine, db_url, tmp_path / "outbox")
    assert deliveries[quiet].variant.endswith(" (untracked)")
    assert not any(deliveries[n].variant.endswith(" (untracked)") for n in others)
    refresh(engine)
    with engine.connect() as conn:
        [edition] = results_by(conn, Period("weekly", EDITION, EDITION), "edition")
        layout = next(f for f in results_by(conn, Period("weekly", EDITION, EDITION), "block") if f.key == "layout")
    assert (edition.recipients, edition.measured) == (4, 3)
    assert (layout.recipients, layout.measured) == (4, 3)  # the untracked variant's blocks are recorded too
