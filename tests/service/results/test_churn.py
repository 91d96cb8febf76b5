"""Churn, attributed: the unsubscribe and preference links of a sent mail name its edition, the
pages record it on every consent event, and the results count unsubscribes and the narrower
choices per edition. Links taken from the real messages, followed through the app, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from preferences.models import ConsentEvent, Customer
from service.results.figures import Period, results_by
from service.results.refresh import refresh
from service.web.app import create_app
from html_forms import as_form, edit, form_fields, parse
from send_fixtures import (EDITION, add_customers, db_url, engine, migrated_postgres_url,  # noqa: F401
                           send_demo_edition, settings_for)

BASE = "http://127.0.0.1:8000"
PERIOD = Period("weekly", EDITION, EDITION)
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def mails(engine, db_url, tmp_path):
    """The demo edition's messages to 10 customers, with each customer's id, in id order."""
    add_customers(engine, 10)
    messages, deliveries = send_demo_edition(engine, db_url, tmp_path / "outbox")
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Customer.email, Customer.id)).all())
    return sorted(((ids[m["To"].addresses[0].addr_spec], m) for m in messages), key=lambda pair: pair[0])


@pytest.fixture
def client(db_url):
    with TestClient(create_app(settings_for(db_url)), base_url=BASE) as client:
        yield client


def unsubscribe_link(message) -> str:
    url = str(message["List-Unsubscribe"]).split("<", 1)[1].split(">", 1)[0]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def events_of(engine, customer_id: int) -> list[ConsentEvent]:
    with engine.connect() as conn:
        return [ConsentEvent.model_validate(row._mapping) for row in
                conn.execute(select(ConsentEvent).where(ConsentEvent.customer_id == customer_id)).all()]


def test_unsubscribes_and_narrower_choices_count_for_the_edition_they_came_from(mails, client, engine):
    (a, mail_a), (b, mail_b), (c, mail_c), (d, mail_d), (e, mail_e) = mails[:5]
    link_a = unsubscribe_link(mail_a)
    assert link_a.endswith("?edition=weekly/2026-11-23")
    # a: the mail program's one-click unsubscribe (RFC 8058).
    assert client.post(link_a, data=ONE_CLICK).status_code == 200
    # b: opens the unsubscribe page, goes on to the preferences instead, and narrows them.
    page = client.get(unsubscribe_link(mail_b)).text
    preferences = next(url for url in parse(page).urls if url.startswith("/preferences/"))
    assert preferences.endswith("?edition=weekly/2026-11-23")
    form_page = client.get(preferences).text
    action = next(f["action"] for f in parse(form_page).forms if "edition=" in (f["action"] or "")
                  and not f["action"].split("?")[0].endswith(("/unsubscribe", "/resubscribe")))
    fields = form_fields(form_page, action)
    groups = [value for name, value in fields if name == "groups"]
    answer = client.post(action, data=as_form(edit(fields, frequency="monthly", groups=groups[1:])))
    assert answer.status_code == 200
    # c: the unsubscribe page's own button.
    page = client.get(unsubscribe_link(mail_c)).text
    button = next(f for f in parse(page).forms if "via=page" in (f["action"] or ""))
    assert client.post(button["action"], data=as_form(button["fields"])).status_code == 200
    # d: names an edition it was never sent; e: a link without an edition (an older mail).
    elsewhere = unsubscribe_link(mail_d).split("?")[0] + "?edition=weekly/2026-11-30"
    assert client.post(elsewhere, data=ONE_CLICK).status_code == 200
    assert client.post(unsubscribe_link(mail_e).split("?")[0], data=ONE_CLICK).status_code == 200

    edition = ("weekly", EDITION)
    assert {(ev.channel, ev.template, ev.edition_date) for ev in events_of(engine, a)} == {("one-click", *edition)}
    assert {(ev.field, ev.template, ev.edition_date) for ev in events_of(engine, b)} == \
        {("frequency", *edition), ("excluded_groups", *edition)}
    assert {(ev.channel, ev.template, ev.edition_date) for ev in events_of(engine, c)} == {("page", *edition)}
    assert [(ev.template, ev.edition_date) for ev in events_of(engine, d)] == [("weekly", date(2026, 11, 30))]
    assert [(ev.template, ev.edition_date) for ev in events_of(engine, e)] == [(None, None)]

    refresh(engine)
    with engine.connect() as conn:
        [total] = results_by(conn, PERIOD, "edition")
        by_block = results_by(conn, PERIOD, "block")
    assert (total.recipients, total.unsubscribes) == (10, 2)  # a and c; d named another edition
    assert total.unsubscribe_rate == pytest.approx(0.2)
    assert total.changes == {"frequency:monthly": 1, f"excluded:{groups[0]}": 1}
    assert total.narrowed == 1 and total.narrowed_rate == pytest.approx(0.1)  # b, once for both choices
    layout = next(f for f in by_block if f.key == "layout")
    assert layout.unsubscribes == 2  # every variant holds the layout
    assert all(f.unsubscribes <= 2 for f in by_block)


def test_a_bad_edition_parameter_is_ignored_and_the_page_still_works(mails, client, engine):
    (a, mail_a) = mails[0]
    path = unsubscribe_link(mail_a).split("?")[0]
    for junk in ("weekly/2026-02-30", "../../etc", "x" * 300, "weekly/2026-11-23/extra", "WEEKLY/2026-11-23"):
        assert client.get(path, params={"edition": junk}).status_code == 200
    assert client.post(path, params={"edition": "weekly/2026-13-01"}, data=ONE_CLICK).status_code == 200
    assert [(ev.template, ev.edition_date) for ev in events_of(engine, a)] == [(None, None)]
